// The PROGRESS HUB: per-job counters by status, per question and per (question, model, region)
// group, seeded from storage when a job starts and moved by committed transitions; serves fast
// status reads.
#pragma once

#include <deque>
#include <map>
#include <string>
#include <tuple>

#include "messages/interfaces.hpp"

namespace beacon {

struct progress_hub_state {
  std::map<std::string, job_progress> jobs;
  // Per job: (question index, model, region) -> position in its job_progress::groups.
  std::map<std::string, std::map<std::tuple<int32_t, std::string, std::string>, size_t>> groups;
  std::deque<std::string> finished;  // terminal jobs, oldest first, evicted past the limit
  size_t keep_finished = 1000;
  static inline const char* name = "progress_hub";
};

// `keep_finished`: terminal jobs kept for reads (the oldest are forgotten past it). Every
// function-based actor takes an argument: CAF 0.17 dereferences a null tuple for none (UBSan).
progress_hub_actor::behavior_type progress_hub(
    progress_hub_actor::stateful_pointer<progress_hub_state> self, size_t keep_finished);

}  // namespace beacon
