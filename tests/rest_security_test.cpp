// Security and limits of the REST API over loopback: JobSpecs signed as the portal signs them
// (a spec signed by JavaScript verifies; one changed byte does not), trusted keys, the timestamp
// window and nonce replays, Idempotency-Key, the bearer token and the per-client rate limit.
// Every refusal is a JSON error and stores nothing.
#define CAF_SUITE rest_security
#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "app/node.hpp"
#include "caf/test/dsl.hpp"
#include "common/clock.hpp"
#include "common/crypto.hpp"
#include "domain/spec_signature.hpp"
#include "tests/harness.hpp"
#include "tests/http_client.hpp"
#include "tests/rest_node.hpp"

using namespace beacon;
using namespace beacon::test;

namespace {

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Signs `spec` with `key` the portal's way (the canonical form is checked against JavaScript's
// output in the first test).
std::string signed_body(boost::json::object spec, const crypto::ed25519_keypair& key) {
  spec["public_key"] = crypto::base64_encode(key.public_key);
  auto sig = crypto::ed25519_sign(signing_payload(spec), key.secret_key);
  spec["signature"] = crypto::base64_encode(sig);
  return boost::json::serialize(spec);
}

boost::json::object spec_object(const std::string& id, const std::string& nonce,
                                int64_t timestamp_us) {
  auto spec = boost::json::parse(job_json(id, {"math_basic"}, {"llama3.2-1b"}, {"US"})).as_object();
  auto& meta = spec["metadata"].as_object();
  if (!nonce.empty()) meta["nonce"] = nonce;
  if (timestamp_us > 0) meta["timestamp"] = format_rfc3339(timestamp_us);
  return spec;
}

struct fixture : rest_node {
  int64_t stored() {
    return query_int(url,
                     "SELECT (SELECT count(*) FROM jobs) + (SELECT count(*) FROM executions)"
                     " + (SELECT count(*) FROM signature_nonces)"
                     " + (SELECT count(*) FROM idempotency_keys)");
  }

  // POSTs `body`; expects `status` and (for errors) `code`, with nothing stored on error.
  boost::json::object post(const std::string& body, unsigned status, const std::string& code = "",
                           const std::map<std::string, std::string>& headers = {},
                           const std::string& path = "/api/v1/jobs") {
    auto before = stored();
    auto r = http_call(port, "POST", path, body, "application/json", headers);
    CAF_CHECK_EQUAL(r.status, status);
    auto j = boost::json::parse(r.body).as_object();
    if (!code.empty()) {
      auto got = std::string(j["error_code"].as_string());
      CAF_CHECK_EQUAL(got, code);
      CAF_CHECK(!j["error"].as_string().empty());
      auto after = stored();
      CAF_CHECK_EQUAL(after, before);
    }
    return j;
  }
};

}  // namespace

CAF_TEST_FIXTURE_SCOPE(rest_security_tests, fixture)

CAF_TEST(a spec signed by the portal code verifies and one changed byte does not ) {
  start({});
  auto fixture_json = boost::json::parse(read_text(std::string(BEACON_SOURCE_DIR) +
                                                   "/tests/data/portal_signed_spec.json"))
                          .as_object();
  auto spec = fixture_json["spec"].as_object();
  // Our canonical bytes are exactly json-stable-stringify's (unicode, escapes, 6e11, 1e21, 1.5e-7).
  auto ours = signing_payload(spec);
  auto theirs = std::string(fixture_json["canonical"].as_string());
  CAF_CHECK_EQUAL(ours, theirs);
  auto body = boost::json::serialize(spec);
  auto ok = post(body, 202);
  CAF_CHECK_EQUAL(ok["id"].as_string(), "bias-detection-1767225600000");
  // One byte of a signed field changed (under a new id): the signature no longer matches.
  auto tampered = spec;
  tampered["id"] = "tampered-1";
  tampered["metadata"].as_object()["wallet_address"] = "0xabd";
  post(boost::json::serialize(tampered), 400, "signature_mismatch");
  // The id is not signed, but the nonce is: the same signed spec under a new id is a replay.
  auto replay = spec;
  replay["id"] = "replayed-1";
  post(boost::json::serialize(replay), 409, "replay_detected");
  // A malformed key or signature is named as such.
  auto bad_key = spec;
  bad_key["id"] = "bad-key";
  bad_key["public_key"] = "not base64!";
  post(boost::json::serialize(bad_key), 400, "invalid_encoding:public_key");
  auto half = spec;
  half["id"] = "half";
  half.erase("signature");
  post(boost::json::serialize(half), 400, "missing_field:signature");
}

