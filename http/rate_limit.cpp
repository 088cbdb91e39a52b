// Token buckets.
#include "http/rate_limit.hpp"

#include <algorithm>

namespace beacon::http {

bool rate_limiter::try_acquire(const std::string& client, clock::time_point now,
                               double& retry_after_s) {
  if (per_minute_ <= 0) return true;
  const double capacity = static_cast<double>(per_minute_);
  const double per_second = capacity / 60.0;
  std::lock_guard<std::mutex> guard{mutex_};
  // A bucket idle for a minute is full again: forget it (bounded memory under many clients).
  if (now - last_sweep_ > std::chrono::minutes(1)) {
    for (auto it = buckets_.begin(); it != buckets_.end();)
      it = now - it->second.at > std::chrono::minutes(1) ? buckets_.erase(it) : std::next(it);
    last_sweep_ = now;
  }
  auto [it, fresh] = buckets_.try_emplace(client, bucket{capacity, now});
  auto& b = it->second;
  if (!fresh) {
    double elapsed = std::chrono::duration<double>(now - b.at).count();
    b.tokens = std::min(capacity, b.tokens + elapsed * per_second);
    b.at = now;
  }
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return true;
  }
  retry_after_s = (1.0 - b.tokens) / per_second;
  return false;
}

}  // namespace beacon::http
