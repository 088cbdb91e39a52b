// The JSON of GET /api/v1/jobs/{id}/progress: a job's cell counts by status in total, per
// question, per model and per region, from the progress hub's counters (or one GROUP BY when the
// hub no longer holds the job).
#pragma once

#include <string>

#include "messages/types.hpp"

namespace beacon::http {

// `with_groups` adds "groups": [{question_index, model_id, region, counts...}], one per cell of the
// Question -> Model -> Region grid (the live page and ?groups=1).
std::string progress_json(const job_progress& p, bool with_groups = false);

}  // namespace beacon::http
