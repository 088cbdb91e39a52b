// Server-sent event text.
#include "http/sse.hpp"

#include <array>
#include <boost/json.hpp>
#include <mutex>
#include <tuple>

#include "common/canonical_json.hpp"
#include "http/progress_json.hpp"

namespace beacon::http {
namespace {

void event(std::string& out, int64_t seq, const char* type, const std::string& data) {
  out += "id: " + std::to_string(seq) + "\nevent: " + type + "\ndata: " + data + "\n\n";
}

}  // namespace

std::vector<sse_event> sse_parser::feed(std::string_view bytes) {
  pending_.append(bytes);
  std::vector<sse_event> out;
  size_t start = 0;
  for (auto end = pending_.find("\n\n", start); end != std::string::npos;
       end = pending_.find("\n\n", start)) {
    sse_event e;
    std::string_view block(pending_.data() + start, end - start);
    start = end + 2;
    while (!block.empty()) {
      auto eol = block.find('\n');
      auto line = block.substr(0, eol);
      block = eol == std::string_view::npos ? std::string_view{} : block.substr(eol + 1);
      if (line.rfind("id: ", 0) == 0) e.id = std::string(line.substr(4));
      if (line.rfind("event: ", 0) == 0) e.type = std::string(line.substr(7));
      if (line.rfind("data: ", 0) == 0) e.data = std::string(line.substr(6));
    }
    if (!e.type.empty()) out.push_back(std::move(e));
  }
  pending_.erase(0, start);
  return out;
}

std::string sse_items(const std::vector<stream_item>& items) {
  std::string out;
  for (auto& it : items) {
    if (it.new_job_status) {
      boost::json::object o{{"seq", it.seq}, {"status", to_string(*it.new_job_status)}};
      if (!it.job_reason.empty()) o["reason"] = it.job_reason;
      event(out, it.seq, "job", json_text(o));
      continue;
    }
    auto& c = it.cell;
    boost::json::object o{{"seq", it.seq},
                          {"cell_id", c.cell_id},
                          {"question_index", c.question_index},
                          {"model_id", c.model_id},
                          {"region", c.region},
                          {"from", to_string(c.from)},
                          {"status", to_string(c.to)}};
    if (!c.provider_id.empty()) o["provider_id"] = c.provider_id;
    if (!c.error.empty()) o["error"] = c.error;
    if (c.prompt_tokens >= 0) o["prompt_tokens"] = c.prompt_tokens;
    if (c.completion_tokens >= 0) o["completion_tokens"] = c.completion_tokens;
    if (c.cost >= 0) o["cost"] = c.cost;
    event(out, it.seq, "cell", json_text(o));
  }
  return out;
}

namespace {

// The batches formatted last (a ring): which batch, and its text.
struct formatted_batches {
  using key = std::tuple<std::string, int64_t, int64_t, size_t>;
  std::mutex mutex;
  std::array<std::pair<key, std::shared_ptr<const std::string>>, 16> ring;
  size_t next = 0;
};

formatted_batches& batches() {
  static formatted_batches b;
  return b;
}

}  // namespace

std::shared_ptr<const std::string> shared_sse_items(const std::string& job_id,
                                                    const std::vector<stream_item>& items) {
  if (items.empty()) return std::make_shared<const std::string>();
  formatted_batches::key k{job_id, items.front().seq, items.back().seq, items.size()};
  auto& b = batches();
  {
    std::lock_guard<std::mutex> guard{b.mutex};
    for (auto& [have, text] : b.ring)
      if (text && have == k) return text;
  }
  // Formatted outside the lock: two streams racing may both format it, once each.
  auto text = std::make_shared<const std::string>(sse_items(items));
  std::lock_guard<std::mutex> guard{b.mutex};
  b.ring[b.next] = {std::move(k), text};
  b.next = (b.next + 1) % b.ring.size();
  return text;
}

std::string sse_snapshot(const job_progress& p, int64_t seq) {
  auto o = progress_object(p, true);
  o["seq"] = seq;
  std::string out;
  event(out, seq, "snapshot", json_text(o));
  return out;
}

}  // namespace beacon::http
