// libFuzzer harness: any bytes as what a client sends on a connection. Beast's parser (the
// server's limits) takes them; a message that parses goes through the transfer-coding check and
// the request conversion, whose decoded path and query values are storable text unless the
// request is refused naming the part.
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdint>
#include <cstdlib>

#include "common/text.hpp"
#include "http/request_parse.hpp"

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace bhttp = boost::beast::http;
  boost::asio::const_buffer bytes(data, size);
  // Requests pipelined on one connection, as the server reads them.
  for (int i = 0; i < 8 && bytes.size() > 0; ++i) {
    beacon::http::beast_parser parser;
    parser.body_limit(1 << 20);
    parser.header_limit(16 * 1024);
    parser.eager(true);
    while (!parser.is_done()) {  // the header first, then the body (or its chunks)
      boost::beast::error_code ec;
      auto used = parser.put(bytes, ec);
      if (ec || used == 0) return 0;  // malformed (400) or incomplete (the server waits)
      bytes += used;
    }
    if (auto refusal = beacon::http::transfer_coding_refusal(parser)) {
      require(refusal->status == 400 || refusal->status == 501);
      return 0;  // the server closes the connection here
    }
    auto req = beacon::http::to_request(parser.get(), "127.0.0.1");
    if (!req.target_problem.empty()) {
      require(!req.target_field.empty());
      continue;
    }
    require(beacon::text::storable(req.path));
    for (auto& [key, value] : req.query)
      require(beacon::text::storable(key) && beacon::text::storable(value));
  }
  return 0;
}
