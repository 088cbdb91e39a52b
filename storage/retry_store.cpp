// Retry SQL.
#include "storage/retry_store.hpp"

#include <pqxx/pqxx>

#include "storage/cell_writer.hpp"
#include "storage/sql_time.hpp"

namespace beacon::storage {
namespace {

constexpr const char* reopen_sql = R"sql(
UPDATE executions e
   SET previous_status = e.status, status = 'pending',
       manual_retries = e.manual_retries + 1,
       manual_retry_history = e.manual_retry_history || jsonb_build_array(jsonb_build_object(
         'at', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
         'status', e.status, 'error_code', e.error_code, 'error_message', e.error_message,
         'attempts', e.attempts, 'provider_id', e.provider_id, 'http_status', e.http_status,
         'retry_history', e.retry_history)),
       attempts = 0, retry_history = '[]', provider_id = NULL, provider_region = NULL,
       started_at = NULL, completed_at = NULL, duration_ms = NULL, output_data = NULL,
       error_code = NULL, error_message = NULL, http_status = NULL,
       response_classification = 'unknown', is_substantive = false, is_content_refusal = false,
       is_technical_error = false, response_length = NULL, receipt_data = NULL, updated_at = now()
 WHERE e.job_id = $1 AND e.status IN ('failed', 'timeout') AND ($2 = 0 OR e.id = $2)
   AND e.manual_retries < e.max_retries
RETURNING e.id, e.job_id, e.region, e.question_index, e.previous_status, e.status, e.model_id)sql";

}  // namespace

std::optional<retry_target> find_retry_target(pqxx::work& tx, int64_t execution_id) {
  auto r = tx.exec_params(
      "SELECT e.id, e.job_id, j.status, e.region, e.question_index, e.status, e.manual_retries,"
      " e.max_retries,"
      " " +
          rfc3339("e.updated_at") +
          ","
          " coalesce(e.output_data::text, 'null')"
          " FROM executions e JOIN jobs j ON j.id = e.job_id WHERE e.id = $1",
      execution_id);
  if (r.empty()) return std::nullopt;
  auto row = r[0];
  return retry_target{row[0].as<int64_t>(),     row[1].as<std::string>(), row[2].as<std::string>(),
                      row[3].as<std::string>(), row[4].as<int32_t>(),     row[5].as<std::string>(),
                      row[6].as<int32_t>(),     row[7].as<int32_t>(),     row[8].as<std::string>(),
                      row[9].as<std::string>()};
}

int32_t reopen_failed_cells(pqxx::work& tx, const std::string& job_id, int64_t execution_id) {
  // The job row first: a concurrent finish or cancel of the same job waits for us.
  tx.exec_params("SELECT 1 FROM jobs WHERE id = $1 FOR UPDATE", job_id);
  std::vector<cell_transition> moved;
  for (auto row : tx.exec_params(reopen_sql, job_id, execution_id)) {
    cell_transition t;
    t.cell_id = row[0].as<int64_t>();
    t.job_id = row[1].as<std::string>();
    t.region = row[2].as<std::string>();
    t.question_index = row[3].as<int32_t>();
    t.from = row[4].as<std::string>();
    t.to = row[5].as<std::string>();
    t.model_id = row[6].as<std::string>();
    moved.push_back(std::move(t));
  }
  if (moved.empty()) return 0;
  apply_counters(tx, moved);
  tx.exec_params(
      "UPDATE jobs SET status = 'queued', error = NULL, completed_at = NULL, updated_at = now()"
      " WHERE id = $1",
      job_id);
  tx.exec_params(
      "UPDATE cross_region_executions SET status = 'queued', completed_at = NULL,"
      " duration_ms = NULL, updated_at = now() WHERE job_id = $1",
      job_id);
  return static_cast<int32_t>(moved.size());
}

}  // namespace beacon::storage
