// The tests' server-sent events client.
#include "tests/sse_client.hpp"

#include <boost/asio.hpp>
#include <thread>

namespace beacon::test {

sse_result sse_read(uint16_t port, const std::string& target, const std::string& last_id,
                    std::function<bool(const std::vector<sse_event>&)> done,
                    std::chrono::milliseconds limit, const std::string& extra_headers) {
  namespace asio = boost::asio;
  asio::io_context io;
  asio::ip::tcp::socket sock{io};
  sock.connect({asio::ip::make_address("127.0.0.1"), port});
  std::string req =
      "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n";
  if (!last_id.empty()) req += "Last-Event-ID: " + last_id + "\r\n";
  req += extra_headers;  // each "Name: value\r\n"
  req += "\r\n";
  asio::write(sock, asio::buffer(req));
  sse_result out;
  std::string buf;  // the response head until it is complete, then the bytes of one read
  http::sse_parser parser;
  bool in_body = false;
  auto deadline = std::chrono::steady_clock::now() + limit;
  char chunk[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    if (sock.available() == 0) {
      if (in_body && done(out.events)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      continue;
    }
    auto n = sock.read_some(asio::buffer(chunk));
    buf.append(chunk, n);
    if (!in_body) {
      auto end = buf.find("\r\n\r\n");
      if (end == std::string::npos) continue;
      out.head = buf.substr(0, end);
      buf.erase(0, end + 4);
      in_body = true;
    }
    for (auto& e : parser.feed(buf)) out.events.push_back(std::move(e));
    buf.clear();
    if (done(out.events)) break;
  }
  return out;
}

}  // namespace beacon::test
