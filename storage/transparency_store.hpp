// The transparency log in PostgreSQL (migrations 0010 and 0011: leaves in runs, one per batch).
// The persistence actor appends (lock_log, then append_batch, in the transaction that stores the
// cells); any transaction reads: the logs, their signed heads, a
// receipt's leaf, and the tree itself through log_tree, which computes subtree hashes from stored
// tiles and leaves for proofs.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <pqxx/transaction>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/merkle.hpp"
#include "common/tree_head.hpp"

namespace beacon::storage {

// One log: its row id, the key that signs its heads (id and raw public key), its size.
struct log_info {
  int32_t log_id = 0;
  std::string key_id;
  std::string public_key;
  uint64_t size = 0;
};

// The log of `key_id` (created at size 0 on first use), its row locked FOR UPDATE until the
// transaction ends: two writers with one key append in turn. A writer that knows its log's id
// (`known_log_id`) locks it without the insert.
log_info lock_log(pqxx::work& tx, const std::string& key_id, const std::string& public_key,
                  int32_t known_log_id = 0);

// One batch's append, in one statement: its leaves (32-byte leaf data, at indexes [first,
// first + leaves.size()), stored as one run), the tiles among `closed` (complete subtrees of 2^8,
// 2^16, ... leaves) and the signed head, which moves the log's size.
void append_batch(pqxx::work& tx, int32_t log_id, uint64_t first,
                  const std::vector<std::string>& leaves,
                  const std::vector<merkle::subtree>& closed, const tree_head& head);

// The log of `key_id`; nullopt when there is none.
std::optional<log_info> find_log(pqxx::transaction_base& tx, const std::string& key_id);

// Every log, oldest first.
std::vector<log_info> all_logs(pqxx::transaction_base& tx);

// The newest head of a log; nullopt when it has none.
std::optional<tree_head> latest_head(pqxx::transaction_base& tx, const log_info& log);
// The head of exactly `size` leaves; nullopt when none was signed at that size.
std::optional<tree_head> head_of_size(pqxx::transaction_base& tx, const log_info& log,
                                      uint64_t size);
// The first head that includes leaf `index` (the one signed with the batch that appended it).
std::optional<tree_head> first_head_including(pqxx::transaction_base& tx, const log_info& log,
                                              uint64_t index);
// Up to `limit` heads larger than `after` leaves, smallest first.
std::vector<tree_head> heads_after(pqxx::transaction_base& tx, const log_info& log, uint64_t after,
                                   int32_t limit);

// Where a cell's receipt is in a log.
struct leaf_position {
  log_info log;
  uint64_t index = 0;
  std::string leaf_data;  // 32 bytes
};
// The leaf of the execution's current receipt; nullopt when it has none in any log (no receipt,
// or a v0 receipt signed on its own).
std::optional<leaf_position> receipt_position(pqxx::transaction_base& tx, int64_t execution_id);
// The same for several executions at once (those without a leaf are left out).
std::unordered_map<int64_t, leaf_position> receipt_positions(pqxx::transaction_base& tx,
                                                             const std::vector<int64_t>& ids);

// Where a job's receipts are: per log, how many and the first and last leaf.
struct job_log_span {
  log_info log;
  int64_t leaves = 0;
  uint64_t first = 0, last = 0;
};
std::vector<job_log_span> job_log_spans(pqxx::transaction_base& tx, const std::string& job_id);

// The stored tree of one log, read on demand: subtree hashes come from the tiles (levels 8, 16,
// ...) and from the leaves, read 256 at a time; both are cached (the leaves of the last 64 such
// reads), so the proofs of many nearby leaves cost a few reads. The log only grows, so the cache
// stays right across transactions (an export reads each page in its own). Every range must be
// within the leaves stored when it is read.
class log_tree {
 public:
  explicit log_tree(int32_t log_id) : log_id_(log_id) {}

  // RFC 9162 MTH of leaves [begin, end).
  std::string range_hash(pqxx::transaction_base& tx, uint64_t begin, uint64_t end);
  std::vector<std::string> inclusion_proof(pqxx::transaction_base& tx, uint64_t index,
                                           uint64_t size);
  std::vector<std::string> consistency_proof(pqxx::transaction_base& tx, uint64_t first,
                                             uint64_t second);
  // The hashes a tree builder of `size` leaves keeps (merkle::frontier_ranges).
  std::vector<std::string> frontier(pqxx::transaction_base& tx, uint64_t size);

 private:
  // The hash of the complete subtree of 2^level leaves starting at leaf index << level.
  std::string complete(pqxx::transaction_base& tx, uint32_t level, uint64_t index);
  const std::vector<std::vector<std::string>>& leaf_tile(pqxx::transaction_base& tx, uint64_t tile);
  void read_tiles(pqxx::transaction_base& tx, uint32_t level, uint64_t first, uint64_t end);

  int32_t log_id_;
  std::map<std::pair<uint32_t, uint64_t>, std::string> upper_;  // levels 8 and above
  // Per read leaf tile, its levels 0..8 (level 0: the leaf hashes; level 8 only when complete).
  std::unordered_map<uint64_t, std::vector<std::vector<std::string>>> leaf_tiles_;
  std::deque<uint64_t> leaf_tile_order_;
};

// The log's tile height: tiles hold complete subtrees of 2^8, 2^16, ... leaves.
inline constexpr uint32_t tile_height = 8;

}  // namespace beacon::storage
