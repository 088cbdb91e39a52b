// Retries a person asks for: failed or timed-out cells of a finished job go back to pending (their
// previous outcome kept in manual_retry_history), the counters move in the same transaction, and
// the job is queued again so the manager runs just those cells.
#pragma once

#include <cstdint>
#include <optional>
#include <pqxx/transaction>
#include <string>
#include <vector>

namespace beacon::storage {

// One execution as retry-question needs it.
struct retry_target {
  int64_t id = 0;
  std::string job_id;
  std::string job_status;
  std::string region;
  int32_t question_index = 0;
  std::string status;
  int32_t manual_retries = 0;
  int32_t max_retries = 0;
  std::string updated_at;   // RFC 3339
  std::string output_json;  // completed cells: output_data
};
std::optional<retry_target> find_retry_target(pqxx::work& tx, int64_t execution_id);

// Reopens the job's failed and timed-out cells (only `execution_id` when > 0) that have had fewer
// than max_retries manual retries; queues the job again when any was reopened. Returns how many.
int32_t reopen_failed_cells(pqxx::work& tx, const std::string& job_id, int64_t execution_id);

}  // namespace beacon::storage
