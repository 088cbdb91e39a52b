// The question batch actor.
#include "actors/question_batch.hpp"

#include <algorithm>
#include <limits>

#include "actors/persistence.hpp"
#include "common/assert.hpp"
#include "common/clock.hpp"
#include "common/logging.hpp"
#include "domain/error_class.hpp"
#include "domain/status.hpp"
#include "messages/errors.hpp"

namespace beacon {
namespace {

using self_ptr = caf::stateful_actor<question_batch_state>*;

int32_t page_size(self_ptr self) {
  return std::max(64, 2 * self->state.settings.max_in_flight);
}

cell_task task_for(self_ptr self, const cell_row& c) {
  auto& s = self->state;
  auto& q = s.span.at(c.question_index);
  auto& generation =
      settings_for_model(s.settings.generation, s.settings.model_generation, c.model_id);
  double bound = -1;
  if (s.settings.execution.budget) {
    auto worst = s.settings.prices
                     ? s.settings.prices->attempt_bound(c.model_id, c.region,
                                                        c.system_prompt.size() + q.prompt.size(),
                                                        generation.max_tokens)
                     : std::nullopt;
    bound = worst ? *worst : std::numeric_limits<double>::infinity();  // unpriced: never fits
  }
  return {c.id,
          s.job_id,
          q.id,
          c.question_index,
          q.prompt,
          c.model_id,
          c.region,
          c.run,
          c.system_prompt,
          c.max_retries,
          s.settings.attempt_timeout,
          c.attempt_base,
          generation,
          bound,
          c.attempts};
}

// Reserves the most the cell may cost against the job's budget (true without a budget); the
// first cell that does not fit closes the batch to new cells.
bool reserve(self_ptr self, const cell_task& t) {
  auto& s = self->state;
  auto& budget = s.settings.execution.budget;
  if (!budget) return true;
  auto worst_case = t.attempt_bound * (1 + t.max_retries);  // every attempt it may make
  if (!s.budget_closed && budget->try_reserve(t.cell_id, worst_case)) return true;
  if (!s.budget_closed) {
    auto totals = budget->read();
    logging::info("budget_closed")
        .cell({s.job_id, t.question_id, t.model_id, t.region})
        .field("spent", totals.spent)
        .field("reserved", totals.reserved)
        .field("limit", totals.limit)
        .field("cell_worst_case", worst_case);
  }
  s.budget_closed = true;
  return false;
}

// The shortest timeout a call of this batch's cells may get.
caf::timespan shortest_call(self_ptr self) {
  auto& s = self->state;
  return shortest_call_timeout(s.settings.attempt_timeout, s.settings.execution.cell_budget);
}

// Schedules the next deadline sweep, unless one is on its way.
void arm_sweep(self_ptr self) {
  auto& s = self->state;
  if (s.sweep_armed) return;
  s.sweep_armed = true;
  self->delayed_send(self, deadline_sweep_interval(shortest_call(self)), atom::deadline::value);
}

// Asks each execution that may have an overdue call to time it out; sweeps again while cells run.
void sweep(self_ptr self) {
  auto& s = self->state;
  s.sweep_armed = false;
  auto now = self->clock().now();
  auto shortest = shortest_call(self);
  for (auto& kv : s.in_flight)
    if (now - kv.second.launched >= shortest) self->send(kv.second.actor, atom::deadline::value);
  if (!s.in_flight.empty()) arm_sweep(self);
}

// Starts the cell's execution actor; false (nothing started) when the budget cannot hold it.
bool launch(self_ptr self, cell_row c, std::optional<cell_outcome> preset = std::nullopt) {
  auto& s = self->state;
  auto task = task_for(self, c);
  if (!preset && !reserve(self, task)) return false;
  auto child = self->spawn<caf::monitored>(execution, std::move(task), s.settings.execution,
                                           std::move(preset));
  s.window.start(c.question_index);
  s.in_flight.emplace(child.address(),
                      question_batch_state::running_cell{child, std::move(c), self->clock().now()});
  s.peak_in_flight = std::max(s.peak_in_flight, s.in_flight.size());
  self->send(child, atom::run::value);
  arm_sweep(self);
  return true;
}

void load_page(self_ptr self);

// Starts cells in id order (question after question) until the in-flight bound or the question
// window is reached, keeps a page ahead, and exits when every cell is done.
void fill(self_ptr self) {
  auto& s = self->state;
  while (!s.budget_closed && s.in_flight.size() < static_cast<size_t>(s.settings.max_in_flight)) {
    auto& from = !s.rerun.empty() ? s.rerun : s.ready;
    if (from.empty() || !s.window.admits(from.front().question_index)) break;
    if (!launch(self, from.front())) break;
    from.pop_front();
  }
  if (s.budget_closed) {
    if (s.in_flight.empty()) self->quit(caf::make_error(job_errc::budget_exhausted));
    return;
  }
  if (!s.exhausted && !s.loading && s.ready.size() < static_cast<size_t>(page_size(self) / 2))
    load_page(self);
  if (s.exhausted && !s.loading && s.ready.empty() && s.rerun.empty() && s.in_flight.empty()) {
    logging::debug("questions_done")
        .job(s.job_id)
        .field("first_question_id", s.span.questions.front().id)
        .field("questions", s.span.questions.size())
        .field("cells", s.done);
    self->quit();
  }
}

void load_page(self_ptr self) {
  auto& s = self->state;
  s.loading = true;
  auto store = current_persistence(self->system());
  auto limit = page_size(self);
  self->request(store, s.settings.execution.storage_timeout, atom::load::value, s.job_id,
                s.span.first, s.span.end(), s.cursor, limit)
      .then(
          [=](std::vector<cell_row>& rows) {
            auto& s = self->state;
            s.loading = false;
            if (s.cursor == 0)
              logging::info("questions_started")
                  .job(s.job_id)
                  .field("first_question_id", s.span.questions.front().id)
                  .field("questions", s.span.questions.size())
                  .field("first_page", rows.size());
            s.exhausted = rows.size() < static_cast<size_t>(limit);
            for (auto& r : rows) {
              s.cursor = std::max(s.cursor, r.id);
              s.ready.push_back(std::move(r));
            }
            fill(self);
          },
          [=](caf::error& err) {
            auto& s = self->state;
            s.loading = false;
            logging::warn("questions_load_failed")
                .job(s.job_id)
                .field("first_question_id", s.span.questions.front().id)
                .field("error", self->system().render(err));
            self->delayed_send(self, s.settings.execution.retry_base, atom::run::value);
          });
}

// A cell made its last call: its question leaves the window (the next question's calls may start
// while its outcome commits); it still counts against the in-flight bound until it exits.
void on_answered(self_ptr self, const caf::actor_addr& who) {
  auto& s = self->state;
  auto it = s.in_flight.find(who);
  if (it == s.in_flight.end() || it->second.answered) return;
  it->second.answered = true;
  s.window.finish(it->second.row.question_index);
  fill(self);
}

void on_child_down(self_ptr self, caf::down_msg& dm) {
  auto& s = self->state;
  auto it = s.in_flight.find(dm.source);
  if (it == s.in_flight.end()) return;
  auto c = std::move(it->second.row);
  bool answered = it->second.answered;
  s.in_flight.erase(it);
  if (!answered) s.window.finish(c.question_index);
  auto& budget = s.settings.execution.budget;
  if (!dm.reason) {
    if (budget) budget->settle(c.id, 0);  // releases a hold its actor did not settle
    ++s.done;
    s.crashes.erase(c.id);
    return fill(self);
  }
  if (budget) budget->forfeit(c.id);  // its calls may have been made: they stay charged
  auto n = ++s.crashes[c.id];
  auto reason = self->system().render(dm.reason);
  logging::warn("execution_crashed")
      .cell({s.job_id, s.span.at(c.question_index).id, c.model_id, c.region})
      .field("error_code", to_string(error_class::actor_crashed))
      .field("reason", reason)
      .field("crashes", n);
  if (n <= s.settings.crash_retries) {
    s.rerun.push_back(std::move(c));
  } else {
    cell_outcome o;
    o.cell_id = c.id;
    o.status = cell_status::failed;
    o.attempts = -1;  // as recorded: each crashed actor's claim opened (and counted) one
    o.completed_us = now_us();
    o.error_code = to_string(error_class::actor_crashed);
    o.error_message = "the execution actor ended abnormally " + std::to_string(n) +
                      " times; last reason: " + reason;
    o.classification = "technical_failure";
    o.is_technical_error = true;
    launch(self, std::move(c), o);
  }
  fill(self);
}

}  // namespace

caf::timespan shortest_call_timeout(caf::timespan attempt_timeout, caf::timespan cell_budget) {
  return cell_budget.count() > 0 ? std::min(attempt_timeout, cell_budget) : attempt_timeout;
}

caf::timespan deadline_sweep_interval(caf::timespan shortest_call) {
  return std::clamp<caf::timespan>(shortest_call / 20, std::chrono::milliseconds(5),
                                   std::chrono::seconds(1));
}

question_batch_state::~question_batch_state() {
  for (auto& kv : in_flight) caf::anon_send_exit(kv.second.actor, caf::exit_reason::kill);
}

caf::behavior question_batch(caf::stateful_actor<question_batch_state>* self, std::string job_id,
                             question_span span, batch_settings settings) {
  auto& s = self->state;
  BEACON_ASSERT(!span.questions.empty(), "a batch runs at least one question");
  s.job_id = std::move(job_id);
  s.span = std::move(span);
  s.settings = std::move(settings);
  s.window = question_window(s.settings.window);
  self->set_down_handler([=](caf::down_msg& dm) { on_child_down(self, dm); });
  return {
      [=](atom::run) {
        auto& s = self->state;
        if (!s.loading && !s.exhausted) load_page(self);
      },
      [=](atom::deadline) { sweep(self); },
      [=](atom::answered) {
        on_answered(self, caf::actor_cast<caf::actor_addr>(self->current_sender()));
      },
      [=](atom::cancel) {
        for (auto& kv : self->state.in_flight)
          self->send_exit(kv.second.actor, caf::exit_reason::user_shutdown);
        self->state.in_flight.clear();
        self->quit(caf::exit_reason::user_shutdown);
      },
  };
}

}  // namespace beacon
