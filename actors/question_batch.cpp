// The question batch actor.
#include "actors/question_batch.hpp"

#include "actors/persistence.hpp"
#include "common/clock.hpp"
#include "common/logging.hpp"
#include "messages/status.hpp"
#include "providers/error_class.hpp"

namespace beacon {
namespace {

using self_ptr = caf::stateful_actor<question_batch_state>*;

cell_task task_for(self_ptr self, size_t i) {
  auto& s = self->state;
  auto& c = s.cells[i];
  return {c.id,    s.job_id,          s.q.id,      s.question_index,
          s.q.prompt, c.model_id,     c.region,    c.run,
          c.system_prompt, c.attempts, c.max_retries, s.settings.attempt_timeout};
}

void launch(self_ptr self, size_t i, std::optional<cell_outcome> preset = std::nullopt) {
  auto& s = self->state;
  auto child = self->spawn<caf::monitored>(execution, task_for(self, i), s.settings.execution,
                                           std::move(preset));
  s.in_flight.emplace(child.address(), std::make_pair(child, i));
  s.peak_in_flight = std::max(s.peak_in_flight, s.in_flight.size());
  self->send(child, atom::run::value);
}

// Starts cells until the in-flight bound is reached; exits when every cell is done.
void fill(self_ptr self) {
  auto& s = self->state;
  while (s.in_flight.size() < static_cast<size_t>(s.settings.max_in_flight)) {
    if (!s.rerun.empty()) {
      launch(self, s.rerun.front());
      s.rerun.pop_front();
    } else if (s.next < s.cells.size()) {
      launch(self, s.next++);
    } else {
      break;
    }
  }
  if (s.done == s.cells.size()) {
    logging::event("question_done")
        .job(s.job_id)
        .field("question_id", s.q.id)
        .field("cells", s.cells.size())
        .debug();
    self->quit();
  }
}

void on_child_down(self_ptr self, caf::down_msg& dm) {
  auto& s = self->state;
  auto it = s.in_flight.find(dm.source);
  if (it == s.in_flight.end()) return;
  auto i = it->second.second;
  s.in_flight.erase(it);
  if (!dm.reason) {
    ++s.done;
  } else {
    auto& c = s.cells[i];
    auto n = ++s.crashes[i];
    auto reason = self->system().render(dm.reason);
    logging::event("execution_crashed")
        .cell({s.job_id, s.q.id, c.model_id, c.region})
        .field("error_code", error_class::actor_crashed)
        .field("reason", reason)
        .field("crashes", n)
        .warn();
    if (n <= s.settings.crash_retries) {
      s.rerun.push_back(i);
    } else {
      cell_outcome o;
      o.cell_id = c.id;
      o.status = status::failed;
      o.attempts = c.attempts + n;
      o.completed_us = now_us();
      o.error_code = error_class::actor_crashed;
      o.error_message = "the execution actor ended abnormally " + std::to_string(n) +
                        " times; last reason: " + reason;
      o.classification = "technical_failure";
      o.is_technical_error = true;
      launch(self, i, o);
    }
  }
  fill(self);
}

}  // namespace

question_batch_state::~question_batch_state() {
  for (auto& kv : in_flight) caf::anon_send_exit(kv.second.first, caf::exit_reason::kill);
}

caf::behavior question_batch(caf::stateful_actor<question_batch_state>* self, std::string job_id,
                             question q, int32_t question_index, batch_settings settings) {
  auto& s = self->state;
  s.job_id = std::move(job_id);
  s.q = std::move(q);
  s.question_index = question_index;
  s.settings = std::move(settings);
  self->set_down_handler([=](caf::down_msg& dm) { on_child_down(self, dm); });
  return {
      [=](atom::run) {
        auto& s = self->state;
        if (s.loaded) return;
        auto store = current_persistence(self->system());
        self->request(store, s.settings.execution.storage_timeout, atom::load::value, s.job_id,
                      s.question_index)
            .then(
                [=](std::vector<cell_row>& rows) {
                  auto& s = self->state;
                  s.loaded = true;
                  for (auto& r : rows)
                    if (!status::is_terminal(r.status)) s.cells.push_back(std::move(r));
                  logging::event("question_started")
                      .job(s.job_id)
                      .field("question_id", s.q.id)
                      .field("open_cells", s.cells.size())
                      .field("cells", rows.size())
                      .info();
                  fill(self);
                },
                [=](caf::error& err) {
                  logging::event("question_load_failed")
                      .job(self->state.job_id)
                      .field("question_id", self->state.q.id)
                      .field("error", self->system().render(err))
                      .warn();
                  self->delayed_send(self, self->state.settings.execution.retry_base,
                                     atom::run::value);
                });
      },
      [=](atom::cancel) {
        for (auto& kv : self->state.in_flight)
          self->send_exit(kv.second.first, caf::exit_reason::user_shutdown);
        self->state.in_flight.clear();
        self->quit(caf::exit_reason::user_shutdown);
      },
  };
}

}  // namespace beacon
