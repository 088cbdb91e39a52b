// Receipts: what was asked, who answered, when, and the SHA-256 of the exact stored output.
//
// v1 (schema_version v1.1.0; v1.0.0 before receipts were views of their row): no signature of
// its own. Its leaf data (receipt_leaf_data: SHA-256 of its canonical JSON without output.data
// and the transparency block) is a leaf of the node's append-only Merkle log, whose tree heads
// the node signs once per batch; served with `transparency` {key_id, public_key, leaf_index,
// audit_path, tree_head}, it verifies offline: leaf, inclusion proof, signed head. A v1.1
// receipt holds only values its executions row stores (created_at is its completed_at), so the
// node stores its place in the log and builds it from the row when it is read (migration 0011).
// v1.2 (schema_version v1.2.0, migration 0013) adds output.usage {prompt_tokens,
// completion_tokens, finish_reason} and provenance.generation {temperature, max_tokens, top_p,
// seed, settings_unsent} (temperature and top_p as decimal strings, so every verifier reads the
// same text; null where not reported or not set).
// v0 (schema_version v0.1.0, rows stored before the log): signed one by one with the node's
// Ed25519 key over the same canonical form; still verified.
//
// The output hash is "sha256:" + hex SHA-256 of canonical JSON (common/canonical_json.hpp) of the
// stored output object, so it survives PostgreSQL's jsonb re-serialization. The node stores the
// receipt without output.data (the output is stored once) and serves it with output.data filled
// from the row; a changed output then shows as a hash mismatch while the leaf (or signature)
// still vouches for everything else.
#pragma once

#include <boost/json/object.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/node_key.hpp"

namespace beacon {

struct receipt_input {
  int64_t execution_id = 0;
  std::string job_id, question_id, model_id, region;
  int32_t run = 0;
  std::string provider_id, provider_region, model_served;
  int32_t http_status = 0;
  int32_t attempts = 0;
  int64_t started_us = 0, completed_us = 0;
  std::string prompt, system_prompt;
  std::string classification, language;
  const boost::json::value* output = nullptr;  // the stored output object
  // canonical_json(*output) when the caller has it already (receipt_for_log hashes it as is).
  std::string_view output_canonical;
  // v1.2: the answer's usage as its provider reported it (-1, empty: not reported) and the
  // settings it was generated with (temperature and top_p as decimal text, text::decimal_text;
  // empty top_p or no seed: not set; settings_unsent: what the protocol could not carry).
  int64_t prompt_tokens = -1, completion_tokens = -1;
  std::string finish_reason;
  std::string temperature = "0.1", top_p;
  int32_t max_tokens = 500;
  bool has_seed = false;
  int64_t seed = 0;
  std::string settings_unsent;
};

std::string output_hash(const boost::json::value& output);

// The version of the receipts nodes make now.
inline constexpr const char* receipt_version = "v1.2.0";

// A v1 receipt of the log of `key_id`; `with_data` adds output.data (as served), without it as
// the node stores it.
boost::json::object make_receipt(const receipt_input& in, const std::string& key_id,
                                 bool with_data = true);

// A v0 receipt, signed on its own by `key` (as nodes made them before the log).
boost::json::object make_receipt_v0(const receipt_input& in, const node_key& key,
                                    bool with_data = true);

// The receipt's leaf data in the log: SHA-256 (32 raw bytes) of its canonical JSON without
// output.data, transparency, signature and public_key.
std::string receipt_leaf_data(const boost::json::value& receipt);

// A new v1 receipt as the node stores it: its leaf data (the SHA-256 of its canonical JSON
// without output.data) and the two hashes its row keeps beside the values it covers (raw 32
// bytes each: the output's, output.hash, and the question's, provenance.benchmark_hash).
struct logged_receipt {
  std::string leaf_data;
  std::string output_hash;
  std::string benchmark_hash;
};
logged_receipt receipt_for_log(const receipt_input& in, const std::string& key_id);
// The canonical JSON whose SHA-256 is that leaf data (the receipt as served, without output.data
// and transparency).
std::string canonical_receipt_for_log(const receipt_input& in, const std::string& key_id);

// Problems found in a receipt (empty: it verifies). A v1 receipt needs its transparency block
// (inclusion proof and signed head); a v0 receipt its signature. With a non-empty
// `trusted_public_key` (raw 32 bytes) the head (v1) or receipt (v0) must be signed by it; with
// `stored_output` (and with output.data when the receipt carries it) the output must be the one
// the receipt hashes.
std::vector<std::string> verify_receipt(const boost::json::value& receipt,
                                        const std::string& trusted_public_key,
                                        const boost::json::value* stored_output = nullptr);

}  // namespace beacon
