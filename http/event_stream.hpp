// The EVENT STREAM actor: one per server-sent event connection (GET /api/v1/jobs/{id}/events).
// Subscribes to the progress hub (from the client's Last-Event-ID, or from a snapshot), writes
// what the hub sends as SSE text, a keep-alive comment every 15 s, and ends when the connection
// closes (the hub forgets it by its monitor). A client that reads slower than the job changes
// makes the channel drop events (it is behind); once its queue has drained, the stream asks the
// hub again and starts over from a fresh snapshot instead of an ever-growing backlog.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "http/server.hpp"
#include "messages/interfaces.hpp"

namespace beacon {

// Reads a job's counts from storage: nullopt when storage did not answer (try again later), a
// progress with found = false when the job is gone.
using stored_progress_reader = std::function<std::optional<job_progress>()>;

struct event_stream_state {
  std::shared_ptr<http::event_channel> channel;
  int64_t last_sent = 0;               // the newest event id written
  job_progress initial;                // the snapshot from storage, for a job the hub does not hold
  bool awaiting_seed = false;          // behind: updates are dropped until the fresh snapshot comes
  stored_progress_reader read_stored;  // set for a job the hub did not hold at the start
  bool following_storage = false;      // the hub does not hold the job: storage is polled
  std::string last_stored;             // the last snapshot sent from storage (its JSON)
  static inline const char* name = "event_stream";
};

// How often a stream of a job this node does not run reads the job's counts from storage.
constexpr auto stored_poll_interval = std::chrono::milliseconds(500);

// `initial`: a snapshot from storage for a job the hub does not hold (empty status: none).
// `read_stored` (for such a job; spawn the stream detached then, it blocks on its reads): while
// the hub does not hold the job (another node runs it), the stream polls storage and sends a
// snapshot (id 0: not a point to resume from) whenever the counts or the status changed, and a
// `job` event when the status did; once the hub holds the job (this node took it over), the
// hub's events follow.
event_stream_actor::behavior_type event_stream(
    event_stream_actor::stateful_pointer<event_stream_state> self,
    std::shared_ptr<http::event_channel> channel, std::string job_id, int64_t last_event_id,
    progress_hub_actor hub, job_progress initial, stored_progress_reader read_stored);

}  // namespace beacon
