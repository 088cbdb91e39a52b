// Receipt building and checking.
#include "common/receipt.hpp"

#include <boost/json.hpp>
#include <unordered_map>

#include "common/canonical_json.hpp"
#include "common/clock.hpp"
#include "common/crypto.hpp"
#include "common/hex.hpp"
#include "common/merkle.hpp"
#include "common/tree_head.hpp"

namespace beacon {
namespace {

// The receipt without its signature, key, transparency block and output data: output.hash
// stands for the data. What a v0 signature and a v1 leaf cover.
std::string signing_payload(const boost::json::object& receipt) {
  return canonical_json_omitting(receipt,
                                 {"signature", "public_key", "transparency", "output.data"});
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

// SHA-256 of the canonical {question_id, prompt, system_prompt} (raw 32 bytes): the same for
// every cell of a question in a region, so each thread keeps the last ones it computed.
std::string benchmark_digest(const receipt_input& in) {
  thread_local std::unordered_map<std::string, std::string> memo;
  thread_local std::string key;  // reused: a lookup allocates nothing
  key.assign(in.question_id).append(1, '\0').append(in.prompt).append(1, '\0');
  key.append(in.system_prompt);
  if (auto it = memo.find(key); it != memo.end()) return it->second;
  if (memo.size() >= 256) memo.clear();
  auto digest =
      crypto::sha256(canonical_json(boost::json::object{{"question_id", in.question_id},
                                                        {"prompt", in.prompt},
                                                        {"system_prompt", in.system_prompt}}));
  memo.emplace(key, digest);
  return digest;
}

// SHA-256 (raw 32 bytes) of the canonical JSON of a stored output: what output.hash names.
std::string output_digest(const boost::json::value& output) {
  return crypto::sha256(canonical_json(output));
}

std::string tagged(const std::string& digest) {
  return "sha256:" + to_hex(digest);
}

boost::json::value count_or_null(int64_t n) {
  return n >= 0 ? boost::json::value(n) : boost::json::value(nullptr);
}

boost::json::value text_or_null(const std::string& s) {
  return s.empty() ? boost::json::value(nullptr) : boost::json::value(s);
}

// v1.2's output.usage and provenance.generation.
void add_usage_and_settings(boost::json::object& r, const receipt_input& in) {
  r["output"].as_object()["usage"] = {{"prompt_tokens", count_or_null(in.prompt_tokens)},
                                      {"completion_tokens", count_or_null(in.completion_tokens)},
                                      {"finish_reason", text_or_null(in.finish_reason)}};
  r["provenance"].as_object()["generation"] = {
      {"temperature", in.temperature},
      {"max_tokens", in.max_tokens},
      {"top_p", text_or_null(in.top_p)},
      {"seed", in.has_seed ? boost::json::value(in.seed) : boost::json::value(nullptr)},
      {"settings_unsent", text_or_null(in.settings_unsent)}};
}

// The receipt's fields, without signature or log position, given the output's and the
// benchmark's SHA-256. A v1.1 or later receipt is a view of its row: created_at is its completed_at
// (v0 receipts said when they were signed).
boost::json::object receipt_body(const receipt_input& in, const std::string& key_id,
                                 const char* version, const std::string& output_digest,
                                 const std::string& benchmark) {
  auto id = std::to_string(in.execution_id);
  auto duration_us = std::max<int64_t>(0, in.completed_us - in.started_us);
  auto completed = format_rfc3339(in.completed_us);
  bool v0 = std::string_view(version).substr(0, 3) == "v0.";
  boost::json::object r{{"schema_version", version},
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
                          {"completed_at", completed},
                          {"duration", duration_us * 1000},  // nanoseconds, as Go's time.Duration
                          {"duration_ms", duration_us / 1000},
                          {"attempts", in.attempts},
                          {"status", "completed"}}},
                        {"output",
                         {{"hash", tagged(output_digest)},
                          {"metadata",
                           {{"hash_of", "canonical JSON (sorted keys, compact) of output.data"},
                            {"response_classification", in.classification},
                            {"response_language", in.language}}}}},
                        {"provenance",
                         {{"benchmark_hash", tagged(benchmark)},
                          {"provider_info",
                           {{"provider_id", in.provider_id},
                            {"region", in.provider_region},
                            {"model", in.model_served},
                            {"http_status", in.http_status}}},
                          {"execution_env", {{"runner", "beacon-runner"}, {"key_id", key_id}}}}},
                        {"created_at", v0 ? format_rfc3339(now_us()) : completed},
                        {"completed_at", completed}};
  if (std::string_view(version) == "v1.2.0") add_usage_and_settings(r, in);
  return r;
}

// canonical_json(receipt_body(in, key_id, receipt_version, ...)) written straight out, its keys
// in their sorted order: the leaf of every new receipt, so it is built without a JSON tree
// (tested against the general form).
std::string canonical_v1_2(const receipt_input& in, const std::string& key_id,
                           const std::string& output_digest, const std::string& benchmark) {
  auto id = std::to_string(in.execution_id);
  auto duration_us = std::max<int64_t>(0, in.completed_us - in.started_us);
  auto completed = format_rfc3339(in.completed_us);
  std::string out;
  out.reserve(1024 + in.job_id.size() + in.question_id.size() + in.provider_id.size() * 2);
  auto key = [&](const char* k) {
    out += '"';
    out += k;
    out += "\":";
  };
  auto text = [&](const char* k, std::string_view v, char next = ',') {
    key(k);
    append_canonical_string(out, v);
    if (next) out += next;
  };
  auto number = [&](const char* k, int64_t v, char next = ',') {
    key(k);
    out += std::to_string(v);
    if (next) out += next;
  };
  auto text_or_null = [&](const char* k, const std::string& v, char next = ',') {
    key(k);
    if (v.empty())
      out += "null";
    else
      append_canonical_string(out, v);
    if (next) out += next;
  };
  auto count_or_null = [&](const char* k, int64_t v, bool known, char next = ',') {
    key(k);
    out += known ? std::to_string(v) : "null";
    if (next) out += next;
  };
  out += '{';
  text("completed_at", completed);
  text("created_at", completed);
  key("execution_details");
  out += '{';
  number("attempts", in.attempts);
  text("completed_at", completed);
  number("duration", duration_us * 1000);
  number("duration_ms", duration_us / 1000);
  number("execution_id", in.execution_id);
  text("job_id", in.job_id);
  text("model_id", in.model_id);
  text("provider_id", in.provider_id);
  text("question_id", in.question_id);
  text("region", in.region);
  number("run", in.run);
  text("started_at", format_rfc3339(in.started_us));
  text("status", "completed");
  text("task_id", id, '}');
  out += ',';
  text("id", "receipt-" + id);
  text("jobspec_id", in.job_id);
  key("output");
  out += '{';
  text("hash", tagged(output_digest));
  key("metadata");
  out += '{';
  text("hash_of", "canonical JSON (sorted keys, compact) of output.data");
  text("response_classification", in.classification);
  text("response_language", in.language, '}');
  out += ',';
  key("usage");
  out += '{';
  count_or_null("completion_tokens", in.completion_tokens, in.completion_tokens >= 0);
  text_or_null("finish_reason", in.finish_reason);
  count_or_null("prompt_tokens", in.prompt_tokens, in.prompt_tokens >= 0, '}');
  out += "},";
  key("provenance");
  out += '{';
  text("benchmark_hash", tagged(benchmark));
  key("execution_env");
  out += '{';
  text("key_id", key_id);
  text("runner", "beacon-runner", '}');
  out += ',';
  key("generation");
  out += '{';
  number("max_tokens", in.max_tokens);
  count_or_null("seed", in.seed, in.has_seed);
  text_or_null("settings_unsent", in.settings_unsent);
  text("temperature", in.temperature);
  text_or_null("top_p", in.top_p, '}');
  out += ',';
  key("provider_info");
  out += '{';
  number("http_status", in.http_status);
  text("model", in.model_served);
  text("provider_id", in.provider_id);
  text("region", in.provider_region, '}');
  out += "},";
  text("schema_version", receipt_version, '}');
  return out;
}

boost::json::object receipt_body(const receipt_input& in, const std::string& key_id,
                                 const char* version) {
  return receipt_body(in, key_id, version, output_digest(*in.output), benchmark_digest(in));
}

}  // namespace

