// Signatures exactly as the portal computes them: canonical JSON reproduces JavaScript byte for
// byte. 100,000 JobSpecs signed by the portal's own canonicaliser (node, tests/data/
// portal_sign_many.mjs) with random doubles of every magnitude, integers beyond 2^53, -0,
// numbers in other textual forms and unicode strings and keys, each verified; numbers written
// as JavaScript writes them; numbers read exactly (never Infinity or NaN).
#define CAF_SUITE portal_signatures
#include <boost/json.hpp>
#include <cstdio>
#include <fstream>

#include "caf/test/dsl.hpp"
#include "common/canonical_json.hpp"
#include "common/clock.hpp"
#include "common/json_exact.hpp"
#include "domain/spec_signature.hpp"
#include "tests/harness.hpp"

using namespace beacon;

namespace {

// Runs the portal's canonicaliser in node and returns its output lines.
std::vector<std::string> portal_signed_specs(int count) {
  auto out = "/tmp/beacon-portal-specs-" + std::to_string(getpid()) + ".jsonl";
  auto cmd = "node " + std::string(BEACON_SOURCE_DIR) + "/tests/data/portal_sign_many.mjs " +
             std::to_string(count) + " > " + out;
  CAF_REQUIRE_EQUAL(std::system(cmd.c_str()), 0);
  std::ifstream in(out);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(std::move(line));
  std::remove(out.c_str());
  return lines;
}

std::string exact(const char* text) {
  auto v = parse_json_exact(text);
  return v ? canonical_json(*v) : "<error>";
}

}  // namespace

CAF_TEST(numbers are written as javascript writes them) {
  CAF_CHECK_EQUAL(js_number(0.1), "0.1");
  CAF_CHECK_EQUAL(js_number(-0.0), "0");
  CAF_CHECK_EQUAL(js_number(6e11), "600000000000");
  CAF_CHECK_EQUAL(js_number(1e21), "1e+21");
  CAF_CHECK_EQUAL(js_number(1e-7), "1e-7");
  CAF_CHECK_EQUAL(js_number(1.5e-7), "1.5e-7");
  CAF_CHECK_EQUAL(js_number(0.000001), "0.000001");
  CAF_CHECK_EQUAL(js_number(123456789012345680000.0), "123456789012345680000");
  CAF_CHECK_EQUAL(js_number(5e-324), "5e-324");
  CAF_CHECK_EQUAL(js_number(1.7976931348623157e308), "1.7976931348623157e+308");
  CAF_CHECK_EQUAL(js_number(0.67), "0.67");
  CAF_CHECK_EQUAL(js_number(2.0 / 3.0), "0.6666666666666666");
}

CAF_TEST(numbers are read exactly) {
  // Values Boost.JSON 1.81 reads to a neighbouring double.
  CAF_CHECK_EQUAL(exact("[0.8475318886097766]"), "[0.8475318886097766]");
  CAF_CHECK_EQUAL(exact("[2.2250738585072011e-308]"), "[2.225073858507201e-308]");
  CAF_CHECK_EQUAL(exact("[9007199254740993]"), "[9007199254740992]");
  CAF_CHECK_EQUAL(exact("[18446744073709551615]"), "[18446744073709552000]");
  CAF_CHECK_EQUAL(exact("[123456789012345678901234567890]"), "[1.2345678901234568e+29]");
  CAF_CHECK_EQUAL(exact("[-0, -0.0, 0e400, 1e-400, 6E11, 1E+2, 0.10]"),
                  "[0,0,0,0,600000000000,100,0.1]");
  std::string error;
  CAF_CHECK(!parse_json_exact("[1e999]", &error));
  CAF_CHECK_NOT_EQUAL(error.find("range"), std::string::npos);
  CAF_CHECK(!parse_json_exact("{\"a\": -1e400}"));
  CAF_CHECK(!parse_json_exact("[1,]"));
  CAF_CHECK(!parse_json_exact("[1] x"));
  auto nested = parse_json_exact(R"({"b":[1,{"c":"\u00e9\ud83d\ude00"}],"a":null})");
  CAF_REQUIRE(nested);
  CAF_CHECK_EQUAL(canonical_json(*nested), "{\"a\":null,\"b\":[1,{\"c\":\"é😀\"}]}");
}

CAF_TEST(a hundred thousand portal signatures verify) {
  auto lines = portal_signed_specs(100000);
  CAF_REQUIRE_EQUAL(lines.size(), 100000u);
  signature_policy open;
  size_t verified = 0, shown = 0;
  auto now = now_us();
  for (auto& line : lines) {
    auto spec = parse_json_exact(line);
    CAF_REQUIRE(spec && spec->is_object());
    auto check = check_signature(spec->as_object(), open, now);
    if (check.status == 0 && check.is_signed) {
      ++verified;
    } else if (shown++ < 5) {
      CAF_MESSAGE("refused (" << check.error_code << "): " << line.substr(0, 300)
                              << "\ncanonical: " << signing_payload(spec->as_object()));
    }
  }
  CAF_CHECK_EQUAL(verified, 100000u);
  // One changed number changes what is signed.
  auto tampered = lines.front();
  auto at = tampered.find("\"min_regions\":1");
  CAF_REQUIRE_NOT_EQUAL(at, std::string::npos);
  tampered.replace(at, 15, "\"min_regions\":2");
  auto spec = parse_json_exact(tampered);
  CAF_CHECK_EQUAL(check_signature(spec->as_object(), open, now).error_code, "signature_mismatch");
}
