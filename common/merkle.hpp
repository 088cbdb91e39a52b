// Merkle tree hashing of RFC 9162 (Certificate Transparency 2.0), section 2.1: leaf hash
// SHA-256(0x00 || data), node hash SHA-256(0x01 || left || right), the tree over n leaves split
// at the largest power of two below n. Pure functions: a streaming root over leaves read in
// order (resumable from its frontier), the ranges whose hashes form an inclusion or consistency
// proof, and the proofs' verification (RFC 9162 sections 2.1.3 and 2.1.4).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace beacon::merkle {

std::string leaf_hash(std::string_view data);
std::string node_hash(std::string_view left, std::string_view right);

// A complete subtree the builder just closed: leaves [index << level, (index + 1) << level).
struct subtree {
  uint32_t level = 0;
  uint64_t index = 0;
  std::string hash;
};

// The root of leaves added in order, in O(log n) memory (RFC 9162 MTH).
class tree_builder {
 public:
  tree_builder() = default;
  // Resumes a tree of `size` leaves from its frontier: the hashes of its complete subtrees, one
  // per set bit of `size`, largest (leftmost) first (frontier_ranges(size) says which).
  tree_builder(uint64_t size, std::vector<std::string> frontier);
  // Adds a leaf; `closed` (when given) receives every complete subtree of two or more leaves
  // the leaf closes, smallest first.
  void add_leaf_hash(std::string hash, std::vector<subtree>* closed = nullptr);
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

// The leaf ranges of the complete subtrees a builder of `size` leaves keeps (its frontier),
// leftmost first.
std::vector<std::pair<uint64_t, uint64_t>> frontier_ranges(uint64_t size);

// RFC 9162 section 2.1.4.1: the leaf ranges whose subtree hashes are the consistency proof
// between the trees of the first `first` and of `second` leaves (0 < first < second), in proof
// order. Empty otherwise.
std::vector<std::pair<uint64_t, uint64_t>> consistency_ranges(uint64_t first, uint64_t second);

// RFC 9162 section 2.1.4.2: whether `path` proves that the tree of `first` leaves with root
// `first_root` is a prefix of the tree of `second` leaves with root `second_root`. Equal sizes
// need equal roots and an empty path; a first tree of 0 leaves is a prefix of every tree.
bool verify_consistency(uint64_t first, uint64_t second, const std::vector<std::string>& path,
                        std::string_view first_root, std::string_view second_root);

}  // namespace beacon::merkle
