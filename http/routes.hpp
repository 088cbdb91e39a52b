// The REST routes of the node, as one table (http/routes.cpp): the portal's contract (reference
// section 3) plus progress, events, export, retries, metrics and the live page. Every route is
// listed in docs/openapi.yaml (a test compares the two). Handlers run on the server's worker
// threads (they wait on PostgreSQL or actor replies).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "actors/progress_board.hpp"
#include "caf/actor_system.hpp"
#include "common/latency_histogram.hpp"
#include "common/node_key.hpp"
#include "http/admission.hpp"
#include "http/cors.hpp"
#include "http/rate_limit.hpp"
#include "http/server.hpp"
#include "messages/interfaces.hpp"
#include "storage/connection_pool.hpp"
#include "storage/database_watch.hpp"

namespace beacon::http {

struct route_context {
  storage::connection_pool* pool = nullptr;
  caf::actor_system* system = nullptr;
  job_manager_actor manager;
  progress_hub_actor hub;
  std::shared_ptr<progress_board> board;  // the hub's published counts
  provider_registry_actor registry;
  analyst_actor analyst;    // computes and stores analyses (null: none are computed on read)
  admitter_actor admitter;  // stores submitted jobs
  std::shared_ptr<const node_key> signing_key;  // the receipts' signing key (public half served)
  admission_settings admission;
  std::string api_token;                  // non-empty: write routes need "Bearer <token>"
  std::shared_ptr<rate_limiter> limiter;  // per client address; null: no limit
  // The embedded PostgreSQL server's state (null with a database URL).
  std::shared_ptr<const storage::database_watch> database_watch;
  std::string node_id;  // this node's name among the nodes sharing the database
  std::shared_ptr<const latency_histogram> cell_overhead;  // the runtime's (null: not kept)
};

// The {placeholders} of a route's path, in order.
using path_params = std::vector<std::string>;
using route_fn = response (*)(const route_context&, const request&, const path_params&);

struct route {
  const char* method;   // GET or POST
  const char* pattern;  // e.g. /api/v1/jobs/{id}/progress
  bool write;           // needs the bearer token when one is configured
  route_fn run;
};

const std::vector<route>& route_table();

handler make_routes(route_context ctx);

// Adds the CORS headers of `policy` to every response (and strips preflight headers for an origin
// that is not allowed): install it on the server with server::decorate.
decorator cors_decorator(std::shared_ptr<const cors_policy> policy);

}  // namespace beacon::http
