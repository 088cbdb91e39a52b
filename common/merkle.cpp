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

void tree_builder::add_leaf_hash(std::string hash) {
  ++size_;
  uint64_t sub = 1;
  // Merge equal-sized complete subtrees: the new leaf's subtree grows while the one before it
  // has the same size.
  while (!stack_.empty() && stack_.back().first == sub) {
    hash = node_hash(stack_.back().second, hash);
    stack_.pop_back();
    sub *= 2;
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

}  // namespace beacon::merkle
