// The portal's job-level reads: the job-level cross-region diff (probed when a job completes),
// the per-region results, the list of analysed jobs, and one execution's bias score. Every number
// comes from the stored rows and analysis.
#include <boost/json.hpp>
#include <pqxx/pqxx>

#include "analysis/comparison.hpp"
#include "common/canonical_json.hpp"
#include "common/clock.hpp"
#include "domain/status.hpp"
#include "http/handlers.hpp"
#include "http/route_util.hpp"
#include "storage/analysis_store.hpp"
#include "storage/job_store.hpp"
#include "storage/portal_reads.hpp"

namespace beacon::http {
namespace {

// The portal-facing fields of a stored analysis (the v2 shape's `analysis` without ids).
boost::json::object diff_analysis(const boost::json::object& report) {
  boost::json::object out;
  if (auto* a = report.if_contains("analysis"); a && a->is_object())
    for (auto key :
         {"bias_variance", "censorship_rate", "factual_consistency", "narrative_divergence",
          "key_differences", "risk_assessment", "summary", "recommendation"})
      if (auto* v = a->as_object().if_contains(key)) out[key] = *v;
  out["summary_source"] = "computed";
  return out;
}

}  // namespace

// GET /api/v1/executions/{jobId}/cross-region-diff: the job-level comparison once the job has
// ended and its analysis exists (404 analysis_pending before: the portal reads that as "diff not
// ready"): {job_id, total_regions, executions (one entry per region with its counts), analysis,
// evidence, generated_at}.
response cross_region_diff(const route_context& ctx, const request&, const path_params& p) {
  const auto& job_id = p[0];
  auto conn = ctx.pool->acquire();
  auto current = current_analysis_of(ctx, *conn, job_id, false);
  if (!current) return error(404, "job not found", "job_not_found");
  if (!current->row)
    return error(404, "no diff yet: the job is " + word(current->status), "analysis_pending");
  auto row = boost::json::parse(*current->row).as_object();
  auto& report = row["report"].as_object();
  pqxx::read_transaction tx{*conn};
  auto regions = boost::json::parse(storage::region_results_json(tx, job_id)).as_array();
  boost::json::object out{{"job_id", job_id},
                          {"cross_region_execution_id", row["cross_region_execution_id"]},
                          {"status", to_string(current->status)},
                          {"total_regions", regions.size()},
                          {"executions", std::move(regions)},
                          {"analysis", diff_analysis(report)},
                          {"evidence", report["evidence"]},
                          {"generated_at", row["created_at"]}};
  return json(200, json_text(out));
}

// GET /api/v1/executions/{jobId}/regions: the job's regions with their status and counts.
response job_regions(const route_context& ctx, const request&, const path_params& p) {
  const auto& job_id = p[0];
  auto conn = ctx.pool->acquire();
  pqxx::read_transaction tx{*conn};
  auto job = storage::find_job(tx, job_id);
  if (!job) return error(404, "job not found", "job_not_found");
  auto regions = boost::json::parse(storage::region_results_json(tx, job_id)).as_array();
  boost::json::object out{
      {"job_id", job_id},
      {"cross_region_execution_id", storage::cross_region_execution_id(tx, job_id)},
      {"status", to_string(job->status)},
      {"total_regions", regions.size()},
      {"regions", std::move(regions)}};
  return json(200, json_text(out));
}

// GET /api/v1/diffs?limit: the newest analysed jobs, with where the portal shows each.
response list_diffs(const route_context& ctx, const request& req, const path_params&) {
  std::string problem;
  auto limit = int_param(req, "limit", 50, 500, problem);
  if (!limit) return error(400, problem, "invalid_parameter");
  auto conn = ctx.pool->acquire();
  pqxx::read_transaction tx{*conn};
  boost::json::object out{{"diffs", boost::json::parse(storage::diffs_json(tx, *limit))},
                          {"limit", *limit},
                          {"total", storage::diffs_total(tx)}};
  return json(200, json_text(out));
}

// GET /api/v1/executions/{id}/bias-score: the scoring of a completed execution's region within
// its question x model across regions (analysis/comparison.hpp), with its own classification.
response execution_bias_score(const route_context& ctx, const request&, const path_params& p) {
  auto id = positive_id(p[0]);
  if (!id) return error(400, "an execution id is a positive integer", "invalid_parameter");
  auto conn = ctx.pool->acquire();
  pqxx::read_transaction tx{*conn};
  auto e = storage::find_execution(tx, *id);
  if (!e) return error(404, "execution not found", "execution_not_found");
  if (e->status != cell_status::completed)
    return error(404,
                 "execution " + p[0] + " is " + word(e->status) + ": there is no answer to score",
                 "bias_score_unavailable");
  auto group =
      analysis::analyze_group(e->question_id, e->model_id,
                              storage::answer_group(tx, e->job_id, e->model_id, e->question_id));
  boost::json::object metrics;
  for (auto& f : group.regions)
    if (f.region == e->region) metrics = analysis::region_scoring(f);
  auto details = boost::json::parse(storage::execution_json(tx, *id).value_or("{}")).as_object();
  for (auto key : {"response_classification", "classification_reason", "is_content_refusal",
                   "is_substantive", "response_length", "response_language", "key_terms"})
    if (auto* v = details.if_contains(key)) metrics[key] = *v;
  metrics["region"] = e->region;
  metrics["model_id"] = e->model_id;
  metrics["question_id"] = e->question_id;
  metrics["regions_compared"] = group.regions.size();
  boost::json::object out{{"execution_id", *id},
                          {"job_id", e->job_id},
                          {"bias_metrics", std::move(metrics)},
                          {"retrieved_at", format_rfc3339(now_us())}};
  return json(200, json_text(out));
}

}  // namespace beacon::http
