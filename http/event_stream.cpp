// The event stream actor.
#include "http/event_stream.hpp"

#include "caf/all.hpp"
#include "http/sse.hpp"

namespace beacon {

event_stream_actor::behavior_type event_stream(
    event_stream_actor::stateful_pointer<event_stream_state> self,
    std::shared_ptr<http::event_channel> channel, std::string job_id, int64_t last_event_id,
    progress_hub_actor hub, job_progress initial) {
  using namespace std::chrono_literals;
  self->state.channel = channel;
  // The connection's end ends the actor (from the server's thread: by message).
  channel->on_close([who = caf::actor_cast<caf::actor>(self)] {
    caf::anon_send_exit(who, caf::exit_reason::user_shutdown);
  });
  if (initial.found) channel->send(http::sse_snapshot(initial, 0));
  self->send(hub, atom::subscribe::value, job_id, last_event_id,
             caf::actor_cast<event_stream_actor>(self));
  self->delayed_send(self, 15s, atom::ping::value);
  return {
      [=](atom::seed, const job_progress& p, int64_t seq) {
        self->state.channel->send(http::sse_snapshot(p, seq));
        self->state.last_sent = seq;
      },
      [=](atom::update, const std::vector<stream_item>& items) {
        if (items.empty()) return;
        self->state.channel->send(http::sse_items(items));
        self->state.last_sent = items.back().seq;
      },
      [=](atom::ping) {
        self->state.channel->send(": keep-alive\n\n");
        self->delayed_send(self, 15s, atom::ping::value);
      },
  };
}

}  // namespace beacon
