// Side-by-side SQL.
#include "storage/cross_region_store.hpp"

#include <pqxx/pqxx>

#include "storage/sql_time.hpp"

namespace beacon::storage {
std::string first_question_id(pqxx::transaction_base& tx, const std::string& job_id) {
  auto r = tx.exec_params(
      "SELECT question_id FROM executions WHERE job_id = $1 AND question_index = 0 LIMIT 1",
      job_id);
  return r.empty() ? std::string() : r[0][0].as<std::string>();
}

std::string cross_region_rows_json(pqxx::transaction_base& tx, const std::string& job_id,
                                   const std::string& model_id, const std::string& question_id) {
  auto sql =
      "SELECT coalesce(json_agg(x.j ORDER BY x.region), '[]')::text FROM ("
      " SELECT DISTINCT ON (e.region) e.region, json_build_object("
      " 'region', e.region, 'status', e.status, 'provider_id', e.provider_id,"
      " 'provider_region', e.provider_region, 'model_id', e.model_id,"
      " 'question_id', e.question_id, 'execution_id', e.id, 'run', e.run,"
      " 'started_at', " +
      rfc3339("e.started_at") + ", 'completed_at', " + rfc3339("e.completed_at") +
      ", 'created_at', " + rfc3339("e.created_at") +
      ", 'duration_ms', e.duration_ms, 'execution_output', e.output_data,"
      " 'response_classification', e.response_classification,"
      " 'is_substantive', e.is_substantive, 'is_content_refusal', e.is_content_refusal,"
      " 'response_length', e.response_length, 'error_code', e.error_code,"
      " 'error_message', e.error_message, 'attempts', e.attempts,"
      " 'prompt_tokens', e.prompt_tokens, 'completion_tokens', e.completion_tokens,"
      " 'finish_reason', e.finish_reason, 'cost', e.cost) AS j"
      " FROM executions e WHERE e.job_id = $1 AND e.model_id = $2 AND e.question_id = $3"
      " ORDER BY e.region, e.run DESC) x";
  return tx.exec_params1(sql, job_id, model_id, question_id)[0].as<std::string>();
}

}  // namespace beacon::storage
