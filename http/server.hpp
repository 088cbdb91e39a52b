// An asynchronous HTTP/1.1 server on Boost.Beast: one I/O thread accepts and parses, handlers run
// on a worker pool (they may block on SQL or actor replies), replies go back to the I/O thread.
// Keep-alive, a body size cap (413), JSON errors for malformed requests (400), server-sent event
// streams (a response with `stream`) and downloads pulled piece by piece (`next_piece`).
// No client's pace holds a worker: every write is asynchronous from a bounded buffer, a write that
// makes no progress for `write_timeout` closes the connection, connections above
// `max_connections` get 503 with Retry-After, and running out of file descriptors backs off.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace beacon::http {

struct request {
  std::string remote;  // the client's address
  std::string method;
  std::string target;
  std::string path;  // decoded, without the query
  std::map<std::string, std::string> query;
  std::string content_type;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
  // Why the target cannot be served (a bad % escape, a NUL or invalid UTF-8 in the decoded path
  // or a query parameter), and the part it is about; empty when it is fine.
  std::string target_problem;
  std::string target_field;
};

// A fresh id for one request that went wrong (node start time and a counter, in hex): the log
// line and the answer both carry it.
std::string next_request_id();

// A server-sent event stream on one connection. Thread-safe: chunks go out in order on the
// connection's strand; once the client goes away (or the server stops) sends are dropped and the
// close callbacks run, once.
class event_channel {
 public:
  virtual ~event_channel() = default;
  void send(std::string chunk) {
    send_shared(std::make_shared<const std::string>(std::move(chunk)));
  }
  // Queues bytes that other channels may queue too (one copy for every stream of a job).
  virtual void send_shared(std::shared_ptr<const std::string> chunk) = 0;
  virtual bool closed() const = 0;
  // Runs `f` when the stream closes (at once if it already has).
  virtual void on_close(std::function<void()> f) = 0;
  // Whether sends were dropped because the client reads slower than the stream is fed (more
  // than the server's stream_queue_bytes waited): the stream has a gap until it is resynced.
  virtual bool behind() const = 0;
  // When behind and the unwritten bytes have fallen below half the queue: clears `behind` and
  // returns true (the caller now sends a fresh snapshot). Otherwise false.
  virtual bool resync() = 0;
};

// The next piece of a download, pulled on a worker thread whenever the connection's unwritten
// bytes fall below the low-water mark; nullopt ends the body. Throwing truncates it (no last
// chunk, so the client sees an error).
using piece_source = std::function<std::optional<std::string>()>;

struct response {
  response() = default;
  response(unsigned s, std::string b, std::string type = "application/json")
      : status(s), body(std::move(b)), content_type(std::move(type)) {}

  unsigned status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
  // When set, the answer is an event stream (200, text/event-stream, no body): the server writes
  // the headers and hands the open channel to this function (on its I/O thread: do not block).
  std::function<void(std::shared_ptr<event_channel>)> stream;
  // When set, the answer is a download (200, chunked, `content_type`, body from these pieces).
  // The connection closes afterwards.
  piece_source next_piece;
};

using handler = std::function<response(const request&)>;

// Adjusts every response the server writes (handler answers, streams, downloads and the server's
// own 400/413) from the request's Origin and Host headers: the place for CORS headers.
using decorator = std::function<void(std::string_view origin, std::string_view host, response&)>;

// Answers one request later, at most once, from any thread; `after` delays the answer on the
// server's own timer (no thread waits).
using responder = std::function<void(response r, std::chrono::microseconds after)>;
// Runs on the I/O thread and must not block: it hands the answer to the responder.
using async_handler = std::function<void(const request&, responder)>;

struct server_options {
  size_t workers = 4;           // threads running (blocking) handlers
  size_t download_workers = 1;  // threads producing download pieces (never a handler's)
  size_t max_body_bytes = 1 << 20;
  std::chrono::milliseconds read_timeout{60000};   // a request must arrive whole within this
  std::chrono::milliseconds write_timeout{30000};  // no write progress this long: closed
  size_t max_connections = 4096;                   // above: 503 + Retry-After (not /health/live)
  size_t stream_queue_bytes = 1 << 20;             // unwritten bytes an event stream may hold
  int stream_send_buffer_bytes = 128 << 10;  // an event stream's SO_SNDBUF (the kernel doubles it)
  size_t download_low_water = 256 << 10;     // a download's next piece is pulled below it
  size_t io_threads = 1;  // threads running the I/O (each connection stays on its own strand)
};

class server {
 public:
  // Handlers run on `workers` threads and may block (SQL, actor replies).
  server(handler h, server_options options);
  server(handler h, size_t workers, size_t max_body_bytes);
  // Handlers run on the I/O thread and answer through the responder.
  server(async_handler h, server_options options);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  // Sets the decorator (before listen()).
  void decorate(decorator d);

  // Binds and starts serving; returns the bound port (useful with port 0). Throws on failure.
  uint16_t listen(const std::string& host, uint16_t port);
  void stop();

  // Connections open now (sessions and streams), for metrics and tests.
  size_t open_connections() const;

  struct impl;  // defined in server.cpp

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace beacon::http
