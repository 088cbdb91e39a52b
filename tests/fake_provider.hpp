// A FAULT-INJECTING PROVIDER for tests: a loopback HTTP/1.1 server (its own I/O thread, keep-alive)
// that speaks the provider protocols (POST /v1/chat/completions OpenAI, /api/chat Ollama,
// /inference Beacon router, any other POST path Beacon Modal; GET health paths) and answers each
// request as its plan says: after a latency, a correct answer, or one of the faults below.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace beacon::test {

enum class fault {
  none,          // a correct answer for the path's protocol
  rate_limited,  // 429 with Retry-After: retry_after_s
  status_400,    // a deterministic client error
  status_500,
  status_502,
  status_503,
  see_other,       // 303 with a Location (the serverless overload signal)
  reset_mid_body,  // headers and half the body, then a TCP reset
  hang,            // reads the request, never answers, keeps the connection open
  malformed_json,  // 200 with a truncated JSON body
  oversize,        // 200 with a body of body_bytes
  trickle,         // 200, the body one byte per trickle_every
  router_failure,  // the router's HTTP 200 with success:false and an error_code
  // 200 from an OpenAI endpoint whose content filter stopped the answer: a partial text,
  // finish_reason content_filter and usage {prompt_tokens 12, completion_tokens 4}
  content_filtered,
};

struct fault_step {
  fault kind = fault::none;
  std::chrono::milliseconds delay{0};  // before the answer starts
  int retry_after_s = 1;
  size_t body_bytes = 1 << 20;
  std::chrono::milliseconds trickle_every{50};
};

// What the plan sees of a request.
struct seen_request {
  size_t index = 0;  // 0-based over all requests
  std::string method;
  std::string path;
  std::string body;
  size_t concurrent = 0;  // chat requests being answered now, this one included
  bool health() const { return method == "GET"; }
};

class fake_provider {
 public:
  using plan = std::function<fault_step(const seen_request&)>;

  // Answers as a deployment of `region` (reported by the router and Modal shapes).
  explicit fake_provider(std::string region, plan p = {});
  ~fake_provider();
  fake_provider(const fake_provider&) = delete;
  fake_provider& operator=(const fake_provider&) = delete;

  std::string url() const;  // http://127.0.0.1:<port>
  void set_plan(plan p);
  // Requests received: all, or those whose path starts with `prefix`.
  size_t requests(const std::string& prefix = "") const;
  size_t peak_concurrent() const;

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

// Every request (health checks included) gets `step`.
fake_provider::plan always(fault_step step);
// Chat requests get `step` while fewer than `n` have been answered with it; health checks and
// the rest are answered correctly.
fake_provider::plan first_calls(size_t n, fault_step step);

}  // namespace beacon::test
