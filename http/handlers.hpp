// The route handlers, grouped by file: jobs (job_routes.cpp), executions (execution_routes.cpp),
// downloads (export_routes.cpp), analysis and the node key (analysis_routes.cpp), node services
// (service_routes.cpp), the live page (web_routes.cpp). http/routes.cpp maps methods and paths to
// them.
#pragma once

#include "http/routes.hpp"
#include "storage/analysis_store.hpp"

namespace beacon::http {

#define BEACON_ROUTE(name) response name(const route_context&, const request&, const path_params&)

// jobs
BEACON_ROUTE(list_jobs);
BEACON_ROUTE(submit_job);
BEACON_ROUTE(submit_cross_region);
BEACON_ROUTE(get_job);
BEACON_ROUTE(all_job_executions);
BEACON_ROUTE(job_progress_route);
BEACON_ROUTE(job_events);
BEACON_ROUTE(cancel_job);
BEACON_ROUTE(retry_all_failed);
BEACON_ROUTE(cross_region_diff);
BEACON_ROUTE(job_regions);
BEACON_ROUTE(list_diffs);
// executions
BEACON_ROUTE(list_executions);
BEACON_ROUTE(execution_details);
BEACON_ROUTE(execution_receipt);
BEACON_ROUTE(retry_question);
BEACON_ROUTE(cross_region_view);
BEACON_ROUTE(execution_bias_score);
// transparency
BEACON_ROUTE(transparency_root);
BEACON_ROUTE(transparency_proof);
BEACON_ROUTE(transparency_consistency);
BEACON_ROUTE(transparency_heads);
BEACON_ROUTE(transparency_logs);
BEACON_ROUTE(job_transparency);
// downloads
BEACON_ROUTE(export_job);
// analysis
BEACON_ROUTE(bias_analysis);
BEACON_ROUTE(node_public_key);
// node
BEACON_ROUTE(health);
BEACON_ROUTE(health_live);
BEACON_ROUTE(health_ready);
BEACON_ROUTE(metrics);
BEACON_ROUTE(questions);
BEACON_ROUTE(openapi_document);
// the live page
BEACON_ROUTE(web_index);
BEACON_ROUTE(web_asset);

#undef BEACON_ROUTE

// The job's current analysis for a reader: stored, or (an ended job without one) computed and
// stored by the analyst actor while the handler waits. nullopt for an unknown job.
std::optional<storage::current_analysis> current_analysis_of(const route_context& ctx,
                                                             pqxx::connection& conn,
                                                             const std::string& job_id,
                                                             bool with_groups);

}  // namespace beacon::http
