// The progress hub actor.
#include "actors/progress_hub.hpp"

#include <algorithm>

#include "caf/all.hpp"
#include "domain/status.hpp"

namespace beacon {
namespace {

using self_ptr = progress_hub_actor::stateful_pointer<progress_hub_state>;

// A job's stream as the hub starts it: its numbers begin at the wall clock in microseconds, so
// ids from before a restart of this node, or from another node that ran the job before, are
// never mistaken for this stream's (they are older than its start: a fresh snapshot).
progress_hub_state::job_stream& stream_of(self_ptr self, const std::string& job_id) {
  auto& s = self->state.streams[job_id];
  if (s.seq == 0)
    s.seq = std::chrono::duration_cast<std::chrono::microseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
  return s;
}

// Moves one cell between status counters of its question and its group.
void count(self_ptr self, job_progress& p, const cell_event& e) {
  if (e.question_index < 0 || static_cast<size_t>(e.question_index) >= p.questions.size()) return;
  auto from = index_of(e.from), to = index_of(e.to);
  auto move = [&](std::vector<int32_t>& counts) {
    if (from < counts.size()) --counts[from];
    if (to < counts.size()) ++counts[to];
  };
  move(p.questions[e.question_index].counts);
  auto& index = self->state.groups[e.job_id];
  auto key = std::make_tuple(e.question_index, e.model_id, e.region);
  auto g = index.find(key);
  if (g == index.end()) {
    g = index.emplace(key, p.groups.size()).first;
    p.groups.push_back(
        {e.question_index, e.model_id, e.region, std::vector<int32_t>(cell_status_count, 0), {}});
  }
  move(p.groups[g->second].counts);
  if (is_terminal(e.to))
    p.groups[g->second].usage.add(e.prompt_tokens, e.completion_tokens, e.cost,
                                  e.to == cell_status::completed);
}

// Numbers new items of a job's stream, keeps the newest, and sends them to its subscribers.
void append(self_ptr self, const std::string& job_id, std::vector<stream_item> items) {
  auto& s = stream_of(self, job_id);
  for (auto& it : items) it.seq = ++s.seq;
  if (!s.subscribers.empty()) {
    // One message shared by every subscriber (copy-on-write): not a copy of the items each,
    // which for a page of 20,000 ended cells and 200 subscribers was 4 million copies.
    auto shared = caf::make_message(atom::update::value, items);
    for (auto& sub : s.subscribers) caf::anon_send(caf::actor_cast<caf::actor>(sub), shared);
  }
  // The buffer keeps the items themselves (no copy when nobody follows the job).
  for (auto& it : items) s.recent.push_back(std::move(it));
  while (s.recent.size() > progress_hub_state::stream_buffer) s.recent.pop_front();
}

// Publishes a job's counts now (start, status change).
void publish_now(self_ptr self, const std::string& job_id) {
  auto& s = self->state;
  s.dirty.erase(job_id);
  auto it = s.jobs.find(job_id);
  if (s.board && it != s.jobs.end() && it->second.found) s.board->publish(it->second);
}

// Publishes within progress_board::publish_interval (coalescing a burst of updates).
void publish_soon(self_ptr self, const std::string& job_id) {
  auto& s = self->state;
  if (!s.board) return;
  s.dirty.insert(job_id);
  if (s.publish_scheduled) return;
  s.publish_scheduled = true;
  self->delayed_send(self, s.publish_gap, atom::flush::value);
}

// The job's counts as one seed; a job the hub does not hold gets an unknown (found = false) one,
// so a subscriber that resyncs always hears back.
void snapshot_to(self_ptr self, const event_stream_actor& who, const std::string& job_id) {
  auto seq = self->state.streams[job_id].seq;
  auto it = self->state.jobs.find(job_id);
  if (it != self->state.jobs.end()) return self->send(who, atom::seed::value, it->second, seq);
  job_progress unknown;
  unknown.job_id = job_id;
  self->send(who, atom::seed::value, unknown, seq);
}

// Points the group index of a job at its groups.
void index_groups(self_ptr self, const job_progress& p) {
  auto& index = self->state.groups[p.job_id];
  index.clear();
  for (size_t i = 0; i < p.groups.size(); ++i) {
    auto& g = p.groups[i];
    index[{g.question_index, g.model_id, g.region}] = i;
  }
}

// A page of a job's counts from storage: its questions and groups replace what the hub had for
// them (a first page starts the job's counts afresh); status and reason stay.
void merge_page(self_ptr self, job_progress& held, job_progress& page) {
  auto& index = self->state.groups[held.job_id];
  if (page.first_question == 0) {
    held.questions.clear();
    held.groups.clear();
    index.clear();
  }
  if (held.questions.size() < page.questions.size()) held.questions.resize(page.questions.size());
  for (size_t qi = page.first_question; qi < page.questions.size(); ++qi)
    held.questions[qi] = std::move(page.questions[qi]);
  for (auto& g : page.groups) {
    auto key = std::make_tuple(g.question_index, g.model_id, g.region);
    auto it = index.find(key);
    if (it != index.end()) {
      held.groups[it->second].counts = std::move(g.counts);
      continue;
    }
    index.emplace(key, held.groups.size());
    held.groups.push_back(std::move(g));
  }
}

// A job's counts from storage (start or resume), whole or a page of its questions.
void seed(self_ptr self, job_progress& p) {
  auto id = p.job_id;
  auto& held = self->state.jobs[id];
  if (p.end_question < 0) {
    held = std::move(p);
    index_groups(self, held);
  } else {
    held.job_id = id;
    held.found = true;
    merge_page(self, held, p);
  }
  publish_now(self, id);
  for (auto& sub : stream_of(self, id).subscribers) snapshot_to(self, sub, id);
}

// Committed cell transitions: counted, published soon and appended to their jobs' streams.
void count_committed(self_ptr self, std::vector<cell_event>& events) {
  std::map<std::string, std::vector<stream_item>> by_job;
  progress_board::usage_by_provider_model usage;
  for (auto& e : events) {
    if (is_terminal(e.to) && !e.provider_id.empty())
      usage[{e.provider_id, e.model_id}].add(e.prompt_tokens, e.completion_tokens, e.cost,
                                             e.to == cell_status::completed);
    auto it = self->state.jobs.find(e.job_id);
    if (it == self->state.jobs.end()) continue;
    count(self, it->second, e);
    auto job = e.job_id;
    publish_soon(self, job);
    by_job[job].push_back(stream_item{0, std::move(e), caf::none, {}});
  }
  for (auto& [job, items] : by_job) append(self, job, std::move(items));
  if (self->state.board && !usage.empty()) self->state.board->add_usage(usage);
}

// Forgets the oldest terminal jobs past keep_finished (their streams too, when nobody follows).
void evict_finished(self_ptr self) {
  auto& s = self->state;
  while (s.finished.size() > s.keep_finished) {
    auto old = s.finished.front();
    s.jobs.erase(old);
    s.dirty.erase(old);
    if (s.board) s.board->forget(old);
    s.groups.erase(old);
    auto stream = s.streams.find(old);
    if (stream != s.streams.end() && stream->second.subscribers.empty()) s.streams.erase(stream);
    s.finished.pop_front();
  }
}

// A job changed status: the new status goes to its stream and its readers at once.
void set_job_status(self_ptr self, const std::string& job_id, job_status st,
                    const std::string& reason) {
  auto& s = self->state;
  bool fresh = s.jobs.count(job_id) == 0;
  auto& p = s.jobs[job_id];
  bool was_terminal = !fresh && is_terminal(p.status);
  bool changed = fresh || p.status != st;
  // A status alone does not make the job held: until its counts arrive (a seed), readers get
  // "not held" and read storage, instead of a job with no cells.
  p.job_id = job_id;
  p.status = st;
  p.reason = reason;
  if (changed) append(self, job_id, {stream_item{0, {}, st, reason}});
  publish_now(self, job_id);
  // A repeated verdict (finish after a restart) must not queue the job for eviction twice.
  if (is_terminal(st) && !was_terminal) {
    s.finished.push_back(job_id);
    evict_finished(self);
  }
}

// A new subscriber: resumed from the buffer when it still holds the next item the subscriber
// needs, else started from a snapshot. A subscriber asking again (it fell behind) is not added
// twice.
void subscribe(self_ptr self, const std::string& job_id, int64_t last_id,
               const event_stream_actor& who) {
  auto& s = self->state.streams[job_id];
  if (std::find(s.subscribers.begin(), s.subscribers.end(), who) == s.subscribers.end()) {
    self->monitor(who);
    s.subscribers.push_back(who);
  }
  if (self->state.jobs.count(job_id) && last_id >= 0 && last_id <= s.seq &&
      (last_id == s.seq || (!s.recent.empty() && s.recent.front().seq <= last_id + 1))) {
    std::vector<stream_item> missed;
    for (auto& it : s.recent)
      if (it.seq > last_id) missed.push_back(it);
    if (!missed.empty()) self->send(who, atom::update::value, std::move(missed));
    return;
  }
  snapshot_to(self, who, job_id);
}

}  // namespace

progress_hub_actor::behavior_type progress_hub(
    progress_hub_actor::stateful_pointer<progress_hub_state> self, size_t keep_finished,
    std::shared_ptr<progress_board> board) {
  self->state.keep_finished = keep_finished;
  self->state.board = std::move(board);
  self->set_down_handler([=](caf::down_msg& dm) {
    for (auto& [id, s] : self->state.streams)
      s.subscribers.erase(std::remove_if(s.subscribers.begin(), s.subscribers.end(),
                                         [&](auto& a) { return a.address() == dm.source; }),
                          s.subscribers.end());
  });
  return {
      [=](atom::seed, job_progress& p) { seed(self, p); },
      [=](atom::update, std::vector<cell_event>& events) { count_committed(self, events); },
      [=](atom::job_state, const std::string& job_id, job_status st, const std::string& reason) {
        set_job_status(self, job_id, st, reason);
      },
      [=](atom::subscribe, const std::string& job_id, int64_t last_id, event_stream_actor who) {
        subscribe(self, job_id, last_id, who);
      },
      [=](atom::flush) {
        auto& s = self->state;
        s.publish_scheduled = false;
        auto jobs = std::move(s.dirty);
        s.dirty.clear();
        auto started = std::chrono::steady_clock::now();
        for (auto& id : jobs) publish_now(self, id);
        s.publish_gap = progress_board::publish_gap(std::chrono::steady_clock::now() - started);
      },
      [=](atom::get, const std::string& job_id) -> job_progress {
        auto& jobs = self->state.jobs;
        auto it = jobs.find(job_id);
        if (it == jobs.end()) {
          job_progress unknown;  // found = false
          unknown.job_id = job_id;
          return unknown;
        }
        return it->second;
      },
  };
}

}  // namespace beacon
