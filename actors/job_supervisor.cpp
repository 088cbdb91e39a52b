// The job supervisor actor.
#include "actors/job_supervisor.hpp"

#include <algorithm>
#include <limits>

#include "actors/persistence.hpp"
#include "common/assert.hpp"
#include "common/clock.hpp"
#include "common/logging.hpp"
#include "domain/status.hpp"
#include "messages/errors.hpp"

namespace beacon {
namespace {

using self_ptr = caf::stateful_actor<job_supervisor_state>*;

// Another node holds the job's lease now: stop at once, writing nothing (it finishes the job).
bool quit_if_lease_lost(self_ptr self, const caf::error& err) {
  if (!is_lease_lost(err)) return false;
  logging::warn("job_lease_lost")
      .job(self->state.job_id)
      .field("error", self->system().render(err));
  self->quit(err);
  return true;
}

// A job-level write failed (storage may be restarting): logs it and counts it in `failures`.
// Past 10 it quits with the error, and the job manager restarts us: we resume from storage,
// finishing whatever is still open (a cancel already recorded included). True when it quit.
bool storage_gave_up(self_ptr self, const char* event, caf::error& err, int32_t& failures) {
  if (quit_if_lease_lost(self, err)) return true;
  logging::warn(event)
      .job(self->state.job_id)
      .field("error", self->system().render(err))
      .field("failures", ++failures);
  if (failures <= 10) return false;
  self->quit(std::move(err));
  return true;
}

void finalize(self_ptr self, bool cancelled) {
  auto& s = self->state;
  s.finalizing = true;
  auto store = current_persistence(self->system());
  self->request(store, s.settings.batch.execution.storage_timeout, atom::finish::value, s.job_id,
                cancelled)
      .then(
          [=](const job_verdict& v) {
            logging::info("job_finished")
                .job(self->state.job_id)
                .field("status", to_string(v.status))
                .field("reason", v.reason);
            if (self->state.settings.analyst)
              caf::anon_send(self->state.settings.analyst, atom::analyze::value,
                             self->state.job_id);
            self->quit();
          },
          [=](caf::error& err) {
            auto& s = self->state;
            if (storage_gave_up(self, "job_finish_failed", err, s.finish_failures)) return;
            self->delayed_send(self, s.settings.restart_backoff * s.finish_failures,
                               atom::finish::value, cancelled);
          });
}

// The questions of a span, e.g. "q7" or "q7..q9", for log lines and error messages.
std::string span_name(self_ptr self, int32_t span) {
  auto& s = self->state;
  auto [first, end] = s.plan.questions_of(span);
  auto& q = s.spec.questions;
  return end - first == 1 ? q[first].id : q[first].id + ".." + q[end - 1].id;
}

void launch_batch(self_ptr self, int32_t span) {
  auto& s = self->state;
  BEACON_ASSERT(span >= 0 && span < s.plan.spans(), "a batch runs a span of the job's questions");
  auto [first, end] = s.plan.questions_of(span);
  question_span questions{first,
                          {s.spec.questions.begin() + first, s.spec.questions.begin() + end}};
  auto settings = s.settings.batch;
  settings.max_in_flight = s.plan.in_flight;
  settings.window = s.plan.window;
  settings.attempt_timeout = std::chrono::duration_cast<caf::timespan>(s.spec.provider_timeout);
  settings.generation = s.spec.generation;
  settings.model_generation = s.spec.model_generation;
  settings.prices = s.settings.prices;
  settings.execution.budget = s.budget;
  auto b = self->spawn<caf::monitored>(question_batch, s.job_id, std::move(questions), settings);
  s.batches.emplace(b.address(), std::make_pair(b, span));
  self->send(b, atom::run::value);
}

void end_job(self_ptr self, bool cancelled, cell_status cell_end, std::string code,
             std::string message);

// The budget stopped the job's batches: once none runs, the open cells end and the job fails.
void end_at_budget(self_ptr self) {
  auto& s = self->state;
  auto t = s.budget->read();
  logging::info("job_budget_exhausted")
      .job(s.job_id)
      .field("max_cost", t.limit)
      .field("spent", t.spent)
      .field("reserved", t.reserved);
  end_job(self, false, cell_status::cancelled, "budget_exhausted",
          "not run: the job's budget (constraints.max_cost " + std::to_string(t.limit) +
              ") could not hold another cell's worst case after " + std::to_string(t.spent) +
              " was spent");
}

void advance(self_ptr self) {
  auto& s = self->state;
  if (s.ending) return;
  if (s.budget_stopped) {
    if (s.batches.empty() && s.restarting.empty()) end_at_budget(self);
    return;
  }
  while (static_cast<int32_t>(s.batches.size()) < s.plan.batches_at_once && !s.todo.empty()) {
    auto span = s.todo.front();
    s.todo.pop_front();
    launch_batch(self, span);
  }
  if (s.batches.empty() && s.todo.empty() && s.restarting.empty() && s.reopening == 0 &&
      !s.loading && !s.finalizing)
    finalize(self, false);
}

// Runs a span again: queued now, or after its running batch ends.
void requeue_span(self_ptr self, int32_t span) {
  auto& s = self->state;
  if (s.restarting.count(span)) return;  // the restarted batch loads every open cell
  for (auto& kv : s.batches)
    if (kv.second.second == span) {
      s.rerun.insert(span);
      return;
    }
  if (std::find(s.todo.begin(), s.todo.end(), span) == s.todo.end()) s.todo.push_back(span);
}

// Runs the span of question `qi` again.
void requeue(self_ptr self, int32_t qi) {
  requeue_span(self, self->state.plan.span_of(qi));
}

// A person's retry while the job runs: persistence reopens the cells, then they run again.
caf::result<reopen_result> reopen_cells(self_ptr self, int64_t execution_id) {
  auto& s = self->state;
  if (!s.started || s.ending || s.finalizing) {
    reopen_result later;
    later.deferred = true;
    return later;
  }
  auto rp = self->make_response_promise<reopen_result>();
  ++s.reopening;
  auto store = current_persistence(self->system());
  self->request(store, s.settings.batch.execution.storage_timeout, atom::reopen::value, s.job_id,
                execution_id)
      .then(
          [=](const reopen_result& r) mutable {
            --self->state.reopening;
            for (auto qi : r.question_indexes) requeue(self, qi);
            rp.deliver(r);
            advance(self);
          },
          [=](caf::error& err) mutable {
            --self->state.reopening;
            rp.deliver(err);
            advance(self);
          });
  return rp;
}

// The verdict once the open cells are ended and the job's counts are all read.
void finalize_when_ready(self_ptr self) {
  auto& s = self->state;
  if (s.aborted && !s.loading && !s.finalizing) finalize(self, s.cancelling);
}

// Ends the next page of open cells; more pages follow until none is left open.
void end_next_page(self_ptr self) {
  auto& s = self->state;
  auto store = current_persistence(self->system());
  self->request(store, s.settings.batch.execution.storage_timeout, atom::abort::value, s.job_id,
                s.cell_end, s.end_code, s.end_message, s.settings.page_cells, s.abort_after_id)
      .then(
          [=](const abort_page& page) {
            auto& s = self->state;
            s.cells_ended += page.cells;
            s.abort_after_id = page.last_id;
            if (page.cells >= s.settings.page_cells) return end_next_page(self);
            logging::info("job_ending")
                .job(s.job_id)
                .field("cells_ended", s.cells_ended)
                .field("error_code", s.end_code)
                .field("error_message", s.end_message);
            s.aborted = true;
            finalize_when_ready(self);
          },
          [=](caf::error& err) {
            auto& s = self->state;
            if (storage_gave_up(self, "job_abort_failed", err, s.abort_failures)) return;
            self->delayed_send(self, s.settings.restart_backoff * s.abort_failures,
                               atom::abort::value);
          });
}

// Ends the job early: every open cell gets `cell_end` (in pages), then the verdict.
void end_job(self_ptr self, bool cancelled, cell_status cell_end, std::string code,
             std::string message) {
  auto& s = self->state;
  s.ending = true;
  s.cancelling = cancelled;
  s.cell_end = cell_end;
  s.end_code = std::move(code);
  s.end_message = std::move(message);
  for (auto& kv : s.batches) self->send(kv.second.first, atom::cancel::value);
  s.batches.clear();
  s.todo.clear();
  end_next_page(self);
}

// A start or progress read failed: try again later, or past `start_attempts` end the job failed.
// A database outage is waited out (within the job's timeout) and does not count: it costs time,
// not the job.
void start_failed(self_ptr self, const caf::error& err, bool is_page) {
  auto& s = self->state;
  if (quit_if_lease_lost(self, err)) return;
  if (!is_page && s.ending) return;  // ending before it started: nothing to read
  auto why = self->system().render(err);
  bool outage = is_storage_outage(err);
  auto n = outage ? s.start_failures : ++s.start_failures;
  auto waits = outage ? ++s.start_outages : 0;
  logging::warn("job_start_failed")
      .job(s.job_id)
      .field("error", why)
      .field("failures", n)
      .field("database_unavailable", outage);
  if (outage || n < s.settings.start_attempts) {
    auto delay = s.settings.restart_backoff * std::min(outage ? waits : n, 10);
    if (is_page)
      self->delayed_send(self, delay, atom::progress::value);
    else
      self->delayed_send(self, delay, atom::run::value);
    return;
  }
  s.loading = false;
  if (s.ending) return finalize_when_ready(self);
  end_job(self, false, cell_status::failed, "start_failed",
          "the job could not be started after " + std::to_string(n) + " attempts: " + why);
}

void on_batch_down(self_ptr self, caf::down_msg& dm) {
  auto& s = self->state;
  auto it = s.batches.find(dm.source);
  if (it == s.batches.end()) return;
  auto span = it->second.second;
  s.batches.erase(it);
  bool again = s.rerun.erase(span) > 0;  // a crashed batch's restart reloads its cells anyway
  if (is_budget_exhausted(dm.reason)) {
    s.budget_stopped = true;
    return advance(self);
  }
  if (dm.reason) {
    auto n = ++s.batch_crashes[span];
    auto reason = self->system().render(dm.reason);
    logging::warn("batch_crashed")
        .job(s.job_id)
        .field("questions", span_name(self, span))
        .field("reason", reason)
        .field("crashes", n);
    if (n > s.settings.batch_restarts) {
      end_job(self, false, cell_status::failed, "actor_crashed",
              "the batch of question " + span_name(self, span) + " crashed " + std::to_string(n) +
                  " times; last reason: " + reason);
      return;
    }
    s.restarting.insert(span);
    self->delayed_send(self, s.settings.restart_backoff * n, atom::restart::value, span);
    return;
  }
  if (again && !s.ending) requeue_span(self, span);
  advance(self);
}

// Reads the next page of the job's counts: the questions with open cells join the queue and
// run while later pages are read; the last page lets the job finish.
void load_page(self_ptr self) {
  auto& s = self->state;
  auto per_question =
      std::max<int64_t>(1, s.spec.total_cells() / std::max<int64_t>(1, s.spec.questions.size()));
  auto count = static_cast<int32_t>(std::max<int64_t>(1, s.settings.page_cells / per_question));
  auto first = s.next_question;
  auto end = static_cast<int32_t>(
      std::min<int64_t>(s.spec.questions.size(), static_cast<int64_t>(first) + count));
  auto store = current_persistence(self->system());
  self->request(store, s.settings.batch.execution.storage_timeout, atom::progress::value, s.job_id,
                first, end)
      .then(
          [=](const job_progress& page) {
            auto& s = self->state;
            for (auto qi = first; qi < end && static_cast<size_t>(qi) < page.questions.size();
                 ++qi) {
              auto& counts = page.questions[qi].counts;
              if (!s.ending &&
                  counts[index_of(cell_status::pending)] + counts[index_of(cell_status::running)] >
                      0)
                requeue(self, qi);
            }
            s.next_question = end;
            s.loading = static_cast<size_t>(end) < s.spec.questions.size();
            if (s.loading) load_page(self);
            if (s.ending) return finalize_when_ready(self);
            advance(self);
          },
          [=](caf::error& err) { start_failed(self, err, true); });
}

// The most any attempt of the job can cost (unknown prices: infinite). A system prompt is
// counted as 8 kB, more than any regional prompt the node writes.
double worst_attempt(const job_spec& spec, const price_book* prices) {
  constexpr size_t system_prompt_allowance = 8192;
  size_t longest = 0;
  for (auto& q : spec.questions) longest = std::max(longest, q.prompt.size());
  double worst = 0;
  for (auto& m : spec.models)
    for (auto& r : spec.regions) {
      auto b = prices ? prices->attempt_bound(m, r, longest + system_prompt_allowance,
                                              spec.generation_for(m).max_tokens)
                      : std::nullopt;
      worst = std::max(worst, b ? *b : std::numeric_limits<double>::infinity());
    }
  return worst;
}

void begin(self_ptr self, const job_snapshot& snap) {
  auto& s = self->state;
  if (!snap.found) {
    self->quit(caf::make_error(caf::sec::invalid_argument, "job " + s.job_id + " not found"));
    return;
  }
  if (is_terminal(snap.status)) {
    self->quit();
    return;
  }
  auto parsed = parse_job_spec(snap.spec_json);
  if (auto* err = std::get_if<spec_error>(&parsed)) {
    end_job(self, false, cell_status::failed, "invalid_spec",
            "the stored spec no longer parses: " + err->message);
    return;
  }
  s.spec = std::get<job_spec>(std::move(parsed));
  auto questions = static_cast<int32_t>(s.spec.questions.size());
  s.plan = plan_batches(questions, s.spec.total_cells() / std::max(1, questions),
                        s.settings.pipeline, s.settings.max_in_flight_per_job);
  if (s.spec.max_cost >= 0)
    s.budget = std::make_shared<budget_ledger>(
        s.spec.max_cost,
        snap.charged + (snap.open_attempts > 0 ? static_cast<double>(snap.open_attempts) *
                                                     worst_attempt(s.spec, s.settings.prices.get())
                                               : 0.0));
  s.started = true;
  s.loading = true;
  s.start_failures = s.start_outages = 0;
  auto timeout = std::chrono::duration_cast<std::chrono::microseconds>(s.spec.timeout);
  auto elapsed = std::chrono::microseconds(snap.started_us > 0 ? now_us() - snap.started_us : 0);
  auto left = std::max(timeout - elapsed, std::chrono::microseconds(0));
  logging::info(snap.first_start ? "job_started" : "job_resumed")
      .job(s.job_id)
      .field("questions", s.spec.questions.size())
      .field("cells", s.spec.total_cells())
      .field("cancel_requested", snap.cancel_requested)
      .field("timeout_left_ms", left.count() / 1000);
  load_page(self);
  if (s.ending) return;  // cancelled while the start was on its way
  if (snap.cancel_requested)
    return end_job(self, true, cell_status::cancelled, "cancelled",
                   "the job was cancelled before this cell finished");
  self->delayed_send(self, left, atom::deadline::value);
}

}  // namespace

job_supervisor_state::~job_supervisor_state() {
  for (auto& kv : batches) caf::anon_send_exit(kv.second.first, caf::exit_reason::kill);
}

caf::behavior job_supervisor(caf::stateful_actor<job_supervisor_state>* self, std::string job_id,
                             supervisor_settings settings) {
  self->state.job_id = std::move(job_id);
  self->state.settings = std::move(settings);
  self->set_down_handler([=](caf::down_msg& dm) { on_batch_down(self, dm); });
  return {
      [=](atom::run) {
        auto& s = self->state;
        if (s.started) return;
        auto store = current_persistence(self->system());
        self->request(store, s.settings.batch.execution.storage_timeout, atom::start::value,
                      s.job_id)
            .then([=](const job_snapshot& snap) { begin(self, snap); },
                  [=](caf::error& err) {
                    if (!self->state.started) start_failed(self, err, false);
                  });
      },
      [=](atom::progress) { load_page(self); },
      [=](atom::abort) { end_next_page(self); },
      [=](atom::finish, bool cancelled) { finalize(self, cancelled); },
      [=](atom::reopen, int64_t execution_id) { return reopen_cells(self, execution_id); },
      [=](atom::restart, int32_t span) {
        self->state.restarting.erase(span);
        if (!self->state.ending) launch_batch(self, span);
      },
      [=](atom::cancel) {
        auto& s = self->state;
        if (s.ending) {  // a deadline or failed start is ending it: the verdict says cancelled
          if (!s.finalizing) s.cancelling = true;
          return;
        }
        end_job(self, true, cell_status::cancelled, "cancelled",
                "the job was cancelled before this cell finished");
      },
      [=](atom::deadline) {
        auto& s = self->state;
        if (s.ending) return;
        end_job(self, false, cell_status::timeout, "job_timeout",
                "the job exceeded its timeout of " +
                    std::to_string(
                        std::chrono::duration_cast<std::chrono::seconds>(s.spec.timeout).count()) +
                    " s before this cell finished");
      },
  };
}

}  // namespace beacon
