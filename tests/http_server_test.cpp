// The HTTP server against clients that do not play along (real sockets on loopback): a client
// that never reads holds no worker and is dropped after the write timeout, an event stream's
// queue stays bounded, connections above the cap get 503 with Retry-After while /health/live
// is still answered.
#define CAF_SUITE http_server
#include <dirent.h>
#include <netinet/tcp.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <thread>

#include "caf/test/dsl.hpp"
#include "http/server.hpp"
#include "tests/http_client.hpp"
#include "tests/raw_socket.hpp"

using namespace beacon;
using namespace beacon::test;
using namespace std::chrono_literals;

namespace {

template <class Pred>
bool eventually(Pred p, std::chrono::milliseconds limit = 10s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (p()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return p();
}

http::response plain_ok(const http::request& req) {
  return {200, "{\"path\":\"" + req.path + "\"}"};
}

// The port a socket is bound to locally, or its peer's (0 when it is not an IPv4 socket).
uint16_t port_of(int fd, bool peer) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  auto* addr = reinterpret_cast<sockaddr*>(&a);
  int r = peer ? ::getpeername(fd, addr, &len) : ::getsockname(fd, addr, &len);
  return r == 0 && a.sin_family == AF_INET ? ntohs(a.sin_port) : 0;
}

// TCP_NODELAY of the server's end of a client's connection (the server runs in this process, so
// its accepted socket is one of this process's descriptors): -1 when no such socket is found.
int server_end_nodelay(uint16_t server_port, int client_fd) {
  auto client_port = port_of(client_fd, false);
  int found = -1;
  DIR* dir = ::opendir("/proc/self/fd");
  if (!dir) return -1;
  while (auto* e = ::readdir(dir)) {
    int fd = std::atoi(e->d_name);
    if (fd == client_fd || port_of(fd, false) != server_port || port_of(fd, true) != client_port)
      continue;
    int on = 0;
    socklen_t len = sizeof on;
    if (::getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, &len) == 0) found = on != 0;
  }
  ::closedir(dir);
  return found;
}

}  // namespace

CAF_TEST(a download nobody reads holds no worker and is closed after the write timeout) {
  std::atomic<int> pieces{0};
  http::server_options o;
  o.workers = 1;  // one worker: a held one would stop every other request
  o.write_timeout = 500ms;
  http::server srv{[&](const http::request& req) {
                     if (req.path != "/download") return plain_ok(req);
                     http::response r;
                     r.content_type = "application/x-ndjson";
                     r.next_piece = [&]() -> std::optional<std::string> {
                       ++pieces;
                       return std::string(64 * 1024, 'x');
                     };
                     return r;
                   },
                   o};
  auto port = srv.listen("127.0.0.1", 0);
  std::vector<int> readers;
  for (int i = 0; i < 4; ++i) {
    int fd = connect_raw(port, 4096);
    CAF_REQUIRE(fd >= 0);
    CAF_REQUIRE(send_all(fd, get_request("/download")));
    readers.push_back(fd);
  }
  // The single worker still serves while four downloads stall.
  CAF_REQUIRE(eventually([&] { return pieces.load() >= 4; }));
  auto started = std::chrono::steady_clock::now();
  auto r = http_call(port, "GET", "/other");
  CAF_CHECK_EQUAL(r.status, 200u);
  CAF_CHECK_LESS(std::chrono::steady_clock::now() - started, 1s);
  // Pieces are pulled only while the socket takes them: once the stalled sockets' buffers are
  // full (how soon depends on the machine's load), pulling stops.
  CAF_CHECK(eventually(
      [&] {
        auto pulled = pieces.load();
        std::this_thread::sleep_for(200ms);
        return pieces.load() - pulled < 4;
      },
      3s));
  CAF_CHECK_LESS(pieces.load(), 4 * 200);  // 200 pieces are 12.8 MB per client
  // No progress for the write timeout: every stalled download is closed.
  CAF_CHECK(eventually([&] { return srv.open_connections() == 0; }, 5s));
  for (int fd : readers) ::close(fd);
}

CAF_TEST(an event stream whose client never reads stays bounded and falls behind) {
  std::shared_ptr<http::event_channel> channel;
  std::mutex m;
  http::server_options o;
  o.stream_queue_bytes = 256 * 1024;
  o.write_timeout = 800ms;
  http::server srv{[&](const http::request&) {
                     http::response r;
                     r.stream = [&](std::shared_ptr<http::event_channel> c) {
                       std::lock_guard<std::mutex> g{m};
                       channel = std::move(c);
                     };
                     return r;
                   },
                   o};
  auto port = srv.listen("127.0.0.1", 0);
  int fd = connect_raw(port, 4096);
  CAF_REQUIRE(send_all(fd, get_request("/events")));
  CAF_REQUIRE(eventually([&] {
    std::lock_guard<std::mutex> g{m};
    return channel != nullptr;
  }));
  std::shared_ptr<http::event_channel> c;
  {
    std::lock_guard<std::mutex> g{m};
    c = channel;
  }
  // 64 MB offered at once: the queue keeps at most its bound, the rest is dropped and the
  // stream is behind until its queue has drained into the socket.
  std::string event = "data: " + std::string(16 * 1024, 'e') + "\n\n";
  for (int i = 0; i < 4096 && !c->closed(); ++i) c->send(event);
  CAF_CHECK(c->behind());
  // The client reads a little at a time until half the queue has gone (how much the kernel
  // buffers by itself differs between machines).
  CAF_CHECK(eventually([&] {
    char buf[16 * 1024];
    while (::recv(fd, buf, sizeof buf, MSG_DONTWAIT) > 0) {
    }
    return c->resync();
  }));
  CAF_CHECK(!c->behind());
  // Fed on after the resync, the client still reads nothing: once the socket is full, no write
  // progress for the write timeout closes the stream.
  CAF_CHECK(eventually(
      [&] {
        c->send(event);
        return c->closed();
      },
      5s));
  CAF_CHECK(eventually([&] { return srv.open_connections() == 0; }, 5s));
  ::close(fd);
}

