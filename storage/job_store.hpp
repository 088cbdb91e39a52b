// Job-level storage: admission (the job and every cell in one transaction), start, verdict,
// resume lists, per-question cell loads and the reads behind the REST API.
#pragma once

#include <map>
#include <optional>
#include <pqxx/connection>
#include <pqxx/transaction>
#include <string>
#include <vector>

#include "domain/job_spec.hpp"
#include "messages/types.hpp"

namespace beacon::storage {

enum class admit_result {
  created,
  duplicate,             // the job id exists
  idempotent_repeat,     // the Idempotency-Key was used with the same body: existing_job_id
  idempotency_conflict,  // the Idempotency-Key was used with another body: existing_job_id
  replay,                // the signed spec's nonce was already used by this key: existing_job_id
};

// Written in the job's own transaction, so a refused job consumes neither.
struct admit_guards {
  std::string idempotency_key;  // empty: none
  std::string request_sha256;
  std::string signer_public_key;  // with nonce: the replay check
  std::string nonce;
};

struct admit_outcome {
  admit_result result = admit_result::created;
  std::string existing_job_id;
};

// Attempts per cell: automatic retries after transient failures, and retries a person may ask for.
struct retry_budget {
  int32_t automatic = 3;
  int32_t manual = 3;
};

// Inserts the job (queued), its cross-region row, one region_results row per region and every
// cell as a pending execution, in one transaction. `system_prompts` maps region -> prompt.
admit_outcome admit_job(pqxx::connection& conn, const job_spec& spec, const retry_budget& retries,
                        const std::map<std::string, std::string>& system_prompts,
                        const admit_guards& guards = {});

// admit_job for an admission request (the admitter's message, or a direct store where no actors
// run); the reply carries admit_result as its number.
admission_reply store_admission(pqxx::connection& conn, const admission_request& r);

// Adds to `progress` the cell counts of the job's questions with an index in
// [first_question, end_question), per question and per (question, model, region) group (one
// GROUP BY over those questions' executions; leaves status and reason alone).
void read_progress_page(pqxx::transaction_base& tx, const std::string& job_id,
                        int32_t first_question, int32_t end_question, job_progress& progress);
// read_progress_page over every question of the job.
void read_progress(pqxx::transaction_base& tx, const std::string& job_id, job_progress& progress);

// Lists the newest jobs: [{id, status, created_at}] as a JSON array.
std::string list_jobs_json(pqxx::transaction_base& tx, int64_t limit);

// Marks a queued job running (idempotent) and returns what a supervisor needs to start it (its
// counts come in pages: read_progress_page); an unknown job yields found = false. One row each
// of jobs and cross_region_executions: the same cost for every job size.
job_snapshot start_job(pqxx::work& tx, const std::string& job_id);

// Records that a person asked to cancel the job (the first time only).
void request_cancel(pqxx::work& tx, const std::string& job_id);

// Decides the final status from the counters (same transaction) and writes it. Throws
// std::logic_error when cells are still open. A job already terminal keeps its verdict.
job_verdict finish_job(pqxx::work& tx, const std::string& job_id, bool cancelled);

std::vector<std::string> resumable_jobs(pqxx::work& tx);

// Up to `limit` open (pending or running) cells of the questions [first, end) with an id above
// `after_id`, in id order.
std::vector<cell_row> load_open_cells(pqxx::work& tx, const std::string& job_id,
                                      int32_t first_question, int32_t end_question,
                                      int64_t after_id, int32_t limit);

// REST reads. JSON is built by PostgreSQL in the original's field names.
struct job_view {
  std::string spec_json;  // the stored spec with created_at from the database
  job_status status = job_status::queued;
  std::string error;
  std::string counters_json;
  std::string cells_json;  // the page of cells asked for, as a JSON array
};
// A page of a job's cells, newest first; `full` adds the executions/all fields.
struct cells_page {
  int64_t limit = 0;
  int64_t offset = 0;
  bool full = false;
};
// The job and, with `page`, that page of its cells, in one statement (one round trip, one
// snapshot).
std::optional<job_view> find_job(pqxx::transaction_base& tx, const std::string& job_id,
                                 const std::optional<cells_page>& page = std::nullopt);
// The arguments of json_build_object for an execution row aliased `e` (the portal's names;
// `full` adds output, retries and the rest of the executions/all fields).
std::string execution_fields(bool full);

// Up to `limit` of the job's executions with an id below `before_id` (0: from the newest),
// newest first, in full (the executions/all fields), one JSON object each.
struct execution_rows {
  int64_t last_id = 0;  // the smallest id of the page; 0 when it is empty
  std::vector<std::string> rows;
};
execution_rows executions_before(pqxx::transaction_base& tx, const std::string& job_id,
                                 int64_t before_id, int64_t limit);
// How many executions the job has (its cell counter), nullopt when there is no such job.
std::optional<int64_t> job_total_cells(pqxx::transaction_base& tx, const std::string& job_id);

// A page of all executions, newest first: `limit` after `offset`, or (before_id > 0) the newest
// ones with an id below it (a keyset cursor: stable while new rows arrive). Full rows.
std::string list_executions_json(pqxx::transaction_base& tx, int64_t limit, int64_t offset,
                                 int64_t before_id);
// How many executions exist (from the jobs' exact cell counters, not a table scan).
int64_t executions_total(pqxx::transaction_base& tx);
// How many of the job's cells have `status` (one COUNT over its rows).
int64_t cells_with_status(pqxx::transaction_base& tx, const std::string& job_id,
                          cell_status status);
// One execution in full; nullopt when there is none with this id.
std::optional<std::string> execution_json(pqxx::transaction_base& tx, int64_t id);
// The stored receipt of an execution ("" when it has none yet); nullopt for an unknown id.
std::optional<std::string> execution_receipt(pqxx::transaction_base& tx, int64_t id);

}  // namespace beacon::storage
