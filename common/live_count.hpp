// A count of live objects of one kind (e.g. the node's executions) that a thread can wait to see
// fall to zero: a stop waits for the cells before it stops the storage and providers they call.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>

namespace beacon {

class live_count {
 public:
  // Held by each live object: counts it from construction to destruction (null: not counted).
  class token {
   public:
    token() = default;
    explicit token(std::shared_ptr<live_count> count);
    token(token&& other) noexcept = default;
    token& operator=(token&& other) noexcept;
    token(const token&) = delete;
    token& operator=(const token&) = delete;
    ~token();

   private:
    std::shared_ptr<live_count> count_;
  };

  int64_t now() const;
  // Waits until nothing is counted, at most `limit`; true when nothing is.
  bool wait_for_none(std::chrono::milliseconds limit);

 private:
  void add(int64_t delta);
  std::atomic<int64_t> live_{0};
  std::mutex mutex_;  // taken only to wait for, and to announce, zero
  std::condition_variable none_;
};

}  // namespace beacon
