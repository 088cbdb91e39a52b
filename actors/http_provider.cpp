// The HTTP provider actor.
#include "actors/http_provider.hpp"

#include <algorithm>

#include "caf/all.hpp"
#include "providers/error_class.hpp"

namespace beacon {
namespace {

using self_ptr = http_provider_actor::stateful_pointer<http_provider_state>;

void start(self_ptr self, http_provider_state::call c) {
  auto& st = self->state;
  auto& cfg = st.config;
  providers::call_input in{c.req.model_id, c.req.prompt, c.req.system_prompt, c.req.region};
  auto wire = providers::build_request(cfg.protocol, in);
  providers::http_call call;
  call.url = cfg.base_url + wire.path;
  call.body = std::move(wire.body);
  call.headers = {"Content-Type: application/json", "Accept: application/json"};
  if (!cfg.auth_header.empty()) call.headers.push_back(cfg.auth_header);
  call.connect_timeout = cfg.connect_timeout;
  call.total_timeout =
      c.req.timeout_ms > 0 ? std::chrono::milliseconds(c.req.timeout_ms) : cfg.request_timeout;
  call.max_body = cfg.max_body;
  auto token = st.next_token++;
  auto me = caf::actor_cast<caf::actor>(self);
  c.transfer = st.client->submit(std::move(call), [me, token](providers::http_outcome o) {
    http_result r{static_cast<int32_t>(o.status), std::move(o.body),
                  std::move(o.error_class),       std::move(o.error_message),
                  std::move(o.retry_after),       o.elapsed_ms};
    caf::anon_send(me, atom::http_done::value, token, std::move(r));
  });
  st.in_flight.emplace(token, std::move(c));
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

// A requester died: drop its queued calls and abort its transfers.
void requester_down(self_ptr self, const caf::down_msg& dm) {
  auto& st = self->state;
  if (st.watched.erase(dm.source) == 0) return;
  st.queued.erase(std::remove_if(st.queued.begin(), st.queued.end(),
                                 [&](auto& c) { return c.requester == dm.source; }),
                  st.queued.end());
  for (auto& kv : st.in_flight)
    if (kv.second.requester == dm.source) st.client->cancel(kv.second.transfer);
}

provider_reply reply_for(const http_provider_config& cfg, const provider_request& req,
                         const http_result& r) {
  provider_reply out;
  out.provider_id = cfg.id;
  out.provider_region = cfg.region;
  out.model_served = req.model_id;
  out.http_status = r.status;
  out.latency_us = static_cast<int64_t>(r.elapsed_ms * 1000);
  if (!r.error_class.empty()) {
    out.error_class = r.error_class;
    out.error_message = r.error_message;
    return out;
  }
  auto parsed = providers::parse_response(cfg.protocol, r.status, r.body);
  if (!parsed.model.empty()) out.model_served = parsed.model;
  if (!parsed.served_by.empty()) out.provider_id = cfg.id + "/" + parsed.served_by;
  if (!parsed.served_region.empty() && parsed.served_region != cfg.region) {
    out.error_class = error_class::region_mismatch;
    out.error_message = "the provider reports region " + parsed.served_region +
                        " for a call to region " + cfg.region + "; the answer is not used";
    return out;
  }
  if (!parsed.ok) {
    out.error_class = parsed.error_class;
    out.error_message = parsed.error_message;
    if (parsed.error_class == error_class::rate_limited && !r.retry_after.empty()) {
      out.error_message += " (Retry-After: " + r.retry_after + ")";
      out.retry_after_ms = providers::retry_after_ms(r.retry_after);
    }
    return out;
  }
  out.ok = true;
  out.text = std::move(parsed.text);
  return out;
}

}  // namespace

http_provider_actor::behavior_type http_provider(
    http_provider_actor::stateful_pointer<http_provider_state> self, http_provider_config config,
    std::shared_ptr<providers::http_client> client) {
  self->state.config = std::move(config);
  self->state.client = std::move(client);
  self->set_down_handler([=](caf::down_msg& dm) { requester_down(self, dm); });
  return {
      [=](atom::complete, provider_request& req) -> caf::result<provider_reply> {
        auto& st = self->state;
        auto requester = caf::actor_cast<caf::actor_addr>(self->current_sender());
        auto rp = self->make_response_promise<provider_reply>();
        if (requester && st.watched[requester]++ == 0) self->monitor(requester);
        http_provider_state::call c{rp, std::move(req), requester, 0};
        if (st.in_flight.size() < std::max<size_t>(1, st.config.max_concurrency))
          start(self, std::move(c));
        else
          st.queued.push_back(std::move(c));
        return rp;
      },
      [=](atom::http_done, uint64_t token, const http_result& r) {
        auto& st = self->state;
        auto it = st.in_flight.find(token);
        if (it == st.in_flight.end()) return;
        if (it->second.rp.pending()) it->second.rp.deliver(reply_for(st.config, it->second.req, r));
        auto requester = it->second.requester;
        st.in_flight.erase(it);
        unwatch(self, requester);
        if (!st.queued.empty()) {
          auto next = std::move(st.queued.front());
          st.queued.pop_front();
          start(self, std::move(next));
        }
      },
  };
}

}  // namespace beacon
