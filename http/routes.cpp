// Route dispatch and the JSON shapes of the original portal contract (reference section 3).
#include "http/routes.hpp"

#include <boost/json.hpp>
#include <chrono>
#include <pqxx/pqxx>

#include "caf/all.hpp"
#include "common/clock.hpp"
#include "http/error_json.hpp"
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

response post_job(const route_context& ctx, const request& req) {
  if (req.content_type.rfind("application/json", 0) != 0)
    return error(415, "POST /api/v1/jobs needs Content-Type: application/json",
                 "unsupported_media_type");
  auto conn = ctx.pool->acquire();
  auto result = admit(*conn, req.body, ctx.admission);
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

response health(const route_context& ctx) {
  using clock = std::chrono::steady_clock;
  boost::json::array services;
  bool healthy = true;
  auto check = [&](const char* name, auto&& probe) {
    auto t0 = clock::now();
    std::string st = "healthy", detail;
    try {
      detail = probe();
    } catch (const std::exception& e) {
      st = "unhealthy";
      detail = e.what();
      healthy = false;
    }
    boost::json::object s{
        {"name", name},
        {"status", st},
        {"last_check", format_rfc3339(now_us())},
        {"response_time_ms", std::chrono::duration<double, std::milli>(clock::now() - t0).count()}};
    if (!detail.empty()) s["detail"] = detail;
    services.push_back(std::move(s));
  };
  check("database", [&] {
    auto conn = ctx.pool->acquire();
    pqxx::nontransaction tx{*conn};
    tx.exec("SELECT 1");
    return std::string();
  });
  check("actor_runtime", [&] {
    caf::scoped_actor self{*ctx.system};
    std::string detail;
    self->request(ctx.manager, std::chrono::seconds(2), atom::get::value)
        .receive(
            [&](const std::vector<std::string>& jobs) {
              detail = std::to_string(jobs.size()) + " job(s) running";
            },
            [&](caf::error& e) { throw std::runtime_error(ctx.system->render(e)); });
    return detail;
  });
  boost::json::object out{{"status", healthy ? "healthy" : "unhealthy"}, {"services", services}};
  return json(healthy ? 200 : 503, boost::json::serialize(out));
}

}  // namespace

handler make_routes(route_context ctx) {
  return [ctx](const request& req) -> response {
    auto seg = split_path(req.path);
    const bool get = req.method == "GET", post = req.method == "POST";
    try {
      if ((seg == std::vector<std::string>{"health"}) ||
          (seg == std::vector<std::string>{"api", "v1", "health"})) {
        if (!get) return error(405, "use GET", "method_not_allowed");
        return health(ctx);
      }
      if (seg.size() >= 3 && seg[0] == "api" && seg[1] == "v1" && seg[2] == "jobs") {
        if (seg.size() == 3) {
          if (!post) return error(405, "use POST to submit a job", "method_not_allowed");
          return post_job(ctx, req);
        }
        if (seg.size() == 4) {
          if (!get) return error(405, "use GET", "method_not_allowed");
          return get_job(ctx, req, seg[3]);
        }
        if (seg.size() == 6 && seg[4] == "executions" && seg[5] == "all") {
          if (!get) return error(405, "use GET", "method_not_allowed");
          return all_executions(ctx, seg[3]);
        }
      }
    } catch (const pqxx::broken_connection& e) {
      return error(503, std::string("storage unavailable: ") + e.what(), "storage_unavailable");
    }
    return error(404, "no route for " + req.method + " " + req.path, "not_found");
  };
}

}  // namespace beacon::http
