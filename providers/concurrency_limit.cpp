// Adaptive concurrency.
#include "providers/concurrency_limit.hpp"

#include <algorithm>

namespace beacon::providers {

void concurrency_limit::on_success() {
  limit_ = std::min(static_cast<double>(max_), limit_ + 1.0 / std::max(1.0, limit_));
}

bool concurrency_limit::on_rate_limited(clock::time_point now) {
  if (cut_before_ && now - last_cut_ < debounce_) return false;
  cut_before_ = true;
  last_cut_ = now;
  limit_ = std::max(1.0, static_cast<double>(current()) / 2.0);
  return true;
}

}  // namespace beacon::providers
