// The read side of the progress hub: the hub publishes each running job's counts here (at once
// on start and status changes, at most every `publish_interval` while cells move), and REST
// threads read them under a mutex, without a message round trip through the busy scheduler.
// It also sums the usage of the answers committed since the node started, by provider and model
// (the /metrics counters).
#pragma once

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "messages/types.hpp"

namespace beacon {

class progress_board {
 public:
  static constexpr std::chrono::milliseconds publish_interval{10};

  // The wait before the next publication, given what the last one cost (a publication copies the
  // job's counts: 15,000 groups for a 5,000-question job): at least publish_interval, and at
  // least 20 times the copy, so publishing takes at most ~5% of the hub's time at any job size.
  static std::chrono::nanoseconds publish_gap(std::chrono::nanoseconds last_copy) {
    return std::max<std::chrono::nanoseconds>(publish_interval, 20 * last_copy);
  }

  void publish(const job_progress& p) {
    auto copy = std::make_shared<const job_progress>(p);
    std::lock_guard<std::mutex> guard{mutex_};
    jobs_[p.job_id] = std::move(copy);
  }

  void forget(const std::string& job_id) {
    std::lock_guard<std::mutex> guard{mutex_};
    jobs_.erase(job_id);
  }

  // The job's last published counts, or null when the hub does not hold it.
  std::shared_ptr<const job_progress> read(const std::string& job_id) const {
    std::lock_guard<std::mutex> guard{mutex_};
    auto it = jobs_.find(job_id);
    return it == jobs_.end() ? nullptr : it->second;
  }

  using usage_by_provider_model = std::map<std::pair<std::string, std::string>, usage_totals>;

  // Adds committed answers' usage (provider, model) -> totals.
  void add_usage(const usage_by_provider_model& more) {
    std::lock_guard<std::mutex> guard{mutex_};
    for (auto& [key, u] : more) usage_[key].add(u);
  }

  usage_by_provider_model usage() const {
    std::lock_guard<std::mutex> guard{mutex_};
    return usage_;
  }

 private:
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<const job_progress>> jobs_;
  usage_by_provider_model usage_;
};

}  // namespace beacon
