// Merkle tree hashing of RFC 9162 (Certificate Transparency 2.0), section 2.1: leaf hash
// SHA-256(0x00 || data), node hash SHA-256(0x01 || left || right), the tree over n leaves split
// at the largest power of two below n. Pure functions: a streaming root over leaves read in
// order, the ranges whose hashes form an inclusion proof, and the proof's verification.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace beacon::merkle {

std::string leaf_hash(std::string_view data);
std::string node_hash(std::string_view left, std::string_view right);

// The root of leaves added in order, in O(log n) memory (RFC 9162 MTH).
class tree_builder {
 public:
  void add_leaf_hash(std::string hash);
  uint64_t size() const { return size_; }
  // MTH of the leaves so far; SHA-256 of the empty string for none.
  std::string root() const;

 private:
  // Roots of complete subtrees, largest first; sizes are the set bits of size_.
  std::vector<std::pair<uint64_t, std::string>> stack_;
  uint64_t size_ = 0;
};

// The leaf ranges [begin, end) whose subtree hashes are the inclusion proof of leaf `index` in
// a tree of `size` leaves, in proof order (nearest the leaf first). Requires index < size.
std::vector<std::pair<uint64_t, uint64_t>> inclusion_ranges(uint64_t index, uint64_t size);

// RFC 9162 section 2.1.3.2: whether `path` proves `leaf` at `index` in the tree of `size`
// leaves whose root is `root`.
bool verify_inclusion(std::string_view leaf, uint64_t index, uint64_t size,
                      const std::vector<std::string>& path, std::string_view root);

}  // namespace beacon::merkle
