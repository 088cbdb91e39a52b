// libsodium calls (Ed25519, base64 encoding), and OpenSSL's SHA-256 (it uses the CPU's SHA
// instructions: 4x libsodium's portable code on a 1 kB receipt) and base64 decoding.
#include "common/crypto.hpp"

#include <openssl/evp.h>
#include <sodium.h>

#include <mutex>
#include <stdexcept>
#include <unordered_set>

namespace beacon::crypto {
namespace {

void ensure_sodium() {
  static const bool ok = sodium_init() >= 0;
  if (!ok) throw std::runtime_error("libsodium failed to initialise");
}

const unsigned char* bytes_of(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// One digest context per thread, reused: a context made per call costs as much as hashing a
// Merkle node.
struct sha256_context {
  EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
};

// Every live thread's context, on the heap and listed here until its thread ends: a thread still
// ending while the process exits (its thread-local storage gone, its destructor not yet run) does
// not leave the context unreachable, so leak checkers do not report it.
std::mutex& contexts_mutex() {
  static auto* m = new std::mutex;  // never destroyed: threads may end after static destruction
  return *m;
}
std::unordered_set<sha256_context*>& live_contexts() {
  static auto* set = new std::unordered_set<sha256_context*>;
  return *set;
}

// A thread's context: made on first use, freed when the thread ends.
struct thread_context {
  sha256_context* c = new sha256_context;
  thread_context() {
    std::lock_guard<std::mutex> guard{contexts_mutex()};
    live_contexts().insert(c);
  }
  ~thread_context() {
    {
      std::lock_guard<std::mutex> guard{contexts_mutex()};
      live_contexts().erase(c);
    }
    EVP_MD_CTX_free(c->ctx);
    EVP_MD_free(c->md);
    delete c;
  }
  thread_context(const thread_context&) = delete;
  thread_context& operator=(const thread_context&) = delete;
};

}  // namespace

std::string sha256(std::string_view bytes) {
  thread_local thread_context owner;
  auto& c = *owner.c;
  std::string digest(32, '\0');
  unsigned int len = 0;
  if (!c.md || !c.ctx || EVP_DigestInit_ex(c.ctx, c.md, nullptr) != 1 ||
      EVP_DigestUpdate(c.ctx, bytes.data(), bytes.size()) != 1 ||
      EVP_DigestFinal_ex(c.ctx, reinterpret_cast<unsigned char*>(digest.data()), &len) != 1 ||
      len != digest.size())
    throw std::runtime_error("SHA-256 failed");
  return digest;
}

std::string sha256_hex(std::string_view bytes) {
  auto digest = sha256(bytes);
  char hex[crypto_hash_sha256_BYTES * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, bytes_of(digest), digest.size());
  return hex;
}

std::string base64_encode(std::string_view bytes) {
  ensure_sodium();
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), bytes_of(bytes), bytes.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  out.resize(out.size() - 1);  // the terminating NUL
  return out;
}

// OpenSSL's block decoder (12x libsodium's on a 44-character hash, which an audit decodes by the
// million), made strict: only text that the decoded bytes encode back to exactly is base64 (no
// whitespace, padding only at the end, no stray bits in the last character).
std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  if (text.empty()) return std::string();
  std::string out(text.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  size_t pad = text.back() != '=' ? 0 : text[text.size() - 2] == '=' ? 2 : 1;
  if (n < 0 || static_cast<size_t>(n) != out.size()) return std::nullopt;
  out.resize(out.size() - pad);
  std::string back(text.size() + 1, '\0');
  EVP_EncodeBlock(reinterpret_cast<unsigned char*>(back.data()),
                  reinterpret_cast<const unsigned char*>(out.data()), static_cast<int>(out.size()));
  back.pop_back();
  if (back != text) return std::nullopt;
  return out;
}

ed25519_keypair ed25519_generate() {
  ensure_sodium();
  unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
  crypto_sign_keypair(pk, sk);
  ed25519_keypair out{std::string(reinterpret_cast<char*>(pk), sizeof pk),
                      std::string(reinterpret_cast<char*>(sk), sizeof sk)};
  sodium_memzero(sk, sizeof sk);
  return out;
}

std::string ed25519_sign(std::string_view message, const std::string& secret_key) {
  ensure_sodium();
  if (secret_key.size() != crypto_sign_SECRETKEYBYTES)
    throw std::invalid_argument("an Ed25519 secret key has 64 bytes");
  unsigned char sig[crypto_sign_BYTES];
  crypto_sign_detached(sig, nullptr, bytes_of(message), message.size(), bytes_of(secret_key));
  return std::string(reinterpret_cast<char*>(sig), sizeof sig);
}

bool ed25519_verify(std::string_view message, std::string_view signature,
                    std::string_view public_key) {
  ensure_sodium();
  if (signature.size() != crypto_sign_BYTES || public_key.size() != crypto_sign_PUBLICKEYBYTES)
    return false;
  return crypto_sign_verify_detached(bytes_of(signature), bytes_of(message), message.size(),
                                     bytes_of(public_key)) == 0;
}

std::string random_hex(size_t bytes) {
  std::string raw(bytes, '\0'), hex(2 * bytes + 1, '\0');
  randombytes_buf(raw.data(), raw.size());
  sodium_bin2hex(hex.data(), hex.size(), reinterpret_cast<const unsigned char*>(raw.data()),
                 raw.size());
  hex.pop_back();  // the terminating NUL
  return hex;
}

bool same_secret(std::string_view a, std::string_view b) {
  return a.size() == b.size() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace beacon::crypto
