// The sim provider actor.
#include "actors/sim_provider.hpp"

#include "caf/all.hpp"

namespace beacon {

namespace {
std::string cell_key(const std::string& job, const std::string& q, const std::string& m,
                     const std::string& r, int32_t run) {
  return job + '\x1f' + q + '\x1f' + m + '\x1f' + r + '\x1f' + std::to_string(run);
}
std::string question_key(const std::string& job, const std::string& q) {
  return job + '\x1f' + q;
}
}  // namespace

void sim_call_log::record(const provider_request& r) {
  std::lock_guard<std::mutex> guard{mutex_};
  ++total_;
  if (!per_cell_) return;
  ++calls_[cell_key(r.job_id, r.question_id, r.model_id, r.region, r.run)];
  auto& q = questions_[question_key(r.job_id, r.question_id)];
  ++q.calls;
  if (q.first_call == 0) q.first_call = ++sequence_;
  if (q.open++ == 0) peak_open_questions_ = std::max(peak_open_questions_, ++open_questions_);
}

void sim_call_log::answered(const provider_request& r) {
  if (!per_cell_) return;
  std::lock_guard<std::mutex> guard{mutex_};
  auto& q = questions_[question_key(r.job_id, r.question_id)];
  q.last_answer = ++sequence_;
  if (q.open > 0 && --q.open == 0) --open_questions_;
}

const sim_call_log::question_calls* sim_call_log::find_question(
    const std::string& job_id, const std::string& question_id) const {
  auto it = questions_.find(question_key(job_id, question_id));
  return it == questions_.end() ? nullptr : &it->second;
}

int sim_call_log::calls_for(const std::string& job_id, const std::string& question_id,
                            const std::string& model_id, const std::string& region,
                            int32_t run) const {
  std::lock_guard<std::mutex> guard{mutex_};
  auto it = calls_.find(cell_key(job_id, question_id, model_id, region, run));
  return it == calls_.end() ? 0 : it->second;
}

int sim_call_log::calls_for_question(const std::string& job_id,
                                     const std::string& question_id) const {
  std::lock_guard<std::mutex> guard{mutex_};
  auto* q = find_question(job_id, question_id);
  return q ? q->calls : 0;
}

int64_t sim_call_log::first_call_of(const std::string& job_id,
                                    const std::string& question_id) const {
  std::lock_guard<std::mutex> guard{mutex_};
  auto* q = find_question(job_id, question_id);
  return q ? q->first_call : 0;
}

int64_t sim_call_log::last_answer_of(const std::string& job_id,
                                     const std::string& question_id) const {
  std::lock_guard<std::mutex> guard{mutex_};
  auto* q = find_question(job_id, question_id);
  return q ? q->last_answer : 0;
}

size_t sim_call_log::peak_open_questions() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return peak_open_questions_;
}

int64_t sim_call_log::total() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return total_;
}

void sim_call_log::note_in_flight(size_t n) {
  std::lock_guard<std::mutex> guard{mutex_};
  peak_in_flight_ = std::max(peak_in_flight_, n);
}

size_t sim_call_log::peak_in_flight() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return peak_in_flight_;
}

namespace {

using self_ptr = sim_provider_actor::stateful_pointer<sim_provider_state>;

// Gives the call a slot and schedules its answer after its latency.
void serve(self_ptr self, sim_provider_state::call c) {
  auto& st = self->state;
  auto token = st.next_token++;
  auto latency = c.latency;
  st.in_service.emplace(token, std::move(c));
  st.log->note_in_flight(st.in_service.size());
  self->delayed_send(self, latency, atom::deliver::value, token);
}

}  // namespace

sim_provider_actor::behavior_type sim_provider(
    sim_provider_actor::stateful_pointer<sim_provider_state> self, std::string provider_id,
    std::string region, sim::settings settings, std::shared_ptr<sim_call_log> log) {
  auto& st = self->state;
  st.provider_id = std::move(provider_id);
  st.region = std::move(region);
  st.settings = settings;
  st.log = log ? std::move(log) : std::make_shared<sim_call_log>();
  return {
      [=](atom::complete, const provider_request& req) -> caf::result<provider_reply> {
        auto& st = self->state;
        st.log->record(req);
        auto d = sim::decide(st.settings, req, st.region);
        provider_reply reply;
        reply.provider_id = st.provider_id;
        reply.provider_region = st.region;
        reply.model_served = req.model_id;
        reply.model_asked = req.model_id;
        reply.latency_us = d.latency.count();
        reply.http_status = d.http_status;
        if (d.what == sim::kind::answer) {
          reply.ok = true;
          reply.text = std::move(d.text);
          reply.prompt_tokens = d.prompt_tokens;
          reply.completion_tokens = d.completion_tokens;
          reply.finish_reason = d.finish_reason;
          reply.cost = st.settings.prices.answer_cost(req.model_id, reply.prompt_tokens,
                                                      reply.completion_tokens);
        } else {
          reply.failure = d.failure;
          reply.error_message = d.error_message;
        }
        // A promise takes over the reply, so only make one when answering later (or never).
        if (d.what != sim::kind::hang && d.latency.count() == 0) {
          st.log->answered(req);
          return reply;
        }
        auto rp = self->make_response_promise<provider_reply>();
        if (d.what == sim::kind::hang) return rp;  // never answered: the caller's timeout fires
        sim_provider_state::call c{rp, std::move(reply), d.latency, req};
        if (st.in_service.size() < std::max<size_t>(1, st.settings.max_concurrency))
          serve(self, std::move(c));
        else
          st.queued.push_back(std::move(c));
        return rp;
      },
      [=](atom::deliver, uint64_t token) {
        auto& st = self->state;
        auto it = st.in_service.find(token);
        if (it == st.in_service.end()) return;
        st.log->answered(it->second.req);
        it->second.rp.deliver(std::move(it->second.reply));
        st.in_service.erase(it);
        if (!st.queued.empty()) {
          auto next = std::move(st.queued.front());
          st.queued.pop_front();
          serve(self, std::move(next));
        }
      },
  };
}

}  // namespace beacon
