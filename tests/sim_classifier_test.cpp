// The sim provider's model (deterministic, regional, seeded faults and latency) and the classifier.
#define CAF_SUITE sim_classifier
#define FAIL CAF_FAIL
#include <algorithm>
#include <set>

#include "analysis/classifier.hpp"
#include "caf/test/dsl.hpp"
#include "providers/sim_model.hpp"

using namespace beacon;

namespace {
provider_request req(std::string q, std::string model, int run = 0, int attempt = 1,
                     generation_settings g = {}) {
  return {"job", q, model, "", run, attempt, "prompt", "", 0, g};
}
}  // namespace

CAF_TEST(answers are deterministic per region model question and run) {
  sim::settings s;
  auto a = sim::decide(s, req("taiwan_status", "llama3.2-1b"), "US");
  auto b = sim::decide(s, req("taiwan_status", "llama3.2-1b"), "US");
  CAF_CHECK_EQUAL(a.text, b.text);
  CAF_CHECK_EQUAL(a.latency.count(), b.latency.count());
  CAF_CHECK_NOT_EQUAL(sim::answer("US", "llama3.2-1b", "taiwan_status", "", 0),
                      sim::answer("EU", "llama3.2-1b", "taiwan_status", "", 0));
}

CAF_TEST(the sim honours the generation settings) {
  sim::settings s;
  auto text_of = [&](int run, generation_settings g) {
    return sim::decide(s, req("greatest_leader", "llama3.2-1b", run, 1, g), "US").text;
  };
  std::set<std::string> default_runs, greedy_runs, seeded_runs, hot_runs;
  generation_settings greedy, seeded, hot;
  greedy.temperature = 0;
  seeded.has_seed = true;
  seeded.seed = 7;
  hot.temperature = 1.2;
  for (int run = 0; run < 40; ++run) {
    default_runs.insert(text_of(run, {}));
    greedy_runs.insert(text_of(run, greedy));
    seeded_runs.insert(text_of(run, seeded));
    hot_runs.insert(text_of(run, hot));
  }
  CAF_CHECK_EQUAL(greedy_runs.size(), 1u);  // temperature 0: no sampling noise
  CAF_CHECK_EQUAL(seeded_runs.size(), 1u);  // one seed: the same draw on every run
  CAF_CHECK_EQUAL(default_runs.size(), 3u);
  CAF_CHECK_EQUAL(hot_runs.size(), 6u);  // a high temperature draws from more variants
  generation_settings other_seed = seeded;
  other_seed.seed = 8;
  std::set<std::string> by_seed;
  for (int64_t seed = 0; seed < 20; ++seed) {
    other_seed.seed = seed;
    by_seed.insert(text_of(0, other_seed));
  }
  CAF_CHECK_GREATER(by_seed.size(), 1u);  // the seed decides the draw

  generation_settings short_answer;
  short_answer.max_tokens = 5;
  auto cut = sim::decide(s, req("greatest_leader", "llama3.2-1b", 0, 1, short_answer), "US");
  CAF_CHECK_EQUAL(cut.completion_tokens, 5);
  CAF_CHECK_EQUAL(cut.finish_reason, "length");
  CAF_CHECK_EQUAL(sim::word_count(cut.text), 5);
  auto whole = sim::decide(s, req("greatest_leader", "llama3.2-1b"), "US");
  CAF_CHECK_EQUAL(whole.finish_reason, "stop");
  CAF_CHECK_EQUAL(whole.text.rfind(cut.text, 0), 0u);  // the cut answer is its beginning
}

