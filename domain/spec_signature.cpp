// JobSpec signature checks.
#include "domain/spec_signature.hpp"

#include <boost/json.hpp>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "common/canonical_json.hpp"
#include "common/clock.hpp"
#include "common/crypto.hpp"

namespace beacon {
namespace {

signature_check refuse(unsigned status, std::string code, std::string message) {
  signature_check c;
  c.status = status;
  c.error_code = std::move(code);
  c.message = std::move(message);
  return c;
}

std::string text_of(const boost::json::object& o, const char* key) {
  auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

// Epoch milliseconds beyond this (about the year 2286, either side of 1970) are no timestamp: the
// conversion to microseconds must not overflow.
constexpr int64_t max_epoch_ms = 10'000'000'000'000;

// metadata.timestamp as the portal writes it (ISO 8601) or as epoch milliseconds.
std::optional<int64_t> timestamp_us(const boost::json::value& v) {
  if (v.is_string()) return parse_rfc3339(v.as_string());
  if (v.is_int64() && std::llabs(v.as_int64()) <= max_epoch_ms) return v.as_int64() * 1000;
  if (v.is_double() && std::isfinite(v.as_double()) &&
      std::fabs(v.as_double()) <= static_cast<double>(max_epoch_ms))
    return static_cast<int64_t>(v.as_double() * 1000);
  return std::nullopt;
}

}  // namespace

std::vector<trusted_key> load_trusted_keys(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read the trusted-keys file " + path);
  std::stringstream text;
  text << in.rdbuf();
  boost::json::error_code ec;
  auto doc = boost::json::parse(text.str(), ec);
  if (ec || !doc.is_array())
    throw std::runtime_error(path + ": a trusted-keys file is a JSON array of keys");
  std::vector<trusted_key> out;
  for (auto& entry : doc.as_array()) {
    if (!entry.is_object()) throw std::runtime_error(path + ": every key is an object");
    auto& o = entry.as_object();
    trusted_key k{text_of(o, "kid"), text_of(o, "public_key"), text_of(o, "status"), 0, 0};
    if (k.status.empty()) k.status = "active";
    auto raw = crypto::base64_decode(k.public_key);
    if (!raw || raw->size() != crypto::ed25519_public_key_bytes)
      throw std::runtime_error(path + ": key " + k.kid +
                               " has no base64 Ed25519 public_key (32 bytes)");
    for (auto [field, into] :
         {std::pair{"not_before", &k.not_before_us}, std::pair{"not_after", &k.not_after_us}}) {
      auto t = text_of(o, field);
      if (t.empty()) continue;
      auto parsed = parse_rfc3339(t);
      if (!parsed)
        throw std::runtime_error(path + ": " + field + " of " + k.kid + " is not RFC 3339");
      *into = *parsed;
    }
    out.push_back(std::move(k));
  }
  return out;
}

std::string signing_payload(const boost::json::object& spec) {
  auto copy = spec;
  for (auto key : {"id", "created_at", "signature", "public_key"}) copy.erase(key);
  erase_zero_success_rate(copy);
  return canonical_json(copy);
}

bool erase_zero_success_rate(boost::json::object& spec) {
  auto* c = spec.if_contains("constraints");
  if (!c || !c->is_object()) return false;
  auto* rate = c->as_object().if_contains("min_success_rate");
  if (!rate || !rate->is_number() || rate->to_number<double>() != 0) return false;
  c->as_object().erase("min_success_rate");
  return true;
}

signature_check check_signature(const boost::json::object& spec, const signature_policy& policy,
                                int64_t now_us) {
  auto signature = text_of(spec, "signature");
  auto public_key = text_of(spec, "public_key");
  if (signature.empty() && public_key.empty()) {
    if (policy.enforced())
      return refuse(401, "missing_field:signature",
                    "this node accepts only signed JobSpecs (signature and public_key)");
    return {};
  }
  if (signature.empty())
    return refuse(400, "missing_field:signature", "public_key is set but signature is missing");
  if (public_key.empty())
    return refuse(400, "missing_field:public_key", "signature is set but public_key is missing");
  auto key = crypto::base64_decode(public_key);
  if (!key || key->size() != crypto::ed25519_public_key_bytes)
    return refuse(400, "invalid_encoding:public_key",
                  "public_key must be a base64 Ed25519 public key (32 bytes)");
  auto sig = crypto::base64_decode(signature);
  if (!sig || sig->size() != crypto::ed25519_signature_bytes)
    return refuse(400, "invalid_encoding:signature",
                  "signature must be a base64 Ed25519 signature (64 bytes)");
  if (!crypto::ed25519_verify(signing_payload(spec), *sig, *key))
    return refuse(400, "signature_mismatch", "Invalid JobSpec signature");
  if (!policy.trusted.empty()) {
    const trusted_key* found = nullptr;
    for (auto& k : policy.trusted)
      if (k.public_key == public_key) found = &k;
    if (!found)
      return refuse(403, "trust_violation:untrusted_key", "the signing key is not trusted here");
    if (found->status != "active")
      return refuse(403, "trust_violation:key_" + found->status,
                    "the signing key " + found->kid + " is " + found->status);
    if (found->not_before_us && now_us < found->not_before_us)
      return refuse(403, "trust_violation:key_not_yet_valid",
                    "the signing key " + found->kid + " is not valid yet");
    if (found->not_after_us && now_us > found->not_after_us)
      return refuse(403, "trust_violation:key_expired",
                    "the signing key " + found->kid + " has expired");
  }
  signature_check ok;
  ok.is_signed = true;
  ok.public_key = public_key;
  const boost::json::object* meta = nullptr;
  if (auto* m = spec.if_contains("metadata"); m && m->is_object()) meta = &m->as_object();
  const boost::json::value* ts = meta ? meta->if_contains("timestamp") : nullptr;
  if (ts) {
    auto at = timestamp_us(*ts);
    if (!at)
      return refuse(400, "invalid_field:metadata.timestamp",
                    "metadata.timestamp must be an RFC 3339 time or epoch milliseconds");
    auto skew_s = (now_us - *at) / 1000000;
    if (skew_s > policy.timestamp_window_s || -skew_s > policy.timestamp_window_s)
      return refuse(400, "trust_violation:timestamp_skew",
                    "metadata.timestamp is " + std::to_string(skew_s) +
                        " s from this node's clock (window " +
                        std::to_string(policy.timestamp_window_s) + " s)");
  } else if (policy.enforced()) {
    return refuse(400, "missing_field:metadata.timestamp",
                  "a signed JobSpec needs metadata.timestamp");
  }
  ok.nonce = meta ? text_of(*meta, "nonce") : "";
  if (ok.nonce.empty() && policy.enforced())
    return refuse(400, "missing_field:metadata.nonce", "a signed JobSpec needs metadata.nonce");
  return ok;
}

}  // namespace beacon
