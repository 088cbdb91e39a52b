// The TLS provider.
#include "tests/tls_provider.hpp"

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include "tests/loopback.hpp"

namespace beacon::test {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct tls_session : std::enable_shared_from_this<tls_session> {
  beast::ssl_stream<beast::tcp_stream> stream;
  beast::flat_buffer buf;
  http::request<http::string_body> req;
  http::response<http::string_body> res;
  std::atomic<size_t>& handshakes;

  tls_session(tcp::socket s, ssl::context& ctx, std::atomic<size_t>& h)
      : stream(std::move(s), ctx), handshakes(h) {}

  void start() {
    stream.async_handshake(ssl::stream_base::server,
                           [self = shared_from_this()](beast::error_code ec) {
                             if (ec) return;
                             ++self->handshakes;
                             self->read();
                           });
  }

  void read() {
    req = {};
    http::async_read(stream, buf, req, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (!ec) self->answer();
    });
  }

  void answer() {
    res = {};
    res.version(11);
    res.result(http::status::ok);
    res.set(http::field::content_type, "application/json");
    res.keep_alive(req.keep_alive());
    res.body() = req.method() == http::verb::get
                     ? R"({"object":"list","data":[{"id":"m"}]})"
                     : R"({"model":"m","choices":[{"message":{"role":"assistant",)"
                       R"("content":"answered over TLS"}}]})";
    res.prepare_payload();
    http::async_write(stream, res, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (!ec && self->res.keep_alive()) self->read();
    });
  }
};

}  // namespace

struct tls_provider::impl {
  asio::io_context io;
  ssl::context ctx{ssl::context::tls_server};
  tcp::acceptor acceptor{io};
  std::thread thread;
  std::string cert;
  uint16_t port = 0;
  std::atomic<size_t> handshakes{0};

  void accept() {
    acceptor.async_accept([this](beast::error_code ec, tcp::socket s) {
      if (ec) return;
      std::make_shared<tls_session>(std::move(s), ctx, handshakes)->start();
      accept();
    });
  }
};

tls_provider::tls_provider(const std::string& dir) : impl_(std::make_unique<impl>()) {
  std::filesystem::create_directories(dir);
  impl_->cert = dir + "/cert.pem";
  auto key = dir + "/key.pem";
  auto cmd =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1"
      " -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout '" +
      key + "' -out '" + impl_->cert + "' 2>/dev/null";
  if (std::system(cmd.c_str()) != 0) throw std::runtime_error("openssl could not make a cert");
  impl_->ctx.use_certificate_chain_file(impl_->cert);
  impl_->ctx.use_private_key_file(key, ssl::context::pem);
  impl_->port = listen_on_loopback(impl_->acceptor);
  impl_->accept();
  impl_->thread = std::thread([i = impl_.get()] { i->io.run(); });
}

tls_provider::~tls_provider() {
  impl_->io.stop();
  impl_->thread.join();
}

std::string tls_provider::url() const {
  return "https://127.0.0.1:" + std::to_string(impl_->port);
}

std::string tls_provider::ca_file() const {
  return impl_->cert;
}

size_t tls_provider::handshakes() const {
  return impl_->handshakes;
}

}  // namespace beacon::test
