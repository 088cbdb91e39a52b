// The SIM PROVIDER: an in-process provider deployment of one region (no network), answering
// with providers/sim_model.hpp after its simulated latency, serving at most max_concurrency
// calls at once (the rest queue, and their wait counts against the caller's attempt timeout);
// counts every call it receives. Instant answers and calls that never answer hold no slot.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "messages/interfaces.hpp"
#include "providers/sim_model.hpp"

namespace beacon {

// Calls received by sim providers, shared across nodes of one process so tests can count them.
// Totals are always kept; per-cell and per-question counts, and the order of calls and answers
// per question, only when asked for (they grow with the number of cells).
class sim_call_log {
 public:
  explicit sim_call_log(bool per_cell = false) : per_cell_(per_cell) {}
  void record(const provider_request& r);
  // The provider answered a call (a reply or a failure; a hanging call is never answered).
  void answered(const provider_request& r);
  // Calls received for one cell (job, question, model, region, run), over all attempts.
  int calls_for(const std::string& job_id, const std::string& question_id,
                const std::string& model_id, const std::string& region, int32_t run) const;
  // Calls received for any cell of one question of a job.
  int calls_for_question(const std::string& job_id, const std::string& question_id) const;
  // Calls and answers are numbered in one sequence: the number of a question's first call and
  // of its last answer (0: none yet).
  int64_t first_call_of(const std::string& job_id, const std::string& question_id) const;
  int64_t last_answer_of(const std::string& job_id, const std::string& question_id) const;
  // The most questions (of any job) that had calls out at the providers at once.
  size_t peak_open_questions() const;
  int64_t total() const;
  void note_in_flight(size_t n);
  size_t peak_in_flight() const;

 private:
  struct question_calls {
    int calls = 0;
    int open = 0;  // received, not answered
    int64_t first_call = 0;
    int64_t last_answer = 0;
  };
  const question_calls* find_question(const std::string& job_id,
                                      const std::string& question_id) const;

  const bool per_cell_;
  mutable std::mutex mutex_;
  std::map<std::string, int> calls_;
  std::map<std::string, question_calls> questions_;
  int64_t total_ = 0;
  int64_t sequence_ = 0;
  size_t open_questions_ = 0;
  size_t peak_open_questions_ = 0;
  size_t peak_in_flight_ = 0;
};

struct sim_provider_state {
  using promise = caf::typed_response_promise<provider_reply>;
  // A call with its decided answer, waiting for a slot or for its latency.
  struct call {
    promise rp;
    provider_reply reply;
    caf::timespan latency;
    provider_request req;  // for the call log
  };
  std::string provider_id;
  std::string region;
  sim::settings settings;
  std::shared_ptr<sim_call_log> log;
  uint64_t next_token = 0;
  std::unordered_map<uint64_t, call> in_service;  // holding a slot for their latency
  std::deque<call> queued;                        // waiting for a slot (max_concurrency)
  static inline const char* name = "sim_provider";
};

sim_provider_actor::behavior_type sim_provider(
    sim_provider_actor::stateful_pointer<sim_provider_state> self, std::string provider_id,
    std::string region, sim::settings settings, std::shared_ptr<sim_call_log> log);

}  // namespace beacon
