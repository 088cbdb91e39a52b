// The JOB MANAGER actor: owns one job supervisor per running job, monitors them, restarts a
// crashed supervisor after a growing backoff (it resumes from storage), and resumes unfinished
// jobs when the node starts.
#pragma once

#include <map>
#include <unordered_map>

#include "actors/job_supervisor.hpp"

namespace beacon {

struct job_manager_state {
  supervisor_settings settings;
  int32_t max_restarts = 5;
  std::map<std::string, caf::actor> jobs;
  std::unordered_map<caf::actor_addr, std::string> job_of;
  std::map<std::string, int32_t> restarts;
  ~job_manager_state();
  static inline const char* name = "job_manager";
};

job_manager_actor::behavior_type job_manager(
    job_manager_actor::stateful_pointer<job_manager_state> self, supervisor_settings settings);

}  // namespace beacon
