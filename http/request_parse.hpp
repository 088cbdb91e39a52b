// What Beast parsed, turned into the handlers' request: the path and query decoded and checked
// before anything reads them (a bad % escape, NUL, invalid UTF-8), and the transfer codings the
// server refuses. No sockets: the HTTP fuzz harness drives these with arbitrary bytes.
#pragma once

#include <boost/beast/http.hpp>
#include <optional>
#include <string>

#include "http/server.hpp"

namespace beacon::http {

using beast_request = boost::beast::http::request<boost::beast::http::string_body>;
using beast_parser = boost::beast::http::request_parser<boost::beast::http::string_body>;

// The handlers' request for `req` from `remote`; target_problem says why its target cannot be
// served.
request to_request(const beast_request& req, std::string remote);

// A request whose Transfer-Encoding is anything but a lone "chunked": 400 when chunked is not
// the last coding (RFC 9112 6.3: its length cannot be known; the rest would be read as another
// request), 501 for a coding this server does not decode ("gzip, chunked"). Call once the
// parser has the whole message.
std::optional<response> transfer_coding_refusal(const beast_parser& parser);

}  // namespace beacon::http
