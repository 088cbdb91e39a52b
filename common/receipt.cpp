// Receipt building and checking.
#include "common/receipt.hpp"

#include <boost/json.hpp>

#include "common/canonical_json.hpp"
#include "common/clock.hpp"
#include "common/crypto.hpp"

namespace beacon {
namespace {

// The receipt without its signature, key and output data: output.hash stands for the data.
std::string signing_payload(boost::json::object receipt) {
  receipt.erase("signature");
  receipt.erase("public_key");
  if (auto* out = receipt.if_contains("output"); out && out->is_object())
    out->as_object().erase("data");
  return canonical_json(receipt);
}

const boost::json::value* path(const boost::json::value& v,
                               std::initializer_list<const char*> keys) {
  const boost::json::value* cur = &v;
  for (auto k : keys) {
    if (!cur->is_object()) return nullptr;
    cur = cur->as_object().if_contains(k);
    if (!cur) return nullptr;
  }
  return cur;
}

}  // namespace

std::string output_hash(const boost::json::value& output) {
  return "sha256:" + crypto::sha256_hex(canonical_json(output));
}

boost::json::object make_receipt(const receipt_input& in, const node_key& key, bool with_data) {
  auto id = std::to_string(in.execution_id);
  auto duration_us = std::max<int64_t>(0, in.completed_us - in.started_us);
  boost::json::object r{
      {"schema_version", "v0.1.0"},
      {"id", "receipt-" + id},
      {"jobspec_id", in.job_id},
      {"execution_details",
       {{"task_id", id},
        {"execution_id", in.execution_id},
        {"job_id", in.job_id},
        {"question_id", in.question_id},
        {"model_id", in.model_id},
        {"region", in.region},
        {"run", in.run},
        {"provider_id", in.provider_id},
        {"started_at", format_rfc3339(in.started_us)},
        {"completed_at", format_rfc3339(in.completed_us)},
        {"duration", duration_us * 1000},  // nanoseconds, as Go's time.Duration
        {"duration_ms", duration_us / 1000},
        {"attempts", in.attempts},
        {"status", "completed"}}},
      {"output",
       {{"hash", output_hash(*in.output)},
        {"metadata",
         {{"hash_of", "canonical JSON (sorted keys, compact) of output.data"},
          {"response_classification", in.classification},
          {"response_language", in.language}}}}},
      {"provenance",
       {{"benchmark_hash", "sha256:" + crypto::sha256_hex(canonical_json(boost::json::object{
                                           {"question_id", in.question_id},
                                           {"prompt", in.prompt},
                                           {"system_prompt", in.system_prompt}}))},
        {"provider_info",
         {{"provider_id", in.provider_id},
          {"region", in.provider_region},
          {"model", in.model_served},
          {"http_status", in.http_status}}},
        {"execution_env", {{"runner", "beacon-runner"}, {"key_id", key.key_id}}}}},
      {"created_at", format_rfc3339(now_us())},
      {"completed_at", format_rfc3339(in.completed_us)}};
  // Signed before signature, public_key and output.data are added: the signing payload as is.
  r["signature"] = crypto::base64_encode(crypto::ed25519_sign(canonical_json(r), key.secret_key));
  r["public_key"] = key.public_key_base64();
  if (with_data) r["output"].as_object()["data"] = *in.output;
  return r;
}

std::vector<std::string> verify_receipt(const boost::json::value& receipt,
                                        const std::string& trusted_public_key,
                                        const boost::json::value* stored_output) {
  std::vector<std::string> problems;
  auto* version = path(receipt, {"schema_version"});
  auto* sig = path(receipt, {"signature"});
  auto* pub = path(receipt, {"public_key"});
  auto* data = path(receipt, {"output", "data"});
  auto* hash = path(receipt, {"output", "hash"});
  if (!version || !version->is_string() || !sig || !sig->is_string() || !pub || !pub->is_string() ||
      !hash || !hash->is_string()) {
    problems.push_back(
        "not a signed receipt (schema_version, signature, public_key and "
        "output.hash are required)");
    return problems;
  }
  auto key = crypto::base64_decode(pub->as_string());
  auto signature = crypto::base64_decode(sig->as_string());
  if (!key || key->size() != crypto::ed25519_public_key_bytes)
    problems.push_back("public_key is not a base64 Ed25519 key");
  else if (!trusted_public_key.empty() && *key != trusted_public_key)
    problems.push_back("signed by another key (" + std::string(pub->as_string()) + ")");
  else if (!signature || signature->size() != crypto::ed25519_signature_bytes ||
           !crypto::ed25519_verify(signing_payload(receipt.as_object()), *signature, *key))
    problems.push_back(
        "the signature does not match the receipt's content (altered after signing)");
  auto signed_hash = std::string(hash->as_string());
  if (stored_output) {
    auto stored = output_hash(*stored_output);
    if (stored != signed_hash)
      problems.push_back("the stored output differs from the signed one (" + stored + ", signed " +
                         signed_hash + ")");
  }
  if (data && (!stored_output || *data != *stored_output)) {
    auto got = output_hash(*data);
    if (got != signed_hash)
      problems.push_back("output.data differs from the signed one (" + got + ", signed " +
                         signed_hash + ")");
  }
  return problems;
}

}  // namespace beacon
