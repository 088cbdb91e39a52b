// The JOB SUPERVISOR actor: runs one job. Marks it running, reads what is left from storage,
// runs its questions in order as question batches (one at a time by default, or `pipeline` at
// once), restarts a crashed batch (which resumes from storage), enforces the job's timeout
// (counted from its start, not from its admission), handles cancellation, and finally asks
// persistence for the verdict: completed or failed by min_success_rate / min_regions, or
// cancelled. It exits normally only after the verdict is committed.
//
// Messages: (run) start or resume; (cancel) cancel the job; (deadline) the timeout fired;
// (restart, int32 question index) respawn a crashed batch; (finish, bool cancelled) retry the
// verdict after a storage failure; (reopen, int64 execution id or 0) a person's retry of failed
// cells while the job runs: reopened in storage, their questions run again (after the batch of
// the same question, if one runs); replies `deferred` once the job is ending.
#pragma once

#include <deque>
#include <set>
#include <unordered_map>

#include "actors/question_batch.hpp"
#include "domain/job_spec.hpp"

namespace beacon {

struct supervisor_settings {
  int32_t pipeline = 1;                // questions run at once
  int32_t max_in_flight_per_job = 64;  // cells in flight, shared by the running batches
  int32_t batch_restarts = 3;
  caf::timespan restart_backoff = std::chrono::milliseconds(200);
  batch_settings batch;
  analyst_actor analyst;  // told when the job ends (none: no analysis, e.g. in actor tests)
};

struct job_supervisor_state {
  std::string job_id;
  supervisor_settings settings;
  job_spec spec;
  std::deque<int32_t> todo;  // question indexes with open cells, in order
  std::unordered_map<caf::actor_addr, std::pair<caf::actor, int32_t>> batches;
  std::unordered_map<int32_t, int32_t> batch_crashes;
  std::vector<int32_t> started_order;  // question indexes in the order their batches started
  std::set<int32_t> rerun;       // questions reopened while their batch ran: run again after it
  std::set<int32_t> restarting;  // questions whose crashed batch waits for its restart
  int32_t reopening = 0;         // reopen requests in flight (the verdict waits for them)
  bool started = false;
  bool ending = false;      // cancel or deadline in progress
  bool finalizing = false;  // the verdict was asked for
  int32_t finish_failures = 0;
  ~job_supervisor_state();
  static inline const char* name = "job_supervisor";
};

caf::behavior job_supervisor(caf::stateful_actor<job_supervisor_state>* self, std::string job_id,
                             supervisor_settings settings);

}  // namespace beacon
