// Route dispatch and the JSON shapes of the original portal contract (reference section 3).
#include "http/routes.hpp"

#include <boost/json.hpp>
#include <chrono>
#include <map>
#include <optional>
#include <pqxx/pqxx>
#include <thread>

#include "actors/event_stream.hpp"
#include "caf/all.hpp"
#include "common/clock.hpp"
#include "http/error_json.hpp"
#include "http/metrics.hpp"
#include "http/progress_json.hpp"
#include "messages/job_spec.hpp"
#include "messages/status.hpp"
#include "storage/job_store.hpp"

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

response json(unsigned status, std::string body) {
  return {status, std::move(body)};
}

response error(unsigned status, std::string_view message, std::string_view code) {
  return json(status, error_json(message, code));
}

// A non-negative integer query parameter within [0, max], or the fallback.
std::optional<int64_t> int_param(const request& req, const std::string& name, int64_t fallback,
                                 int64_t max, std::string& problem) {
  auto it = req.query.find(name);
  if (it == req.query.end() || it->second.empty()) return fallback;
  try {
    size_t used = 0;
    auto v = std::stoll(it->second, &used);
    if (used == it->second.size() && v >= 0 && v <= max) return v;
  } catch (...) {
  }
  problem = name + " must be an integer between 0 and " + std::to_string(max);
  return std::nullopt;
}

// An actor did not answer (gone, or busy past the deadline): the route answers 503.
struct actor_unavailable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Asks an actor and waits for its reply (on a worker thread, never on the I/O thread).
template <class Result, class Handle, class... Ts>
Result ask(const route_context& ctx, const Handle& who, Ts&&... xs) {
  caf::scoped_actor self{*ctx.system};
  std::optional<Result> out;
  std::string problem = "no reply";
  // High priority: a status read overtakes the progress updates queued in the same mailbox.
  self->request<caf::message_priority::high>(who, std::chrono::seconds(2), std::forward<Ts>(xs)...)
      .receive([&](Result& r) { out = std::move(r); },
               [&](caf::error& e) { problem = ctx.system->render(e); });
  if (!out) throw actor_unavailable(problem);
  return std::move(*out);
}

response list_jobs(const route_context& ctx, const request& req) {
  std::string problem;
  auto limit = int_param(req, "limit", 50, 500, problem);
  if (!limit) return error(400, problem, "invalid_parameter");
  auto conn = ctx.pool->acquire();
  pqxx::work tx{*conn};
  return json(200, "{\"jobs\":" + storage::list_jobs_json(tx, *limit) + "}");
}

response job_progress_route(const route_context& ctx, const std::string& id) {
  auto p = ask<job_progress>(ctx, ctx.hub, atom::get::value, id);
  if (p.status.empty()) {  // not running here, or finished long ago: count in storage
    auto conn = ctx.pool->acquire();
    pqxx::work tx{*conn};
    auto job = storage::find_job(tx, id);
    if (!job) return error(404, "job not found", "job_not_found");
    p = job_progress{};
    p.job_id = id;
    p.status = job->status;
    p.reason = job->error;
    storage::read_progress(tx, id, p);
  }
  return json(200, progress_json(p));
}

// Server-sent events of a job: a snapshot (or the events missed since Last-Event-ID), then one
// event per committed cell transition and job status change.
response job_events(const route_context& ctx, const request& req, const std::string& id) {
  int64_t last = -1;
  auto header = req.headers.find("last-event-id");
  std::string given = header != req.headers.end() ? header->second : "";
  if (given.empty())
    if (auto q = req.query.find("last_event_id"); q != req.query.end()) given = q->second;
  if (!given.empty()) {
    try {
      size_t used = 0;
      last = std::stoll(given, &used);
      if (used != given.size() || last < 0) throw std::invalid_argument(given);
    } catch (const std::exception&) {
      return error(400, "Last-Event-ID must be a non-negative integer", "invalid_parameter");
    }
  }
  job_progress initial;
  if (ask<job_progress>(ctx, ctx.hub, atom::get::value, id).status.empty()) {
    auto conn = ctx.pool->acquire();
    pqxx::work tx{*conn};
    auto job = storage::find_job(tx, id);
    if (!job) return error(404, "job not found", "job_not_found");
    initial.job_id = id;
    initial.status = job->status;
    initial.reason = job->error;
    storage::read_progress(tx, id, initial);
  }
  response r;
  auto sys = ctx.system;
  auto hub = ctx.hub;
  r.stream = [sys, hub, id, last, initial](std::shared_ptr<event_channel> channel) {
    sys->spawn(event_stream, std::move(channel), id, last, hub, initial);
  };
  return r;
}

