// The Beast server: sessions read with a parser capped at max_body_bytes; streams write from
// bounded queues with a stall timer; the acceptor counts connections and backs off without fds.
#include "http/server.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include "common/logging.hpp"
#include "common/text.hpp"
#include "http/error_json.hpp"
#include "http/request_parse.hpp"

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace beacon::http {

struct stream_channel;

// One counted connection: the count drops when the last holder (a session, a stream) lets go.
struct connection_slot {
  explicit connection_slot(std::atomic<size_t>& c) : count(c) { ++count; }
  ~connection_slot() { --count; }
  connection_slot(const connection_slot&) = delete;
  connection_slot& operator=(const connection_slot&) = delete;
  std::atomic<size_t>& count;
};

struct server::impl {
  std::atomic<size_t> connections{0};  // declared first: destroyed after every session
  handler handle;
  async_handler async_handle;
  decorator decorate;
  server_options opt;
  asio::io_context ioc;
  asio::thread_pool workers;
  asio::thread_pool producers;  // download pieces: a flood of exports never delays a handler
  std::optional<tcp::acceptor> acceptor;
  asio::steady_timer accept_retry{ioc};
  std::vector<std::thread> io_threads;
  bool stopped = false;
  std::mutex channels_mutex;
  std::vector<std::weak_ptr<stream_channel>> channels;  // closed by stop()
  // On the I/O thread: the current bursts of refused connections and of accept failures.
  bool capped = false;
  size_t refused_in_burst = 0;
  bool out_of_descriptors = false;

  impl(handler h, async_handler ah, server_options o)
      : handle(std::move(h)),
        async_handle(std::move(ah)),
        opt(o),
        ioc(static_cast<int>(std::max<size_t>(o.io_threads, 1))),
        workers(std::max<size_t>(o.workers, 1)),
        producers(std::max<size_t>(o.download_workers, 1)) {}

  void accept();
  void on_accept(beast::error_code ec, tcp::socket socket);
  bool over_capacity();
};

// The stream of one connection (an event stream or a download). `pending` and `writing` live on
// the connection's strand; `closed_`, `behind_` and the close callbacks under the mutex, so
// stop() can close it from any thread and no send posts to the strand after that. Every write is
// one async_write_some with a stall timer: no progress for write_timeout closes the connection.
struct stream_channel : event_channel, std::enable_shared_from_this<stream_channel> {
  stream_channel(std::shared_ptr<beast::tcp_stream> s, server::impl& srv, piece_source source,
                 std::shared_ptr<connection_slot> slot)
      : sock(std::move(s)),
        exec(sock->get_executor()),
        stall_timer(std::make_unique<asio::steady_timer>(exec)),
        source_(std::move(source)),
        slot_(std::move(slot)),
        workers_(&srv.producers),
        write_timeout_(srv.opt.write_timeout),
        queue_limit_(srv.opt.stream_queue_bytes),
        low_water_(srv.opt.download_low_water) {}

  bool download() const { return static_cast<bool>(source_); }

  void send_shared(std::shared_ptr<const std::string> chunk) override {
    if (!chunk || chunk->empty()) return;
    if (download()) {  // HTTP/1.1 chunked framing: size in hex, CRLF, bytes, CRLF
      char size[20];
      std::snprintf(size, sizeof size, "%zx\r\n", chunk->size());
      std::string framed;
      framed.reserve(chunk->size() + 24);
      framed.append(size).append(*chunk).append("\r\n");
      chunk = std::make_shared<const std::string>(std::move(framed));
    }
    // An event stream's chunk is dropped (and the stream falls behind) rather than queued past
    // the limit; a download is bounded by pulling.
    write_raw(std::move(chunk), !download());
  }

  // Queues bytes as they are (headers, the last chunk).
  void write_raw(std::string bytes) {
    write_raw(std::make_shared<const std::string>(std::move(bytes)));
  }
  void write_raw(std::shared_ptr<const std::string> bytes, bool droppable = false) {
    std::lock_guard<std::mutex> guard{mutex};
    if (closed_) return;
    // An empty queue takes any one chunk (a snapshot may be large), a busy one up to its bound.
    if (droppable &&
        (behind_ || (pending_bytes > 0 && pending_bytes + bytes->size() > queue_limit_))) {
      behind_ = true;
      return;
    }
    pending_bytes += bytes->size();
    asio::post(exec, [self = shared_from_this(), bytes = std::move(bytes)]() mutable {
      self->pending.push_back(std::move(bytes));
      if (!self->writing) self->write_next();
    });
  }

  bool behind() const override {
    std::lock_guard<std::mutex> guard{mutex};
    return behind_;
  }

  bool resync() override {
    std::lock_guard<std::mutex> guard{mutex};
    if (!behind_ || closed_ || pending_bytes > queue_limit_ / 2) return false;
    behind_ = false;
    return true;
  }

  size_t unwritten() const {
    std::lock_guard<std::mutex> guard{mutex};
    return pending_bytes;
  }

  // A download's next piece, on a worker, when few bytes wait (on the strand).
  void pull_if_low() {
    if (!download() || pulling || source_done || closed() || unwritten() >= low_water_) return;
    pulling = true;
    asio::post(*workers_, [self = shared_from_this()] {
      std::optional<std::string> piece;
      bool failed = false;
      try {
        piece = self->source_();
      } catch (const std::exception& e) {
        logging::error("http_download_failed").field("error", e.what());
        failed = true;
      }
      asio::post(self->exec, [self, piece = std::move(piece), failed]() mutable {
        self->pulling = false;
        if (failed) return self->shutdown();  // no last chunk: the client sees a truncated body
        if (!piece) {
          self->source_done = true;
          return self->finish();
        }
        self->send(std::move(*piece));
        self->pull_if_low();
      });
    });
  }

  // Ends a download: the last chunk, then the connection closes once everything is written.
  void finish() {
    write_raw("0\r\n\r\n");
    asio::post(exec, [self = shared_from_this()] {
      self->finishing = true;
      if (!self->writing) self->shutdown();
    });
  }

  void shutdown() {
    close();
    if (!sock) return;  // released by stop()
    beast::error_code ignored;
    sock->socket().shutdown(tcp::socket::shutdown_both, ignored);
  }

  // Destroys the socket and timer now (the server is stopping and its I/O thread has ended): a
  // channel an actor still holds must not touch them after the io_context is gone.
  void release_socket() {
    std::lock_guard<std::mutex> guard{mutex};
    sock.reset();
    stall_timer.reset();
    exec = asio::any_io_executor();  // a strand must not outlive its io_context
  }

  bool closed() const override {
    std::lock_guard<std::mutex> guard{mutex};
    return closed_;
  }

  void on_close(std::function<void()> f) override {
    {
      std::lock_guard<std::mutex> guard{mutex};
      if (!closed_) {
        closers.push_back(std::move(f));
        return;
      }
    }
    f();
  }

  void close() {
    std::vector<std::function<void()>> run;
    std::shared_ptr<connection_slot> slot;
    {
      std::lock_guard<std::mutex> guard{mutex};
      if (closed_) return;
      closed_ = true;
      run.swap(closers);
      slot.swap(slot_);  // the connection no longer counts once closed
    }
    for (auto& f : run) f();
  }

  void write_next() {
    writing = true;
    auto serial = ++write_serial;
    if (stall_timer) {
      stall_timer->expires_after(write_timeout_);
      stall_timer->async_wait([weak = weak_from_this(), serial](beast::error_code ec) {
        auto self = weak.lock();
        if (!ec && self && self->writing && self->write_serial == serial) self->stalled();
      });
    }
    // Every queued chunk (up to a bound) in one gathered write: one system call for a burst.
    std::vector<asio::const_buffer> buffers;
    size_t offset = front_offset;
    for (auto& chunk : pending) {
      buffers.emplace_back(chunk->data() + offset, chunk->size() - offset);
      offset = 0;
      if (buffers.size() == max_gathered_chunks) break;
    }
    sock->async_write_some(buffers, [self = shared_from_this()](beast::error_code ec, size_t n) {
      self->on_written(ec, n);
    });
  }

  void on_written(beast::error_code ec, size_t n) {
    if (stall_timer) stall_timer->cancel();
    {
      std::lock_guard<std::mutex> guard{mutex};
      pending_bytes -= std::min(pending_bytes, n);
    }
    // Drops the chunks the write finished; the first one left may be partly written.
    front_offset += n;
    while (!pending.empty() && front_offset >= pending.front()->size()) {
      front_offset -= pending.front()->size();
      pending.pop_front();
    }
    if (ec) {
      writing = false;
      return close();
    }
    if (!pending.empty()) return write_next();
    writing = false;
    if (finishing) return shutdown();
    pull_if_low();
  }

  // The client read nothing for write_timeout: the connection is closed (its queue freed).
  void stalled() {
    logging::warn("http_write_stalled")
        .field("unwritten_bytes", unwritten())
        .field("timeout_ms", static_cast<int64_t>(write_timeout_.count()));
    close();
    beast::error_code ignored;
    sock->socket().close(ignored);
  }

  // Any byte or error from the client ends the stream (it only listens).
  void watch() {
    sock->async_read_some(asio::buffer(probe),
                          [self = shared_from_this()](beast::error_code, size_t) {
                            self->close();
                            if (!self->sock) return;
                            beast::error_code ignored;
                            self->sock->socket().shutdown(tcp::socket::shutdown_both, ignored);
                          });
  }

  std::shared_ptr<beast::tcp_stream> sock;
  asio::any_io_executor exec;
  std::unique_ptr<asio::steady_timer> stall_timer;
  mutable std::mutex mutex;
  bool closed_ = false;
  bool behind_ = false;
  std::vector<std::function<void()>> closers;
  std::deque<std::shared_ptr<const std::string>> pending;  // shared with other streams
  static constexpr size_t max_gathered_chunks = 64;
  size_t front_offset = 0;   // bytes of pending.front() already written
  size_t pending_bytes = 0;  // under `mutex`
  uint64_t write_serial = 0;
  bool writing = false;
  bool finishing = false;
  bool pulling = false;
  bool source_done = false;
  piece_source source_;
  std::shared_ptr<connection_slot> slot_;  // under `mutex`
  asio::thread_pool* workers_;
  std::chrono::milliseconds write_timeout_;
  size_t queue_limit_;
  size_t low_water_;
  char probe[64];
};

std::string next_request_id() {
  static std::atomic<uint64_t> counter{0};
  static const uint64_t boot = static_cast<uint64_t>(
      std::chrono::system_clock::now().time_since_epoch() / std::chrono::seconds(1));
  char id[40];
  std::snprintf(id, sizeof id, "%llx-%llx", static_cast<unsigned long long>(boot),
                static_cast<unsigned long long>(++counter));
  return id;
}

namespace {

// The refusal of a connection above max_connections (anything but a liveness probe).
response over_capacity_response(size_t max_connections) {
  response r{503, error_json("the node serves at most " + std::to_string(max_connections) +
                                 " connections at once; retry later",
                             "too_many_connections")};
  r.headers.emplace_back("Retry-After", "1");
  return r;
}

// The status line and headers of a whole response, as Beast would write them (the same order:
// Server, Content-Type, the extra headers, Connection: close when it closes, Content-Length but
// not on a 1xx, 204 or 304), formatted once into one buffer instead of serialized field by field.
std::string response_head(unsigned status, const std::string& content_type,
                          const std::vector<std::pair<std::string, std::string>>& headers,
                          bool keep_alive, size_t body_bytes) {
  auto reason = bhttp::obsolete_reason(bhttp::int_to_status(status));
  std::string head;
  head.reserve(160 + content_type.size());
  head.append("HTTP/1.1 ").append(std::to_string(status)).append(" ");
  head.append(reason.data(), reason.size()).append("\r\nServer: beacon-runner\r\n");
  if (!content_type.empty()) head.append("Content-Type: ").append(content_type).append("\r\n");
  for (auto& [name, value] : headers) head.append(name).append(": ").append(value).append("\r\n");
  if (!keep_alive) head.append("Connection: close\r\n");
  if (status >= 200 && status != 204 && status != 304)
    head.append("Content-Length: ").append(std::to_string(body_bytes)).append("\r\n");
  return head.append("\r\n");
}

class session : public std::enable_shared_from_this<session> {
 public:
  session(tcp::socket socket, server::impl* srv, bool over_capacity)
      : stream_(std::move(socket)),
        srv_(srv),
        slot_(std::make_shared<connection_slot>(srv->connections)),
        over_capacity_(over_capacity),
        remote_(peer_address(stream_.socket())) {}

  void read() {
    parser_.emplace();
    parser_->body_limit(srv_->opt.max_body_bytes);
    parser_->header_limit(16 * 1024);
    // A refused connection gets a short while to say whether it is a liveness probe.
    stream_.expires_after(over_capacity_ ? std::chrono::milliseconds(500) : srv_->opt.read_timeout);
    bhttp::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->on_read(ec); });
  }

 private:
  void on_read(beast::error_code ec) {
    if (parser_) {  // the headers parsed so far, for the decorator (also on 400 and 413)
      auto& head = parser_->get();
      origin_ = std::string(head[bhttp::field::origin]);
      host_ = std::string(head[bhttp::field::host]);
    }
    if (ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
        ec == beast::error::timeout || ec == asio::error::operation_aborted ||
        ec == asio::error::connection_reset)
      return close();
    if (ec == bhttp::error::body_limit)
      return write({413, error_json("the request body exceeds " +
                                        std::to_string(srv_->opt.max_body_bytes) + " bytes",
                                    "body_too_large")},
                   false);
    if (ec)
      return write({400, error_json("malformed HTTP request: " + ec.message(), "bad_request")},
                   false);
    if (auto refusal = transfer_coding_refusal(*parser_))  // its body length is unknown: close
      return write(std::move(*refusal), false);
    auto req = parser_->release();
    bool keep_alive = req.keep_alive();
    head_ = req.method() == bhttp::verb::head;
    if (over_capacity_ && !(req.method() == bhttp::verb::get && req.target() == "/health/live"))
      return write(over_capacity_response(srv_->opt.max_connections), false);
    if (over_capacity_) keep_alive = false;
    if (srv_->async_handle) return handle_async(req, keep_alive);
    asio::post(srv_->workers,
               [self = shared_from_this(), req = std::move(req), keep_alive, from = remote()] {
                 auto res = self->run_handler(req, from);
                 asio::post(self->stream_.get_executor(), [self, res = std::move(res), keep_alive] {
                   self->write(res, keep_alive);
                 });
               });
  }

  // The handler's answer on a worker; an exception is our bug: its words (perhaps a database's)
  // go to the log, the client gets the request id to quote.
  response run_handler(const bhttp::request<bhttp::string_body>& req, const std::string& from) {
    try {
      return srv_->handle(to_request(req, from));
    } catch (const std::exception& e) {
      auto id = next_request_id();
      logging::error("http_handler_failed")
          .field("request_id", id)
          .field("target", std::string(req.target()))
          .field("error", e.what());
      return {500, error_json("internal error; quote request " + id + " to the operator",
                              "internal_error", {{"request_id", id}})};
    }
  }

  void handle_async(const bhttp::request<bhttp::string_body>& req, bool keep_alive) {
    auto self = shared_from_this();
    srv_->async_handle(
        to_request(req, remote()), [self, keep_alive](response r, std::chrono::microseconds after) {
          asio::dispatch(self->stream_.get_executor(), [self, r = std::move(r), keep_alive, after] {
            if (after.count() <= 0) return self->write(r, keep_alive);
            auto timer = std::make_shared<asio::steady_timer>(self->stream_.get_executor(), after);
            timer->async_wait([self, timer, r, keep_alive](beast::error_code ec) {
              if (!ec) self->write(r, keep_alive);
            });
          });
        });
  }

  static std::string peer_address(const tcp::socket& socket) {
    beast::error_code ec;
    auto ep = socket.remote_endpoint(ec);
    return ec ? std::string("unknown") : ep.address().to_string();
  }
  const std::string& remote() const { return remote_; }

  // The connection becomes a stream: headers now, then what the channel gets. An event stream
  // (text/event-stream) is fed by `stream` on this thread; a download pulls `next_piece`.
  void start_stream(const response& r) {
    stream_.expires_never();
    auto sock = std::make_shared<beast::tcp_stream>(std::move(stream_));
    bool download = static_cast<bool>(r.next_piece);
    // A stream nobody reads holds its queue and this much kernel memory, not the megabytes
    // the kernel's send-buffer autotuning would give it (200 of them took 560 MB and the I/O
    // thread's time copying into them).
    if (!download) {
      beast::error_code ignored;
      sock->socket().set_option(
          asio::socket_base::send_buffer_size(srv_->opt.stream_send_buffer_bytes), ignored);
    }
    auto channel = std::make_shared<stream_channel>(sock, *srv_, r.next_piece, slot_);
    {
      std::lock_guard<std::mutex> guard{srv_->channels_mutex};
      auto& all = srv_->channels;
      all.erase(std::remove_if(all.begin(), all.end(), [](auto& w) { return w.expired(); }),
                all.end());
      all.push_back(channel);
    }
    std::string head = "HTTP/1.1 200 OK\r\nServer: beacon-runner\r\nContent-Type: " +
                       (download ? r.content_type : std::string("text/event-stream")) +
                       "\r\nCache-Control: no-cache\r\nX-Accel-Buffering: no\r\n";
    for (auto& [name, value] : r.headers) head += name + ": " + value + "\r\n";
    head += download ? "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                     : "Connection: keep-alive\r\n\r\nretry: 2000\n\n";
    channel->write_raw(std::move(head));
    channel->watch();
    if (download) return channel->pull_if_low();
    r.stream(channel);
  }

  void write(response r, bool keep_alive) {
    if (srv_->decorate) srv_->decorate(origin_, host_, r);
    if (head_) return write_head_only(r, keep_alive);
    if (r.stream || r.next_piece) return start_stream(r);
    auto out = std::make_shared<std::pair<std::string, std::string>>(
        response_head(r.status, r.content_type, r.headers, keep_alive, r.body.size()),
        std::move(r.body));
    stream_.expires_after(srv_->opt.write_timeout);  // a client that does not read is dropped
    std::array<asio::const_buffer, 2> buffers{asio::buffer(out->first), asio::buffer(out->second)};
    asio::async_write(stream_, buffers,
                      [self = shared_from_this(), out, keep_alive](beast::error_code ec, size_t) {
                        if (ec || !keep_alive) return self->close();
                        self->read();
                      });
  }

  // The answer to HEAD: the GET's status and headers, its Content-Length, no body; a stream's
  // headers only, and the connection closes (its length is not known).
  void write_head_only(const response& r, bool keep_alive) {
    head_ = false;
    bool streamed = r.stream || r.next_piece;
    auto res = std::make_shared<bhttp::response<bhttp::empty_body>>();
    res->result(r.status);
    res->version(11);
    res->set(bhttp::field::server, "beacon-runner");
    auto type = r.stream ? std::string("text/event-stream") : r.content_type;
    if (!type.empty()) res->set(bhttp::field::content_type, type);
    for (auto& [name, value] : r.headers) res->set(name, value);
    keep_alive = keep_alive && !streamed;
    res->keep_alive(keep_alive);
    if (!streamed) res->content_length(r.body.size());
    stream_.expires_after(srv_->opt.write_timeout);
    auto sr = std::make_shared<bhttp::response_serializer<bhttp::empty_body>>(*res);
    sr->split(false);
    bhttp::async_write_header(
        stream_, *sr,
        [self = shared_from_this(), res, sr, keep_alive](beast::error_code ec, size_t) {
          if (ec || !keep_alive) return self->close();
          self->read();
        });
  }

  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  bool head_ = false;  // the request being answered is a HEAD
  beast::tcp_stream stream_;
  std::string origin_, host_;  // of the request being answered
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  server::impl* srv_;  // outlives every session: stop() joins the I/O thread
  std::shared_ptr<connection_slot> slot_;
  bool over_capacity_;
  std::string remote_;  // the peer's address, read once per connection
};

