// The HTTP PROVIDER actor: one configured endpoint (name, protocol, base URL, region, models),
// calling it through the shared HTTP client. Resilience lives here, where every outcome is seen:
// - adaptive concurrency: at most `limit` transfers at once (the rest queue, and a call whose
//   caller's timeout passed while queued is answered `timeout`, marked unsent, at that deadline);
//   a burst of 429s halves the limit, successes grow it back to max_concurrency;
// - a circuit breaker: consecutive provider-level failures (connect errors, timeouts, 5xx, 303,
//   unreadable bodies) or a health check that cannot reach the endpoint open it, and calls are
//   refused at once (`circuit_open`, unsent, with the time left until the half-open trial)
//   until one half-open trial succeeds;
// - health checks on an interval (the protocol's health or models endpoint).
// Its status (circuit, load, limit) goes to the registry that spawned it: on every circuit
// change at once, load changes coalesced to one report per 20 ms.
// Transport failures and HTTP statuses map to error classes; an answer the far side says another
// region served is refused (region_mismatch). A requester that dies (a cancelled job, a killed
// cell) has its queued calls dropped and its transfers aborted.
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "messages/interfaces.hpp"
#include "providers/adapters.hpp"
#include "providers/circuit_breaker.hpp"
#include "providers/concurrency_limit.hpp"
#include "providers/http_client.hpp"
#include "providers/provider_config.hpp"

namespace beacon {

struct http_provider_state {
  using promise = caf::typed_response_promise<provider_reply>;
  struct call {
    promise rp;
    provider_request req;
    caf::actor_addr requester;  // its death cancels the call
    caf::actor_clock::time_point deadline;
    // Still queued by then, it is answered unsent: just before the caller's own timer would
    // count it as a timed-out attempt.
    caf::actor_clock::time_point queue_deadline;
    uint64_t transfer = 0;  // the HTTP client's id, once started
    bool trial = false;     // the half-open circuit's trial call
  };
  http_provider_config config;
  std::shared_ptr<providers::http_client> client;
  provider_registry_actor registry;  // receives status reports (may be invalid)
  providers::circuit_breaker breaker;
  providers::concurrency_limit limit{1, {}};
  uint64_t next_token = 0;
  std::unordered_map<uint64_t, call> in_flight;
  std::deque<call> queued;
  caf::actor_clock::time_point earliest_queue_deadline = caf::actor_clock::time_point::max();
  std::unordered_map<caf::actor_addr, size_t> watched;  // monitored requesters -> open calls
  bool probing = false;                                 // a health check is in flight
  bool probe_trial = false;                             // ... and it is the half-open trial
  bool healthy = true;                                  // the last health check passed
  int64_t last_health_check_us = 0;
  int64_t rate_limit_cuts = 0;
  double latency_ms = 0;    // exponential moving average over answered calls
  provider_status totals;   // the /metrics counters (calls, retries, latency buckets, failures)
  bool report_due = false;  // a coalesced load report is scheduled
  circuit_state reported_circuit = circuit_state::closed;
  static inline const char* name = "http_provider";

  // However the actor ends (even killed), its callers get an answer now instead of waiting out
  // their timeouts, and its transfers are aborted.
  ~http_provider_state();
};

http_provider_actor::behavior_type http_provider(
    http_provider_actor::stateful_pointer<http_provider_state> self, http_provider_config config,
    std::shared_ptr<providers::http_client> client, provider_registry_actor registry);

// Whether a failure of this class counts against the provider's circuit (the endpoint, not the
// request or our rate, is at fault).
bool counts_against_circuit(error_class c);

}  // namespace beacon
