// A test client for server-sent events: opens GET <target> on loopback (optionally with
// Last-Event-ID and other headers) and collects parsed events until a predicate holds or time runs
// out.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "http/sse.hpp"

namespace beacon::test {

using http::sse_event;

struct sse_result {
  std::string head;  // status line and headers
  std::vector<sse_event> events;
};

// Reads until `done(events)` is true or `limit` passes; the connection closes on return.
sse_result sse_read(uint16_t port, const std::string& target, const std::string& last_id,
                    std::function<bool(const std::vector<sse_event>&)> done,
                    std::chrono::milliseconds limit = std::chrono::seconds(10),
                    const std::string& extra_headers = "");

}  // namespace beacon::test
