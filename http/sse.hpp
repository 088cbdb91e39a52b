// Server-sent event text for a job's stream (GET /api/v1/jobs/{id}/events):
//   id: <seq>  event: cell      data: {seq, cell_id, question_index, model_id, region, from,
//                                      status, provider_id?, error?}
//   id: <seq>  event: job       data: {seq, status, reason?}
//   id: <seq>  event: snapshot  data: the progress JSON plus seq (counts as of that event id)
#pragma once

#include <string>
#include <vector>

#include "messages/types.hpp"

namespace beacon::http {

// The events of `items`, in order, as one chunk.
std::string sse_items(const std::vector<stream_item>& items);
std::string sse_snapshot(const job_progress& p, int64_t seq);

}  // namespace beacon::http
