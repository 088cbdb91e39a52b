// The route table and the dispatcher in front of it: per-client rate limit, path matching (404,
// 405 with Allow), the bearer token on write routes, and storage or runtime failures as 503.
#include "http/routes.hpp"

#include <algorithm>
#include <pqxx/pqxx>

#include "common/crypto.hpp"
#include "common/logging.hpp"
#include "common/text.hpp"
#include "http/cors.hpp"
#include "http/handlers.hpp"
#include "http/route_util.hpp"

namespace beacon::http {
namespace {

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/') ++i;
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    if (j > i) out.push_back(path.substr(i, j - i));
    i = j;
  }
  return out;
}

// Whether `segments` fit `pattern`; fills the {placeholders}.
bool matches(const std::vector<std::string>& pattern, const std::vector<std::string>& segments,
             path_params& params) {
  if (pattern.size() != segments.size()) return false;
  params.clear();
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i].size() > 2 && pattern[i].front() == '{') {
      params.push_back(segments[i]);
    } else if (pattern[i] != segments[i]) {
      return false;
    }
  }
  return true;
}

bool authorized(const route_context& ctx, const request& req) {
  if (ctx.api_token.empty()) return true;
  auto it = req.headers.find("authorization");
  if (it == req.headers.end()) return false;
  // The scheme is case-insensitive (RFC 9110 11.1); the token is compared in constant time.
  std::string_view value = it->second;
  constexpr std::string_view scheme = "bearer ";
  return text::equal_ignoring_case(value.substr(0, scheme.size()), scheme) &&
         crypto::same_secret(value.substr(scheme.size()), ctx.api_token);
}

// The answer to a preflight (OPTIONS) of a path: 204 with the methods its routes take; 404 when
// no route has this path. The CORS headers themselves come from the decorator.
response preflight(const std::vector<std::vector<std::string>>& patterns,
                   const std::vector<std::string>& segments, const std::string& path) {
  path_params params;
  std::string methods;
  const auto& table = route_table();
  for (size_t i = 0; i < table.size(); ++i) {
    if (!matches(patterns[i], segments, params)) continue;
    std::string m = table[i].method;
    if (methods.find(m) == std::string::npos) methods += (methods.empty() ? "" : ", ") + m;
  }
  if (methods.empty()) return error(404, "no route for OPTIONS " + path, "not_found");
  methods += ", OPTIONS";
  response r{204, "", ""};
  r.headers = cors_preflight_headers(methods);
  r.headers.emplace_back("Allow", methods);
  return r;
}

}  // namespace

decorator cors_decorator(std::shared_ptr<const cors_policy> policy) {
  return [policy](std::string_view origin, std::string_view host, response& r) {
    bool allowed = origin_allowed(*policy, origin, host);
    auto extra = cors_response_headers(allowed ? origin : std::string_view());
    if (!allowed) {
      auto& h = r.headers;
      h.erase(std::remove_if(h.begin(), h.end(), [](auto& kv) { return is_cors_header(kv.first); }),
              h.end());
    }
    for (auto& kv : extra) r.headers.push_back(std::move(kv));
  };
}

