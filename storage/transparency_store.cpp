// The transparency log's SQL.
#include "storage/transparency_store.hpp"

#include <algorithm>
#include <pqxx/pqxx>
#include <stdexcept>

#include "common/hex.hpp"
#include "storage/pg_arrays.hpp"
#include "storage/prepared.hpp"

namespace beacon::storage {
namespace {

constexpr const char* log_columns = "log_id, key_id, public_key, tree_size";
constexpr const char* head_columns = "tree_size, root_hash, signed_at, signature";
constexpr size_t leaf_tiles_kept = 64;

// The log's row by id, locked for the batch's append.
constexpr prepared_statement lock_log_sql = {
    "beacon_lock_log",
    "SELECT log_id, key_id, public_key, tree_size FROM transparency_logs WHERE log_id = $1"
    " FOR UPDATE"};

// One batch's append: its run of leaves, the tiles it closed, its signed head and the log's size.
constexpr prepared_statement append_sql = {
    "beacon_append",
    "WITH run AS (INSERT INTO log_leaf_runs (log_id, first_leaf, leaf_data)"
    "             VALUES ($1, $2, decode($3, 'hex'))),"
    "     tiles AS (INSERT INTO log_tiles (log_id, level, tile_index, hash)"
    "               SELECT $1, l, i, decode(h, 'hex')"
    "                 FROM unnest($4::int[], $5::bigint[], $6::text[]) AS t(l, i, h)"
    "               ON CONFLICT DO NOTHING),"
    "     head AS (INSERT INTO log_heads (log_id, tree_size, root_hash, signed_at, signature)"
    "              VALUES ($1, $7, decode($8, 'hex'), $9, decode($10, 'hex')))"
    " UPDATE transparency_logs SET tree_size = $7 WHERE log_id = $1"};

std::string bytes(const pqxx::field& f) {
  return pqxx::binarystring(f).str();
}

log_info log_from(const pqxx::row& r) {
  return {r[0].as<int32_t>(), r[1].as<std::string>(), bytes(r[2]), r[3].as<uint64_t>()};
}

tree_head head_from(const pqxx::row& r, const log_info& log) {
  return {log.key_id, r[0].as<uint64_t>(), bytes(r[1]), r[2].as<std::string>(), bytes(r[3])};
}

std::optional<tree_head> one_head(pqxx::transaction_base& tx, const log_info& log,
                                  const std::string& where, uint64_t value) {
  auto rows = tx.exec_params(std::string("SELECT ") + head_columns +
                                 " FROM log_heads WHERE log_id = $1 AND " + where + " LIMIT 1",
                             log.log_id, value);
  if (rows.empty()) return std::nullopt;
  return head_from(rows[0], log);
}

uint64_t largest_power_of_two_below(uint64_t n) {
  uint64_t k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

}  // namespace

log_info lock_log(pqxx::work& tx, const std::string& key_id, const std::string& public_key,
                  int32_t known_log_id) {
  if (known_log_id != 0) {
    auto rows = exec_prepared(tx, lock_log_sql, known_log_id);
    if (!rows.empty() && rows[0][1].as<std::string>() == key_id) return log_from(rows[0]);
  }
  tx.exec_params(
      "INSERT INTO transparency_logs (key_id, public_key) VALUES ($1, decode($2, 'hex'))"
      " ON CONFLICT (key_id) DO NOTHING",
      key_id, to_hex(public_key));
  auto r = tx.exec_params1(
      std::string("SELECT ") + log_columns + " FROM transparency_logs WHERE key_id = $1 FOR UPDATE",
      key_id);
  return log_from(r);
}

void append_batch(pqxx::work& tx, int32_t log_id, uint64_t first,
                  const std::vector<std::string>& leaves,
                  const std::vector<merkle::subtree>& closed, const tree_head& head) {
  if (leaves.empty()) throw std::invalid_argument("a batch appends at least one leaf");
  std::string run;
  run.reserve(leaves.size() * 32);
  for (auto& l : leaves) {
    if (l.size() != 32) throw std::invalid_argument("leaf data is 32 bytes");
    run += l;
  }
  std::vector<int64_t> levels, indexes;
  std::vector<std::string> hashes;
  for (auto& t : closed) {
    if (t.level % tile_height != 0) continue;
    levels.push_back(t.level);
    indexes.push_back(static_cast<int64_t>(t.index));
    hashes.push_back(to_hex(t.hash));
  }
  exec_prepared(tx, append_sql, log_id, static_cast<int64_t>(first), to_hex(run), int_array(levels),
                int_array(indexes), text_array(hashes), static_cast<int64_t>(head.tree_size),
                to_hex(head.root_hash), head.timestamp, to_hex(head.signature));
}

std::optional<log_info> find_log(pqxx::transaction_base& tx, const std::string& key_id) {
  auto rows = tx.exec_params(
      std::string("SELECT ") + log_columns + " FROM transparency_logs WHERE key_id = $1", key_id);
  if (rows.empty()) return std::nullopt;
  return log_from(rows[0]);
}

std::vector<log_info> all_logs(pqxx::transaction_base& tx) {
  std::vector<log_info> out;
  for (auto row :
       tx.exec(std::string("SELECT ") + log_columns + " FROM transparency_logs ORDER BY log_id"))
    out.push_back(log_from(row));
  return out;
}

std::optional<tree_head> latest_head(pqxx::transaction_base& tx, const log_info& log) {
  return one_head(tx, log, "tree_size >= $2 ORDER BY tree_size DESC", 0);
}

std::optional<tree_head> head_of_size(pqxx::transaction_base& tx, const log_info& log,
                                      uint64_t size) {
  return one_head(tx, log, "tree_size = $2", size);
}

std::optional<tree_head> first_head_including(pqxx::transaction_base& tx, const log_info& log,
                                              uint64_t index) {
  return one_head(tx, log, "tree_size > $2 ORDER BY tree_size", index);
}

std::vector<tree_head> heads_after(pqxx::transaction_base& tx, const log_info& log, uint64_t after,
                                   int32_t limit) {
  std::vector<tree_head> out;
  for (auto row : tx.exec_params(std::string("SELECT ") + head_columns +
                                     " FROM log_heads WHERE log_id = $1 AND tree_size > $2"
                                     " ORDER BY tree_size LIMIT $3",
                                 log.log_id, static_cast<int64_t>(after), limit))
    out.push_back(head_from(row, log));
  return out;
}

std::unordered_map<int64_t, leaf_position> receipt_positions(pqxx::transaction_base& tx,
                                                             const std::vector<int64_t>& ids) {
  std::unordered_map<int64_t, leaf_position> out;
  if (ids.empty()) return out;
  auto rows = tx.exec_params(
      "SELECT e.id, g.log_id, g.key_id, g.public_key, g.tree_size, e.receipt_index,"
      "       substring(r.leaf_data FROM (e.receipt_index - r.first_leaf)::int * 32 + 1 FOR 32)"
      "  FROM executions e"
      "  JOIN transparency_logs g ON g.log_id = e.receipt_log"
      "  CROSS JOIN LATERAL (SELECT first_leaf, leaf_data FROM log_leaf_runs"
      "                       WHERE log_id = e.receipt_log AND first_leaf <= e.receipt_index"
      "                       ORDER BY first_leaf DESC LIMIT 1) r"
      " WHERE e.id = ANY ($1::bigint[]) AND e.receipt_index IS NOT NULL",
      int_array(ids));
  for (auto row : rows) {
    log_info log{row[1].as<int32_t>(), row[2].as<std::string>(), bytes(row[3]),
                 row[4].as<uint64_t>()};
    out[row[0].as<int64_t>()] = {std::move(log), row[5].as<uint64_t>(), bytes(row[6])};
  }
  return out;
}

std::optional<leaf_position> receipt_position(pqxx::transaction_base& tx, int64_t execution_id) {
  auto found = receipt_positions(tx, {execution_id});
  auto it = found.find(execution_id);
  if (it == found.end()) return std::nullopt;
  return std::move(it->second);
}

std::vector<job_log_span> job_log_spans(pqxx::transaction_base& tx, const std::string& job_id) {
  std::vector<job_log_span> out;
  for (auto row : tx.exec_params(
           "SELECT g.log_id, g.key_id, g.public_key, g.tree_size, s.n, s.first, s.last"
           "  FROM (SELECT receipt_log AS log_id, count(*) AS n, min(receipt_index) AS first,"
           "               max(receipt_index) AS last"
           "          FROM executions WHERE job_id = $1 AND receipt_index IS NOT NULL"
           "         GROUP BY receipt_log) s"
           "  JOIN transparency_logs g ON g.log_id = s.log_id ORDER BY g.log_id",
           job_id))
    out.push_back(
        {log_from(row), row[4].as<int64_t>(), row[5].as<uint64_t>(), row[6].as<uint64_t>()});
  return out;
}

std::string log_tree::range_hash(pqxx::transaction_base& tx, uint64_t begin, uint64_t end) {
  auto n = end - begin;
  if (n == 0) return merkle::tree_builder{}.root();
  if ((n & (n - 1)) == 0 && begin % n == 0) {
    uint32_t level = 0;
    while ((uint64_t{1} << level) < n) ++level;
    return complete(tx, level, begin >> level);
  }
  auto k = largest_power_of_two_below(n);
  return merkle::node_hash(range_hash(tx, begin, begin + k), range_hash(tx, begin + k, end));
}

std::vector<std::string> log_tree::inclusion_proof(pqxx::transaction_base& tx, uint64_t index,
                                                   uint64_t size) {
  std::vector<std::string> out;
  for (auto [b, e] : merkle::inclusion_ranges(index, size)) out.push_back(range_hash(tx, b, e));
  return out;
}

std::vector<std::string> log_tree::consistency_proof(pqxx::transaction_base& tx, uint64_t first,
                                                     uint64_t second) {
  std::vector<std::string> out;
  for (auto [b, e] : merkle::consistency_ranges(first, second)) out.push_back(range_hash(tx, b, e));
  return out;
}

std::vector<std::string> log_tree::frontier(pqxx::transaction_base& tx, uint64_t size) {
  std::vector<std::string> out;
  for (auto [b, e] : merkle::frontier_ranges(size)) out.push_back(range_hash(tx, b, e));
  return out;
}

std::string log_tree::complete(pqxx::transaction_base& tx, uint32_t level, uint64_t index) {
  if (level < tile_height) {
    auto first_leaf = index << level;
    auto& levels = leaf_tile(tx, first_leaf >> tile_height);
    auto at = (first_leaf % (uint64_t{1} << tile_height)) >> level;
    if (at >= levels[level].size())
      throw std::runtime_error("the log has no leaves for a subtree it was asked for");
    return levels[level][at];
  }
  auto base = level - level % tile_height;
  auto key = std::make_pair(level, index);
  if (auto it = upper_.find(key); it != upper_.end()) return it->second;
  if (level == base) {
    read_tiles(tx, level, index, index + 1);
    if (auto it = upper_.find(key); it != upper_.end()) return it->second;
  } else if (!upper_.count({base, index << (level - base)})) {
    // The stored tiles under it in one read.
    read_tiles(tx, base, index << (level - base), (index + 1) << (level - base));
  }
  // Not stored (or above the base): from its two halves.
  auto h =
      merkle::node_hash(complete(tx, level - 1, index * 2), complete(tx, level - 1, index * 2 + 1));
  upper_.emplace(key, h);
  return h;
}

void log_tree::read_tiles(pqxx::transaction_base& tx, uint32_t level, uint64_t first,
                          uint64_t end) {
  for (auto row :
       tx.exec_params("SELECT tile_index, hash FROM log_tiles"
                      " WHERE log_id = $1 AND level = $2 AND tile_index >= $3 AND tile_index < $4",
                      log_id_, static_cast<int32_t>(level), static_cast<int64_t>(first),
                      static_cast<int64_t>(end)))
    upper_.emplace(std::make_pair(level, row[0].as<uint64_t>()), bytes(row[1]));
}

const std::vector<std::vector<std::string>>& log_tree::leaf_tile(pqxx::transaction_base& tx,
                                                                 uint64_t tile) {
  if (auto it = leaf_tiles_.find(tile); it != leaf_tiles_.end()) return it->second;
  if (leaf_tile_order_.size() >= leaf_tiles_kept) {
    leaf_tiles_.erase(leaf_tile_order_.front());
    leaf_tile_order_.pop_front();
  }
  std::vector<std::vector<std::string>> levels(tile_height + 1);
  auto first = tile << tile_height;
  auto end = first + (uint64_t{1} << tile_height);
  // The runs that hold leaves of the tile: the one holding its first leaf, and those after it.
  for (auto row : tx.exec_params(
           "SELECT first_leaf, leaf_data FROM log_leaf_runs WHERE log_id = $1 AND first_leaf < $3"
           "   AND first_leaf >= coalesce((SELECT max(first_leaf) FROM log_leaf_runs"
           "                                WHERE log_id = $1 AND first_leaf <= $2), 0)"
           " ORDER BY first_leaf",
           log_id_, static_cast<int64_t>(first), static_cast<int64_t>(end))) {
    auto run_first = row[0].as<uint64_t>();
    auto run = bytes(row[1]);
    for (uint64_t i = std::max(first, run_first); i < end && (i - run_first) * 32 < run.size();
         ++i) {
      if (i != first + levels[0].size())
        throw std::runtime_error("the log's stored leaves have a gap at " + std::to_string(i));
      levels[0].push_back(merkle::leaf_hash(run.substr((i - run_first) * 32, 32)));
    }
  }
  for (uint32_t l = 1; l <= tile_height; ++l)
    for (size_t i = 0; i + 1 < levels[l - 1].size(); i += 2)
      levels[l].push_back(merkle::node_hash(levels[l - 1][i], levels[l - 1][i + 1]));
  leaf_tile_order_.push_back(tile);
  return leaf_tiles_.emplace(tile, std::move(levels)).first->second;
}

}  // namespace beacon::storage
