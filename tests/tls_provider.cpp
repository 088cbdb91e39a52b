// The TLS provider: OpenSSL's own API on plain sockets, one thread per connection (the test makes
// a handful), so this file compiles in seconds instead of the minutes Asio's SSL templates took.
#include "tests/tls_provider.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace beacon::test {
namespace {

// The reply to one request: the model list for a GET, a chat completion otherwise.
std::string reply_to(const std::string& head) {
  std::string body = head.rfind("GET ", 0) == 0
                         ? R"({"object":"list","data":[{"id":"m"}]})"
                         : R"({"model":"m","choices":[{"message":{"role":"assistant",)"
                           R"("content":"answered over TLS"}}]})";
  return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

// The Content-Length of a request head (0 when it has none).
size_t content_length(const std::string& head) {
  for (size_t at = 0; (at = head.find("\r\n", at)) != std::string::npos;) {
    at += 2;
    static const std::string name = "content-length:";
    if (head.size() - at < name.size()) break;
    bool match = true;
    for (size_t i = 0; i < name.size() && match; ++i)
      match = std::tolower(static_cast<unsigned char>(head[at + i])) == name[i];
    if (match) return std::strtoul(head.c_str() + at + name.size(), nullptr, 10);
  }
  return 0;
}

// Answers requests on one TLS connection until the peer closes it (keep-alive).
void serve(SSL* ssl) {
  std::string in;
  char chunk[4096];
  for (;;) {
    auto end = in.find("\r\n\r\n");
    if (end != std::string::npos) {
      auto head = in.substr(0, end + 4);
      auto total = end + 4 + content_length(head);
      if (in.size() >= total) {
        auto out = reply_to(head);
        if (SSL_write(ssl, out.data(), static_cast<int>(out.size())) <= 0) return;
        in.erase(0, total);
        continue;
      }
    }
    int n = SSL_read(ssl, chunk, sizeof chunk);
    if (n <= 0) return;
    in.append(chunk, static_cast<size_t>(n));
  }
}

}  // namespace

struct tls_provider::impl {
  SSL_CTX* ctx = nullptr;
  int listener = -1;
  uint16_t port = 0;
  std::string cert;
  std::atomic<bool> stopping{false};
  std::atomic<size_t> handshakes{0};
  std::thread acceptor;
  std::mutex m;
  std::vector<int> sockets;
  std::vector<std::thread> connections;

  void accept_loop() {
    while (!stopping) {
      pollfd p{listener, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      int fd = accept(listener, nullptr, nullptr);
      if (fd < 0) continue;
      std::lock_guard<std::mutex> g{m};
      sockets.push_back(fd);
      connections.emplace_back([this, fd] { handle(fd); });
    }
  }

  void handle(int fd) {
    SSL* ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    if (SSL_accept(ssl) == 1) {
      ++handshakes;
      serve(ssl);
      SSL_shutdown(ssl);
    }
    SSL_free(ssl);
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
  auto& i = *impl_;
  i.ctx = SSL_CTX_new(TLS_server_method());
  if (!i.ctx || SSL_CTX_use_certificate_chain_file(i.ctx, i.cert.c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(i.ctx, key.c_str(), SSL_FILETYPE_PEM) != 1)
    throw std::runtime_error("the TLS provider could not load its certificate");
  i.listener = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(i.listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (bind(i.listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(i.listener, 64) != 0 ||
      getsockname(i.listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    throw std::runtime_error("the TLS provider could not listen on loopback");
  i.port = ntohs(addr.sin_port);
  i.acceptor = std::thread([&i] { i.accept_loop(); });
}

tls_provider::~tls_provider() {
  auto& i = *impl_;
  i.stopping = true;
  i.acceptor.join();
  {
    std::lock_guard<std::mutex> g{i.m};
    for (int fd : i.sockets) shutdown(fd, SHUT_RDWR);  // ends every blocked SSL_read
  }
  for (auto& t : i.connections) t.join();
  for (int fd : i.sockets) close(fd);
  close(i.listener);
  SSL_CTX_free(i.ctx);
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
