// A signed tree head of a node's transparency log (RFC 9162 section 4.10, in this project's
// JSON): which log (the signing key's id), how many leaves, the root over them and when it was
// signed. The Ed25519 signature covers the canonical JSON of {key_id, root_hash (base64),
// timestamp (RFC 3339), tree_size}, so a head read back from JSON verifies without the node.
#pragma once

#include <boost/json/fwd.hpp>
#include <cstdint>
#include <optional>
#include <string>

#include "common/node_key.hpp"

namespace beacon {

struct tree_head {
  std::string key_id;
  uint64_t tree_size = 0;
  std::string root_hash;  // 32 raw bytes
  std::string timestamp;  // RFC 3339, as signed
  std::string signature;  // 64 raw bytes
};

// The bytes the signature covers.
std::string tree_head_payload(const tree_head& head);

// A head of `size` leaves with root `root`, signed now (or at `timestamp_us`) by `key`.
tree_head sign_tree_head(const node_key& key, uint64_t size, std::string root,
                         int64_t timestamp_us);

// Whether `public_key` (32 raw bytes) signed the head.
bool tree_head_signed_by(const tree_head& head, const std::string& public_key);

// {tree_size, root_hash, timestamp, key_id, signature} (base64 for the bytes).
boost::json::object tree_head_json(const tree_head& head);

// The head in `v`, or nullopt with `problem` saying what is wrong.
std::optional<tree_head> tree_head_from_json(const boost::json::value& v, std::string& problem);

}  // namespace beacon
