// Retry SQL.
#include "storage/retry_store.hpp"

#include <pqxx/pqxx>
#include <set>

#include "domain/status.hpp"
#include "storage/sql_time.hpp"
#include "storage/status_words.hpp"

namespace beacon::storage {
namespace {

constexpr const char* reopen_sql = R"sql(
UPDATE executions e
   SET previous_status = e.status, status = 'pending',
       manual_retries = e.manual_retries + 1,
       manual_retry_history = e.manual_retry_history || jsonb_build_array(jsonb_build_object(
         'at', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
         'status', e.status, 'error_code', e.error_code, 'error_message', e.error_message,
         'attempts', e.attempts, 'interrupted_attempts', e.interrupted_attempts,
         'provider_id', e.provider_id, 'http_status', e.http_status,
         'retry_history', e.retry_history)),
       attempt_base = e.attempt_base + e.attempts,
       attempts = 0, attempt_open = false, interrupted_attempts = 0, retry_history = '[]', provider_id = NULL, provider_region = NULL,
       started_at = NULL, completed_at = NULL, duration_ms = NULL, output_data = NULL,
       error_code = NULL, error_message = NULL, http_status = NULL,
       response_classification = 'unknown', is_substantive = false, is_content_refusal = false,
       is_technical_error = false, response_length = NULL, receipt_data = NULL, receipt_leaf = NULL,
       receipt_log = NULL, receipt_index = NULL, output_hash = NULL, benchmark_hash = NULL,
       prompt_tokens = NULL, completion_tokens = NULL, finish_reason = NULL,
       cost = NULL, settings_unsent = NULL,
       updated_at = now()
 WHERE e.job_id = $1 AND e.status IN ('failed', 'timeout') AND ($2 = 0 OR e.id = $2)
   AND e.manual_retries < e.manual_retry_limit
RETURNING e.id, e.job_id, e.region, e.question_index, e.previous_status, e.status, e.model_id)sql";

constexpr const char* retryable_sql = R"sql(
SELECT count(*) FROM executions e
 WHERE e.job_id = $1 AND e.status IN ('failed', 'timeout') AND ($2 = 0 OR e.id = $2)
   AND e.manual_retries < e.manual_retry_limit)sql";

constexpr const char* take_requests_sql = R"sql(
WITH due AS (
  SELECT r.job_id, r.execution_id FROM retry_requests r
    JOIN jobs j ON j.id = r.job_id
    LEFT JOIN job_leases l ON l.job_id = r.job_id
   WHERE (r.taken_at IS NULL OR r.taken_at < now() - $2 * interval '1 millisecond')
     AND ((l.node_id = $1 AND l.expires_at > now())
          OR ((l.job_id IS NULL OR l.expires_at < now()) AND j.status NOT IN ('queued', 'running')))
   ORDER BY r.requested_at LIMIT $3
     FOR UPDATE OF r SKIP LOCKED)
UPDATE retry_requests r SET taken_by = $1, taken_at = now()
  FROM due
 WHERE r.job_id = due.job_id AND r.execution_id = due.execution_id
RETURNING r.job_id, r.execution_id)sql";

}  // namespace

std::optional<retry_target> find_retry_target(pqxx::transaction_base& tx, int64_t execution_id) {
  auto r = tx.exec_params(
      "SELECT e.id, e.job_id, j.status, e.region, e.question_index, e.status, e.manual_retries,"
      " e.manual_retry_limit, " +
          rfc3339("e.updated_at") +
          ", coalesce(e.output_data::text, 'null')"
          " FROM executions e JOIN jobs j ON j.id = e.job_id WHERE e.id = $1",
      execution_id);
  if (r.empty()) return std::nullopt;
  auto row = r[0];
  return retry_target{row[0].as<int64_t>(),
                      row[1].as<std::string>(),
                      stored_job_status(row[2].as<std::string>()),
                      row[3].as<std::string>(),
                      row[4].as<int32_t>(),
                      stored_cell_status(row[5].as<std::string>()),
                      row[6].as<int32_t>(),
                      row[7].as<int32_t>(),
                      row[8].as<std::string>(),
                      row[9].as<std::string>()};
}

reopen_result reopen_failed_cells(pqxx::work& tx, const std::string& job_id, int64_t execution_id,
                                  std::vector<cell_event>& moved) {
  reopen_result out;
  // The job row first: a concurrent finish or cancel of the same job waits for us.
  auto job = tx.exec_params("SELECT status FROM jobs WHERE id = $1 FOR UPDATE", job_id);
  if (job.empty()) return out;
  auto job_was = stored_job_status(job[0][0].as<std::string>());
  tx.exec_params("DELETE FROM retry_requests WHERE job_id = $1 AND ($2 = 0 OR execution_id = $2)",
                 job_id, execution_id);
  std::set<int32_t> questions;
  for (auto row : tx.exec_params(reopen_sql, job_id, execution_id)) {
    cell_event t;
    t.cell_id = row[0].as<int64_t>();
    t.job_id = row[1].as<std::string>();
    t.region = row[2].as<std::string>();
    t.question_index = row[3].as<int32_t>();
    t.from = stored_cell_status(row[4].as<std::string>());
    t.to = stored_cell_status(row[5].as<std::string>());
    t.model_id = row[6].as<std::string>();
    questions.insert(t.question_index);
    moved.push_back(std::move(t));
    ++out.cells;
  }
  if (out.cells == 0) return out;
  out.question_indexes.assign(questions.begin(), questions.end());
  out.job_was_ended = is_terminal(job_was);
  if (!out.job_was_ended) return out;  // a running (or queued) job runs the cells itself
  tx.exec_params(
      "UPDATE jobs SET status = 'queued', error = NULL, updated_at = now() WHERE id = $1", job_id);
  tx.exec_params(
      "UPDATE cross_region_executions SET status = 'queued', duration_ms = NULL,"
      " updated_at = now() WHERE job_id = $1",
      job_id);
  return out;
}

int32_t retryable_cells(pqxx::transaction_base& tx, const std::string& job_id,
                        int64_t execution_id) {
  return tx.exec_params(retryable_sql, job_id, execution_id)[0][0].as<int32_t>();
}

void record_retry_request(pqxx::work& tx, const std::string& job_id, int64_t execution_id,
                          const std::string& requested_by) {
  tx.exec_params(
      "INSERT INTO retry_requests (job_id, execution_id, requested_by) VALUES ($1, $2, $3)"
      " ON CONFLICT (job_id, execution_id) DO NOTHING",
      job_id, execution_id, requested_by);
}

std::vector<retry_request> take_retry_requests(pqxx::work& tx, const std::string& node_id,
                                               int64_t retake_ms, int32_t limit) {
  std::vector<retry_request> out;
  for (auto row : tx.exec_params(take_requests_sql, node_id, retake_ms, limit))
    out.push_back({row[0].as<std::string>(), row[1].as<int64_t>()});
  return out;
}

}  // namespace beacon::storage