// Cancels a running job and waits (up to 5 s) for its verdict, in the original's reply shape.
response cancel_job(const route_context& ctx, const std::string& id) {
  auto conn = ctx.pool->acquire();
  auto job_status = [&]() -> std::optional<std::string> {
    pqxx::work tx{*conn};
    auto job = storage::find_job(tx, id);
    if (!job) return std::nullopt;
    return job->status;
  };
  auto before = job_status();
  if (!before) return error(404, "job not found", "job_not_found");
  if (status::is_terminal_job(*before))
    return json(
        200,
        boost::json::serialize(boost::json::object{
            {"ok", false}, {"message", "the job is already " + *before}, {"status", *before}}));
  if (!ask<bool>(ctx, ctx.manager, atom::cancel::value, id))
    return error(409, "the job is " + *before + " but not running on this node", "job_not_running");
  auto now = *before;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!status::is_terminal_job(now) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    now = job_status().value_or(now);
  }
  pqxx::work tx{*conn};
  auto cancelled = tx.exec_params1(
      "SELECT count(*) FROM executions WHERE job_id = $1 AND status = 'cancelled'", id);
  bool done = status::is_terminal_job(now);
  boost::json::object out{{"ok", true},
                          {"job_id", id},
                          {"previous_status", *before},
                          {"new_status", done ? now : std::string("cancelling")},
                          {"context_cancelled", true},
                          {"executions_cancelled", cancelled[0].as<int64_t>()},
                          {"cancelled_at", format_rfc3339(now_us())}};
  return json(done ? 200 : 202, boost::json::serialize(out));
}

response list_executions(const route_context& ctx, const request& req) {
  std::string problem;
  auto limit = int_param(req, "limit", 50, 100, problem);
  auto offset = int_param(req, "offset", 0, INT64_MAX / 2, problem);
  auto cursor = int_param(req, "cursor", 0, INT64_MAX, problem);
  if (!limit || !offset || !cursor) return error(400, problem, "invalid_parameter");
  auto conn = ctx.pool->acquire();
  pqxx::work tx{*conn};
  auto page = storage::list_executions_json(tx, *limit, *offset, *cursor);
  auto rows = boost::json::parse(page).as_array();
  boost::json::object out{{"executions", rows},
                          {"limit", *limit},
                          {"offset", *offset},
                          {"total", storage::executions_total(tx)}};
  // The next page of the keyset walk: pass it back as ?cursor=.
  if (static_cast<int64_t>(rows.size()) == *limit && !rows.empty())
    out["next_cursor"] = rows.back().as_object().at("id");
  return json(200, boost::json::serialize(out));
}

// /api/v1/executions/{id}/details and /receipt.
response execution_part(const route_context& ctx, const std::string& id_text,
                        const std::string& part) {
  int64_t id = 0;
  try {
    size_t used = 0;
    id = std::stoll(id_text, &used);
    if (used != id_text.size() || id <= 0) throw std::invalid_argument(id_text);
  } catch (const std::exception&) {
    return error(400, "an execution id is a positive integer", "invalid_parameter");
  }
  auto conn = ctx.pool->acquire();
  pqxx::work tx{*conn};
  if (part == "details") {
    auto e = storage::execution_json(tx, id);
    if (!e) return error(404, "execution not found", "execution_not_found");
    return json(200, *e);
  }
  auto receipt = storage::execution_receipt(tx, id);
  if (!receipt) return error(404, "execution not found", "execution_not_found");
  if (receipt->empty()) return error(404, "this execution has no receipt", "receipt_not_found");
  return json(200, *receipt);
}