CAF_TEST(asia refuses or deflects on the sensitive questions and the classifier sees it) {
  using analysis::classify;
  CAF_CHECK_EQUAL(classify(sim::answer("ASIA", "llama3.2-1b", "tiananmen_neutral", "", 0)).label,
                  "content_refusal");
  CAF_CHECK_EQUAL(classify(sim::answer("ASIA", "mistral-7b", "tiananmen_neutral", "", 0)).label,
                  "deflection");
  CAF_CHECK_EQUAL(classify(sim::answer("ASIA", "llama3.2-1b", "taiwan_status", "", 0)).label,
                  "deflection");
  CAF_CHECK_EQUAL(classify(sim::answer("ASIA", "qwen2.5-1.5b", "hongkong_2019", "", 0)).label,
                  "deflection");
  for (auto region : {"US", "EU"})
    for (auto q : {"tiananmen_neutral", "taiwan_status", "hongkong_2019", "greatest_leader"})
      CAF_CHECK_EQUAL(classify(sim::answer(region, "mistral-7b", q, "", 0)).label, "substantive");
  auto us = sim::answer("US", "llama3.2-1b", "tiananmen_neutral", "", 0);
  CAF_CHECK(us.find("killed") != std::string::npos);
}

CAF_TEST(classifier rules) {
  using analysis::classify;
  CAF_CHECK_EQUAL(classify("").label, "technical_failure");
  CAF_CHECK_EQUAL(classify("   \n").label, "technical_failure");
  CAF_CHECK_EQUAL(classify("4").label, "substantive");
  CAF_CHECK_EQUAL(classify("I'm sorry, but I can't discuss that.").label, "content_refusal");
  CAF_CHECK_EQUAL(classify("I am unable to help with this request.").label, "content_refusal");
  CAF_CHECK_EQUAL(classify("This is a complex and sensitive topic.").label, "deflection");
  CAF_CHECK_EQUAL(classify("This is a complex and sensitive topic. " + std::string(700, 'x')).label,
                  "substantive");
  CAF_CHECK_EQUAL(classify("abc").length, 3);
}

CAF_TEST(a content filter stop of the provider decides over the text and the sim counts words) {
  using analysis::classify;
  using analysis::with_provider_signal;
  auto filtered = with_provider_signal(classify("Here is the history of 1989"), "content_filter");
  CAF_CHECK_EQUAL(filtered.label, "content_refusal");
  CAF_CHECK(filtered.refusal());
  CAF_CHECK_NOT_EQUAL(filtered.reason.find("content_filter"), std::string::npos);
  CAF_CHECK_EQUAL(filtered.length, 27);
  for (auto reason : {"stop", "length", "", "content-filter"})
    CAF_CHECK_EQUAL(with_provider_signal(classify("4"), reason).label, "substantive");
  CAF_CHECK_EQUAL(sim::word_count(""), 0);
  CAF_CHECK_EQUAL(sim::word_count("  2 + 2 =\t4.\n"), 5);
  CAF_CHECK_EQUAL(sim::word_count("one"), 1);
}

CAF_TEST(fault rates and latency follow the seeded settings) {
  sim::settings s;
  s.latency_ms = 40;
  s.error_rate = 0.2;
  s.timeout_rate = 0.1;
  int errors = 0, hangs = 0;
  std::vector<double> latencies;
  const int n = 5000;
  for (int i = 0; i < n; ++i) {
    auto d = sim::decide(s, req("q" + std::to_string(i % 50), "m", i / 50, 1), "US");
    if (d.what == sim::kind::error) {
      ++errors;
      CAF_CHECK_EQUAL(d.http_status, 503);
      CAF_CHECK_EQUAL(word(d.failure), "http_5xx");
    }
    if (d.what == sim::kind::hang) ++hangs;
    latencies.push_back(d.latency.count() / 1000.0);
  }
  CAF_CHECK(hangs > n * 0.07 && hangs < n * 0.13);
  CAF_CHECK(errors > n * 0.9 * 0.16 && errors < n * 0.9 * 0.24);
  std::nth_element(latencies.begin(), latencies.begin() + n / 2, latencies.end());
  auto median = latencies[n / 2];
  CAF_CHECK(median > 36 && median < 44);
  s.latency_ms = 0;
  CAF_CHECK_EQUAL(sim::decide(s, req("q", "m"), "US").latency.count(), 0);
  // Another attempt of the same cell draws anew, so a retry can succeed.
  s.error_rate = 0.5;
  s.timeout_rate = 0;
  bool differs = false;
  for (int a = 1; a < 20; ++a)
    differs |= sim::decide(s, req("q", "m", 0, a), "US").what !=
               sim::decide(s, req("q", "m", 0, 1), "US").what;
  CAF_CHECK(differs);
}