CAF_TEST(trusted keys the timestamp window and nonces are enforced) {
  auto trusted = crypto::ed25519_generate();
  auto revoked = crypto::ed25519_generate();
  auto stranger = crypto::ed25519_generate();
  auto keys_file = std::filesystem::temp_directory_path() /
                   ("beacon-keys-" + std::to_string(::getpid()) + ".json");
  {
    boost::json::array keys{{{"kid", "portal-1"},
                             {"public_key", crypto::base64_encode(trusted.public_key)},
                             {"status", "active"}},
                            {{"kid", "old"},
                             {"public_key", crypto::base64_encode(revoked.public_key)},
                             {"status", "revoked"}}};
    std::ofstream(keys_file) << boost::json::serialize(keys);
  }
  node_config cfg;
  cfg.trusted_keys_file = keys_file.string();
  cfg.signature_window_s = 300;
  start(cfg);
  auto now = now_us();
  post(job_json("unsigned", {"math_basic"}, {"llama3.2-1b"}, {"US"}), 401,
       "missing_field:signature");
  post(signed_body(spec_object("s1", "n1", now), stranger), 403, "trust_violation:untrusted_key");
  post(signed_body(spec_object("s2", "n2", now), revoked), 403, "trust_violation:key_revoked");
  post(signed_body(spec_object("s3", "n3", 0), trusted), 400, "missing_field:metadata.timestamp");
  post(signed_body(spec_object("s4", "n4", now - 600'000'000), trusted), 400,
       "trust_violation:timestamp_skew");
  post(signed_body(spec_object("s5", "", now), trusted), 400, "missing_field:metadata.nonce");
  post(signed_body(spec_object("good", "n6", now), trusted), 202);
  post(signed_body(spec_object("good-again", "n6", now), trusted), 409, "replay_detected");
  // The portal's wrapper: the inner spec is verified as signed, before the wrapper applies.
  boost::json::object wrapper{
      {"jobspec", boost::json::parse(signed_body(spec_object("wrapped", "n7", now), trusted))},
      {"target_regions", boost::json::array{"US"}},
      {"min_regions", 1}};
  auto accepted = post(boost::json::serialize(wrapper), 202, "", {}, "/api/v1/jobs/cross-region");
  CAF_CHECK_EQUAL(accepted["status"].as_string(), "submitted");
  std::filesystem::remove(keys_file);
}

CAF_TEST(a zero success rate added to a signed spec reads as the default) {
  start({});
  auto key = crypto::ed25519_generate();
  auto spec = spec_object("loose", "n-loose", now_us());
  spec["constraints"].as_object().erase("min_success_rate");
  auto body = boost::json::parse(signed_body(spec, key)).as_object();
  // The signature does not cover a zero rate, so the signature still verifies ...
  body["constraints"].as_object()["min_success_rate"] = 0;
  post(boost::json::serialize(body), 202);
  // ... but the job keeps the default rule, not "any success rate".
  CAF_CHECK_EQUAL(query_column(url, "SELECT min_success_rate::text FROM jobs WHERE id = 'loose'"),
                  std::vector<std::string>{"0.67"});
}

