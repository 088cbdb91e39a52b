// Server-sent event text for a job's stream (GET /api/v1/jobs/{id}/events):
//   id: <seq>  event: cell      data: {seq, cell_id, question_index, model_id, region, from,
//                                      status, provider_id?, error?}
//   id: <seq>  event: job       data: {seq, status, reason?}
//   id: <seq>  event: snapshot  data: the progress JSON plus seq (counts as of that event id)
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "messages/types.hpp"

namespace beacon::http {

// One parsed event (the client side: `beacon follow`, tests, benchmarks).
struct sse_event {
  std::string id;
  std::string type;
  std::string data;
};

// Splits an event stream's body into events as its bytes arrive; comments (": keep-alive") and
// field-less blocks yield nothing.
class sse_parser {
 public:
  std::vector<sse_event> feed(std::string_view bytes);

 private:
  std::string pending_;
};

// The events of `items`, in order, as one chunk.
std::string sse_items(const std::vector<stream_item>& items);

// The same, formatted once for every stream of the job: the hub sends one batch of items to all
// of a job's subscribers, and a job's event ids never repeat, so (job, first id, last id, count)
// names the batch. Keeps the last few batches; safe from any thread.
std::shared_ptr<const std::string> shared_sse_items(const std::string& job_id,
                                                    const std::vector<stream_item>& items);
std::string sse_snapshot(const job_progress& p, int64_t seq);

}  // namespace beacon::http