std::string output_hash(const boost::json::value& output) {
  return tagged(output_digest(output));
}

boost::json::object make_receipt(const receipt_input& in, const std::string& key_id,
                                 bool with_data) {
  auto r = receipt_body(in, key_id, receipt_version);
  if (with_data) r["output"].as_object()["data"] = *in.output;
  return r;
}

boost::json::object make_receipt_v0(const receipt_input& in, const node_key& key, bool with_data) {
  auto r = receipt_body(in, key.key_id, "v0.1.0");
  // Signed before signature, public_key and output.data are added: the signing payload as is.
  r["signature"] = crypto::base64_encode(crypto::ed25519_sign(canonical_json(r), key.secret_key));
  r["public_key"] = key.public_key_base64();
  if (with_data) r["output"].as_object()["data"] = *in.output;
  return r;
}

logged_receipt receipt_for_log(const receipt_input& in, const std::string& key_id) {
  logged_receipt out;
  out.output_hash =
      in.output_canonical.empty() ? output_digest(*in.output) : crypto::sha256(in.output_canonical);
  out.benchmark_hash = benchmark_digest(in);
  out.leaf_data = crypto::sha256(canonical_v1_2(in, key_id, out.output_hash, out.benchmark_hash));
  return out;
}

std::string canonical_receipt_for_log(const receipt_input& in, const std::string& key_id) {
  return canonical_v1_2(in, key_id, output_digest(*in.output), benchmark_digest(in));
}

