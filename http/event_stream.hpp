// The EVENT STREAM actor: one per server-sent event connection (GET /api/v1/jobs/{id}/events).
// Subscribes to the progress hub (from the client's Last-Event-ID, or from a snapshot), writes
// what the hub sends as SSE text, a keep-alive comment every 15 s, and ends when the connection
// closes (the hub forgets it by its monitor). A client that reads slower than the job changes
// makes the channel drop events (it is behind); once its queue has drained, the stream asks the
// hub again and starts over from a fresh snapshot instead of an ever-growing backlog.
#pragma once

#include <memory>
#include <string>

#include "http/server.hpp"
#include "messages/interfaces.hpp"

namespace beacon {

struct event_stream_state {
  std::shared_ptr<http::event_channel> channel;
  int64_t last_sent = 0;       // the newest event id written
  job_progress initial;        // the snapshot from storage, for a job the hub does not hold
  bool awaiting_seed = false;  // behind: updates are dropped until the fresh snapshot comes
  static inline const char* name = "event_stream";
};

// `initial`: a snapshot from storage for a job the hub does not hold (empty status: none).
event_stream_actor::behavior_type event_stream(
    event_stream_actor::stateful_pointer<event_stream_state> self,
    std::shared_ptr<http::event_channel> channel, std::string job_id, int64_t last_event_id,
    progress_hub_actor hub, job_progress initial);

}  // namespace beacon
