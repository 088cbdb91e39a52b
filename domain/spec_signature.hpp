// Verification of signed JobSpecs per the portal's signing contract (reference section 2): the
// inner spec without id, created_at, signature, public_key (and constraints.min_success_rate
// when it is 0), as canonical JSON, Ed25519, key and signature in standard base64. With trusted
// keys configured (or signatures required) a spec must be signed by an active trusted key and
// carry metadata.timestamp within the window and a metadata.nonce (replays are refused in
// storage, in the job's own transaction).
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <string>
#include <vector>

namespace beacon {

// One entry of the trusted-keys file: [{kid, public_key, status, not_before?, not_after?}].
struct trusted_key {
  std::string kid;
  std::string public_key;  // base64, as in specs
  std::string status;      // "active" signs; anything else ("revoked", "retired") does not
  int64_t not_before_us = 0;
  int64_t not_after_us = 0;  // 0: no end
};

struct signature_policy {
  bool require = false;              // unsigned specs are refused
  std::vector<trusted_key> trusted;  // non-empty: only these keys sign (implies require)
  int64_t timestamp_window_s = 300;  // |now - metadata.timestamp| allowed
  bool enforced() const { return require || !trusted.empty(); }
};

// Reads a trusted-keys file; throws std::runtime_error naming the problem.
std::vector<trusted_key> load_trusted_keys(const std::string& path);

struct signature_check {
  unsigned status = 0;     // 0: acceptable; else the HTTP status to answer
  std::string error_code;  // e.g. signature_mismatch, trust_violation:untrusted_key
  std::string message;
  bool is_signed = false;
  std::string public_key;  // base64, when signed
  std::string nonce;       // metadata.nonce, when signed and present (replay-checked)
};

// The canonical bytes the portal signs for this inner spec.
std::string signing_payload(const boost::json::object& spec);

// Removes constraints.min_success_rate when it is 0; true when it removed one. The original
// runner's canonical form leaves a zero out, so no signature ever covers one.
bool erase_zero_success_rate(boost::json::object& spec);

signature_check check_signature(const boost::json::object& spec, const signature_policy& policy,
                                int64_t now_us);

}  // namespace beacon
