// The node's Ed25519 signing key: generated on first start into a file only the node's user can
// read (0600), loaded on later starts. Its public half is served at GET /api/v1/node/key.
#pragma once

#include <filesystem>
#include <string>

namespace beacon {

struct node_key {
  std::string public_key;  // 32 raw bytes
  std::string secret_key;  // 64 raw bytes
  std::string key_id;      // first 16 hex digits of SHA-256(public key)
  std::string public_key_base64() const;
};

// Loads the key from `file` (base64 of the 64-byte secret key), or creates it there. Throws
// std::runtime_error when the file is unreadable, malformed or readable by others.
node_key load_or_create_node_key(const std::filesystem::path& file);

node_key node_key_from_secret(const std::string& secret_key);

}  // namespace beacon
