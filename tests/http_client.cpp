// The tests' HTTP client.
#include "tests/http_client.hpp"

#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>

namespace beacon::test {

http_reply http_call(uint16_t port, const std::string& method, const std::string& target,
                     const std::string& body, const std::string& content_type,
                     const std::map<std::string, std::string>& headers) {
  namespace beast = boost::beast;
  namespace bhttp = boost::beast::http;
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::resolver resolver{ioc};
  beast::tcp_stream stream{ioc};
  stream.connect(resolver.resolve("127.0.0.1", std::to_string(port)));
  // A server that never answers fails the call after 20 s instead of hanging the test.
  timeval limit{20, 0};
  ::setsockopt(stream.socket().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  bhttp::request<bhttp::string_body> req{bhttp::string_to_verb(method), target, 11};
  req.set(bhttp::field::host, "127.0.0.1");
  for (auto& [name, value] : headers) req.set(name, value);
  if (!body.empty() || method == "POST") {
    req.set(bhttp::field::content_type, content_type);
    req.body() = body;
    req.prepare_payload();
  }
  bhttp::write(stream, req);
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(256 * 1024 * 1024);
  parser.skip(method == "HEAD");  // a HEAD answer's Content-Length has no body behind it
  bhttp::read(stream, buffer, parser);
  auto res = parser.release();
  beast::error_code ec;
  stream.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
  http_reply out{res.result_int(), res.body(), std::string(res[bhttp::field::content_type]), {}};
  for (auto& f : res) {
    std::string name(f.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers[name] = std::string(f.value());
  }
  return out;
}

}  // namespace beacon::test
