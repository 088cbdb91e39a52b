// The leases this node holds (job -> fencing token): written by the lease keeper when it takes,
// loses or gives up a lease, read by the persistence actor for every write it fences. Shared
// between the two (they run on their own threads) and outliving a restarted persistence actor.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace beacon::storage {

class lease_book {
 public:
  explicit lease_book(std::string node_id) : node_id_(std::move(node_id)) {}
  const std::string& node_id() const { return node_id_; }
  void hold(const std::string& job_id, int64_t token) {
    std::lock_guard<std::mutex> lock(mutex_);
    held_[job_id] = token;
  }
  void drop(const std::string& job_id) {
    std::lock_guard<std::mutex> lock(mutex_);
    held_.erase(job_id);
  }
  // The token held for the job; 0 when none.
  int64_t token(const std::string& job_id) const {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = held_.find(job_id);
    return it == held_.end() ? 0 : it->second;
  }
  std::unordered_map<std::string, int64_t> held() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return held_;
  }

 private:
  const std::string node_id_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, int64_t> held_;
};

}  // namespace beacon::storage
