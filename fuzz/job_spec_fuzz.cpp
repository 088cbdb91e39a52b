// libFuzzer harness: any bytes as a JobSpec body. The parser never throws, a spec it accepts is
// within the limits and its stored form parses again to the same job (a resumed job re-reads
// it), and the signature payload and check never throw on any JSON object.
#include <boost/json.hpp>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <variant>

#include "common/json_exact.hpp"
#include "domain/job_spec.hpp"
#include "domain/spec_signature.hpp"

namespace {

// A broken invariant: libFuzzer records the input that did it.
void require(bool ok) {
  if (!ok) std::abort();
}

void check_spec(std::string_view body) {
  beacon::spec_limits limits;
  auto parsed = beacon::parse_job_spec(body, limits);
  auto* spec = std::get_if<beacon::job_spec>(&parsed);
  if (!spec) {
    require(!std::get<beacon::spec_error>(parsed).message.empty());
    return;
  }
  require(spec->total_cells() > 0 && spec->total_cells() <= limits.max_cells);
  require(spec->min_success_rate >= 0 && spec->min_success_rate <= 1);
  auto again = beacon::parse_job_spec(spec->json, limits);
  auto* stored = std::get_if<beacon::job_spec>(&again);
  require(stored != nullptr);
  require(stored->id == spec->id && stored->models == spec->models &&
          stored->regions == spec->regions && stored->runs == spec->runs &&
          stored->questions.size() == spec->questions.size() &&
          stored->total_cells() == spec->total_cells());
}

void check_signature(std::string_view body) {
  auto v = beacon::parse_json_exact(body);  // as admission reads a body
  if (!v || !v->is_object()) return;
  auto& spec = v->as_object();
  (void)beacon::signing_payload(spec);
  beacon::signature_policy policy;
  policy.require = true;
  auto checked = beacon::check_signature(spec, policy, 1'764'000'000'000'000);
  require(checked.status == 0 || !checked.error_code.empty());
  beacon::erase_zero_success_rate(spec);
  (void)beacon::signing_payload(spec);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  check_spec(body);
  check_signature(body);
  return 0;
}