CAF_TEST(every accepted connection writes without waiting for the client ACKs) {
  // Nagle's algorithm held each small write (an event) until the client acknowledged the one
  // before, which a client delays by up to 40 ms: the event stream's tail.
  http::server srv{plain_ok, http::server_options{}};
  auto port = srv.listen("127.0.0.1", 0);
  int fd = connect_raw(port);
  CAF_REQUIRE(fd >= 0);
  CAF_REQUIRE(eventually([&] { return srv.open_connections() == 1; }));
  CAF_CHECK_EQUAL(server_end_nodelay(port, fd), 1);
  ::close(fd);
}

CAF_TEST(connections above the cap get 503 with Retry - After and liveness is still answered) {
  http::server_options o;
  o.max_connections = 3;
  http::server srv{plain_ok, o};
  auto port = srv.listen("127.0.0.1", 0);
  std::vector<int> idle;
  for (int i = 0; i < 3; ++i) idle.push_back(connect_raw(port));
  CAF_REQUIRE(eventually([&] { return srv.open_connections() == 3; }));
  auto refused = http_call(port, "GET", "/api/v1/jobs");
  CAF_CHECK_EQUAL(refused.status, 503u);
  CAF_CHECK_EQUAL(refused.headers["retry-after"], "1");
  auto body = boost::json::parse(refused.body).as_object();
  auto code = std::string(body["error_code"].as_string());
  CAF_CHECK_EQUAL(code, "too_many_connections");
  auto live = http_call(port, "GET", "/health/live");
  CAF_CHECK_EQUAL(live.status, 200u);
  CAF_CHECK_EQUAL(live.body, "{\"path\":\"/health/live\"}");
  // Once the idle clients leave, everything is served again.
  for (int fd : idle) ::close(fd);
  CAF_REQUIRE(eventually([&] { return srv.open_connections() == 0; }));
  CAF_CHECK_EQUAL(http_call(port, "GET", "/api/v1/jobs").status, 200u);
}

CAF_TEST(a transfer coding other than a lone chunked is refused and nothing after it is read) {
  std::atomic<int> handled{0};
  http::server srv{[&](const http::request& req) {
                     ++handled;
                     return plain_ok(req);
                   },
                   http::server_options{}};
  auto port = srv.listen("127.0.0.1", 0);
  auto smuggle = [&](const std::string& coding) {
    return send_and_read(port, "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: " + coding +
                                   "\r\n\r\n0\r\n\r\n" + get_request("/smuggled"));
  };
  auto xchunked = smuggle("xchunked");
  CAF_CHECK_EQUAL(occurrences(xchunked, "HTTP/1.1 "), 1u);
  CAF_CHECK(xchunked.rfind("HTTP/1.1 400", 0) == 0);
  CAF_CHECK(xchunked.find("bad_transfer_encoding") != std::string::npos);
  CAF_CHECK(xchunked.find("/smuggled") == std::string::npos);
  auto gzip = smuggle("gzip, chunked");
  CAF_CHECK_EQUAL(occurrences(gzip, "HTTP/1.1 "), 1u);
  CAF_CHECK(gzip.rfind("HTTP/1.1 501", 0) == 0);
  CAF_CHECK(gzip.find("unsupported_transfer_encoding") != std::string::npos);
  CAF_CHECK_EQUAL(handled.load(), 0);
  // A plain chunked body still works.
  auto ok = send_and_read(port,
                          "POST /chunked HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                          "Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n");
  CAF_CHECK(ok.rfind("HTTP/1.1 200", 0) == 0);
  CAF_CHECK_EQUAL(handled.load(), 1);
}

CAF_TEST(HEAD answers the headers and length of the GET without its body) {
  http::server srv{[&](const http::request& req) { return plain_ok(req); }, http::server_options{}};
  auto port = srv.listen("127.0.0.1", 0);
  // Two HEADs on one connection: the first leaves nothing behind that the second would read.
  auto got = send_and_read(port,
                           "HEAD /x HTTP/1.1\r\nHost: x\r\n\r\n"
                           "HEAD /yy HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  CAF_CHECK_EQUAL(occurrences(got, "HTTP/1.1 200"), 2u);
  CAF_CHECK(got.find("Content-Length: 13\r\n") != std::string::npos);  // {"path":"/x"}
  CAF_CHECK(got.find("Content-Length: 14\r\n") != std::string::npos);
  CAF_CHECK(got.find("{\"path\"") == std::string::npos);
  auto last = got.rfind("\r\n\r\n");
  CAF_CHECK_EQUAL(last + 4, got.size());  // nothing after the last headers
}