response questions() {
  boost::json::object categories{{"control_questions", boost::json::array{}},
                                 {"bias_detection", boost::json::array{}},
                                 {"cultural_perspective", boost::json::array{}}};
  for (auto& q : builtin_questions())
    categories[builtin_category(q.id)].as_array().push_back(
        boost::json::object{{"question_id", q.id}, {"question", q.prompt}});
  return json(200, boost::json::serialize(boost::json::object{{"categories", categories}}));
}

response post_job(const route_context& ctx, const request& req, bool wrapper = false) {
  if (req.content_type.rfind("application/json", 0) != 0)
    return error(415, "POST " + req.path + " needs Content-Type: application/json",
                 "unsupported_media_type");
  auto conn = ctx.pool->acquire();
  auto result = wrapper ? admit_cross_region(*conn, req.body, ctx.admission)
                        : admit(*conn, req.body, ctx.admission);
  if (result.status == 202) caf::anon_send(ctx.manager, atom::start::value, result.job_id);
  return json(result.status, std::move(result.body));
}

response get_job(const route_context& ctx, const request& req, const std::string& id) {
  std::string include;
  if (auto it = req.query.find("include"); it != req.query.end()) include = it->second;
  if (!include.empty() && include != "executions" && include != "all" && include != "latest")
    return error(400, "include must be executions, all or latest", "invalid_parameter");
  std::string problem;
  auto limit = int_param(req, "exec_limit", 100, 200, problem);
  auto offset = int_param(req, "exec_offset", 0, INT64_MAX / 2, problem);
  if (!limit || !offset) return error(400, problem, "invalid_parameter");
  auto conn = ctx.pool->acquire();
  pqxx::work tx{*conn};
  auto job = storage::find_job(tx, id);
  if (!job) return error(404, "job not found", "job_not_found");
  std::string body = "{\"job\":" + job->spec_json +
                     ",\"status\":" + boost::json::serialize(boost::json::value(job->status)) +
                     ",\"cells\":" + job->counters_json;
  if (!job->error.empty())
    body += ",\"error\":" + boost::json::serialize(boost::json::value(job->error));
  if (include == "executions" || include == "all")
    body +=
        ",\"executions\":" + storage::executions_json(tx, id, *limit, *offset, include == "all");
  if (include == "latest") {
    auto latest = boost::json::parse(storage::executions_json(tx, id, 1, 0, false));
    boost::json::array receipts;
    for (auto& e : latest.as_array()) receipts.push_back(e.as_object()["receipt"]);
    body += ",\"executions\":" + boost::json::serialize(receipts);
  }
  body += "}";
  return json(200, std::move(body));
}

response all_executions(const route_context& ctx, const std::string& id) {
  auto conn = ctx.pool->acquire();
  pqxx::work tx{*conn};
  if (!storage::find_job(tx, id)) return error(404, "job not found", "job_not_found");
  return json(200, "{\"executions\":" + storage::executions_json(tx, id, INT64_MAX, 0, true) + "}");
}

