// The PROGRESS HUB: per-job, per-question counters by status, seeded from storage when a job
// starts and moved by committed transitions; serves fast status reads.
#pragma once

#include <deque>
#include <map>
#include <string>

#include "messages/interfaces.hpp"

namespace beacon {

struct progress_hub_state {
  std::map<std::string, job_progress> jobs;
  std::deque<std::string> finished;  // terminal jobs, oldest first, evicted past the limit
  size_t keep_finished = 1000;
  static inline const char* name = "progress_hub";
};

// `keep_finished`: terminal jobs kept for reads (the oldest are forgotten past it). Every
// function-based actor takes an argument: CAF 0.17 dereferences a null tuple for none (UBSan).
progress_hub_actor::behavior_type progress_hub(
    progress_hub_actor::stateful_pointer<progress_hub_state> self, size_t keep_finished);

}  // namespace beacon
