// The HTTP CLIENT: one libcurl multi loop on its own thread, shared by every HTTP provider.
// Thousands of concurrent transfers without a thread each, keep-alive connection reuse, TLS,
// connect and total timeouts per transfer, a response body cap, cancellation. Completion
// callbacks run on the client's thread: they should only hand the outcome to an actor.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "domain/error_class.hpp"

namespace beacon::providers {

struct http_call {
  std::string url;
  std::string body;                  // POSTed; empty means GET
  std::vector<std::string> headers;  // "Name: value"
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds total_timeout{300'000};
  size_t max_body = 4 << 20;
  std::string ca_file;  // PEM bundle to verify the server with (empty: the system's)
};

struct http_outcome {
  long status = 0;  // HTTP status; 0 when no response arrived
  std::string body;
  error_class failure = error_class::none;  // transport: timeout, connect_error, bad_response, ...
  std::string error_message;                // empty when a response arrived
  std::string retry_after;                  // the Retry-After header, if any
  double elapsed_ms = 0;
};

class http_client {
 public:
  using callback = std::function<void(http_outcome)>;

  // `max_idle`: open connections kept for reuse (keep-alive cache, all hosts).
  explicit http_client(size_t max_idle = 8192);
  ~http_client();
  http_client(const http_client&) = delete;
  http_client& operator=(const http_client&) = delete;

  // Starts a transfer; `done` runs exactly once. Thread-safe. Returns an id for cancel().
  uint64_t submit(http_call call, callback done);
  // Aborts a transfer; its callback gets error_class "cancelled". Thread-safe; unknown ids are
  // ignored (the transfer may have finished).
  void cancel(uint64_t id);
  // Transfers submitted and not finished yet.
  size_t active() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace beacon::providers
