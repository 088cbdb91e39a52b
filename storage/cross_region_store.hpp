// The side-by-side read of one model x question across a job's regions (GET
// /api/v1/executions/{jobId}/cross-region): the newest run per region, from the execution rows.
#pragma once

#include <optional>
#include <pqxx/transaction>
#include <string>

namespace beacon::storage {

// The job's first question (question_index 0), or "" when the job has no cells.
std::string first_question_id(pqxx::transaction_base& tx, const std::string& job_id);

// A JSON array, one object per region in region order: {region, status, provider_id,
// provider_region, model_id, question_id, execution_id, run, started_at, completed_at,
// duration_ms, execution_output, response_classification, is_substantive, is_content_refusal,
// response_length, error_code, error_message, attempts, created_at}.
std::string cross_region_rows_json(pqxx::transaction_base& tx, const std::string& job_id,
                                   const std::string& model_id, const std::string& question_id);

}  // namespace beacon::storage
