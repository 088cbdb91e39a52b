// Crypto wrappers (libsodium, OpenSSL): SHA-256, standard base64 and Ed25519 (signatures of
// JobSpecs and receipts).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace beacon::crypto {

// The 32-byte SHA-256 of `bytes`.
std::string sha256(std::string_view bytes);

// Lower-case hex SHA-256 of `bytes`.
std::string sha256_hex(std::string_view bytes);

// Standard base64 with padding (RFC 4648 section 4), as the portal writes keys and signatures.
std::string base64_encode(std::string_view bytes);
// nullopt when `text` is not valid standard base64.
std::optional<std::string> base64_decode(std::string_view text);

struct ed25519_keypair {
  std::string public_key;  // 32 raw bytes
  std::string secret_key;  // 64 raw bytes (seed + public key, libsodium's layout)
};
ed25519_keypair ed25519_generate();
// The detached 64-byte signature of `message`.
std::string ed25519_sign(std::string_view message, const std::string& secret_key);
bool ed25519_verify(std::string_view message, std::string_view signature,
                    std::string_view public_key);

inline constexpr size_t ed25519_public_key_bytes = 32;
inline constexpr size_t ed25519_signature_bytes = 64;

// `bytes` random bytes from the system's CSPRNG (libsodium), as lower-case hex.
std::string random_hex(size_t bytes);

// Equality of two secrets (tokens) in time that does not depend on where they differ
// (libsodium's sodium_memcmp); only the length can show.
bool same_secret(std::string_view a, std::string_view b);

}  // namespace beacon::crypto
