// The lock-free latency histogram.
#include "common/latency_histogram.hpp"

#include <algorithm>
#include <cmath>

namespace beacon {

int64_t latency_snapshot::total() const {
  int64_t n = 0;
  for (auto c : counts) n += c;
  return n;
}

double latency_snapshot::quantile(double q) const {
  auto n = total();
  if (n == 0 || counts.size() != bounds_ms.size() + 1) return 0;
  // The rank of the wanted sample, 1-based; the bucket holding it is found by cumulative counts.
  double rank = std::max(1.0, std::ceil(q * static_cast<double>(n)));
  double below = 0;
  for (size_t b = 0; b < counts.size(); ++b) {
    double in_bucket = static_cast<double>(counts[b]);
    if (below + in_bucket < rank) {
      below += in_bucket;
      continue;
    }
    double low = b == 0 ? 0 : bounds_ms[b - 1];
    if (b == bounds_ms.size()) return low;
    return low + (bounds_ms[b] - low) * (rank - below) / in_bucket;
  }
  return bounds_ms.empty() ? 0 : bounds_ms.back();
}

latency_snapshot latency_snapshot::since(const latency_snapshot& before) const {
  latency_snapshot d = *this;
  for (size_t b = 0; b < d.counts.size() && b < before.counts.size(); ++b)
    d.counts[b] -= before.counts[b];
  d.sum_ms -= before.sum_ms;
  return d;
}

void latency_histogram::add(double ms) {
  auto it = std::lower_bound(bounds_ms.begin(), bounds_ms.end(), ms);
  counts_[static_cast<size_t>(it - bounds_ms.begin())].fetch_add(1, std::memory_order_relaxed);
  sum_us_.fetch_add(static_cast<int64_t>(std::llround(std::max(0.0, ms) * 1000)),
                    std::memory_order_relaxed);
}

latency_snapshot latency_histogram::snapshot() const {
  latency_snapshot s;
  s.bounds_ms.assign(bounds_ms.begin(), bounds_ms.end());
  for (auto& c : counts_) s.counts.push_back(c.load(std::memory_order_relaxed));
  s.sum_ms = static_cast<double>(sum_us_.load(std::memory_order_relaxed)) / 1000;
  return s;
}

}  // namespace beacon
