// Transparency JSON.
#include "http/transparency_json.hpp"

#include <boost/json.hpp>

#include "common/crypto.hpp"
#include "common/merkle.hpp"

namespace beacon::http {

boost::json::object log_json(const storage::log_info& log) {
  return {{"key_id", log.key_id},
          {"public_key", crypto::base64_encode(log.public_key)},
          {"tree_size", log.size}};
}

boost::json::object receipt_transparency(pqxx::transaction_base& tx, storage::log_tree& tree,
                                         const storage::leaf_position& pos) {
  auto head = storage::first_head_including(tx, pos.log, pos.index);
  boost::json::object out{{"key_id", pos.log.key_id},
                          {"public_key", crypto::base64_encode(pos.log.public_key)},
                          {"leaf_index", pos.index},
                          {"leaf_hash", crypto::base64_encode(merkle::leaf_hash(pos.leaf_data))}};
  if (!head) return out;  // not possible once committed: the head is stored with the leaf
  boost::json::array path;
  for (auto& h : tree.inclusion_proof(tx, pos.index, head->tree_size))
    path.emplace_back(crypto::base64_encode(h));
  out["audit_path"] = std::move(path);
  out["tree_head"] = tree_head_json(*head);
  return out;
}

boost::json::object transparency_rules() {
  return {
      {"hashing", "RFC 9162 section 2.1 (SHA-256; leaf 0x00, node 0x01)"},
      {"logs", "one append-only log per node signing key (key_id)"},
      {"leaves",
       "the receipt of every completed cell, appended in commit order by the node that stored "
       "it"},
      {"leaf_data", "SHA-256 of the receipt's canonical JSON without output.data and transparency"},
      {"head_signature",
       "Ed25519 over canonical JSON of key_id, root_hash, timestamp, tree_size; one head per "
       "write batch"}};
}

}  // namespace beacon::http
