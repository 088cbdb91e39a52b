// The event stream actor.
#include "http/event_stream.hpp"

#include "caf/all.hpp"
#include "http/sse.hpp"

namespace beacon {
namespace {

using self_ptr = event_stream_actor::stateful_pointer<event_stream_state>;

// Whether the stream may carry more events now. While the channel is behind they are dropped;
// once its queue has drained enough, the hub is asked for a fresh snapshot (its seed).
bool in_step(self_ptr self, const std::string& job_id, const progress_hub_actor& hub) {
  auto& s = self->state;
  if (s.awaiting_seed) return false;
  if (!s.channel->behind()) return true;
  if (!s.channel->resync()) return false;
  s.awaiting_seed = true;
  self->send(hub, atom::subscribe::value, job_id, int64_t{-1},
             caf::actor_cast<event_stream_actor>(self));
  return false;
}

}  // namespace

event_stream_actor::behavior_type event_stream(self_ptr self,
                                               std::shared_ptr<http::event_channel> channel,
                                               std::string job_id, int64_t last_event_id,
                                               progress_hub_actor hub, job_progress initial) {
  using namespace std::chrono_literals;
  self->state.channel = channel;
  // The connection's end ends the actor (from the server's thread: by message).
  channel->on_close([who = caf::actor_cast<caf::actor>(self)] {
    caf::anon_send_exit(who, caf::exit_reason::user_shutdown);
  });
  if (initial.found) channel->send(http::sse_snapshot(initial, 0));
  self->state.initial = std::move(initial);
  self->send(hub, atom::subscribe::value, job_id, last_event_id,
             caf::actor_cast<event_stream_actor>(self));
  self->delayed_send(self, 15s, atom::ping::value);
  return {
      [=](atom::seed, const job_progress& p, int64_t seq) {
        auto& s = self->state;
        // The hub does not hold the job: only a resync resends the snapshot from storage.
        if (!p.found && !s.awaiting_seed) return;
        s.awaiting_seed = false;
        if (!p.found && !s.initial.found) return;
        s.channel->send(http::sse_snapshot(p.found ? p : s.initial, seq));
        s.last_sent = seq;
      },
      [=](atom::update, const std::vector<stream_item>& items) {
        if (items.empty() || !in_step(self, job_id, hub)) return;
        self->state.channel->send(http::sse_items(items));
        self->state.last_sent = items.back().seq;
      },
      [=](atom::ping) {
        if (in_step(self, job_id, hub)) self->state.channel->send(": keep-alive\n\n");
        self->delayed_send(self, 15s, atom::ping::value);
      },
  };
}

}  // namespace beacon
