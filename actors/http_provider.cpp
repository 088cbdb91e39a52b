// The HTTP provider actor.
#include "actors/http_provider.hpp"

#include <algorithm>

#include "caf/all.hpp"
#include "common/clock.hpp"
#include "common/logging.hpp"
#include "domain/error_class.hpp"

namespace beacon {
namespace {

using self_ptr = http_provider_actor::stateful_pointer<http_provider_state>;
using namespace std::chrono_literals;

// Load reports are coalesced to one per this interval.
constexpr auto report_interval = 20ms;

provider_status status_of(self_ptr self) {
  auto& st = self->state;
  provider_status s = st.totals;
  s.provider_id = st.config.id;
  s.region = st.config.region;
  s.kind = std::string(providers::to_string(st.config.protocol));
  s.circuit = st.breaker.current(self->clock().now());
  s.load = static_cast<int32_t>(st.in_flight.size() + st.queued.size());
  s.limit = static_cast<int32_t>(st.limit.current());
  s.max_concurrency = static_cast<int32_t>(st.config.max_concurrency);
  s.consecutive_failures = st.breaker.consecutive_failures();
  s.last_failure = st.breaker.last_failure();
  s.healthy = st.healthy;
  s.last_health_check_us = st.last_health_check_us;
  s.rate_limit_cuts = st.rate_limit_cuts;
  s.latency_ms = st.latency_ms;
  return s;
}

void report_now(self_ptr self) {
  auto& st = self->state;
  auto s = status_of(self);
  if (s.circuit != st.reported_circuit) {
    logging::line(s.circuit == circuit_state::closed ? spdlog::level::info : spdlog::level::warn,
                  "circuit_" + word(s.circuit))
        .field("provider_id", s.provider_id)
        .field("region", s.region)
        .field("consecutive_failures", s.consecutive_failures)
        .field("last_failure", s.last_failure);
    st.reported_circuit = s.circuit;
  }
  if (st.registry) self->send(st.registry, atom::update::value, std::move(s));
}

// The load changed: report it within report_interval.
void load_changed(self_ptr self) {
  auto& st = self->state;
  if (st.report_due || !st.registry) return;
  st.report_due = true;
  self->delayed_send(self, report_interval, atom::report::value);
}

// The breaker may have opened: report at once and wake up when its cool-down ends.
void circuit_changed(self_ptr self) {
  auto& st = self->state;
  auto now = self->clock().now();
  if (st.breaker.current(now) == providers::circuit_breaker::state::open)
    self->delayed_send(self, st.breaker.reopens_at() - now, atom::half_open::value);
  report_now(self);
}

// Answers a call with a failure; `sent` says whether it had left for the provider, and
// `retry_after_ms` when it is worth trying again.
void answer_failure(http_provider_state::call& c, const http_provider_config& cfg, error_class cls,
                    std::string message, bool sent, int64_t retry_after_ms = 0) {
  provider_reply r;
  r.sent = sent;
  r.retry_after_ms = retry_after_ms;
  r.provider_id = cfg.id;
  r.provider_region = cfg.region;
  r.model_served = c.req.model_id;
  r.failure = cls;
  r.error_message = std::move(message);
  if (c.rp.pending()) c.rp.deliver(std::move(r));
}

std::string circuit_message(const http_provider_state& st) {
  return "provider " + st.config.id +
         " is not called while its circuit is open (last failure: " + st.breaker.last_failure() +
         ")";
}

// Whether calls are refused now: the circuit is open, or half-open with its one trial out.
bool refusing(const http_provider_state& st, caf::actor_clock::time_point now) {
  auto c = st.breaker.current(now);
  using state = providers::circuit_breaker::state;
  return c == state::open || (c == state::half_open && st.breaker.trial_out());
}

// Refuses a call while the circuit is not closed: not sent, worth trying when it turns
// half-open (at once when it already is: its trial decides soon).
void refuse_while_open(http_provider_state& st, http_provider_state::call& c,
                       caf::actor_clock::time_point now) {
  auto wait =
      std::chrono::duration_cast<std::chrono::milliseconds>(st.breaker.reopens_at() - now).count();
  answer_failure(c, st.config, error_class::circuit_open, circuit_message(st), false,
                 std::max<int64_t>(1, wait));
}

// One call of `who` ended: stop watching it when it has no other.
void unwatch(self_ptr self, const caf::actor_addr& who) {
  auto& watched = self->state.watched;
  auto it = watched.find(who);
  if (it == watched.end()) return;
  if (--it->second == 0) {
    self->demonitor(who);
    watched.erase(it);
  }
}

void start(self_ptr self, http_provider_state::call c) {
  auto& st = self->state;
  auto& cfg = st.config;
  providers::call_input in{c.req.model_id, c.req.prompt, c.req.system_prompt, c.req.region,
                           c.req.generation};
  auto wire = providers::build_request(cfg.protocol, in);
  providers::http_call call;
  call.url = cfg.base_url + wire.path;
  call.body = std::move(wire.body);
  call.headers = {"Content-Type: application/json", "Accept: application/json"};
  if (!cfg.auth_header.empty()) call.headers.push_back(cfg.auth_header);
  call.connect_timeout = cfg.connect_timeout;
  // What is left of the caller's timeout after waiting in the queue.
  call.total_timeout = std::max(
      1ms, std::chrono::duration_cast<std::chrono::milliseconds>(c.deadline - self->clock().now()));
  call.max_body = cfg.max_body;
  call.ca_file = cfg.ca_file;
  auto token = st.next_token++;
  auto me = caf::actor_cast<caf::actor>(self);
  c.transfer = st.client->submit(std::move(call), [me, token](providers::http_outcome o) {
    http_result r{static_cast<int32_t>(o.status), std::move(o.body),        o.failure,
                  std::move(o.error_message),     std::move(o.retry_after), o.elapsed_ms};
    caf::anon_send(me, atom::http_done::value, token, std::move(r));
  });
  st.in_flight.emplace(token, std::move(c));
}

// Answers the queued calls that cannot wait any longer, unsent: the caller gave up, the call's
// deadline passed while it waited for a slot, or the circuit is open.
void sweep_queue(self_ptr self, caf::actor_clock::time_point now) {
  auto& st = self->state;
  bool open = refusing(st, now);
  std::vector<caf::actor_addr> done;
  auto ends = [&](http_provider_state::call& c) {
    if (!c.rp.pending()) {  // the caller gave up: nothing to answer
    } else if (now >= c.queue_deadline) {
      answer_failure(c, st.config, error_class::timeout,
                     "the attempt's time ran out while waiting for one of provider " +
                         st.config.id + "'s " + std::to_string(st.limit.current()) +
                         " concurrent call slots",
                     false);
    } else if (open) {
      refuse_while_open(st, c, now);
    } else {
      return false;
    }
    done.push_back(c.requester);
    return true;
  };
  std::deque<http_provider_state::call> kept;
  st.earliest_queue_deadline = caf::actor_clock::time_point::max();
  for (auto& c : st.queued)
    if (!ends(c)) {
      st.earliest_queue_deadline = std::min(st.earliest_queue_deadline, c.queue_deadline);
      kept.push_back(std::move(c));
    }
  st.queued.swap(kept);
  for (auto& who : done) unwatch(self, who);
}

// Whether a queued call may have to be answered unsent now: the circuit refuses calls, or the
// earliest queue deadline has passed. Otherwise the queue is left as it is (a sweep is linear in
// its length; pump runs at every call's end).
bool sweep_due(http_provider_state& st, caf::actor_clock::time_point now) {
  return !st.queued.empty() && (refusing(st, now) || now >= st.earliest_queue_deadline);
}

// Starts queued calls while the limit and the circuit allow.
void pump(self_ptr self) {
  auto& st = self->state;
  auto now = self->clock().now();
  if (sweep_due(st, now)) sweep_queue(self, now);
  while (!st.queued.empty() && st.in_flight.size() < st.limit.current()) {
    if (!st.queued.front().rp.pending()) {  // its caller gave up meanwhile: nothing to send
      auto gone = st.queued.front().requester;
      st.queued.pop_front();
      unwatch(self, gone);
      continue;
    }
    bool half_open = st.breaker.current(now) == providers::circuit_breaker::state::half_open;
    if (!st.breaker.try_acquire(now)) break;
    auto next = std::move(st.queued.front());
    st.queued.pop_front();
    next.trial = half_open;
    start(self, std::move(next));
  }
  // Half-open with its trial just started: the rest wait outside, unsent, for its verdict.
  if (refusing(st, now)) sweep_queue(self, now);
  load_changed(self);
}

// A requester died: drop its queued calls and abort its transfers.
void requester_down(self_ptr self, const caf::down_msg& dm) {
  auto& st = self->state;
  if (st.watched.erase(dm.source) == 0) return;
  st.queued.erase(std::remove_if(st.queued.begin(), st.queued.end(),
                                 [&](auto& c) { return c.requester == dm.source; }),
                  st.queued.end());
  for (auto& kv : st.in_flight)
    if (kv.second.requester == dm.source) st.client->cancel(kv.second.transfer);
  load_changed(self);
}

provider_reply reply_for(const http_provider_config& cfg, const provider_request& req,
                         const http_result& r) {
  provider_reply out;
  out.provider_id = cfg.id;
  out.provider_region = cfg.region;
  out.model_served = req.model_id;
  out.model_asked = req.model_id;
  out.settings_unsent = providers::unsent_settings(cfg.protocol, req.generation);
  out.http_status = r.status;
  out.latency_us = static_cast<int64_t>(r.elapsed_ms * 1000);
  if (r.failure != error_class::none) {
    out.failure = r.failure;
    out.error_message = r.error_message;
    return out;
  }
  auto parsed = providers::parse_response(cfg.protocol, r.status, r.body);
  if (!parsed.model.empty()) out.model_served = parsed.model;
  out.prompt_tokens = parsed.prompt_tokens;
  out.completion_tokens = parsed.completion_tokens;
  out.finish_reason = parsed.finish_reason;
  if (!parsed.served_by.empty()) out.provider_id = cfg.id + "/" + parsed.served_by;
  if (!parsed.served_region.empty() && parsed.served_region != cfg.region) {
    out.failure = error_class::region_mismatch;
    out.error_message = "the provider reports region " + parsed.served_region +
                        " for a call to region " + cfg.region + "; the answer is not used";
    return out;
  }
  if (!parsed.ok) {
    out.failure = parsed.failure;
    out.error_message = parsed.error_message;
    if (parsed.failure == error_class::rate_limited && !r.retry_after.empty()) {
      out.error_message += " (Retry-After: " + r.retry_after + ")";
      out.retry_after_ms = providers::retry_after_ms(r.retry_after);
    }
    return out;
  }
  out.ok = true;
  out.text = std::move(parsed.text);
  out.cost = cfg.prices.answer_cost(req.model_id, out.prompt_tokens, out.completion_tokens);
  return out;
}

// Counts one finished call for /metrics.
void tally(http_provider_state& st, const provider_reply& r, int32_t attempt) {
  auto& t = st.totals;
  ++t.calls;
  if (attempt > 1) ++t.retry_calls;
  if (!r.ok) ++t.failures[word(r.failure)];
  if (r.http_status == 0) return;
  auto ms = static_cast<double>(r.latency_us) / 1000.0;
  auto& bounds = latency_bounds_ms();
  if (t.latency_buckets.empty()) t.latency_buckets.assign(bounds.size() + 1, 0);
  size_t b = 0;
  while (b < bounds.size() && ms > bounds[b]) ++b;
  ++t.latency_buckets[b];
  t.latency_sum_ms += ms;
}

// Feeds one call's outcome to the circuit breaker and the concurrency limit.
void account(self_ptr self, const provider_reply& r, bool trial) {
  auto& st = self->state;
  auto now = self->clock().now();
  auto before = st.breaker.current(now);
  if (r.failure == error_class::cancelled) {
    if (trial) st.breaker.release_trial();
  } else if (counts_against_circuit(r.failure)) {
    st.breaker.on_failure(now, word(r.failure) + ": " + r.error_message);
  } else {
    st.breaker.on_success();  // it answered: the endpoint works
  }
  if (r.ok) st.limit.on_success();
  if (r.http_status > 0) {
    double ms = static_cast<double>(r.latency_us) / 1000.0;
    st.latency_ms = st.latency_ms == 0 ? ms : 0.8 * st.latency_ms + 0.2 * ms;
  }
  if (r.failure == error_class::rate_limited && st.limit.on_rate_limited(now)) {
    ++st.rate_limit_cuts;
    logging::warn("concurrency_cut")
        .field("provider_id", st.config.id)
        .field("region", st.config.region)
        .field("limit", st.limit.current())
        .field("max_concurrency", st.config.max_concurrency);
    report_now(self);
  }
  if (st.breaker.current(now) != before) circuit_changed(self);
}

void run_probe(self_ptr self) {
  auto& st = self->state;
  auto now = self->clock().now();
  if (st.probing) return;
  if (st.breaker.current(now) == providers::circuit_breaker::state::open) return;  // cooling down
  st.probe_trial = st.breaker.current(now) == providers::circuit_breaker::state::half_open &&
                   st.breaker.try_acquire(now);
  st.probing = true;
  providers::http_call call;
  call.url = st.config.health_url;
  call.headers = {"Accept: application/json"};
  if (!st.config.auth_header.empty()) call.headers.push_back(st.config.auth_header);
  call.connect_timeout = std::min(st.config.connect_timeout, 5000ms);
  call.total_timeout = std::clamp<std::chrono::milliseconds>(st.config.health_interval, 100ms, 5s);
  call.max_body = 64 << 10;
  call.ca_file = st.config.ca_file;
  auto me = caf::actor_cast<caf::actor>(self);
  st.client->submit(std::move(call), [me](providers::http_outcome o) {
    http_result r{static_cast<int32_t>(o.status), std::move(o.body),        o.failure,
                  std::move(o.error_message),     std::move(o.retry_after), o.elapsed_ms};
    caf::anon_send(me, atom::probe::value, std::move(r));
  });
}

void probe_done(self_ptr self, const http_result& r) {
  auto& st = self->state;
  auto now = self->clock().now();
  auto before = st.breaker.current(now);
  bool trial = st.probe_trial;
  st.probing = st.probe_trial = false;
  st.last_health_check_us = now_us();
  bool reached = r.failure == error_class::none && r.status < 500 && r.status != 0;
  bool ok = reached && r.status >= 200 && r.status < 300 && providers::health_body_ok(r.body);
  st.healthy = ok;
  if (!reached) {
    auto why = r.failure == error_class::none
                   ? "health check: HTTP " + std::to_string(r.status)
                   : "health check: " + word(r.failure) + ": " + r.error_message;
    st.breaker.trip(now, why);
  } else if (ok && trial) {
    st.breaker.on_success();
  } else if (trial) {
    st.breaker.release_trial();  // the endpoint answers but has no usable health route
  }
  if (!ok)
    logging::warn("health_check_failed")
        .field("provider_id", st.config.id)
        .field("region", st.config.region)
        .field("url", st.config.health_url)
        .field("http_status", r.status)
        .field("error", r.failure == error_class::none ? r.body.substr(0, 200) : r.error_message);
  if (st.breaker.current(now) != before) circuit_changed(self);
  pump(self);
}

}  // namespace

http_provider_state::~http_provider_state() {
  auto stopped = [&](call& c, bool sent) {
    answer_failure(c, config, error_class::provider_error,
                   "provider " + config.id + " stopped during the call", sent);
  };
  for (auto& kv : in_flight) {
    if (client) client->cancel(kv.second.transfer);
    stopped(kv.second, true);
  }
  for (auto& c : queued) stopped(c, false);
}

bool counts_against_circuit(error_class c) {
  switch (c) {
    case error_class::connect_error:
    case error_class::timeout:
    case error_class::http_5xx:
    case error_class::redirect:
    case error_class::bad_response:
      return true;
    case error_class::none:
    case error_class::rate_limited:
    case error_class::http_4xx:
    case error_class::provider_error:
    case error_class::cancelled:
    case error_class::region_mismatch:
    case error_class::no_provider:
    case error_class::circuit_open:
    case error_class::actor_crashed:
      return false;
  }
  return false;
}

http_provider_actor::behavior_type http_provider(
    http_provider_actor::stateful_pointer<http_provider_state> self, http_provider_config config,
    std::shared_ptr<providers::http_client> client, provider_registry_actor registry) {
  auto& st = self->state;
  st.breaker = providers::circuit_breaker{{config.failure_threshold, config.circuit_open, 30s}};
  st.limit = providers::concurrency_limit{config.max_concurrency, config.rate_limit_debounce};
  st.config = std::move(config);
  st.client = std::move(client);
  st.registry = std::move(registry);
  self->set_down_handler([=](caf::down_msg& dm) { requester_down(self, dm); });
  if (st.config.health_interval.count() > 0) self->send(self, atom::probe::value);
  report_now(self);
  return {
      [=](atom::complete, provider_request& req) -> caf::result<provider_reply> {
        auto& st = self->state;
        auto now = self->clock().now();
        auto requester = caf::actor_cast<caf::actor_addr>(self->current_sender());
        auto rp = self->make_response_promise<provider_reply>();
        auto timeout = req.timeout_ms > 0 ? std::chrono::milliseconds(req.timeout_ms)
                                          : st.config.request_timeout;
        auto margin = std::min<caf::timespan>(100ms, timeout / 10);
        http_provider_state::call c{
            rp, std::move(req), requester, now + timeout, now + timeout - margin, 0, false};
        if (refusing(st, now)) {
          refuse_while_open(st, c, now);
          return rp;
        }
        if (requester && st.watched[requester]++ == 0) self->monitor(requester);
        st.earliest_queue_deadline = std::min(st.earliest_queue_deadline, c.queue_deadline);
        st.queued.push_back(std::move(c));
        pump(self);
        // A call still queued at its deadline is answered then, unsent (no attempt spent),
        // before the caller's own timer counts it as a timed-out attempt.
        if (!st.queued.empty()) self->delayed_send(self, timeout - margin, atom::deadline::value);
        return rp;
      },
      [=](atom::http_done, uint64_t token, const http_result& r) {
        auto& st = self->state;
        auto it = st.in_flight.find(token);
        if (it == st.in_flight.end()) return;
        auto reply = reply_for(st.config, it->second.req, r);
        account(self, reply, it->second.trial);
        tally(st, reply, it->second.req.attempt);
        if (it->second.rp.pending()) it->second.rp.deliver(std::move(reply));
        auto requester = it->second.requester;
        st.in_flight.erase(it);
        unwatch(self, requester);
        pump(self);
      },
      [=](atom::probe) {
        run_probe(self);
        self->delayed_send(self, self->state.config.health_interval, atom::probe::value);
      },
      [=](atom::probe, const http_result& r) { probe_done(self, r); },
      [=](atom::report) {
        self->state.report_due = false;
        report_now(self);
      },
      [=](atom::deadline) { pump(self); },
      [=](atom::half_open) {
        auto& st = self->state;
        if (st.breaker.current(self->clock().now()) != providers::circuit_breaker::state::half_open)
          return;  // a later failure pushed the cool-down further; its own timer comes
        report_now(self);
        if (st.config.health_interval.count() > 0) run_probe(self);
        pump(self);
      },
  };
}

}  // namespace beacon
