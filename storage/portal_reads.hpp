// Read models behind the portal's job-level routes: the per-region results of a job (from the
// region_results counters), the list of analysed jobs (/diffs) and one execution's identity (for
// its bias score). Reads only.
#pragma once

#include <cstdint>
#include <optional>
#include <pqxx/transaction>
#include <string>

#include "domain/status.hpp"

namespace beacon::storage {

// A JSON array, one object per region of the job in region order: {region, status, provider_ids,
// total, pending, running, completed, failed, timeout, cancelled, latest_error, started_at,
// completed_at, duration_ms}.
std::string region_results_json(pqxx::transaction_base& tx, const std::string& job_id);

// The job's cross_region_executions id ("" when none).
std::string cross_region_execution_id(pqxx::transaction_base& tx, const std::string& job_id);

// The newest analysed jobs: [{id, job_id, regions, analysis_type, status, created_at, view_url}].
std::string diffs_json(pqxx::transaction_base& tx, int64_t limit);
int64_t diffs_total(pqxx::transaction_base& tx);

struct execution_identity {
  std::string job_id, model_id, question_id, region;
  cell_status status = cell_status::pending;
};
std::optional<execution_identity> find_execution(pqxx::transaction_base& tx, int64_t id);

}  // namespace beacon::storage
