// The progress hub actor.
#include "actors/progress_hub.hpp"

#include "caf/all.hpp"
#include "messages/status.hpp"

namespace beacon {

progress_hub_actor::behavior_type progress_hub(
    progress_hub_actor::stateful_pointer<progress_hub_state> self, size_t keep_finished) {
  self->state.keep_finished = keep_finished;
  return {
      [=](atom::seed, job_progress& p) {
        auto id = p.job_id;
        self->state.jobs[id] = std::move(p);
      },
      [=](atom::update, const std::vector<progress_delta>& deltas) {
        auto& jobs = self->state.jobs;
        for (auto& d : deltas) {
          auto it = jobs.find(d.job_id);
          if (it == jobs.end() || d.question_index < 0 ||
              static_cast<size_t>(d.question_index) >= it->second.questions.size())
            continue;
          auto& counts = it->second.questions[d.question_index].counts;
          auto from = status::cell_index(d.from), to = status::cell_index(d.to);
          if (from < counts.size()) counts[from] -= d.count;
          if (to < counts.size()) counts[to] += d.count;
        }
      },
      [=](atom::job_state, const std::string& job_id, const std::string& st,
          const std::string& reason) {
        auto& s = self->state;
        auto& p = s.jobs[job_id];
        bool was_terminal = status::is_terminal_job(p.status);
        p.job_id = job_id;
        p.status = st;
        p.reason = reason;
        // A repeated verdict (finish after a restart) must not queue the job for eviction twice.
        if (status::is_terminal_job(st) && !was_terminal) {
          s.finished.push_back(job_id);
          while (s.finished.size() > s.keep_finished) {
            s.jobs.erase(s.finished.front());
            s.finished.pop_front();
          }
        }
      },
      [=](atom::get, const std::string& job_id) -> job_progress {
        auto& jobs = self->state.jobs;
        auto it = jobs.find(job_id);
        if (it == jobs.end()) return job_progress{job_id, "", "", {}};
        return it->second;
      },
  };
}

}  // namespace beacon
