// Receipt tree.
#include "storage/receipt_log.hpp"

#include <pqxx/pqxx>

#include "common/crypto.hpp"
#include "common/merkle.hpp"

namespace beacon::storage {

std::optional<uint64_t> receipt_leaf_index(pqxx::transaction_base& tx, int64_t execution_id) {
  auto r = tx.exec_params(
      "SELECT (SELECT count(*) FROM executions WHERE receipt_data IS NOT NULL AND id < $1),"
      " EXISTS (SELECT 1 FROM executions WHERE id = $1 AND receipt_data IS NOT NULL)",
      execution_id);
  if (!r[0][1].as<bool>()) return std::nullopt;
  return r[0][0].as<uint64_t>();
}

receipt_tree read_receipt_tree(pqxx::transaction_base& tx, uint64_t tree_size,
                               int64_t execution_id) {
  receipt_tree out;
  auto total =
      tx.exec1("SELECT count(*) FROM executions WHERE receipt_data IS NOT NULL")[0].as<uint64_t>();
  out.size = tree_size == 0 ? total : std::min(tree_size, total);
  if (execution_id > 0)
    if (auto index = receipt_leaf_index(tx, execution_id); index && *index < out.size)
      out.leaf_index = index;
  auto ranges = out.leaf_index ? merkle::inclusion_ranges(*out.leaf_index, out.size)
                               : std::vector<std::pair<uint64_t, uint64_t>>{};
  std::vector<merkle::tree_builder> range_trees(ranges.size());
  merkle::tree_builder whole;
  uint64_t i = 0;
  int64_t after = 0;
  while (i < out.size) {
    auto page = tx.exec_params(
        "SELECT id, receipt_data ->> 'signature' FROM executions"
        " WHERE receipt_data IS NOT NULL AND id > $1 ORDER BY id LIMIT $2",
        after, static_cast<int64_t>(std::min<uint64_t>(out.size - i, 10000)));
    if (page.empty()) break;
    for (auto row : page) {
      after = row[0].as<int64_t>();
      auto signature = crypto::base64_decode(row[1].is_null() ? "" : row[1].c_str());
      auto leaf = merkle::leaf_hash(signature ? *signature : std::string());
      if (out.leaf_index && i == *out.leaf_index) out.leaf_hash = leaf;
      for (size_t r = 0; r < ranges.size(); ++r)
        if (i >= ranges[r].first && i < ranges[r].second) range_trees[r].add_leaf_hash(leaf);
      whole.add_leaf_hash(std::move(leaf));
      ++i;
    }
  }
  out.root = whole.root();
  for (auto& t : range_trees) out.proof.push_back(t.root());
  return out;
}

}  // namespace beacon::storage
