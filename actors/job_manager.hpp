// The JOB MANAGER actor: owns one job supervisor per running job, monitors them, restarts a
// crashed supervisor after a growing backoff (it resumes from storage), and resumes unfinished
// jobs when the node starts. A person's retry goes to the running job's supervisor, or reopens
// the ended job's cells through persistence and starts the job again; a start asked for while
// the job's previous supervisor is still ending happens when it has ended. A cancel is answered
// when the job's supervisor has ended, i.e. after its verdict is committed.
//
// With a lease keeper (several nodes on one database), a job runs here only while this node holds
// its lease: a start takes it first (false when another node runs the job), a supervisor that
// ended gives it up, a lease taken over by the keeper starts the job, and a lost one stops the
// job's supervisor without a verdict (the new owner finishes it). A cancel of a job another node
// runs is recorded for its owner, which ends the job at its next heartbeat.
#pragma once

#include <map>
#include <set>
#include <unordered_map>
#include <vector>

#include "actors/job_supervisor.hpp"

namespace beacon {

struct job_manager_state {
  // A retry that arrived while the job's supervisor was ending: run once it is down.
  struct deferred_retry {
    int64_t execution_id = 0;
    caf::typed_response_promise<reopen_result> reply;
  };
  supervisor_settings settings;
  lease_keeper_actor keeper;  // none: a single node without leases (actor tests)
  int32_t max_restarts = 5;
  std::set<std::string> lost;  // jobs whose supervisor is stopping because the lease moved
  std::map<std::string, caf::actor> jobs;
  std::unordered_map<caf::actor_addr, std::string> job_of;
  std::map<std::string, int32_t> restarts;
  std::set<std::string> start_when_down;  // queued again while their supervisor was ending
  std::multimap<std::string, deferred_retry> deferred;
  // Cancels waiting for the job's supervisor to end (it ends only after the verdict commits).
  std::multimap<std::string, caf::typed_response_promise<bool>> cancel_waiters;
  ~job_manager_state();
  static inline const char* name = "job_manager";
};

job_manager_actor::behavior_type job_manager(
    job_manager_actor::stateful_pointer<job_manager_state> self, supervisor_settings settings,
    lease_keeper_actor keeper);

}  // namespace beacon
