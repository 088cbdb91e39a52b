// ADAPTIVE CONCURRENCY for one provider (AIMD): a burst of 429s halves the number of calls
// allowed in flight (once per debounce window, so one burst is one cut, not fifty), every
// successful answer grows it by 1/limit (about +1 per round of calls), never above the
// configured maximum nor below 1. Server errors (5xx) say nothing about our rate: no change.
// Pure logic: the caller passes the time.
#pragma once

#include <chrono>
#include <cstddef>

namespace beacon::providers {

class concurrency_limit {
 public:
  using clock = std::chrono::steady_clock;

  concurrency_limit(size_t max, std::chrono::milliseconds debounce)
      : max_(max < 1 ? 1 : max), debounce_(debounce), limit_(static_cast<double>(max_)) {}

  size_t current() const { return static_cast<size_t>(limit_); }
  size_t max() const { return max_; }
  void on_success();
  // Returns true when this 429 cut the limit (false inside the debounce window).
  bool on_rate_limited(clock::time_point now);

 private:
  size_t max_;
  std::chrono::milliseconds debounce_;
  double limit_;
  bool cut_before_ = false;
  clock::time_point last_cut_{};
};

}  // namespace beacon::providers
