// The REST routes of the node (the portal's contract, reference section 3, plus progress):
// POST /api/v1/jobs, POST /api/v1/jobs/cross-region (the portal's wrapper), GET /api/v1/jobs?limit,
// GET /api/v1/jobs/{id}[?include=executions|all|latest&exec_limit&exec_offset],
// GET /api/v1/jobs/{id}/executions/all, GET /api/v1/jobs/{id}/progress, GET .../events (SSE),
// POST /api/v1/jobs/{id}/cancel, GET /api/v1/questions, GET /metrics (Prometheus text),
// GET /api/v1/executions?limit&offset&cursor, GET /api/v1/executions/{id}/details|receipt,
// GET /health, /api/v1/health, /health/live, /health/ready.
// Handlers run on the server's worker threads (they wait on PostgreSQL or actor replies).
#pragma once

#include "app/admission.hpp"
#include "caf/actor_system.hpp"
#include "http/server.hpp"
#include "messages/interfaces.hpp"
#include "storage/connection_pool.hpp"

namespace beacon::http {

struct route_context {
  storage::connection_pool* pool = nullptr;
  caf::actor_system* system = nullptr;
  job_manager_actor manager;
  progress_hub_actor hub;
  provider_registry_actor registry;
  admission_settings admission;
};

handler make_routes(route_context ctx);

}  // namespace beacon::http