bool descriptors_exhausted(const beast::error_code& ec) {
  return ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space ||
         ec == asio::error::no_memory || ec.value() == ENFILE;
}

}  // namespace

// Whether a new connection is above the cap; the first refusal of a burst and the end of the
// burst are logged, not each connection.
bool server::impl::over_capacity() {
  auto open = connections.load();
  if (open >= opt.max_connections) {
    ++refused_in_burst;
    if (!capped)
      logging::warn("http_connections_capped")
          .field("max_connections", opt.max_connections)
          .field("open", open);
    capped = true;
    return true;
  }
  if (capped && open < opt.max_connections - opt.max_connections / 10) {
    logging::info("http_connections_uncapped").field("refused", refused_in_burst);
    capped = false;
    refused_in_burst = 0;
  }
  return false;
}

void server::impl::accept() {
  acceptor->async_accept(asio::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    on_accept(ec, std::move(socket));
  });
}

// Out of file descriptors, the listening socket stays readable: accepting again at once would
// spin, so the acceptor waits 100 ms (the connection waits in the backlog) and says so once.
void server::impl::on_accept(beast::error_code ec, tcp::socket socket) {
  if (!acceptor || !acceptor->is_open()) return;
  if (descriptors_exhausted(ec)) {
    if (!out_of_descriptors)
      logging::warn("http_accept_backoff")
          .field("error", ec.message())
          .field("open_connections", connections.load());
    out_of_descriptors = true;
    accept_retry.expires_after(std::chrono::milliseconds(100));
    accept_retry.async_wait([this](beast::error_code e) {
      if (!e && acceptor && acceptor->is_open()) accept();
    });
    return;
  }
  if (!ec && out_of_descriptors) {
    logging::info("http_accept_resumed").field("open_connections", connections.load());
    out_of_descriptors = false;
  }
  if (!ec) {
    // Each write goes out at once: an event stream writes small chunks, and with Nagle's
    // algorithm a chunk waited for the ACK of the one before, which the client delays by up to
    // 40 ms (the event stream's tail was that wait).
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    std::make_shared<session>(std::move(socket), this, over_capacity())->read();
  }
  accept();
}

