// What the hostile-client suites measure while they attack a node process: /health/live latency
// probed every 20 ms, jobs submitted and awaited over REST.
#pragma once

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "domain/job_spec.hpp"
#include "tests/harness.hpp"
#include "tests/http_client.hpp"

namespace beacon::test {

// Probes GET /health/live every 20 ms on its own thread until stopped; a failed call counts as
// 60 s (it can only raise the percentiles).
class health_probe {
 public:
  explicit health_probe(uint16_t port)
      : thread_([this, port] {
          while (!stop_) {
            auto t0 = std::chrono::steady_clock::now();
            double ms = 60'000;
            try {
              auto status = http_call(port, "GET", "/health/live").status;
              if (status == 200)
                ms =
                    std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                        .count();
              else
                note_error("status " + std::to_string(status));
            } catch (const std::exception& e) {
              note_error(e.what());
            }
            {
              std::lock_guard<std::mutex> g{m_};
              ms_.push_back(ms);
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
          }
        }) {}
  ~health_probe() { finish(); }

  void finish() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  // The q-quantile of the latencies so far (ms); 0 before the first probe.
  double quantile(double q) {
    std::lock_guard<std::mutex> g{m_};
    if (ms_.empty()) return 0;
    auto v = ms_;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())))];
  }
  size_t probes() {
    std::lock_guard<std::mutex> g{m_};
    return ms_.size();
  }
  // What the first failed probe threw ("" when none failed).
  std::string first_error() {
    std::lock_guard<std::mutex> g{m_};
    return first_error_;
  }

 private:
  void note_error(const std::string& what) {
    std::lock_guard<std::mutex> g{m_};
    if (first_error_.empty()) first_error_ = what;
  }

  std::atomic<bool> stop_{false};
  std::mutex m_;
  std::vector<double> ms_;
  std::string first_error_;
  std::thread thread_;
};

inline std::vector<std::string> builtin_question_ids(size_t n = 8) {
  std::vector<std::string> ids;
  for (auto& q : builtin_questions())
    if (ids.size() < n) ids.push_back(q.id);
  return ids;
}

// The job's stored status word ("" when the read fails).
inline std::string stored_status(uint16_t port, const std::string& id) {
  try {
    auto r = http_call(port, "GET", "/api/v1/jobs/" + id);
    if (r.status != 200) return "";
    auto o = boost::json::parse(r.body).as_object();
    return std::string(o["stored_status"].as_string());
  } catch (const std::exception&) {
    return "";
  }
}

// Bytes the kernel holds unsent or unacknowledged on the connections whose local port is `port`
// (/proc/net/tcp and tcp6: the tx_queue column), in every state.
inline int64_t kernel_send_queue_bytes(uint16_t port) {
  int64_t total = 0;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // the header
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string slot, local, remote, state, queues;
      fields >> slot >> local >> remote >> state >> queues;
      auto colon = local.rfind(':');
      if (colon == std::string::npos || std::stoul(local.substr(colon + 1), nullptr, 16) != port)
        continue;
      total += static_cast<int64_t>(std::stoull(queues.substr(0, queues.find(':')), nullptr, 16));
    }
  }
  return total;
}

// Waits until the job has ended (any terminal status) or `limit` passed; returns its status.
inline std::string wait_ended(uint16_t port, const std::string& id,
                              std::chrono::seconds limit = std::chrono::seconds(60)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  std::string st;
  while (std::chrono::steady_clock::now() < deadline) {
    st = stored_status(port, id);
    if (st == "completed" || st == "failed" || st == "cancelled" || st == "timeout") return st;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return st;
}

// Whether `pred` holds within `limit_s` seconds (polled every 50 ms).
template <class Pred>
bool within_s(int limit_s, Pred pred) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(limit_s);
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

// The small job every hostile case runs next to its attack: 1 question x 1 model x 2 regions x
// 5 runs = 10 cells.
inline std::string small_job(const std::string& id) {
  return job_json(id, builtin_question_ids(1), {"llama3.2-1b"}, {"US", "EU"}, 5);
}

}  // namespace beacon::test