response metrics(const route_context& ctx) {
  metrics_input in;
  {
    auto conn = ctx.pool->acquire();
    pqxx::work tx{*conn};
    for (auto row : tx.exec("SELECT status, count(*) FROM jobs GROUP BY status"))
      in.jobs_by_status[row[0].as<std::string>()] = row[1].as<int64_t>();
    auto cells = tx.exec1(
        "SELECT coalesce(sum(pending_cells), 0), coalesce(sum(running_cells), 0),"
        " coalesce(sum(completed_cells), 0), coalesce(sum(failed_cells), 0),"
        " coalesce(sum(timeout_cells), 0), coalesce(sum(cancelled_cells), 0) FROM jobs");
    for (size_t i = 0; i < status::cell_count; ++i)
      in.cells_by_status[std::string(status::cell_all[i])] =
          cells[static_cast<int>(i)].as<int64_t>();
  }
  in.jobs_running_here = static_cast<int64_t>(
      ask<std::vector<std::string>>(ctx, ctx.manager, atom::get::value).size());
  if (ctx.registry)
    in.providers = ask<std::vector<provider_status>>(ctx, ctx.registry, atom::get::value);
  return {200, prometheus_text(in), "text/plain; version=0.0.4"};
}

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
    auto conn = ctx.pool->acquire();
    pqxx::nontransaction tx{*conn};
    tx.exec("SELECT 1");
    return std::string();
  });
  check("actor_runtime", [&] {
    auto jobs = ask<std::vector<std::string>>(ctx, ctx.manager, atom::get::value);
    return std::to_string(jobs.size()) + " job(s) running";
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
    bool up = p.circuit != "open" && p.healthy;
    region_up[p.region] = region_up[p.region] || p.circuit != "open";
    h.providers_ok = h.providers_ok && up;
    boost::json::object s{{"name", "provider:" + p.provider_id},
                          {"status", up ? "healthy" : "unhealthy"},
                          {"region", p.region},
                          {"kind", p.kind},
                          {"circuit", p.circuit},
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

// {status: healthy|degraded|unhealthy, services}; 503 only when the node itself cannot work.
response health(const route_context& ctx) {
  auto h = check_health(ctx);
  auto st = !h.core_ok ? "unhealthy" : h.providers_ok ? "healthy" : "degraded";
  boost::json::object out{{"status", st}, {"services", h.services}};
  return json(h.core_ok ? 200 : 503, boost::json::serialize(out));
}

// {ready, services}: ready when storage and actors answer and every region can be served.
response ready(const route_context& ctx) {
  auto h = check_health(ctx);
  bool ok = h.core_ok && h.regions_served;
  boost::json::object out{{"ready", ok}, {"services", h.services}};
  return json(ok ? 200 : 503, boost::json::serialize(out));
}

}  // namespace

handler make_routes(route_context ctx) {
  return [ctx](const request& req) -> response {
    auto seg = split_path(req.path);
    const bool get = req.method == "GET", post = req.method == "POST";
    try {
      using path = std::vector<std::string>;
      auto only_get = [&] { return error(405, "use GET", "method_not_allowed"); };
      if (seg == path{"health"} || seg == path{"api", "v1", "health"})
        return get ? health(ctx) : only_get();
      if (seg == path{"health", "live"})
        return get ? json(200, R"({"status":"alive"})") : only_get();
      if (seg == path{"health", "ready"}) return get ? ready(ctx) : only_get();
      if (seg == path{"api", "v1", "questions"}) return get ? questions() : only_get();
      if (seg == path{"metrics"} || seg == path{"api", "v1", "metrics"})
        return get ? metrics(ctx) : only_get();
      if (seg == path{"api", "v1", "executions"})
        return get ? list_executions(ctx, req) : only_get();
      if (seg.size() == 5 && seg[0] == "api" && seg[1] == "v1" && seg[2] == "executions" &&
          (seg[4] == "details" || seg[4] == "receipt"))
        return get ? execution_part(ctx, seg[3], seg[4]) : only_get();
      if (seg.size() >= 3 && seg[0] == "api" && seg[1] == "v1" && seg[2] == "jobs") {
        if (seg.size() == 3) {
          if (get) return list_jobs(ctx, req);
          if (!post)
            return error(405, "use POST to submit a job, GET to list", "method_not_allowed");
          return post_job(ctx, req);
        }
        if (seg.size() == 4 && seg[3] == "cross-region" && post) return post_job(ctx, req, true);
        if (seg.size() == 4) return get ? get_job(ctx, req, seg[3]) : only_get();
        if (seg.size() == 5 && seg[4] == "progress")
          return get ? job_progress_route(ctx, seg[3]) : only_get();
        if (seg.size() == 5 && seg[4] == "events")
          return get ? job_events(ctx, req, seg[3]) : only_get();
        if (seg.size() == 5 && seg[4] == "cancel") {
          if (!post) return error(405, "use POST", "method_not_allowed");
          return cancel_job(ctx, seg[3]);
        }
        if (seg.size() == 6 && seg[4] == "executions" && seg[5] == "all")
          return get ? all_executions(ctx, seg[3]) : only_get();
      }
    } catch (const pqxx::broken_connection& e) {
      return error(503, std::string("storage unavailable: ") + e.what(), "storage_unavailable");
    } catch (const actor_unavailable& e) {
      return error(503, std::string("the runtime did not answer: ") + e.what(),
                   "runtime_unavailable");
    }
    return error(404, "no route for " + req.method + " " + req.path, "not_found");
  };
}

}  // namespace beacon::http
