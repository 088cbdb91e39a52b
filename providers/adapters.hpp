// Protocol adapters: pure request builders and response parsers for the wire protocols the
// runner speaks. No I/O here; the HTTP provider actor sends what these build.
//   openai        POST {base}/v1/chat/completions (vLLM, llama.cpp server, Ollama /v1, hosted APIs)
//   ollama        POST {base}/api/chat (Ollama native)
//   beacon_router POST {base}/inference (the Beacon hybrid router: always HTTP 200, success flag)
//   modal         POST {base} (a Beacon Modal endpoint: {success, response, region, receipt})
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "domain/error_class.hpp"
#include "domain/job_spec.hpp"

namespace beacon::providers {

enum class protocol { openai, ollama, beacon_router, modal };

std::optional<protocol> parse_protocol(std::string_view name);
std::string_view to_string(protocol p);

// What one attempt asks for.
struct call_input {
  std::string model;
  std::string prompt;
  std::string system_prompt;
  std::string region;  // canonical region of the cell (US, EU, ASIA, ...)
  generation_settings generation;
};

struct wire_request {
  std::string path;  // appended to the provider's base URL
  std::string body;  // JSON
};

// The request of one attempt, with the generation settings in the protocol's terms: openai
// temperature, max_tokens, top_p, seed; ollama options.temperature, num_predict, top_p, seed;
// beacon_router and modal temperature and max_tokens only (their contracts have no top_p or seed).
wire_request build_request(protocol p, const call_input& in);

// The settings `g` sets that protocol `p` cannot carry, comma-separated ("" when all are sent):
// recorded on the cell's row, so nothing is dropped silently.
std::string unsent_settings(protocol p, const generation_settings& g);

// The URL a health check GETs: openai {base}/v1/models, ollama {base}/api/tags, beacon_router
// {base}/health, modal the endpoint with "-inference" replaced by "-health" (as Beacon's router
// does), or {base}/health when the URL has no "-inference".
std::string health_url(protocol p, const std::string& base_url);

// Whether a health check's 2xx body says healthy: a JSON object whose "status" is not one of
// healthy/ok/up/alive/ready fails it; any other body passes.
bool health_body_ok(std::string_view body);

// A parsed answer or failure.
struct parsed_reply {
  bool ok = false;
  std::string text;
  error_class failure = error_class::none;
  std::string error_message;
  std::string served_by;      // provider the far side says served it (router provider_used)
  std::string served_region;  // region the far side reports, canonicalised; empty if none
  std::string model;          // model the far side reports
  // Usage as the far side reports it (-1: it did not say; never estimated here) and why the
  // generation stopped (stop, length, content_filter, ...; empty: not said).
  int64_t prompt_tokens = -1;
  int64_t completion_tokens = -1;
  std::string finish_reason;
};

// Interprets an HTTP reply. Status classes come first (3xx redirect, 429 rate_limited, other 4xx,
// 5xx); a 2xx body that does not parse is bad_response; a well-formed failure in the body (router
// success:false, an error object) is provider_error carrying the far side's code and message.
parsed_reply parse_response(protocol p, long http_status, std::string_view body);

// A Retry-After header in milliseconds: delay-seconds or an HTTP-date (relative to now),
// clamped to one hour; 0 when it cannot be read.
int64_t retry_after_ms(std::string_view header);

}  // namespace beacon::providers
