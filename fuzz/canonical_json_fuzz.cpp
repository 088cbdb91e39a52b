// libFuzzer harness: any bytes that parse as JSON (with the exact-number parser every spec goes
// through). Canonical JSON is a fixed point (parse -> canonical -> parse -> canonical gives the
// same bytes), and the REST API's compact form parses back to the same canonical form.
#include <boost/json.hpp>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/canonical_json.hpp"
#include "common/json_exact.hpp"

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

boost::json::value reparse(const std::string& text) {
  auto v = beacon::parse_json_exact(text);
  require(v.has_value());  // what we write is always JSON
  return *v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto v = beacon::parse_json_exact(text);
  if (!v) return 0;
  auto canonical = beacon::canonical_json(*v);
  require(beacon::canonical_json(reparse(canonical)) == canonical);
  require(beacon::canonical_json(reparse(beacon::json_text(*v))) == canonical);
  return 0;
}
