// Export SQL.
#include "storage/export_store.hpp"

#include <pqxx/pqxx>

#include "storage/job_store.hpp"
#include "storage/sql_time.hpp"

namespace beacon::storage {
namespace {

// Column name and the SQL producing its text.
const std::vector<std::pair<std::string, std::string>>& csv_spec() {
  static const std::vector<std::pair<std::string, std::string>> spec = {
      {"id", "e.id::text"},
      {"job_id", "e.job_id"},
      {"question_index", "e.question_index::text"},
      {"question_id", "e.question_id"},
      {"model_id", "e.model_id"},
      {"region", "e.region"},
      {"run", "e.run::text"},
      {"status", "e.status"},
      {"provider_id", "e.provider_id"},
      {"provider_region", "e.provider_region"},
      {"started_at", rfc3339("e.started_at")},
      {"completed_at", rfc3339("e.completed_at")},
      {"duration_ms", "e.duration_ms::text"},
      {"attempts", "e.attempts::text"},
      {"retry_count", "e.manual_retries::text"},
      {"http_status", "e.http_status::text"},
      {"error_code", "e.error_code"},
      {"error_message", "e.error_message"},
      {"response_classification", "e.response_classification"},
      {"is_substantive", "e.is_substantive::text"},
      {"is_content_refusal", "e.is_content_refusal::text"},
      {"response_length", "e.response_length::text"},
      {"prompt_tokens", "e.prompt_tokens::text"},
      {"completion_tokens", "e.completion_tokens::text"},
      {"finish_reason", "e.finish_reason"},
      {"temperature", "e.temperature::text"},
      {"max_tokens", "e.max_tokens::text"},
      {"top_p", "e.top_p::text"},
      {"seed", "e.seed::text"},
      {"settings_unsent", "e.settings_unsent"},
      {"cost", "e.cost::text"},
      {"charged", "e.charged::text"},
      {"classification_reason", "e.output_data -> 'metadata' ->> 'classification_reason'"},
      {"response_language", "e.output_data -> 'metadata' ->> 'language'"},
      {"key_terms",
       "(SELECT string_agg(t, '; ') FROM jsonb_array_elements_text("
       "e.output_data -> 'metadata' -> 'key_terms') t)"},
      {"output_hash",
       "coalesce('sha256:' || encode(e.output_hash, 'hex'),"
       " beacon_row_receipt(e) -> 'output' ->> 'hash')"},
      {"log_key_id", "(SELECT g.key_id FROM transparency_logs g WHERE g.log_id = e.receipt_log)"},
      {"leaf_index", "e.receipt_index::text"},
      {"group_divergence", "g.score::text"},
      {"group_flags", "(SELECT string_agg(f, '; ') FROM jsonb_array_elements_text(g.flags) f)"},
      {"response", "e.output_data ->> 'response'"},
  };
  return spec;
}

}  // namespace

const std::vector<std::string>& export_csv_columns() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (auto& c : csv_spec()) out.push_back(c.first);
    return out;
  }();
  return names;
}

export_page read_export_page(pqxx::transaction_base& tx, const std::string& job_id,
                             int64_t after_id, int64_t limit, bool csv) {
  std::string select = "e.id";
  if (csv) {
    for (auto& c : csv_spec()) select += ", " + c.second;
  } else {
    select += ", json_build_object(" + execution_fields(true) +
              ", 'question_index', e.question_index, 'group_analysis', CASE WHEN g.q IS NULL THEN"
              " NULL ELSE json_build_object('divergence', g.score, 'flags', g.flags) END)::text";
  }
  export_page page;
  // The stored analysis of the row's question x model (none until the job has ended).
  const std::string groups =
      "WITH g AS (SELECT x ->> 'question_id' AS q, x ->> 'model_id' AS m,"
      " x -> 'divergence' -> 'score' AS score,"
      " (SELECT coalesce(jsonb_agg(f -> 'message'), '[]') FROM jsonb_array_elements(x -> 'flags') "
      "f)"
      " AS flags FROM cross_region_analyses a, jsonb_array_elements(a.groups) x"
      " WHERE a.job_id = $1) ";
  for (auto row : tx.exec_params(groups + "SELECT " + select +
                                     " FROM executions e LEFT JOIN g ON g.q = e.question_id"
                                     " AND g.m = e.model_id WHERE e.job_id = $1 AND e.id > $2"
                                     " ORDER BY e.id LIMIT $3",
                                 job_id, after_id, limit)) {
    page.last_id = row[0].as<int64_t>();
    page.ids.push_back(page.last_id);
    if (!csv) {
      page.json_lines.push_back(row[1].as<std::string>());
      continue;
    }
    std::vector<std::string> fields;
    for (size_t i = 1; i < row.size(); ++i)
      fields.push_back(row[static_cast<int>(i)].is_null()
                           ? std::string()
                           : row[static_cast<int>(i)].as<std::string>());
    page.rows.push_back(std::move(fields));
  }
  return page;
}

}  // namespace beacon::storage
