// The job verdict without a database: the success-rate and region rules, their edges, and
// cancellation, each with the reason a person reads; and the cost policy a budget rests on
// (answer costs, worst cases, the price book and the budget ledger).
#define CAF_SUITE verdict
#include "domain/verdict.hpp"

#include <cmath>

#include "caf/test/dsl.hpp"
#include "domain/pricing.hpp"
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

CAF_TEST(a job its budget stopped fails with the reason budget_exhausted) {
  auto v = decide_verdict({10, 9, 2, 0.5, 1, false, true});
  CAF_CHECK(v.status == job_status::failed);
  CAF_CHECK_EQUAL(v.reason.rfind("budget_exhausted: ", 0), 0u);
  CAF_CHECK(v.reason.find("9 of 10 cells completed") != std::string::npos);
  auto cancelled = decide_verdict({10, 9, 2, 0.5, 1, true, true});
  CAF_CHECK(cancelled.status == job_status::cancelled);  // a cancel by request decides
}

CAF_TEST(an answer costs its reported tokens at the prices and nothing is guessed) {
  model_price p{2.5, 10};  // per million tokens
  CAF_CHECK_EQUAL(answer_cost(p, 1'000'000, 0), 2.5);
  CAF_CHECK_EQUAL(answer_cost(p, 400'000, 100'000), 2.0);
  CAF_CHECK_EQUAL(answer_cost(p, -1, 10), -1);  // usage not reported: unknown, not estimated
  CAF_CHECK_EQUAL(answer_cost(p, 10, -1), -1);
  // The worst case counts every prompt byte as a token, plus the template, and max_tokens.
  CAF_CHECK_EQUAL(prompt_token_bound(100), 164);
  CAF_CHECK_EQUAL(attempt_cost_bound({1e6, 2e6}, 100, 500), 164 + 2 * 500);
}

CAF_TEST(the price book finds the dearest provider of a region and the unpriced ones) {
  price_list cheap{true, "USD", {1e6, 1e6}, {}};
  price_list dear{true, "USD", {1e6, 1e6}, {{"big", {3e6, 3e6}}}};
  price_book book;
  book.add("a", "US", {"small", "big"}, cheap);
  book.add("b", "US", {"big"}, dear);
  book.add("c", "EU", {"small"}, {});
  CAF_CHECK_EQUAL(book.currency(), "USD");
  auto bound = [&](const char* model, const char* region) {
    return book.attempt_bound(model, region, 36, 100).value_or(-1);
  };
  CAF_CHECK_EQUAL(bound("small", "US"), 100 + 100);
  CAF_CHECK_EQUAL(bound("big", "US"), 3 * (100 + 100));
  CAF_CHECK(!book.attempt_bound("small", "EU", 36, 100));  // c has no price
  CAF_CHECK_EQUAL(book.unpriced_provider("small", "EU"), "c");
  CAF_CHECK_EQUAL(book.unpriced_provider("big", "US"), "");
  CAF_CHECK_EQUAL(bound("small", "ASIA"), 0);  // nobody serves it
}

CAF_TEST(the budget ledger dispatches only what fits and closes at the first cell that does not ) {
  budget_ledger ledger(10, 1);  // 1 spent before a restart
  CAF_CHECK(ledger.try_reserve(1, 4));
  CAF_CHECK(ledger.try_reserve(2, 5));  // 1 + 4 + 5 = 10: exactly the limit fits
  CAF_CHECK_EQUAL(ledger.read().reserved, 9);
  ledger.settle(1, 0.5);  // cheaper than its worst case: the difference is free again
  CAF_CHECK_EQUAL(ledger.read().spent, 1.5);
  CAF_CHECK_EQUAL(ledger.read().reserved, 5);
  CAF_CHECK(!ledger.try_reserve(3, 4));  // 1.5 + 5 + 4 > 10
  CAF_CHECK(ledger.read().closed);
  CAF_CHECK(!ledger.try_reserve(4, 0.1));  // closed: nothing is dispatched after it
  ledger.forfeit(2);                       // its actor died: the hold stays charged
  CAF_CHECK_EQUAL(ledger.read().spent, 6.5);
  CAF_CHECK_EQUAL(ledger.read().reserved, 0);
  ledger.settle(2, 3);  // a second release of the same cell adds only its charge
  CAF_CHECK_EQUAL(ledger.read().spent, 9.5);
  budget_ledger unpriced(10, 0);
  CAF_CHECK(!unpriced.try_reserve(1, std::numeric_limits<double>::infinity()));
}