const std::vector<route>& route_table() {
  static const std::vector<route> table = {
      {"GET", "/", false, web_index},
      {"GET", "/web/{file}", false, web_asset},
      {"GET", "/health", false, health},
      {"GET", "/api/v1/health", false, health},
      {"GET", "/health/live", false, health_live},
      {"GET", "/health/ready", false, health_ready},
      {"GET", "/metrics", false, metrics},
      {"GET", "/api/v1/metrics", false, metrics},
      {"GET", "/api/openapi.yaml", false, openapi_document},
      {"GET", "/api/v1/questions", false, questions},
      {"GET", "/api/v1/jobs", false, list_jobs},
      {"POST", "/api/v1/jobs", true, submit_job},
      {"POST", "/api/v1/jobs/cross-region", true, submit_cross_region},
      {"GET", "/api/v1/jobs/{id}", false, get_job},
      {"GET", "/api/v1/jobs/{id}/executions/all", false, all_job_executions},
      {"GET", "/api/v1/jobs/{id}/progress", false, job_progress_route},
      {"GET", "/api/v1/jobs/{id}/events", false, job_events},
      {"GET", "/api/v1/jobs/{id}/export", false, export_job},
      {"GET", "/api/v1/jobs/{id}/transparency", false, job_transparency},
      {"POST", "/api/v1/jobs/{id}/cancel", true, cancel_job},
      {"POST", "/api/v1/jobs/{id}/retry-all-failed", true, retry_all_failed},
      {"GET", "/api/v1/executions", false, list_executions},
      {"GET", "/api/v1/executions/{id}/details", false, execution_details},
      {"GET", "/api/v1/executions/{id}/receipt", false, execution_receipt},
      {"POST", "/api/v1/executions/{id}/retry-question", true, retry_question},
      {"GET", "/api/v1/executions/{jobId}/cross-region", false, cross_region_view},
      {"GET", "/api/v1/executions/{jobId}/cross-region-diff", false, cross_region_diff},
      {"GET", "/api/v1/executions/{jobId}/regions", false, job_regions},
      {"POST", "/api/v1/executions/{jobId}/retry-all-failed", true, retry_all_failed},
      {"GET", "/api/v1/executions/{id}/bias-score", false, execution_bias_score},
      {"GET", "/api/v1/diffs", false, list_diffs},
      {"GET", "/api/v1/transparency/root", false, transparency_root},
      {"GET", "/api/v1/transparency/proof", false, transparency_proof},
      {"GET", "/api/v1/transparency/consistency", false, transparency_consistency},
      {"GET", "/api/v1/transparency/heads", false, transparency_heads},
      {"GET", "/api/v1/transparency/logs", false, transparency_logs},
      {"GET", "/api/v2/jobs/{id}/bias-analysis", false, bias_analysis},
      {"GET", "/api/v1/node/key", false, node_public_key},
  };
  return table;
}

handler make_routes(route_context ctx) {
  std::vector<std::vector<std::string>> patterns;
  for (auto& r : route_table()) patterns.push_back(split_path(r.pattern));
  return [ctx, patterns](const request& req) -> response {
    // A target no route can serve is refused before anything reads it (no id reaches SQL).
    if (!req.target_problem.empty())
      return json(400, error_json(req.target_problem, "invalid_request_target",
                                  {{"field", req.target_field}}));
    // A preflight is answered before the rate limit and the token: browsers send one ahead of
    // every call they make from another origin (the portal's GETs included).
    if (req.method == "OPTIONS") return preflight(patterns, split_path(req.path), req.path);
    if (ctx.limiter) {
      double wait_s = 0;
      if (!ctx.limiter->try_acquire(req.remote, rate_limiter::clock::now(), wait_s)) {
        auto r = error(429,
                       "more than " + std::to_string(ctx.limiter->per_minute()) +
                           " requests per minute from " + req.remote,
                       "rate_limit_exceeded");
        r.headers.emplace_back("Retry-After", std::to_string(static_cast<int64_t>(wait_s) + 1));
        return r;
      }
    }
    auto segments = split_path(req.path);
    // HEAD is the GET without its body (the server drops the body, keeps its length).
    const std::string& method = req.method == "HEAD" ? std::string("GET") : req.method;
    path_params params;
    std::string allowed;
    const auto& table = route_table();
    for (size_t i = 0; i < table.size(); ++i) {
      if (!matches(patterns[i], segments, params)) continue;
      if (method != table[i].method) {
        allowed += (allowed.empty() ? "" : ", ") + std::string(table[i].method);
        continue;
      }
      if (table[i].write && !authorized(ctx, req)) {
        auto r = error(401, "this route needs Authorization: Bearer <token>", "unauthorized");
        r.headers.emplace_back("WWW-Authenticate", "Bearer");
        return r;
      }
      try {
        return table[i].run(ctx, req, params);
      } catch (const pqxx::broken_connection& e) {
        // The driver's words stay in the log: the answer says what happened, not the database.
        auto id = next_request_id();
        logging::warn("storage_unavailable").field("request_id", id).field("error", e.what());
        return json(503, error_json("storage unavailable; retry later", "storage_unavailable",
                                    {{"request_id", id}}));
      } catch (const actor_unavailable& e) {
        return error(503, std::string("the runtime did not answer: ") + e.what(),
                     "runtime_unavailable");
      }
    }
    if (!allowed.empty()) {
      auto r = error(405, "use " + allowed + " on " + req.path, "method_not_allowed");
      r.headers.emplace_back("Allow", allowed);
      return r;
    }
    return error(404, "no route for " + req.method + " " + req.path, "not_found");
  };
}

}  // namespace beacon::http
