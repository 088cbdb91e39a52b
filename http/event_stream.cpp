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

// Sends the job's counts from storage when they changed since the last read: a snapshot, and a
// `job` event when the status moved. Stops following once the job has ended (or is gone).
void follow_storage(self_ptr self) {
  auto& s = self->state;
  if (!s.following_storage) return;
  auto p = s.read_stored();
  if (p && !p->found) {
    s.following_storage = false;
    return;
  }
  if (p) {
    auto snapshot = http::sse_snapshot(*p, 0);
    if (snapshot != s.last_stored) {
      s.channel->send(snapshot);
      if (p->status != s.initial.status) {
        stream_item moved{0, {}, p->status, p->reason};
        s.channel->send(http::sse_items({moved}));
      }
      s.last_stored = std::move(snapshot);
      s.initial = std::move(*p);
    }
    if (is_terminal(s.initial.status)) {
      s.following_storage = false;
      return;
    }
  }
  self->delayed_send(self, stored_poll_interval, atom::load::value);
}

}  // namespace

event_stream_actor::behavior_type event_stream(self_ptr self,
                                               std::shared_ptr<http::event_channel> channel,
                                               std::string job_id, int64_t last_event_id,
                                               progress_hub_actor hub, job_progress initial,
                                               stored_progress_reader read_stored) {
  using namespace std::chrono_literals;
  self->state.channel = channel;
  // The connection's end ends the actor (from the server's thread: by message).
  channel->on_close([who = caf::actor_cast<caf::actor>(self)] {
    caf::anon_send_exit(who, caf::exit_reason::user_shutdown);
  });
  if (initial.found) {
    self->state.last_stored = http::sse_snapshot(initial, 0);
    channel->send(self->state.last_stored);
  }
  self->state.initial = std::move(initial);
  self->state.read_stored = std::move(read_stored);
  self->send(hub, atom::subscribe::value, job_id, last_event_id,
             caf::actor_cast<event_stream_actor>(self));
  self->delayed_send(self, 15s, atom::ping::value);
  return {
      [=](atom::seed, const job_progress& p, int64_t seq) {
        auto& s = self->state;
        // The hub does not hold the job: storage is followed (another node may run it), and
        // only a resync resends the snapshot from storage.
        if (!p.found && !s.awaiting_seed) {
          if (s.read_stored && !s.following_storage && !is_terminal(s.initial.status)) {
            s.following_storage = true;
            self->delayed_send(self, stored_poll_interval, atom::load::value);
          }
          return;
        }
        if (p.found) s.following_storage = false;
        s.awaiting_seed = false;
        if (!p.found && !s.initial.found) return;
        s.channel->send(http::sse_snapshot(p.found ? p : s.initial, seq));
        s.last_sent = seq;
      },
      [=](atom::update, const std::vector<stream_item>& items) {
        self->state.following_storage = false;  // the hub holds the job now
        if (items.empty() || !in_step(self, job_id, hub)) return;
        self->state.channel->send_shared(http::shared_sse_items(job_id, items));
        self->state.last_sent = items.back().seq;
      },
      [=](atom::load) { follow_storage(self); },
      [=](atom::ping) {
        if (in_step(self, job_id, hub)) self->state.channel->send(": keep-alive\n\n");
        self->delayed_send(self, 15s, atom::ping::value);
      },
  };
}

}  // namespace beacon
