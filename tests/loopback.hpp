// Opens an acceptor on 127.0.0.1 with a port the kernel picks, for the test servers; returns the
// port.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <cstdint>

namespace beacon::test {

inline uint16_t listen_on_loopback(boost::asio::ip::tcp::acceptor& acceptor) {
  boost::asio::ip::tcp::endpoint ep{boost::asio::ip::make_address("127.0.0.1"), 0};
  acceptor.open(ep.protocol());
  acceptor.set_option(boost::asio::socket_base::reuse_address(true));
  acceptor.bind(ep);
  acceptor.listen();
  return acceptor.local_endpoint().port();
}

}  // namespace beacon::test
