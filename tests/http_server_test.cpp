// The HTTP server against clients that do not play along (real sockets on loopback): a client
// that never reads holds no worker and is dropped after the write timeout, an event stream's
// queue stays bounded, connections above the cap get 503 with Retry-After while /health/live
// is still answered.
#define CAF_SUITE http_server
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
  // Pieces are pulled only while the socket takes them: a bounded number per stalled client.
  std::this_thread::sleep_for(200ms);
  auto pulled = pieces.load();
  std::this_thread::sleep_for(200ms);
  CAF_CHECK_LESS(pieces.load() - pulled, 4);
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
  CAF_CHECK(eventually([&] { return c->resync(); }));
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
