// The receipts as a Merkle tree (RFC 9162 hashing, common/merkle.hpp), computed on demand from
// the stored rows: leaf i is the i-th execution with a receipt in id order, its leaf data the
// receipt's Ed25519 signature (which binds the receipt's canonical bytes). Reading it costs one
// pass over the receipts (O(n) time, O(log n) memory). Not append-only yet: a receipt committed
// later for a lower execution id shifts the leaves after it; the transparency log issue replaces
// this with leaves appended by the writer and signed tree heads.
#pragma once

#include <cstdint>
#include <optional>
#include <pqxx/transaction>
#include <string>
#include <vector>

namespace beacon::storage {

struct receipt_tree {
  uint64_t size = 0;
  std::string root;  // 32 bytes
  // With an execution: its leaf, its index and the inclusion proof (nearest the leaf first).
  std::optional<uint64_t> leaf_index;
  std::string leaf_hash;
  std::vector<std::string> proof;
};

// The tree over the first `tree_size` receipts (all when 0; fewer exist: all), and the inclusion
// proof of `execution_id`'s receipt when it is > 0 and within the tree (else no leaf_index).
// Run it in a REPEATABLE READ transaction so the count and the leaves agree.
receipt_tree read_receipt_tree(pqxx::transaction_base& tx, uint64_t tree_size,
                               int64_t execution_id);

// The leaf index of an execution's receipt; nullopt when it has none (or does not exist).
std::optional<uint64_t> receipt_leaf_index(pqxx::transaction_base& tx, int64_t execution_id);

}  // namespace beacon::storage
