// The Beast server: sessions read with a parser capped at max_body_bytes.
#include "http/server.hpp"

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>
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

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace beacon::http {

struct stream_channel;

struct server::impl {
  handler handle;
  async_handler async_handle;
  decorator decorate;
  size_t max_body;
  asio::io_context ioc{1};
  asio::thread_pool workers;
  std::optional<tcp::acceptor> acceptor;
  std::thread io_thread;
  bool stopped = false;
  std::mutex channels_mutex;
  std::vector<std::weak_ptr<stream_channel>> channels;  // closed by stop()

  impl(handler h, async_handler ah, size_t n, size_t max_body_bytes)
      : handle(std::move(h)), async_handle(std::move(ah)), max_body(max_body_bytes), workers(n) {}

  void accept();
};

// The event stream of one connection. `pending` and `writing` live on the connection's strand;
// `closed_` and the close callbacks under the mutex, so stop() can close it from any thread and
// no send posts to the strand after that.
struct stream_channel : event_channel, std::enable_shared_from_this<stream_channel> {
  stream_channel(std::shared_ptr<beast::tcp_stream> s, asio::any_io_executor ex, bool chunked)
      : sock(std::move(s)), exec(std::move(ex)), chunked_(chunked) {}

  void send(std::string chunk) override {
    if (chunk.empty()) return;
    if (chunked_) {  // HTTP/1.1 chunked framing: size in hex, CRLF, bytes, CRLF
      char size[20];
      std::snprintf(size, sizeof size, "%zx\r\n", chunk.size());
      chunk.insert(0, size);
      chunk += "\r\n";
    }
    write_raw(std::move(chunk));
  }

  // Sends bytes as they are (headers, the last chunk).
  void write_raw(std::string bytes) {
    std::lock_guard<std::mutex> guard{mutex};
    if (closed_) return;
    pending_bytes += bytes.size();
    asio::post(exec, [self = shared_from_this(), bytes = std::move(bytes)]() mutable {
      self->pending.push_back(std::move(bytes));
      if (!self->writing) self->write_next();
    });
  }

  bool wait_below(size_t bytes) override {
    std::unique_lock<std::mutex> lock{mutex};
    drained.wait(lock, [&] { return closed_ || pending_bytes <= bytes; });
    return !closed_;
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

  // Destroys the socket now (the server is stopping and its I/O thread has ended): a channel an
  // actor still holds must not close a socket after the io_context is gone.
  void release_socket() {
    std::lock_guard<std::mutex> guard{mutex};
    sock.reset();
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
    {
      std::lock_guard<std::mutex> guard{mutex};
      if (closed_) return;
      closed_ = true;
      run.swap(closers);
    }
    drained.notify_all();
    for (auto& f : run) f();
  }

  void write_next() {
    writing = true;
    asio::async_write(*sock, asio::buffer(pending.front()),
                      [self = shared_from_this()](beast::error_code ec, size_t n) {
                        self->pending.pop_front();
                        {
                          std::lock_guard<std::mutex> guard{self->mutex};
                          self->pending_bytes -= std::min(self->pending_bytes, n);
                        }
                        self->drained.notify_all();
                        if (ec) return self->close();
                        if (!self->pending.empty()) return self->write_next();
                        self->writing = false;
                        if (self->finishing) self->shutdown();
                      });
  }

  // Any byte or error from the client ends the stream (it only listens).
  void watch() {
    sock->async_read_some(asio::buffer(probe),
                          [self = shared_from_this()](beast::error_code, size_t) {
                            self->close();
                            beast::error_code ignored;
                            self->sock->socket().shutdown(tcp::socket::shutdown_both, ignored);
                          });
  }

  std::shared_ptr<beast::tcp_stream> sock;
  asio::any_io_executor exec;
  mutable std::mutex mutex;
  bool closed_ = false;
  std::vector<std::function<void()>> closers;
  std::deque<std::string> pending;
  size_t pending_bytes = 0;  // under `mutex`
  std::condition_variable drained;
  bool writing = false;
  bool finishing = false;
  bool chunked_;
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

request convert(const bhttp::request<bhttp::string_body>& req, std::string remote) {
  request out;
  out.remote = std::move(remote);
  out.method = std::string(req.method_string());
  out.target = std::string(req.target());
  out.body = req.body();
  for (auto& f : req) {
    std::string name(f.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers[name] = std::string(f.value());
  }
  if (auto it = out.headers.find("content-type"); it != out.headers.end())
    out.content_type = it->second;
  auto parsed = boost::urls::parse_origin_form(out.target);
  if (!parsed) {
    out.path = out.target;
    out.target_problem = "the request target is not a valid URL path (a bad % escape?)";
    out.target_field = "path";
    return out;
  }
  out.path = parsed->path();
  if (!text::storable(out.path)) {
    out.target_problem = "the path decodes to a NUL character or invalid UTF-8";
    out.target_field = "path";
  }
  for (auto p : parsed->params()) {
    auto& value = out.query[p.key] = p.has_value ? p.value : "";
    if (out.target_problem.empty() && (!text::storable(p.key) || !text::storable(value))) {
      out.target_problem = "a query parameter decodes to a NUL character or invalid UTF-8";
      out.target_field = text::storable(p.key) ? std::string(p.key) : "query";
    }
  }
  return out;
}

class session : public std::enable_shared_from_this<session> {
 public:
  session(tcp::socket socket, server::impl* srv) : stream_(std::move(socket)), srv_(srv) {}

  void read() {
    parser_.emplace();
    parser_->body_limit(srv_->max_body);
    parser_->header_limit(16 * 1024);
    stream_.expires_after(std::chrono::seconds(60));
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
      return write(
          {413, error_json("the request body exceeds " + std::to_string(srv_->max_body) + " bytes",
                           "body_too_large")},
          false);
    if (ec)
      return write({400, error_json("malformed HTTP request: " + ec.message(), "bad_request")},
                   false);
    auto req = parser_->release();
    bool keep_alive = req.keep_alive();
    if (srv_->async_handle) {
      auto self = shared_from_this();
      srv_->async_handle(convert(req, remote()), [self, keep_alive](
                                                     response r, std::chrono::microseconds after) {
        asio::dispatch(self->stream_.get_executor(), [self, r = std::move(r), keep_alive, after] {
          if (after.count() <= 0) return self->write(r, keep_alive);
          auto timer = std::make_shared<asio::steady_timer>(self->stream_.get_executor(), after);
          timer->async_wait([self, timer, r, keep_alive](beast::error_code ec) {
            if (!ec) self->write(r, keep_alive);
          });
        });
      });
      return;
    }
    asio::post(srv_->workers, [self = shared_from_this(), req = std::move(req), keep_alive,
                               from = remote()] {
      response res;
      try {
        res = self->srv_->handle(convert(req, from));
      } catch (const std::exception& e) {
        // Our bug: the detail (perhaps a database's words) goes to the log, the client gets the
        // request id to quote.
        auto id = next_request_id();
        logging::error("http_handler_failed")
            .field("request_id", id)
            .field("target", std::string(req.target()))
            .field("error", e.what());
        res = {500, error_json("internal error; quote request " + id + " to the operator",
                               "internal_error", {{"request_id", id}})};
      }
      asio::post(self->stream_.get_executor(),
                 [self, res = std::move(res), keep_alive] { self->write(res, keep_alive); });
    });
  }

  std::string remote() {
    beast::error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    return ec ? std::string("unknown") : ep.address().to_string();
  }

  // The connection becomes a stream: headers now, then what the channel gets. An event stream
  // (text/event-stream) is fed by `open` on this thread; a download by `produce` on a worker.
  void start_stream(const response& r) {
    stream_.expires_never();
    auto sock = std::make_shared<beast::tcp_stream>(std::move(stream_));
    bool download = static_cast<bool>(r.produce);
    auto channel = std::make_shared<stream_channel>(sock, sock->get_executor(), download);
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
    if (!download) return r.stream(channel);
    asio::post(srv_->workers, [channel, produce = r.produce] {
      try {
        produce(*channel);
        channel->finish();
      } catch (const std::exception& e) {
        logging::error("http_download_failed").field("error", e.what());
        // No last chunk: the client sees a truncated body.
        asio::post(channel->exec, [channel] { channel->shutdown(); });
      }
    });
  }

  void write(response r, bool keep_alive) {
    if (srv_->decorate) srv_->decorate(origin_, host_, r);
    if (r.stream || r.produce) return start_stream(r);
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>();
    res->result(r.status);
    res->version(11);
    res->set(bhttp::field::server, "beacon-runner");
    if (!r.content_type.empty()) res->set(bhttp::field::content_type, r.content_type);
    for (auto& [name, value] : r.headers) res->set(name, value);
    res->keep_alive(keep_alive);
    res->body() = r.body;
    res->prepare_payload();
    bhttp::async_write(stream_, *res,
                       [self = shared_from_this(), res, keep_alive](beast::error_code ec, size_t) {
                         if (ec || !keep_alive) return self->close();
                         self->read();
                       });
  }

  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  beast::tcp_stream stream_;
  std::string origin_, host_;  // of the request being answered
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  server::impl* srv_;  // outlives every session: stop() joins the I/O thread
};

}  // namespace

void server::impl::accept() {
  acceptor->async_accept(asio::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (!ec) std::make_shared<session>(std::move(socket), this)->read();
    if (acceptor && acceptor->is_open()) accept();
  });
}

server::server(handler h, size_t workers, size_t max_body_bytes)
    : impl_(std::make_unique<impl>(std::move(h), async_handler{}, workers, max_body_bytes)) {}

server::server(async_handler h, size_t max_body_bytes)
    : impl_(std::make_unique<impl>(handler{}, std::move(h), 1, max_body_bytes)) {}

void server::decorate(decorator d) {
  impl_->decorate = std::move(d);
}

server::~server() {
  stop();
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
  impl_->io_thread = std::thread([i = impl_.get()] { i->ioc.run(); });
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
  });
  impl_->workers.join();
  impl_->ioc.stop();
  if (impl_->io_thread.joinable()) impl_->io_thread.join();
  std::lock_guard<std::mutex> guard{impl_->channels_mutex};
  for (auto& w : impl_->channels)
    if (auto c = w.lock()) c->release_socket();
}

}  // namespace beacon::http
