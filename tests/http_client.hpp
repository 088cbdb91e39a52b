// A minimal synchronous HTTP/1.1 client for tests (Boost.Beast over loopback), compiled once in
// tests/http_client.cpp so test files do not instantiate Beast each.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace beacon::test {

struct http_reply {
  unsigned status = 0;
  std::string body;
  std::string content_type;
  std::map<std::string, std::string> headers;  // lower-case names
};

http_reply http_call(uint16_t port, const std::string& method, const std::string& target,
                     const std::string& body = "",
                     const std::string& content_type = "application/json",
                     const std::map<std::string, std::string>& headers = {});

}  // namespace beacon::test
