// A TLS PROVIDER for tests: an OpenAI-compatible endpoint over HTTPS on loopback (a thread per
// connection, keep-alive) with a self-signed certificate for 127.0.0.1 made at start with the
// openssl command, so the HTTP client's TLS path, and its certificate verification, meet a real
// peer.
#pragma once

#include <memory>
#include <string>

namespace beacon::test {

class tls_provider {
 public:
  // Writes its key and certificate under `dir` (created if missing).
  explicit tls_provider(const std::string& dir);
  ~tls_provider();
  tls_provider(const tls_provider&) = delete;
  tls_provider& operator=(const tls_provider&) = delete;

  std::string url() const;      // https://127.0.0.1:<port>
  std::string ca_file() const;  // the certificate a client must trust
  size_t handshakes() const;    // TLS handshakes completed

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace beacon::test
