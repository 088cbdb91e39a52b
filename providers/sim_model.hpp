// The simulated provider's behaviour as pure functions: deterministic, region-dependent answers
// per (region, model, question, run), a seeded latency distribution and seeded fault rates.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "domain/pricing.hpp"
#include "messages/types.hpp"

namespace beacon::sim {

struct settings {
  double latency_ms = 40;      // median latency of an answer; 0 answers at once
  double latency_sigma = 0.5;  // log-normal spread
  double error_rate = 0;       // share of attempts answered with a transient 503
  double timeout_rate = 0;     // share of attempts that never answer
  uint64_t seed = 42;
  size_t max_concurrency = 64;  // calls a deployment serves at once; more wait in its queue
  price_list prices;            // what its answers cost (unpriced: unknown)
};

enum class kind { answer, error, hang };

struct decision {
  kind what = kind::answer;
  std::string text;
  error_class failure = error_class::none;
  std::string error_message;
  int32_t http_status = 200;
  std::chrono::microseconds latency{0};
  // An answer's usage as the sim reports it: it counts words as its tokens (the system prompt
  // and prompt it was given; the answer).
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  std::string finish_reason = "stop";  // "length" when max_tokens cut the answer
};

// Words (runs of non-space characters) in `text`: the sim's token count.
int64_t word_count(std::string_view text);

// What the sim deployment in `region` does with one attempt.
decision decide(const settings& s, const provider_request& req, std::string_view region);

// The answer text of a model deployed in `region`; deterministic. Its sampling noise (a closing
// sentence) follows the generation settings: none at temperature 0; otherwise drawn from the
// seed when one is set (the same for every run), else from the run; a temperature of 1 or more
// draws from twice as many variants.
std::string answer(std::string_view region, std::string_view model, std::string_view question_id,
                   std::string_view prompt, int32_t run, const generation_settings& g = {});

// The first `max_words` words of `text` (whitespace kept between them); `cut` says whether
// anything was left out.
std::string first_words(std::string_view text, int64_t max_words, bool& cut);

}  // namespace beacon::sim
