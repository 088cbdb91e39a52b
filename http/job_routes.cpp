// Job routes: submit (plain and the portal's cross-region wrapper), list, read, progress, the
// event stream, cancel, and retry-all-failed.
#include <boost/json.hpp>
#include <optional>
#include <pqxx/pqxx>

#include "common/canonical_json.hpp"
#include "common/clock.hpp"
#include "common/json_exact.hpp"
#include "domain/status.hpp"
#include "http/event_stream.hpp"
#include "http/handlers.hpp"
#include "http/portal_words.hpp"
#include "http/progress_json.hpp"
#include "http/route_util.hpp"
#include "storage/job_store.hpp"
#include "storage/retry_store.hpp"

namespace beacon::http {
namespace {

std::string header(const request& req, const char* name) {
  auto it = req.headers.find(name);
  return it == req.headers.end() ? std::string() : it->second;
}

response post_job(const route_context& ctx, const request& req, bool wrapper) {
  if (!is_json_media_type(req.content_type))
    return error(415, "POST " + req.path + " needs Content-Type: application/json",
                 "unsupported_media_type");
  admission_options options;
  options.idempotency_key = header(req, "idempotency-key");
  auto conn = ctx.pool->acquire();
  auto writer = job_writer_of(*ctx.system, ctx.admitter);
  auto result = wrapper ? admit_cross_region(*conn, req.body, ctx.admission, options, writer)
                        : admit(*conn, req.body, ctx.admission, options, writer);
  if (result.status == 202) caf::anon_send(ctx.manager, atom::start::value, result.job_id);
  return json(result.status, std::move(result.body));
}

// The job's live counts from the hub (its board when there is one), or null when the hub does
// not hold the job.
std::shared_ptr<const job_progress> held_progress(const route_context& ctx, const std::string& id) {
  if (ctx.board) return ctx.board->read(id);
  auto p = ask<job_progress>(ctx, ctx.hub, atom::get::value, id);
  return p.found ? std::make_shared<const job_progress>(std::move(p)) : nullptr;
}

// The job's counts in storage (found = false: no such job).
job_progress stored_progress(storage::connection_pool& pool, const std::string& id) {
  job_progress progress;
  progress.job_id = id;
  auto conn = pool.acquire();
  pqxx::read_transaction tx{*conn};
  auto job = storage::find_job(tx, id);
  if (!job) return progress;
  progress.found = true;
  progress.status = job->status;
  progress.reason = job->error;
  storage::read_progress(tx, id, progress);
  return progress;
}

}  // namespace

response list_jobs(const route_context& ctx, const request& req, const path_params&) {
  std::string problem;
  auto limit = int_param(req, "limit", 50, 500, problem);
  if (!limit) return error(400, problem, "invalid_parameter");
  auto conn = ctx.pool->acquire();
  pqxx::read_transaction tx{*conn};
  return json(200, "{\"jobs\":" + storage::list_jobs_json(tx, *limit) + "}");
}

response submit_job(const route_context& ctx, const request& req, const path_params&) {
  return post_job(ctx, req, false);
}

response submit_cross_region(const route_context& ctx, const request& req, const path_params&) {
  return post_job(ctx, req, true);
}

response get_job(const route_context& ctx, const request& req, const path_params& p) {
  const auto& id = p[0];
  std::string include;
  if (auto it = req.query.find("include"); it != req.query.end()) include = it->second;
  if (!include.empty() && include != "executions" && include != "all" && include != "latest")
    return error(400, "include must be executions, all or latest", "invalid_parameter");
  std::string problem;
  auto limit = int_param(req, "exec_limit", 100, 200, problem);
  auto offset = int_param(req, "exec_offset", 0, INT64_MAX / 2, problem);
  if (!limit || !offset) return error(400, problem, "invalid_parameter");
  std::optional<storage::cells_page> page;
  if (include == "executions" || include == "all") page = {*limit, *offset, include == "all"};
  if (include == "latest") page = {1, 0, false};
  auto conn = ctx.pool->acquire();
  pqxx::nontransaction tx{*conn};  // one statement (one snapshot), on a read-only session
  auto job = storage::find_job(tx, id, page);
  if (!job) return error(404, "job not found", "job_not_found");
  // The spec's numbers as JavaScript writes them (jsonb prints 1.5e-7 as 0.00000015).
  auto spec = parse_json_exact(job->spec_json);
  std::string body = "{\"job\":" + (spec ? json_text(*spec) : job->spec_json) + ",\"status\":" +
                     json_text(boost::json::value(portal_job_status(job->status))) +
                     ",\"stored_status\":" + json_text(boost::json::value(to_string(job->status))) +
                     ",\"cells\":" + job->counters_json;
  if (!job->error.empty()) body += ",\"error\":" + json_text(boost::json::value(job->error));
  if (include == "executions" || include == "all") body += ",\"executions\":" + job->cells_json;
  if (include == "latest") {
    auto latest = boost::json::parse(job->cells_json);
    boost::json::array receipts;
    for (auto& e : latest.as_array()) receipts.push_back(e.as_object()["receipt"]);
    body += ",\"executions\":" + json_text(receipts);
  }
  body += "}";
  return json(200, std::move(body));
}

// GET /api/v1/jobs/{id}/executions/all: the portal's {"executions": [...]} (full rows, newest
// first), streamed in pages so no answer is held in memory whole. At most `limit` rows
// [max_all_executions] per answer; the body ends with "total" and "truncated", and, when rows
// are left, "next_before_id" to pass as `before_id` for the next ones.
response all_job_executions(const route_context& ctx, const request& req, const path_params& p) {
  std::string problem;
  auto limit = int_param(req, "limit", max_all_executions, max_all_executions, problem);
  auto before = int_param(req, "before_id", 0, INT64_MAX / 2, problem);
  if (!limit || !before) return error(400, problem, "invalid_parameter");
  if (*limit < 1) return error(400, "limit must be at least 1", "invalid_parameter");
  std::optional<int64_t> total;
  {
    auto conn = ctx.pool->acquire();
    pqxx::read_transaction tx{*conn};
    total = storage::job_total_cells(tx, p[0]);
  }
  if (!total) return error(404, "job not found", "job_not_found");
  response r;
  r.content_type = "application/json";
  r.next_piece = [pool = ctx.pool, job_id = p[0], left = *limit, cursor = *before, total = *total,
                  started = false, ended = false]() mutable -> std::optional<std::string> {
    if (ended) return std::nullopt;
    std::string chunk = started ? "" : "{\"executions\":[";
    storage::execution_rows page;
    if (left > 0) {
      auto conn = pool->acquire();
      pqxx::read_transaction tx{*conn};
      page = storage::executions_before(tx, job_id, cursor, std::min<int64_t>(left, 250));
    }
    for (auto& row : page.rows) {
      if (started || &row != &page.rows.front()) chunk += ',';
      chunk += row;
    }
    started = started || !page.rows.empty();
    left -= static_cast<int64_t>(page.rows.size());
    if (!page.rows.empty()) cursor = page.last_id;
    if (!page.rows.empty() && left > 0) return chunk;
    // The end: whether rows are left past this answer's limit (one cheap probe).
    bool more = false;
    if (left <= 0) {
      auto conn = pool->acquire();
      pqxx::read_transaction tx{*conn};
      more = !storage::executions_before(tx, job_id, cursor, 1).rows.empty();
    }
    chunk += "],\"total\":" + std::to_string(total) + ",\"truncated\":" + (more ? "true" : "false");
    if (more) chunk += ",\"next_before_id\":" + std::to_string(cursor);
    chunk += "}";
    ended = true;
    return chunk;
  };
  return r;
}

response job_progress_route(const route_context& ctx, const request& req, const path_params& p) {
  const auto& id = p[0];
  auto groups = req.query.find("groups");
  bool with_groups = groups != req.query.end() && groups->second == "1";
  if (auto live = held_progress(ctx, id)) return json(200, progress_json(*live, with_groups));
  // Not running here (another node runs it), or finished long ago: count in storage.
  auto progress = stored_progress(*ctx.pool, id);
  if (!progress.found) return error(404, "job not found", "job_not_found");
  return json(200, progress_json(progress, with_groups));
}

// Server-sent events of a job: a snapshot (or the events missed since Last-Event-ID), then one
// event per committed cell transition and job status change.
response job_events(const route_context& ctx, const request& req, const path_params& p) {
  const auto& id = p[0];
  int64_t last = -1;
  std::string given = header(req, "last-event-id");
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
  stored_progress_reader read_stored;
  if (!held_progress(ctx, id)) {
    initial = stored_progress(*ctx.pool, id);
    if (!initial.found) return error(404, "job not found", "job_not_found");
    read_stored = [pool = ctx.pool, id]() -> std::optional<job_progress> {
      try {
        return stored_progress(*pool, id);
      } catch (const std::exception&) {
        return std::nullopt;  // storage is down: the next poll tries again
      }
    };
  }
  response r;
  auto sys = ctx.system;
  auto hub = ctx.hub;
  r.stream = [sys, hub, id, last, initial, read_stored](std::shared_ptr<event_channel> channel) {
    // A stream that reads storage blocks on it: on a thread of its own, not a scheduler's.
    if (read_stored)
      sys->spawn<caf::detached>(event_stream, std::move(channel), id, last, hub, initial,
                                read_stored);
    else
      sys->spawn(event_stream, std::move(channel), id, last, hub, initial, read_stored);
  };
  return r;
}

// Cancels a running job and waits (up to 5 s) for its verdict, in the original's reply shape:
// the job manager answers once the job's supervisor has committed the verdict and ended.
response cancel_job(const route_context& ctx, const request&, const path_params& p) {
  const auto& id = p[0];
  auto stored_status = [&]() -> std::optional<job_status> {
    auto conn = ctx.pool->acquire();
    pqxx::read_transaction tx{*conn};
    auto job = storage::find_job(tx, id);
    if (!job) return std::nullopt;
    return job->status;
  };
  auto before = stored_status();
  if (!before) return error(404, "job not found", "job_not_found");
  auto before_word = word(*before);
  if (is_terminal(*before))
    return json(200, json_text(boost::json::object{{"ok", false},
                                                   {"message", "the job is already " + before_word},
                                                   {"status", before_word}}));
  ask_until<bool>(ctx, std::chrono::seconds(5), ctx.manager, atom::cancel::value, id);
  auto now = stored_status().value_or(*before);
  bool done = is_terminal(now);
  auto conn = ctx.pool->acquire();
  pqxx::read_transaction tx{*conn};
  boost::json::object out{
      {"ok", true},
      {"job_id", id},
      {"previous_status", before_word},
      {"new_status", done ? to_string(now) : std::string_view("cancelling")},
      {"context_cancelled", true},
      {"executions_cancelled", storage::cells_with_status(tx, id, cell_status::cancelled)},
      {"cancelled_at", format_rfc3339(now_us())}};
  return json(done ? 200 : 202, json_text(out));
}

// POST /api/v1/jobs/{id}/retry-all-failed (also the portal's /executions/{id}/retry-all-failed):
// every failed or timed-out cell with manual retries left runs again, in a running job or in an
// ended one (queued again). 202 {job_id, status:"queued"|"retrying", cells_retried}; 200 with
// cells_retried 0 when there is nothing to retry. A job another node runs is retried by that node
// (recorded for it; the answer names it in routed_to).
response retry_all_failed(const route_context& ctx, const request&, const path_params& p) {
  const auto& id = p[0];
  {
    auto conn = ctx.pool->acquire();
    pqxx::read_transaction tx{*conn};
    if (!storage::find_job(tx, id)) return error(404, "job not found", "job_not_found");
  }
  auto r = ask_within<reopen_result>(ctx, write_deadline, ctx.manager, atom::reopen::value, id,
                                     int64_t{0});
  boost::json::object out{{"job_id", id}, {"cells_retried", r.cells}};
  if (r.cells == 0) {
    out["status"] = "unchanged";
    out["message"] = "no failed or timed-out cell with retries left";
    return json(200, json_text(out));
  }
  out["status"] = r.job_was_ended ? "queued" : "retrying";
  if (!r.routed_to.empty()) out["routed_to"] = r.routed_to;
  return json(202, json_text(out));
}

}  // namespace beacon::http
