// Raw loopback TCP clients for the hostile tests: connections that send part of a request, or a
// whole one and then never read (a tiny receive buffer so the server's writes stall at once).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <string>

namespace beacon::test {

// A connected socket to 127.0.0.1:port (-1 when it fails); `rcvbuf` > 0 caps its receive buffer.
inline int connect_raw(uint16_t port, int rcvbuf = 0) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  if (rcvbuf > 0) ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

inline bool send_all(int fd, const std::string& bytes) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    auto n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

// Everything the peer sends until it closes the connection (or `timeout_ms` passes quietly).
inline std::string read_until_closed(int fd, int timeout_ms = 5000) {
  std::string out;
  char buf[4096];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return out;
    auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

// Sends `bytes` on a new connection and returns all the server answers until it closes ("" when
// the connection fails).
inline std::string send_and_read(uint16_t port, const std::string& bytes) {
  int fd = connect_raw(port);
  if (fd < 0) return "";
  std::string got = send_all(fd, bytes) ? read_until_closed(fd) : "";
  ::close(fd);
  return got;
}

// How many times `needle` occurs in `hay`.
inline size_t occurrences(const std::string& hay, const std::string& needle) {
  size_t n = 0;
  for (auto at = hay.find(needle); at != std::string::npos; at = hay.find(needle, at + 1)) ++n;
  return n;
}

// A GET with the headers a client sends, ready to write.
inline std::string get_request(const std::string& target) {
  return "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: */*\r\n\r\n";
}

}  // namespace beacon::test
