// The QUESTION BATCH actor: runs the open cells of a span of consecutive questions of a job
// (domain/batch_plan.hpp: one question when questions are large, many when they are small) with
// at most max_in_flight execution actors alive at once and at most `window` questions with calls
// still to make, question after question (a cell's question leaves the window at its last answer,
// before its outcome commits). It pages through the span's open cells in storage (keyset
// by id, one query per page whatever the number of questions, so memory stays bounded by the
// in-flight limit whatever the job size, and a restarted batch never re-runs a terminal cell),
// monitors each execution actor, re-runs a cell whose actor crashed (within crash_retries) or
// records it failed with error_code actor_crashed, and exits normally once every cell is
// terminal and durable. Its children die with it.
//
// With a job budget (settings.execution.budget) each cell reserves its worst case (every attempt
// it may make) before it starts; once one does not fit, no cell starts again: the batch waits for
// its cells in flight and exits with job_errc::budget_exhausted (messages/errors.hpp).
//
// It also keeps its cells' provider calls to their deadlines: every sweep interval it sends
// (deadline) to each execution old enough to have a call past its deadline, which times that call
// out; a CAF request timeout per call would cost a timer event on the clock thread per call.
//
// Messages: (run) start, or load the next page; (cancel) stop all cells now and exit;
// (deadline) sweep the cells in flight; (answered) from an execution: it makes no more calls.
#pragma once

#include <deque>
#include <map>
#include <unordered_map>

#include "actors/execution.hpp"
#include "domain/batch_plan.hpp"
#include "domain/job_spec.hpp"

namespace beacon {

struct batch_settings {
  int32_t max_in_flight = 64;
  int32_t window = 1;  // questions with cells in flight at once
  int32_t crash_retries = 2;
  caf::timespan attempt_timeout = std::chrono::minutes(5);
  execution_settings execution;  // its budget, when set, is the job's
  // How the job's cells are generated: for every model, and per model.
  generation_settings generation;
  std::map<std::string, generation_settings> model_generation;
  std::shared_ptr<const price_book> prices;  // the worst case of a budgeted cell
};

// The shortest timeout a cell's call may get (the last attempt is cut to the cell's budget), so
// no call is overdue sooner after its execution started.
caf::timespan shortest_call_timeout(caf::timespan attempt_timeout, caf::timespan cell_budget);

// How often a batch sweeps its cells for calls past their deadline: a twentieth of the shortest
// call timeout (a timeout fires at most ~5% late), between 5 ms and 1 s.
caf::timespan deadline_sweep_interval(caf::timespan shortest_call);

// The questions [first, end) of a job that one batch runs.
struct question_span {
  int32_t first = 0;
  std::vector<question> questions;
  int32_t end() const { return first + static_cast<int32_t>(questions.size()); }
  const question& at(int32_t question_index) const { return questions.at(question_index - first); }
};

struct question_batch_state {
  std::string job_id;
  question_span span;
  batch_settings settings;
  question_window window{1};
  std::deque<cell_row> ready;  // loaded, not started yet
  std::deque<cell_row> rerun;  // their actor crashed: start again first
  int64_t cursor = 0;          // highest cell id loaded so far
  bool loading = false;
  bool exhausted = false;  // every open cell has been loaded
  size_t done = 0;         // cells terminal and durable
  // An execution actor alive, its cell, and when it started (a call of it cannot be overdue
  // before the shortest call timeout has passed since).
  struct running_cell {
    caf::actor actor;
    cell_row row;
    caf::actor_clock::time_point launched;
    bool answered = false;  // its calls are over: its question no longer holds the window
  };
  std::unordered_map<caf::actor_addr, running_cell> in_flight;
  bool sweep_armed = false;                      // a (deadline) to ourselves is on its way
  std::unordered_map<int64_t, int32_t> crashes;  // by cell id
  size_t peak_in_flight = 0;
  bool budget_closed = false;  // a cell did not fit the job's budget: nothing more starts
  ~question_batch_state();
  static inline const char* name = "question_batch";
};

caf::behavior question_batch(caf::stateful_actor<question_batch_state>* self, std::string job_id,
                             question_span span, batch_settings settings);

}  // namespace beacon
