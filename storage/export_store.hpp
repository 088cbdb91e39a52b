// Pages of a job's executions for GET /api/v1/jobs/{id}/export, in id order (keyset, so a
// million-row export never holds more than one page), each row with its per-answer analysis and
// the stored cross-region analysis of its question x model (divergence score and flags; empty
// until the job has ended and been analysed).
#pragma once

#include <cstdint>
#include <pqxx/transaction_base>
#include <string>
#include <vector>

namespace beacon::storage {

// The CSV columns, in order.
const std::vector<std::string>& export_csv_columns();

struct export_page {
  int64_t last_id = 0;                         // pass back as after_id; 0 when the page is empty
  std::vector<int64_t> ids;                    // the executions, in order
  std::vector<std::string> json_lines;         // jsonl: one JSON object per execution
  std::vector<std::vector<std::string>> rows;  // csv: the columns as text ("" for NULL)
};

// Up to `limit` executions of the job with an id above `after_id`.
export_page read_export_page(pqxx::transaction_base& tx, const std::string& job_id,
                             int64_t after_id, int64_t limit, bool csv);

}  // namespace beacon::storage
