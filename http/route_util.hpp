// Helpers shared by the route handlers: JSON replies, query parameters, path ids, and asking an
// actor from a worker thread.
#pragma once

#include <chrono>
#include <optional>
#include <pqxx/transaction_base>
#include <stdexcept>
#include <string>
#include <string_view>

#include "caf/all.hpp"
#include "http/error_json.hpp"
#include "http/routes.hpp"

namespace beacon::http {

inline response json(unsigned status, std::string body) {
  return {status, std::move(body)};
}

inline response error(unsigned status, std::string_view message, std::string_view code) {
  return json(status, error_json(message, code));
}

// A non-negative integer query parameter within [0, max], or the fallback; nullopt (with
// `problem` set) when it is malformed or out of range.
std::optional<int64_t> int_param(const request& req, const std::string& name, int64_t fallback,
                                 int64_t max, std::string& problem);

// The Content-Type names JSON: the media type application/json, in any case, with or without
// parameters (charset); application/jsonfoo and the like do not.
bool is_json_media_type(std::string_view content_type);

// A positive integer path id (an execution id), or nullopt.
std::optional<int64_t> positive_id(const std::string& text);

// An actor did not answer (gone, or busy past the deadline): the route answers 503.
struct actor_unavailable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Asks an actor and waits up to `deadline` for its reply (on a worker thread, never on the I/O
// thread); nullopt when no reply came in time (the caller may answer "still in progress"), other
// failures throw actor_unavailable (the route answers 503).
template <class Result, class Handle, class... Ts>
std::optional<Result> ask_until(const route_context& ctx, caf::timespan deadline, const Handle& who,
                                Ts&&... xs) {
  caf::scoped_actor self{*ctx.system};
  std::optional<Result> out;
  std::optional<std::string> problem;
  // High priority: a status read overtakes the progress updates queued in the same mailbox.
  self->request<caf::message_priority::high>(who, deadline, std::forward<Ts>(xs)...)
      .receive([&](Result& r) { out = std::move(r); },
               [&](caf::error& e) {
                 if (e != caf::sec::request_timeout) problem = ctx.system->render(e);
               });
  if (problem) throw actor_unavailable(*problem);
  return out;
}

// Like ask_until, but no reply in time also throws actor_unavailable.
template <class Result, class Handle, class... Ts>
Result ask_within(const route_context& ctx, caf::timespan deadline, const Handle& who, Ts&&... xs) {
  auto out = ask_until<Result>(ctx, deadline, who, std::forward<Ts>(xs)...);
  if (!out) throw actor_unavailable("no reply within the deadline");
  return std::move(*out);
}

// A read of an actor's state: answered at once or the actor is in trouble (2 s).
template <class Result, class Handle, class... Ts>
Result ask(const route_context& ctx, const Handle& who, Ts&&... xs) {
  return ask_within<Result>(ctx, std::chrono::seconds(2), who, std::forward<Ts>(xs)...);
}

// A change the runtime makes for a handler: it waits for storage, so it gets longer (15 s).
inline constexpr std::chrono::seconds write_deadline{15};

// The most rows one GET /jobs/{id}/executions/all answers (a job the portal makes has far fewer;
// the rest are paged with before_id, or read whole from /export).
inline constexpr int64_t max_all_executions = 50'000;

}  // namespace beacon::http
