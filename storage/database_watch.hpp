// What the node knows about its embedded PostgreSQL server: whether it is down and why, and how
// often it was restarted. Written by the database keeper, read by /health and /metrics.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

namespace beacon::storage {

class database_watch {
 public:
  void mark_down(std::string why) {
    std::lock_guard<std::mutex> lock(mutex_);
    down_reason_ = std::move(why);
  }
  void mark_restarted() {
    std::lock_guard<std::mutex> lock(mutex_);
    down_reason_.reset();
    ++restarts_;
  }
  // Why the server is down; nothing while it runs.
  std::optional<std::string> down_reason() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return down_reason_;
  }
  int64_t restarts() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return restarts_;
  }

 private:
  mutable std::mutex mutex_;
  std::optional<std::string> down_reason_;
  int64_t restarts_ = 0;
};

}  // namespace beacon::storage