server::server(handler h, server_options options)
    : impl_(std::make_unique<impl>(std::move(h), async_handler{}, options)) {}

server::server(handler h, size_t workers, size_t max_body_bytes)
    : server(std::move(h), [&] {
        server_options o;
        o.workers = workers;
        o.max_body_bytes = max_body_bytes;
        return o;
      }()) {}

server::server(async_handler h, server_options options)
    : impl_(std::make_unique<impl>(handler{}, std::move(h), options)) {}

void server::decorate(decorator d) {
  impl_->decorate = std::move(d);
}

server::~server() {
  stop();
}

size_t server::open_connections() const {
  return impl_->connections.load();
}

uint16_t server::listen(const std::string& host, uint16_t port) {
  tcp::endpoint ep{asio::ip::make_address(host), port};
  impl_->acceptor.emplace(impl_->ioc);
  impl_->acceptor->open(ep.protocol());
  impl_->acceptor->set_option(asio::socket_base::reuse_address(true));
  impl_->acceptor->bind(ep);
  impl_->acceptor->listen(asio::socket_base::max_listen_connections);
  auto bound = impl_->acceptor->local_endpoint().port();
  impl_->accept();
  for (size_t t = 0; t < std::max<size_t>(impl_->opt.io_threads, 1); ++t)
    impl_->io_threads.emplace_back([i = impl_.get()] { i->ioc.run(); });
  return bound;
}

void server::stop() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  {
    std::lock_guard<std::mutex> guard{impl_->channels_mutex};
    for (auto& w : impl_->channels)
      if (auto c = w.lock()) c->close();
  }
  asio::post(impl_->ioc, [i = impl_.get()] {
    beast::error_code ec;
    if (i->acceptor) i->acceptor->close(ec);
    i->accept_retry.cancel();
  });
  impl_->workers.join();
  impl_->producers.join();
  impl_->ioc.stop();
  for (auto& t : impl_->io_threads)
    if (t.joinable()) t.join();
  std::lock_guard<std::mutex> guard{impl_->channels_mutex};
  for (auto& w : impl_->channels)
    if (auto c = w.lock()) c->release_socket();
}

}  // namespace beacon::http
