// RFC 9162 Merkle trees.
#include "common/merkle.hpp"

#include "common/assert.hpp"
#include "common/crypto.hpp"

namespace beacon::merkle {
namespace {

// The largest power of two below n (n >= 2).
uint64_t split_point(uint64_t n) {
  BEACON_ASSERT(n >= 2, "only a tree of two or more leaves splits");
  uint64_t k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

void collect_ranges(uint64_t index, uint64_t begin, uint64_t end,
                    std::vector<std::pair<uint64_t, uint64_t>>& out) {
  if (end - begin <= 1) return;
  auto k = split_point(end - begin);
  if (index < begin + k) {
    collect_ranges(index, begin, begin + k, out);
    out.emplace_back(begin + k, end);
  } else {
    collect_ranges(index, begin + k, end, out);
    out.emplace_back(begin, begin + k);
  }
}

// SUBPROOF(m, D[begin:end], complete) of RFC 9162 section 2.1.4.1, as leaf ranges.
void collect_consistency(uint64_t m, uint64_t begin, uint64_t end, bool complete,
                         std::vector<std::pair<uint64_t, uint64_t>>& out) {
  if (m == end - begin) {
    if (!complete) out.emplace_back(begin, end);
    return;
  }
  auto k = split_point(end - begin);
  if (m <= k) {
    collect_consistency(m, begin, begin + k, complete, out);
    out.emplace_back(begin + k, end);
  } else {
    collect_consistency(m - k, begin + k, end, false, out);
    out.emplace_back(begin, begin + k);
  }
}

}  // namespace

std::string leaf_hash(std::string_view data) {
  std::string in(1, '\x00');
  in.append(data);
  return crypto::sha256(in);
}

std::string node_hash(std::string_view left, std::string_view right) {
  std::string in(1, '\x01');
  in.append(left);
  in.append(right);
  return crypto::sha256(in);
}

tree_builder::tree_builder(uint64_t size, std::vector<std::string> frontier) : size_(size) {
  auto ranges = frontier_ranges(size);
  BEACON_ASSERT(ranges.size() == frontier.size(), "one frontier hash per set bit of the size");
  for (size_t i = 0; i < ranges.size(); ++i)
    stack_.emplace_back(ranges[i].second - ranges[i].first, std::move(frontier[i]));
}

void tree_builder::add_leaf_hash(std::string hash, std::vector<subtree>* closed) {
  ++size_;
  uint64_t sub = 1;
  uint32_t level = 0;
  // Merge equal-sized complete subtrees: the new leaf's subtree grows while the one before it
  // has the same size.
  while (!stack_.empty() && stack_.back().first == sub) {
    hash = node_hash(stack_.back().second, hash);
    stack_.pop_back();
    sub *= 2;
    ++level;
    if (closed) closed->push_back({level, (size_ - 1) >> level, hash});
  }
  stack_.emplace_back(sub, std::move(hash));
  BEACON_ASSERT(stack_.size() <= 64, "one complete subtree per set bit of the size");
}

std::string tree_builder::root() const {
  if (stack_.empty()) return crypto::sha256("");
  // The rightmost (smallest) subtrees join first: MTH splits at the largest power of two.
  std::string h = stack_.back().second;
  for (size_t i = stack_.size() - 1; i-- > 0;) h = node_hash(stack_[i].second, h);
  return h;
}

std::vector<std::pair<uint64_t, uint64_t>> inclusion_ranges(uint64_t index, uint64_t size) {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  if (index < size) collect_ranges(index, 0, size, out);
  return out;
}

bool verify_inclusion(std::string_view leaf, uint64_t index, uint64_t size,
                      const std::vector<std::string>& path, std::string_view root) {
  if (index >= size) return false;
  uint64_t fn = index, sn = size - 1;
  std::string r(leaf);
  for (auto& p : path) {
    if (sn == 0) return false;
    if ((fn & 1) || fn == sn) {
      r = node_hash(p, r);
      if (!(fn & 1))
        while (fn != 0 && !(fn & 1)) {
          fn >>= 1;
          sn >>= 1;
        }
    } else {
      r = node_hash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && r == root;
}

std::vector<std::pair<uint64_t, uint64_t>> frontier_ranges(uint64_t size) {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  uint64_t begin = 0;
  for (int bit = 63; bit >= 0; --bit) {
    uint64_t width = uint64_t{1} << bit;
    if (!(size & width)) continue;
    out.emplace_back(begin, begin + width);
    begin += width;
  }
  return out;
}

std::vector<std::pair<uint64_t, uint64_t>> consistency_ranges(uint64_t first, uint64_t second) {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  if (first > 0 && first < second) collect_consistency(first, 0, second, true, out);
  return out;
}

bool verify_consistency(uint64_t first, uint64_t second, const std::vector<std::string>& path,
                        std::string_view first_root, std::string_view second_root) {
  if (first == second) return path.empty() && first_root == second_root;
  if (first == 0) return path.empty();
  if (first > second || path.empty()) return false;
  std::vector<std::string> p = path;
  if ((first & (first - 1)) == 0) p.insert(p.begin(), std::string(first_root));
  uint64_t fn = first - 1, sn = second - 1;
  while (fn & 1) {
    fn >>= 1;
    sn >>= 1;
  }
  std::string fr = p[0], sr = p[0];
  for (size_t i = 1; i < p.size(); ++i) {
    if (sn == 0) return false;
    if ((fn & 1) || fn == sn) {
      fr = node_hash(p[i], fr);
      sr = node_hash(p[i], sr);
      if (!(fn & 1))
        while (fn != 0 && !(fn & 1)) {
          fn >>= 1;
          sn >>= 1;
        }
    } else {
      sr = node_hash(sr, p[i]);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return fr == first_root && sr == second_root && sn == 0;
}

}  // namespace beacon::merkle
