// The job verdict without a database: the success-rate and region rules, their edges, and
// cancellation, each with the reason a person reads.
#define CAF_SUITE verdict
#include "domain/verdict.hpp"

#include "caf/test/dsl.hpp"
#include "tests/harness.hpp"

using namespace beacon;

CAF_TEST(a job completes at exactly the required success rate) {
  auto v = decide_verdict({3, 2, 2, 2.0 / 3.0, 1, false});
  CAF_CHECK_EQUAL(word(v.status), "completed");
  CAF_CHECK_EQUAL(v.reason,
                  "2 of 3 cells completed (success rate 0.667), 2 region(s) with a success");
  CAF_CHECK_EQUAL(word(decide_verdict({100, 67, 3, 0.67, 1, false}).status), "completed");
}

CAF_TEST(a job below the success rate fails and says why) {
  auto v = decide_verdict({100, 66, 3, 0.67, 1, false});
  CAF_CHECK_EQUAL(word(v.status), "failed");
  CAF_CHECK_NOT_EQUAL(v.reason.find("below the required success rate 0.670"), std::string::npos);
}

CAF_TEST(a job with too few successful regions fails) {
  auto v = decide_verdict({6, 6, 1, 0.5, 2, false});
  CAF_CHECK_EQUAL(word(v.status), "failed");
  CAF_CHECK_NOT_EQUAL(v.reason.find("2 region(s) required"), std::string::npos);
  CAF_CHECK_EQUAL(word(decide_verdict({6, 6, 2, 0.5, 2, false}).status), "completed");
}

CAF_TEST(min success rate zero accepts any job with enough regions) {
  CAF_CHECK_EQUAL(word(decide_verdict({10, 0, 0, 0, 0, false}).status), "completed");
  CAF_CHECK_EQUAL(word(decide_verdict({10, 0, 0, 0, 1, false}).status), "failed");
}

CAF_TEST(a cancelled job ends cancelled whatever its counts) {
  auto v = decide_verdict({10, 10, 3, 0.67, 1, true});
  CAF_CHECK_EQUAL(word(v.status), "cancelled");
  CAF_CHECK_EQUAL(v.reason.rfind("cancelled by request; 10 of 10 cells completed", 0), 0u);
}

CAF_TEST(an empty job fails rather than divide by zero) {
  CAF_CHECK_EQUAL(word(decide_verdict({0, 0, 0, 0.67, 1, false}).status), "failed");
}
