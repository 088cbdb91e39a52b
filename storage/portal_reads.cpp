// Portal read models.
#include "storage/portal_reads.hpp"

#include <pqxx/pqxx>

#include "storage/sql_time.hpp"
#include "storage/status_words.hpp"

namespace beacon::storage {

std::string region_results_json(pqxx::transaction_base& tx, const std::string& job_id) {
  auto sql =
      "SELECT coalesce(json_agg(json_build_object('region', region, 'status', status,"
      " 'provider_ids', provider_ids, 'total', total_cells, 'pending', pending_cells,"
      " 'running', running_cells, 'completed', completed_cells, 'failed', failed_cells,"
      " 'timeout', timeout_cells, 'cancelled', cancelled_cells, 'latest_error', latest_error,"
      " 'started_at', " +
      rfc3339("started_at") + ", 'completed_at', " + rfc3339("completed_at") +
      ", 'duration_ms', duration_ms) ORDER BY region), '[]')::text"
      " FROM region_results WHERE job_id = $1";
  return tx.exec_params1(sql, job_id)[0].as<std::string>();
}

std::string cross_region_execution_id(pqxx::transaction_base& tx, const std::string& job_id) {
  auto r = tx.exec_params("SELECT id FROM cross_region_executions WHERE job_id = $1", job_id);
  return r.empty() ? std::string() : r[0][0].as<std::string>();
}

std::string diffs_json(pqxx::transaction_base& tx, int64_t limit) {
  auto sql =
      "SELECT coalesce(json_agg(json_build_object('id', a.id, 'job_id', a.job_id,"
      " 'regions', coalesce((SELECT json_agg(r.region ORDER BY r.region) FROM region_results r"
      " WHERE r.job_id = a.job_id), '[]'), 'analysis_type', 'cross_region',"
      " 'status', j.status, 'created_at', " +
      rfc3339("a.created_at") +
      ", 'view_url', '/portal/bias-detection/' || a.job_id) ORDER BY a.created_at DESC, a.id DESC),"
      " '[]')::text FROM (SELECT * FROM cross_region_analyses ORDER BY created_at DESC, id DESC"
      " LIMIT $1) a JOIN jobs j ON j.id = a.job_id";
  return tx.exec_params1(sql, limit)[0].as<std::string>();
}

int64_t diffs_total(pqxx::transaction_base& tx) {
  return tx.exec1("SELECT count(*) FROM cross_region_analyses")[0].as<int64_t>();
}

std::optional<execution_identity> find_execution(pqxx::transaction_base& tx, int64_t id) {
  auto r = tx.exec_params(
      "SELECT job_id, model_id, question_id, region, status FROM executions WHERE id = $1", id);
  if (r.empty()) return std::nullopt;
  return execution_identity{r[0][0].as<std::string>(), r[0][1].as<std::string>(),
                            r[0][2].as<std::string>(), r[0][3].as<std::string>(),
                            stored_cell_status(r[0][4].as<std::string>())};
}

}  // namespace beacon::storage
