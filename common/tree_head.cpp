// Tree heads.
#include "common/tree_head.hpp"

#include <boost/json.hpp>
#include <unordered_map>

#include "common/canonical_json.hpp"
#include "common/clock.hpp"
#include "common/crypto.hpp"

namespace beacon {

std::string tree_head_payload(const tree_head& head) {
  return canonical_json(boost::json::object{{"key_id", head.key_id},
                                            {"root_hash", crypto::base64_encode(head.root_hash)},
                                            {"timestamp", head.timestamp},
                                            {"tree_size", head.tree_size}});
}

tree_head sign_tree_head(const node_key& key, uint64_t size, std::string root,
                         int64_t timestamp_us) {
  tree_head head{key.key_id, size, std::move(root), format_rfc3339(timestamp_us), {}};
  head.signature = crypto::ed25519_sign(tree_head_payload(head), key.secret_key);
  return head;
}

bool tree_head_signed_by(const tree_head& head, const std::string& public_key) {
  if (public_key.size() != crypto::ed25519_public_key_bytes ||
      head.signature.size() != crypto::ed25519_signature_bytes)
    return false;
  // Thousands of receipts name the same few heads: each thread remembers the heads it checked.
  thread_local std::unordered_map<std::string, bool> checked;
  auto payload = tree_head_payload(head);
  auto key = payload + head.signature + public_key;
  if (auto it = checked.find(key); it != checked.end()) return it->second;
  if (checked.size() >= 4096) checked.clear();
  bool ok = crypto::ed25519_verify(payload, head.signature, public_key);
  checked.emplace(std::move(key), ok);
  return ok;
}

boost::json::object tree_head_json(const tree_head& head) {
  return {{"tree_size", head.tree_size},
          {"root_hash", crypto::base64_encode(head.root_hash)},
          {"timestamp", head.timestamp},
          {"key_id", head.key_id},
          {"signature", crypto::base64_encode(head.signature)}};
}

std::optional<tree_head> tree_head_from_json(const boost::json::value& v, std::string& problem) {
  auto* o = v.if_object();
  if (!o) {
    problem = "a tree head is a JSON object";
    return std::nullopt;
  }
  auto text = [&](const char* key) -> const boost::json::string* {
    auto* f = o->if_contains(key);
    return f && f->is_string() ? &f->get_string() : nullptr;
  };
  auto* size = o->if_contains("tree_size");
  auto *root = text("root_hash"), *ts = text("timestamp"), *key = text("key_id"),
       *sig = text("signature");
  if (!size || !(size->is_int64() || size->is_uint64()) || !root || !ts || !key || !sig) {
    problem = "a tree head needs tree_size, root_hash, timestamp, key_id and signature";
    return std::nullopt;
  }
  auto root_bytes = crypto::base64_decode(*root);
  auto sig_bytes = crypto::base64_decode(*sig);
  if (!root_bytes || root_bytes->size() != 32 || !sig_bytes) {
    problem = "the tree head's root_hash or signature is not base64 of the right size";
    return std::nullopt;
  }
  if (size->is_int64() && size->get_int64() < 0) {
    problem = "the tree head's tree_size is negative";
    return std::nullopt;
  }
  return tree_head{std::string(*key), size->to_number<uint64_t>(), std::move(*root_bytes),
                   std::string(*ts), std::move(*sig_bytes)};
}

}  // namespace beacon
