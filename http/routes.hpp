// The REST routes of the node (the minimal set of the foundation; the full API grows here):
// POST /api/v1/jobs, GET /api/v1/jobs/{id}[?include=executions|all|latest&exec_limit&exec_offset],
// GET /api/v1/jobs/{id}/executions/all, GET /health and /api/v1/health.
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
  admission_settings admission;
};

handler make_routes(route_context ctx);

}  // namespace beacon::http
