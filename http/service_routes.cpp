// Node routes: health (with PostgreSQL, the actors and every provider), liveness, readiness,
// Prometheus metrics, the question catalogue and the OpenAPI document.
#include <boost/json.hpp>
#include <map>
#include <pqxx/pqxx>

#include "common/canonical_json.hpp"
#include "common/clock.hpp"
#include "domain/job_spec.hpp"
#include "domain/status.hpp"
#include "http/embedded_files.hpp"
#include "http/handlers.hpp"
#include "http/metrics.hpp"
#include "http/route_util.hpp"
#include "storage/service_reads.hpp"

namespace beacon::http {
namespace {

// The checks behind /health and /health/ready: PostgreSQL, the actor runtime, every provider.
struct health_report {
  boost::json::array services;
  bool core_ok = true;         // PostgreSQL and the actors answer
  bool providers_ok = true;    // no provider circuit open, no failing health check
  bool regions_served = true;  // every region with providers has one whose circuit is not open
};

health_report check_health(const route_context& ctx) {
  using clock = std::chrono::steady_clock;
  health_report h;
  auto check = [&](const char* name, auto&& probe) {
    auto t0 = clock::now();
    std::string st = "healthy", detail;
    try {
      detail = probe();
    } catch (const std::exception& e) {
      st = "unhealthy";
      detail = e.what();
      h.core_ok = false;
    }
    boost::json::object s{
        {"name", name},
        {"status", st},
        {"last_check", format_rfc3339(now_us())},
        {"response_time_ms", std::chrono::duration<double, std::milli>(clock::now() - t0).count()}};
    if (!detail.empty()) s["detail"] = detail;
    h.services.push_back(std::move(s));
  };
  check("database", [&] {
    // The keeper knows why the embedded server is down: say that instead of a refused connection.
    if (ctx.database_watch)
      if (auto why = ctx.database_watch->down_reason()) throw std::runtime_error(*why);
    auto conn = ctx.pool->acquire();
    pqxx::read_transaction tx{*conn};
    storage::check_database(tx);
    return std::string();
  });
  check("actor_runtime", [&] {
    auto jobs = ask<std::vector<std::string>>(ctx, ctx.manager, atom::get::value);
    return std::to_string(jobs.size()) + " job(s) running";
  });
  // The one writer of cells: busy for seconds on one request means no job makes progress.
  check("persistence", [&] {
    auto store = ctx.system->registry().get<persistence_actor>(persistence_key);
    if (!store) throw std::runtime_error("the persistence actor is not running");
    try {
      auto batches = ask<int64_t>(ctx, store, atom::ping::value);
      return std::to_string(batches) + " write batch(es) committed";
    } catch (const std::exception&) {
      throw std::runtime_error(
          "the persistence actor has not answered within 2 s: no job is making progress");
    }
  });
  if (!ctx.registry) return h;
  std::vector<provider_status> providers;
  try {
    providers = ask<std::vector<provider_status>>(ctx, ctx.registry, atom::get::value);
  } catch (const std::exception& e) {
    h.core_ok = false;
    h.services.push_back(
        boost::json::object{{"name", "providers"}, {"status", "unhealthy"}, {"detail", e.what()}});
  }
  std::map<std::string, bool> region_up;
  for (auto& p : providers) {
    bool admits_calls = p.circuit != circuit_state::open;
    bool up = admits_calls && p.healthy;
    region_up[p.region] = region_up[p.region] || admits_calls;
    h.providers_ok = h.providers_ok && up;
    boost::json::object s{{"name", "provider:" + p.provider_id},
                          {"status", up ? "healthy" : "unhealthy"},
                          {"region", p.region},
                          {"kind", p.kind},
                          {"circuit", to_string(p.circuit)},
                          {"load", p.load},
                          {"limit", p.limit},
                          {"latency_ms", p.latency_ms}};
    if (p.last_health_check_us > 0) s["last_check"] = format_rfc3339(p.last_health_check_us);
    if (!p.last_failure.empty()) s["detail"] = p.last_failure;
    h.services.push_back(std::move(s));
  }
  for (auto& [region, up] : region_up) h.regions_served = h.regions_served && up;
  return h;
}

}  // namespace

// {status: healthy|degraded|unhealthy, services}; 503 only when the node itself cannot work.
response health(const route_context& ctx, const request&, const path_params&) {
  auto h = check_health(ctx);
  auto st = !h.core_ok ? "unhealthy" : h.providers_ok ? "healthy" : "degraded";
  boost::json::object out{{"status", st}, {"services", h.services}};
  return json(h.core_ok ? 200 : 503, json_text(out));
}

response health_live(const route_context&, const request&, const path_params&) {
  return json(200, R"({"status":"alive"})");
}

// {ready, services}: ready when storage and actors answer and every region can be served.
response health_ready(const route_context& ctx, const request&, const path_params&) {
  auto h = check_health(ctx);
  bool ok = h.core_ok && h.regions_served;
  boost::json::object out{{"ready", ok}, {"services", h.services}};
  return json(ok ? 200 : 503, json_text(out));
}

response metrics(const route_context& ctx, const request&, const path_params&) {
  metrics_input in;
  {
    auto conn = ctx.pool->acquire();
    pqxx::read_transaction tx{*conn};
    in.jobs_by_status = storage::jobs_by_status(tx);
    in.cells_by_status = storage::cells_by_status(tx);
  }
  in.jobs_running_here = static_cast<int64_t>(
      ask<std::vector<std::string>>(ctx, ctx.manager, atom::get::value).size());
  if (ctx.registry)
    in.providers = ask<std::vector<provider_status>>(ctx, ctx.registry, atom::get::value);
  if (ctx.database_watch) in.database_restarts = ctx.database_watch->restarts();
  if (ctx.board) in.usage = ctx.board->usage();
  if (ctx.admission.prices) in.currency = ctx.admission.prices->currency();
  if (ctx.cell_overhead) in.cell_overhead = ctx.cell_overhead->snapshot();
  return {200, prometheus_text(in), "text/plain; version=0.0.4"};
}

response questions(const route_context&, const request&, const path_params&) {
  boost::json::object categories{{"control_questions", boost::json::array{}},
                                 {"bias_detection", boost::json::array{}},
                                 {"cultural_perspective", boost::json::array{}}};
  for (auto& q : builtin_questions())
    categories[builtin_category(q.id)].as_array().push_back(
        boost::json::object{{"question_id", q.id}, {"question", q.prompt}});
  return json(200, json_text(boost::json::object{{"categories", categories}}));
}

response openapi_document(const route_context&, const request&, const path_params&) {
  return {200, embedded_file("docs/openapi.yaml"), "application/yaml"};
}

}  // namespace beacon::http
