// Retries a person asks for: failed or timed-out cells go back to pending (their previous outcome
// kept in manual_retry_history, their attempts added to attempt_base so the numbering continues),
// within each cell's manual_retry_limit. An ended job is queued again (its started_at and
// completed_at stay those of its first run); a running job keeps running and runs the cell again.
// The counters move in the same transaction. Only the persistence actor calls reopen_failed_cells.
#pragma once

#include <cstdint>
#include <optional>
#include <pqxx/transaction>
#include <string>
#include <vector>

#include "messages/types.hpp"

namespace beacon::storage {

// One execution as retry-question needs it.
struct retry_target {
  int64_t id = 0;
  std::string job_id;
  job_status job = job_status::queued;
  std::string region;
  int32_t question_index = 0;
  cell_status status = cell_status::pending;
  int32_t manual_retries = 0;
  int32_t manual_retry_limit = 0;
  std::string updated_at;   // RFC 3339
  std::string output_json;  // completed cells: output_data
};
std::optional<retry_target> find_retry_target(pqxx::transaction_base& tx, int64_t execution_id);

// Reopens the job's failed and timed-out cells (only `execution_id` when > 0) that have had fewer
// than manual_retry_limit manual retries; queues an ended job again. Appends the cells' status
// changes to `moved` (the caller moves the counters and tells the progress hub). Deletes the
// retry requests it carries out (all of the job's with `execution_id` 0).
reopen_result reopen_failed_cells(pqxx::work& tx, const std::string& job_id, int64_t execution_id,
                                  std::vector<cell_event>& moved);

// How many cells reopen_failed_cells would reopen now.
int32_t retryable_cells(pqxx::transaction_base& tx, const std::string& job_id,
                        int64_t execution_id);

// Records a person's retry of a job another node runs, for that node (once per job and
// execution id: a second ask before it is carried out joins the first).
void record_retry_request(pqxx::work& tx, const std::string& job_id, int64_t execution_id,
                          const std::string& requested_by);

// A recorded retry for the node that takes it.
struct retry_request {
  std::string job_id;
  int64_t execution_id = 0;
};

// Takes up to `limit` recorded retries that `node_id` must carry out: those of jobs it holds the
// live lease of, and those of ended jobs nobody holds (any node may reopen them). A request taken
// by a node that did not carry it out within `retake_ms` (it died) is taken again.
std::vector<retry_request> take_retry_requests(pqxx::work& tx, const std::string& node_id,
                                               int64_t retake_ms, int32_t limit);

}  // namespace beacon::storage
