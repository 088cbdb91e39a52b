// A latency histogram that any thread may add to without a lock (one relaxed atomic increment per
// sample) and read as a snapshot: fixed bucket bounds in milliseconds, counts, sum, and
// percentiles interpolated within a bucket. The node's time per cell outside provider calls is
// kept in one (/metrics, beacon-bench).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <vector>

namespace beacon {

// Counts per bucket (the last one unbounded) and the sum of the samples, at one moment.
struct latency_snapshot {
  std::vector<double> bounds_ms;  // upper bounds of all but the last bucket
  std::vector<int64_t> counts;    // bounds_ms.size() + 1 buckets
  double sum_ms = 0;

  int64_t total() const;
  // The q-quantile (0 < q <= 1), interpolated linearly within its bucket (a value in the last,
  // unbounded bucket reads as its lower bound); 0 without samples.
  double quantile(double q) const;
  // The samples added since `before` (a snapshot of the same histogram).
  latency_snapshot since(const latency_snapshot& before) const;
};

class latency_histogram {
 public:
  // 0.25 ms to 10 s; finer where the node's own latency per cell is expected (a few ms).
  static constexpr std::array<double, 27> bounds_ms = {
      0.25, 0.5, 1,  2,  3,   4,   5,   6,   8,   10,   12,   15,   20,   25,
      30,   40,  50, 75, 100, 150, 200, 300, 500, 1000, 2500, 5000, 10000};

  void add(double ms);
  latency_snapshot snapshot() const;

 private:
  std::array<std::atomic<int64_t>, bounds_ms.size() + 1> counts_{};
  std::atomic<int64_t> sum_us_{0};
};

}  // namespace beacon