std::string receipt_leaf_data(const boost::json::value& receipt) {
  return receipt.is_object() ? crypto::sha256(signing_payload(receipt.as_object()))
                             : crypto::sha256("");
}

namespace {

// A v0 receipt's own signature.
void check_signature(const boost::json::value& receipt, const std::string& trusted_public_key,
                     std::vector<std::string>& problems) {
  auto* sig = path(receipt, {"signature"});
  auto* pub = path(receipt, {"public_key"});
  if (!sig || !sig->is_string() || !pub || !pub->is_string()) {
    problems.push_back("a v0 receipt needs its signature and public_key");
    return;
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
}

// A v1 receipt's place in the log: its leaf, the inclusion proof and the signed head.
void check_inclusion(const boost::json::value& receipt, const std::string& trusted_public_key,
                     std::vector<std::string>& problems) {
  auto* t = path(receipt, {"transparency"});
  if (!t || !t->is_object()) {
    problems.push_back(
        "a v1 receipt needs its transparency block (served by GET "
        "/api/v1/executions/{id}/receipt and in the JSONL export)");
    return;
  }
  auto& o = t->as_object();
  std::string problem;
  auto head =
      o.contains("tree_head") ? tree_head_from_json(o.at("tree_head"), problem) : std::nullopt;
  auto* pub = o.if_contains("public_key");
  auto key = pub && pub->is_string() ? crypto::base64_decode(pub->as_string()) : std::nullopt;
  auto* index = o.if_contains("leaf_index");
  auto* audit = o.if_contains("audit_path");
  bool index_ok = index && (index->is_uint64() || (index->is_int64() && index->as_int64() >= 0));
  if (!head || !key || key->size() != crypto::ed25519_public_key_bytes || !index_ok || !audit ||
      !audit->is_array()) {
    problems.push_back("the transparency block is incomplete (" +
                       (problem.empty() ? "public_key, leaf_index, audit_path and tree_head" +
                                              std::string(" are required")
                                        : problem) +
                       ")");
    return;
  }
  auto* env_key = path(receipt, {"provenance", "execution_env", "key_id"});
  if (!env_key || !env_key->is_string() || env_key->as_string() != head->key_id)
    problems.push_back("the tree head is of another log (" + head->key_id + ")");
  if (!trusted_public_key.empty() && *key != trusted_public_key)
    problems.push_back("the tree head is signed by another key (" + std::string(pub->as_string()) +
                       ")");
  else if (!tree_head_signed_by(*head, *key))
    problems.push_back("the tree head's signature does not verify");
  std::vector<std::string> hashes;
  for (auto& h : audit->as_array()) {
    auto raw = h.is_string() ? crypto::base64_decode(h.as_string()) : std::nullopt;
    if (!raw || raw->size() != 32) {
      problems.push_back("the audit path holds something that is not a base64 SHA-256");
      return;
    }
    hashes.emplace_back(raw->data(), raw->size());
  }
  auto leaf = merkle::leaf_hash(receipt_leaf_data(receipt));
  auto leaf_index = index->to_number<uint64_t>();
  if (!merkle::verify_inclusion(leaf, leaf_index, head->tree_size, hashes, head->root_hash))
    problems.push_back("the receipt is not leaf " + std::to_string(leaf_index) +
                       " of the signed tree of " + std::to_string(head->tree_size) +
                       " leaves (altered after logging, or a wrong proof)");
}

}  // namespace

std::vector<std::string> verify_receipt(const boost::json::value& receipt,
                                        const std::string& trusted_public_key,
                                        const boost::json::value* stored_output) {
  std::vector<std::string> problems;
  auto* version = path(receipt, {"schema_version"});
  auto* data = path(receipt, {"output", "data"});
  auto* hash = path(receipt, {"output", "hash"});
  if (!version || !version->is_string() || !hash || !hash->is_string()) {
    problems.push_back("not a receipt (schema_version and output.hash are required)");
    return problems;
  }
  if (version->as_string().starts_with("v0."))
    check_signature(receipt, trusted_public_key, problems);
  else
    check_inclusion(receipt, trusted_public_key, problems);
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
