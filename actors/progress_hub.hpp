// The PROGRESS HUB: per-job counters by status, per question and per (question, model, region)
// group, seeded from storage when a job starts and moved by committed transitions; serves fast
// status reads. It also keeps each job's event stream: every committed cell transition and job
// status change gets a per-job sequence number (the SSE event id), the last `stream_buffer` are
// kept for subscribers that reconnect with Last-Event-ID, and live items go to every subscriber.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "actors/progress_board.hpp"
#include "messages/interfaces.hpp"

namespace beacon {

struct progress_hub_state {
  struct job_stream {
    int64_t seq = 0;                 // the last number given
    std::deque<stream_item> recent;  // the newest items, at most stream_buffer
    std::vector<event_stream_actor> subscribers;
  };
  std::map<std::string, job_progress> jobs;
  // Per job: (question index, model, region) -> position in its job_progress::groups.
  std::map<std::string, std::map<std::tuple<int32_t, std::string, std::string>, size_t>> groups;
  std::map<std::string, job_stream> streams;
  std::deque<std::string> finished;  // terminal jobs, oldest first, evicted past the limit
  size_t keep_finished = 1000;
  std::shared_ptr<progress_board> board;  // may be null (tests without REST)
  std::set<std::string> dirty;            // moved since the last publish
  bool publish_scheduled = false;
  // How long the next coalescing waits: grows with what copying the counts to the board costs.
  std::chrono::nanoseconds publish_gap = progress_board::publish_interval;
  static constexpr size_t stream_buffer = 4096;
  static inline const char* name = "progress_hub";
};

// `keep_finished`: terminal jobs kept for reads (the oldest are forgotten past it); `board`: where
// counts are published for REST reads (may be null).
progress_hub_actor::behavior_type progress_hub(
    progress_hub_actor::stateful_pointer<progress_hub_state> self, size_t keep_finished,
    std::shared_ptr<progress_board> board);

}  // namespace beacon
