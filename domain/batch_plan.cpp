// The batch plan and the question window.
#include "domain/batch_plan.hpp"

#include <algorithm>

namespace beacon {
namespace {

constexpr int32_t min_batch_in_flight = 4;  // cells in flight per batch when batches overlap

}  // namespace

std::pair<int32_t, int32_t> batch_plan::questions_of(int32_t span) const {
  auto first = std::min(questions, span * span_questions);
  return {first, std::min(questions, first + span_questions)};
}

batch_plan plan_batches(int32_t questions, int64_t cells_per_question, int32_t pipeline,
                        int32_t max_in_flight_per_job) {
  batch_plan p;
  p.questions = std::max(1, questions);
  pipeline = std::max(1, pipeline);
  auto page = std::max<int64_t>(64, 2 * static_cast<int64_t>(std::max(1, max_in_flight_per_job)));
  p.span_questions = static_cast<int32_t>(
      std::clamp<int64_t>(2 * page / std::max<int64_t>(1, cells_per_question), 1, p.questions));
  // Two batches of half the pipeline each when the pipeline and the spans allow, else one.
  auto window = pipeline < 2 ? 1 : std::max(1, std::min(p.span_questions, pipeline / 2));
  // Each batch gets an equal share of the job's cells in flight, at least min_batch_in_flight:
  // more batches would each run a cell or two at a time and the rounding would idle the rest
  // (16 in flight over 12 batches is 1 each, 12 in all).
  auto in_flight = std::max(1, max_in_flight_per_job);
  p.batches_at_once = std::max(
      1, std::min({pipeline / window, p.spans(), std::max(1, in_flight / min_batch_in_flight)}));
  p.window = std::max(1, pipeline / p.batches_at_once);
  p.in_flight = std::max(1, in_flight / p.batches_at_once);
  return p;
}

void question_window::finish(int32_t question_index) {
  auto it = open_.find(question_index);
  if (it != open_.end() && --it->second <= 0) open_.erase(it);
}

}  // namespace beacon
