// Reads a job's answers for the cross-region analysis and stores its result in
// cross_region_analyses (one row per job, replaced when recomputed).
#pragma once

#include <functional>
#include <optional>
#include <pqxx/connection>
#include <pqxx/transaction>
#include <string>
#include <vector>

#include "analysis/comparison.hpp"
#include "domain/status.hpp"

namespace beacon::storage {

// Calls `group` with each question x model of the job (its cells in region, run order), reading
// the rows through a cursor so memory holds one group at a time. Returns the cells read.
int64_t for_each_answer_group(
    pqxx::transaction_base& tx, const std::string& job_id,
    const std::function<void(const std::string& question_id, const std::string& model_id,
                             std::vector<analysis::answer>& answers)>& group);

// The cells of one question x model of a job (for the side-by-side view).
std::vector<analysis::answer> answer_group(pqxx::transaction_base& tx, const std::string& job_id,
                                           const std::string& model_id,
                                           const std::string& question_id);

// Analyses the job from its rows and stores the result; returns the stored row as JSON (see
// job_analysis_json). nullopt for an unknown job.
std::optional<std::string> analyze_job(pqxx::connection& conn, const std::string& job_id);

// The analysis a reader should get: the stored one when it was made for the job's present status,
// else, once the job has ended, the one `compute(job_id)` stores (the analyst actor: readers
// never write) and then read back. `row` is empty while the job runs or when compute fails.
struct current_analysis {
  job_status status = job_status::queued;
  std::optional<std::string> row;  // as job_analysis_json returns it
};
// nullopt for an unknown job.
std::optional<current_analysis> current_job_analysis(
    pqxx::connection& conn, const std::string& job_id, bool with_groups,
    const std::function<bool(const std::string& job_id)>& compute);

// The stored analysis: {id, job_id, cross_region_execution_id, job_status, cells_analyzed,
// answers_analyzed, report, groups?, duration_ms, created_at}; nullopt when there is none.
std::optional<std::string> job_analysis_json(pqxx::transaction_base& tx, const std::string& job_id,
                                             bool with_groups);

}  // namespace beacon::storage
