// A per-client request rate limit: a token bucket per client address (capacity = the per-minute
// allowance, refilled continuously). Thread-safe; idle clients are forgotten.
#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <unordered_map>

namespace beacon::http {

class rate_limiter {
 public:
  using clock = std::chrono::steady_clock;

  // per_minute <= 0 turns the limit off.
  explicit rate_limiter(int64_t per_minute) : per_minute_(per_minute) {}

  // Takes one token for `client`; false (with the seconds until one is back) when it has none.
  bool try_acquire(const std::string& client, clock::time_point now, double& retry_after_s);

  int64_t per_minute() const { return per_minute_; }

 private:
  struct bucket {
    double tokens;
    clock::time_point at;
  };
  int64_t per_minute_;
  std::mutex mutex_;
  std::unordered_map<std::string, bucket> buckets_;
  clock::time_point last_sweep_{};
};

}  // namespace beacon::http
