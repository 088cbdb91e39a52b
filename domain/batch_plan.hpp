// How a job's questions become question batches: the scheduling rule, pure. A batch runs a span
// of consecutive questions (so a question of 3 cells does not cost a batch actor and a storage
// query of its own) and keeps at most `window` of them with cells in flight; `batches_at_once`
// batches run together. Whatever the shape, at most `pipeline` questions of a job have cells in
// flight (window x batches_at_once <= pipeline) and at most max_in_flight_per_job cells: with
// pipeline 1 (the default, the original's protection for serverless providers) a question's
// first call goes out only when every cell of the one before it has had its last answer (their
// outcomes may still be committing: storage is not the providers' business).
#pragma once

#include <cstdint>
#include <map>
#include <utility>

namespace beacon {

struct batch_plan {
  int32_t questions = 1;        // in the job
  int32_t span_questions = 1;   // consecutive questions per batch
  int32_t batches_at_once = 1;  // batches running together
  int32_t window = 1;           // questions per batch with cells in flight at once
  int32_t in_flight = 1;        // cells in flight per batch

  int32_t spans() const { return (questions + span_questions - 1) / span_questions; }
  int32_t span_of(int32_t question_index) const { return question_index / span_questions; }
  // The questions [first, end) of a span.
  std::pair<int32_t, int32_t> questions_of(int32_t span) const;
};

// The plan for a job of `questions` questions of `cells_per_question` cells each: a span holds
// about two pages of the job's cells (a page being twice max_in_flight_per_job, at least 64), and
// two batches overlap when the pipeline allows, so a span's tail does not idle the job.
batch_plan plan_batches(int32_t questions, int64_t cells_per_question, int32_t pipeline,
                        int32_t max_in_flight_per_job);

// The questions of one batch that have cells in flight, bounded by its window: a cell may start
// if its question already has cells in flight or the window has room.
class question_window {
 public:
  explicit question_window(int32_t limit) : limit_(limit < 1 ? 1 : limit) {}
  bool admits(int32_t question_index) const {
    return open_.count(question_index) > 0 || open_.size() < static_cast<size_t>(limit_);
  }
  void start(int32_t question_index) { ++open_[question_index]; }
  void finish(int32_t question_index);
  size_t open_questions() const { return open_.size(); }

 private:
  int32_t limit_;
  std::map<int32_t, int32_t> open_;  // question index -> its cells in flight
};

}  // namespace beacon
