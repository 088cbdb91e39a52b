// TF-IDF vectors and centroids.
#include "analysis/similarity.hpp"

#include <algorithm>
#include <cmath>
#include <unordered_map>

namespace beacon::analysis {

std::vector<sparse_vector> tfidf_unit_vectors(const std::vector<std::vector<std::string>>& docs,
                                              size_t& features) {
  std::unordered_map<std::string, uint32_t> ids;
  std::vector<std::unordered_map<uint32_t, double>> counts(docs.size());
  std::vector<int64_t> df;
  auto feature = [&](std::string key) {
    auto [it, fresh] = ids.emplace(std::move(key), static_cast<uint32_t>(ids.size()));
    if (fresh) df.push_back(0);
    return it->second;
  };
  for (size_t d = 0; d < docs.size(); ++d) {
    auto& words = docs[d];
    for (size_t i = 0; i < words.size(); ++i) {
      counts[d][feature(words[i])] += 1;
      if (i + 1 < words.size()) counts[d][feature(words[i] + ' ' + words[i + 1])] += 1;
    }
    for (auto& kv : counts[d]) ++df[kv.first];
  }
  features = ids.size();
  const double n = static_cast<double>(docs.size());
  std::vector<sparse_vector> out(docs.size());
  for (size_t d = 0; d < docs.size(); ++d) {
    auto& v = out[d];
    double norm = 0;
    for (auto& [f, c] : counts[d]) {
      double w = (1 + std::log(c)) * (std::log((1 + n) / (1 + static_cast<double>(df[f]))) + 1);
      v.emplace_back(f, w);
      norm += w * w;
    }
    norm = std::sqrt(norm);
    for (auto& e : v) e.second /= norm;
    std::sort(v.begin(), v.end());
  }
  return out;
}

double dot(const sparse_vector& a, const sparse_vector& b) {
  double s = 0;
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (a[i].first < b[j].first)
      ++i;
    else if (b[j].first < a[i].first)
      ++j;
    else
      s += a[i++].second * b[j++].second;
  }
  return s;
}

void centroid::add(const sparse_vector& v) {
  for (auto& [f, w] : v) {
    if (f >= sum.size()) sum.resize(f + 1, 0.0);
    sum[f] += w;
  }
  ++n;
}

double centroid::dot(const centroid& other) const {
  if (n == 0 || other.n == 0) return 0;
  double s = 0;
  auto k = std::min(sum.size(), other.sum.size());
  for (size_t i = 0; i < k; ++i) s += sum[i] * other.sum[i];
  return s / (static_cast<double>(n) * static_cast<double>(other.n));
}

double centroid::within() const {
  if (n < 2) return 1;
  double sq = 0;
  for (auto w : sum) sq += w * w;  // = n^2 |c|^2 = sum over all ordered pairs, including i == j
  auto nn = static_cast<double>(n);
  return std::clamp((sq - nn) / (nn * (nn - 1)), 0.0, 1.0);
}

}  // namespace beacon::analysis
