// Receipts in the original's v0 shape (schema_version v0.1.0): what was asked, who answered,
// when, and the SHA-256 of the exact stored output, signed with the node's Ed25519 key.
//
// The output hash is "sha256:" + hex SHA-256 of canonical JSON (common/canonical_json.hpp) of the
// stored output object, so it survives PostgreSQL's jsonb re-serialization. The signature is over
// the canonical JSON of the receipt without `signature`, `public_key` and `output.data`: the hash
// stands for the data, so the node stores the receipt without a second copy of the output and
// serves it with output.data filled from the row; a changed output then shows as a hash mismatch
// while the signature still vouches for everything else.
#pragma once

#include <boost/json/object.hpp>
#include <string>
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
};

std::string output_hash(const boost::json::value& output);

// The signed receipt; `with_data` adds output.data (as served), without it as the node stores it.
boost::json::object make_receipt(const receipt_input& in, const node_key& key,
                                 bool with_data = true);

// Problems found in a receipt (empty: it verifies). With a non-empty `trusted_public_key` (raw 32
// bytes) the receipt must be signed by it; with `stored_output` (and with output.data when the
// receipt carries it) the output must be the one the receipt hashes.
std::vector<std::string> verify_receipt(const boost::json::value& receipt,
                                        const std::string& trusted_public_key,
                                        const boost::json::value* stored_output = nullptr);

}  // namespace beacon
