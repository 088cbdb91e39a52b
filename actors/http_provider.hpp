// The HTTP PROVIDER actor: one configured endpoint (name, protocol, base URL, region, models),
// calling it through the shared HTTP client with at most max_concurrency transfers at once (the
// rest queue). Maps transport failures and HTTP statuses to error classes, and refuses an answer
// the far side says another region served (error class region_mismatch): region fidelity is
// checked on the reply, not assumed. A requester that dies (a cancelled job, a killed cell)
// has its queued calls dropped and its transfers aborted.
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "messages/interfaces.hpp"
#include "providers/adapters.hpp"
#include "providers/http_client.hpp"
#include "providers/provider_config.hpp"

namespace beacon {

struct http_provider_state {
  using promise = caf::typed_response_promise<provider_reply>;
  struct call {
    promise rp;
    provider_request req;
    caf::actor_addr requester;  // its death cancels the call
    uint64_t transfer = 0;      // the HTTP client's id, once started
  };
  http_provider_config config;
  std::shared_ptr<providers::http_client> client;
  uint64_t next_token = 0;
  std::unordered_map<uint64_t, call> in_flight;
  std::deque<call> queued;
  std::unordered_map<caf::actor_addr, size_t> watched;  // monitored requesters -> open calls
  static inline const char* name = "http_provider";
};

http_provider_actor::behavior_type http_provider(
    http_provider_actor::stateful_pointer<http_provider_state> self, http_provider_config config,
    std::shared_ptr<providers::http_client> client);

}  // namespace beacon
