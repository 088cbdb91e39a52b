// The JSON of GET /api/v1/jobs/{id}/progress: a job's cell counts by status in total, per
// question, per model and per region, from the progress hub's counters (or one GROUP BY when the
// hub no longer holds the job).
#pragma once

#include <boost/json/object.hpp>
#include <string>

#include "messages/types.hpp"

namespace beacon::http {

// The most entries one progress answer or snapshot lists, so its size does not grow with the
// job: past them the list is cut (questions) or left out (groups), and the answer says so with
// "questions_total" / "groups_total" and "questions_truncated" / "groups_omitted". The totals,
// per model and per region, always cover every cell.
inline constexpr size_t progress_max_questions = 1000;
inline constexpr size_t progress_max_groups = 5000;

// Every level (the job, each model, each region, each group) carries "usage": {prompt_tokens,
// completion_tokens, cost, uncosted_cells}: the stored answers' reported tokens, their cost at
// the providers' prices, and the completed cells whose cost is unknown (no price or no usage).
// `with_groups` adds "groups": [{question_index, model_id, region, counts...}], one per cell of the
// Question -> Model -> Region grid (the live page and ?groups=1).
std::string progress_json(const job_progress& p, bool with_groups = false);
// The same as an object, for answers that add members to it (an event stream's snapshot).
boost::json::object progress_object(const job_progress& p, bool with_groups = false);

}  // namespace beacon::http