CAF_TEST(a timestamp far outside any clock is refused naming the field) {
  start({});
  auto key = crypto::ed25519_generate();
  auto far = spec_object("far", "n-far", 0);
  // now + 2^64 / 1000 ms: microseconds would overflow int64.
  far["metadata"].as_object()["timestamp"] = now_us() / 1000 + 18'446'744'073'709'551;
  auto refused = post(signed_body(far, key), 400, "invalid_field:metadata.timestamp");
  CAF_CHECK_EQUAL(refused["field"].as_string(), "metadata.timestamp");
  auto old =
      post(signed_body(spec_object("old", "n-old", now_us() - 3'600'000'000LL * 24 * 365), key),
           400, "trust_violation:timestamp_skew");
  CAF_CHECK_EQUAL(old["field"].as_string(), "metadata.timestamp");
}

CAF_TEST(an idempotency key answers the first job) {
  start({});
  auto body = job_json("idem-1", {"math_basic"}, {"llama3.2-1b"}, {"US"});
  std::map<std::string, std::string> key{{"Idempotency-Key", "k-123"}};
  auto first = post(body, 202, "", key);
  CAF_CHECK_EQUAL(first["id"].as_string(), "idem-1");
  auto again = post(body, 200, "", key);
  CAF_CHECK_EQUAL(again["id"].as_string(), "idem-1");
  CAF_CHECK_EQUAL(again["idempotent"].as_bool(), true);
  post(job_json("idem-2", {"math_basic"}, {"llama3.2-1b"}, {"US"}), 422, "idempotency_key_reused",
       key);
  CAF_CHECK_EQUAL(query_int(url, "SELECT count(*) FROM jobs"), 1);
}

CAF_TEST(write routes need the bearer token when one is set) {
  node_config cfg;
  cfg.api_token = "s3cret";
  start(cfg);
  auto body = job_json("tok-1", {"math_basic"}, {"llama3.2-1b"}, {"US"});
  post(body, 401, "unauthorized");
  post(body, 401, "unauthorized", {{"Authorization", "Bearer wrong"}});
  post(body, 401, "unauthorized", {{"Authorization", "Bearer s3cre"}});    // a prefix of it
  post(body, 401, "unauthorized", {{"Authorization", "Bearer s3cretX"}});  // longer
  post(body, 202, "", {{"Authorization", "Bearer s3cret"}});
  // The scheme is case-insensitive (RFC 9110); the token is not.
  post(job_json("tok-2", {"math_basic"}, {"llama3.2-1b"}, {"US"}), 202, "",
       {{"Authorization", "bearer s3cret"}});
  post(job_json("tok-3", {"math_basic"}, {"llama3.2-1b"}, {"US"}), 401, "unauthorized",
       {{"Authorization", "Bearer S3CRET"}});
  auto read = http_call(port, "GET", "/api/v1/jobs/tok-1");
  CAF_CHECK_EQUAL(read.status, 200u);
  auto cancel = http_call(port, "POST", "/api/v1/jobs/tok-1/cancel", "{}");
  CAF_CHECK_EQUAL(cancel.status, 401u);
  CAF_CHECK_EQUAL(cancel.headers["www-authenticate"], "Bearer");
}

CAF_TEST(a client over the rate limit gets 429 with retry after) {
  node_config cfg;
  cfg.rate_limit_per_minute = 60;
  start(cfg);
  int ok = 0;
  http_reply last;
  for (int i = 0; i < 61; ++i) {
    last = http_call(port, "GET", "/health/live");
    ok += last.status == 200;
  }
  CAF_CHECK_EQUAL(ok, 60);
  CAF_CHECK_EQUAL(last.status, 429u);
  auto j = boost::json::parse(last.body).as_object();
  CAF_CHECK_EQUAL(j["error_code"].as_string(), "rate_limit_exceeded");
  CAF_CHECK(std::stoi(last.headers["retry-after"]) >= 1);
}

CAF_TEST_FIXTURE_SCOPE_END()
