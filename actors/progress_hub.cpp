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
        auto& index = self->state.groups[id];
        index.clear();
        for (size_t i = 0; i < p.groups.size(); ++i) {
          auto& g = p.groups[i];
          index[{g.question_index, g.model_id, g.region}] = i;
        }
        self->state.jobs[id] = std::move(p);
      },
      [=](atom::update, const std::vector<progress_delta>& deltas) {
        auto& jobs = self->state.jobs;
        for (auto& d : deltas) {
          auto it = jobs.find(d.job_id);
          if (it == jobs.end() || d.question_index < 0 ||
              static_cast<size_t>(d.question_index) >= it->second.questions.size())
            continue;
          auto from = status::cell_index(d.from), to = status::cell_index(d.to);
          auto move = [&](std::vector<int32_t>& counts) {
            if (from < counts.size()) counts[from] -= d.count;
            if (to < counts.size()) counts[to] += d.count;
          };
          move(it->second.questions[d.question_index].counts);
          auto& index = self->state.groups[d.job_id];
          auto g = index.find({d.question_index, d.model_id, d.region});
          if (g == index.end()) {
            g = index
                    .emplace(std::make_tuple(d.question_index, d.model_id, d.region),
                             it->second.groups.size())
                    .first;
            it->second.groups.push_back({d.question_index, d.model_id, d.region,
                                         std::vector<int32_t>(status::cell_count, 0)});
          }
          move(it->second.groups[g->second].counts);
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
            s.groups.erase(s.finished.front());
            s.finished.pop_front();
          }
        }
      },
      [=](atom::get, const std::string& job_id) -> job_progress {
        auto& jobs = self->state.jobs;
        auto it = jobs.find(job_id);
        if (it == jobs.end()) {
          job_progress unknown;
          unknown.job_id = job_id;
          return unknown;
        }
        return it->second;
      },
  };
}

}  // namespace beacon
