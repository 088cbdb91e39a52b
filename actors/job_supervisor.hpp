// The JOB SUPERVISOR actor: runs one job. Marks it running, reads what is left from storage,
// runs its questions in order as question batches, each a span of consecutive questions, at
// most `pipeline` questions with cells in flight (one at a time by default; the rule is
// domain/batch_plan.hpp), restarts a crashed batch (which resumes from storage), enforces the job's
// timeout (counted from its start, not from its admission), handles cancellation, and finally asks
// persistence for the verdict: completed or failed by min_success_rate / min_regions, or
// cancelled. It exits normally only after the verdict is committed.
//
// A start reads the job's counts in pages (settings.page_cells cells each, every page its own
// request and deadline), so no storage request grows with the job; questions run as soon as
// their page is read. A start that keeps failing ends the job `failed` (start_failed); a cancel
// ends it `cancelled` whatever it is doing, in pages, and is recorded, so a resume finishes it.
//
// Messages: (run) start or resume; (cancel) cancel the job; (deadline) the timeout fired;
// (restart, int32 span) respawn a crashed batch; (finish, bool cancelled) retry the
// verdict after a storage failure; (reopen, int64 execution id or 0) a person's retry of failed
// cells while the job runs: reopened in storage, their questions run again (after the batch of
// the same question, if one runs); replies `deferred` once the job is ending; internal:
// (progress) read the next page of counts again, (abort) end the next page of cells again.
//
// A job with constraints.max_cost runs under a budget ledger rebuilt from storage at every start
// (the cells' charges, and each attempt of a cell left open by a stop at the job's worst case):
// once a batch stops because a cell does not fit, no batch starts again, and when the running
// ones have drained the open cells end cancelled with error_code budget_exhausted and the job
// ends failed with that reason.
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
  int32_t start_attempts = 5;   // failed start or count reads before the job ends failed
  int32_t page_cells = 20'000;  // cells per page of counts read at start and of cells ended
  caf::timespan restart_backoff = std::chrono::milliseconds(200);
  batch_settings batch;
  analyst_actor analyst;  // told when the job ends (none: no analysis, e.g. in actor tests)
  // Every provider's prices: a job with constraints.max_cost reserves each cell's worst case
  // before it runs (none: every cell's cost is unknown, so a budgeted job cannot run a cell).
  std::shared_ptr<const price_book> prices;
};

struct job_supervisor_state {
  std::string job_id;
  supervisor_settings settings;
  job_spec spec;
  batch_plan plan;           // how its questions are grouped into batches and scheduled
  std::deque<int32_t> todo;  // spans (of plan) with open cells, in order
  std::unordered_map<caf::actor_addr, std::pair<caf::actor, int32_t>> batches;  // -> span
  std::unordered_map<int32_t, int32_t> batch_crashes;                           // by span
  std::set<int32_t> rerun;       // spans reopened while their batch ran: run again after it
  std::set<int32_t> restarting;  // spans whose crashed batch waits for its restart
  int32_t reopening = 0;         // reopen requests in flight (the verdict waits for them)
  bool started = false;
  bool loading = false;                           // pages of the job's counts are still being read
  int32_t next_question = 0;                      // the first question of the next page of counts
  bool ending = false;                            // cancel, deadline or failed start in progress
  bool cancelling = false;                        // the ending is a cancel
  bool aborted = false;                           // the ending has closed every open cell
  cell_status cell_end = cell_status::cancelled;  // what the ending makes of open cells
  std::string end_code, end_message;
  int32_t cells_ended = 0;
  int64_t abort_after_id = 0;  // the next page of cells to end starts after this id
  bool finalizing = false;     // the verdict was asked for
  int32_t start_failures = 0;  // count against start_attempts
  int32_t start_outages = 0;   // the database was unreachable: waited out, not counted
  int32_t abort_failures = 0;
  int32_t finish_failures = 0;
  std::shared_ptr<budget_ledger> budget;  // constraints.max_cost, shared with the job's cells
  bool budget_stopped = false;            // a batch stopped at the budget: no batch starts again
  ~job_supervisor_state();
  static inline const char* name = "job_supervisor";
};

caf::behavior job_supervisor(caf::stateful_actor<job_supervisor_state>* self, std::string job_id,
                             supervisor_settings settings);

}  // namespace beacon
