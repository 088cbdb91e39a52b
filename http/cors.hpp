// Cross-origin resource sharing as browsers enforce it: which origins may read the API (an
// allow-list of exact origins, `https://*.example.app` suffix wildcards and `*`), the headers an
// allowed origin gets on every response, and the extra headers of a preflight (OPTIONS). Pure
// functions; http/routes.cpp and the server apply them.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace beacon::http {

using header_list = std::vector<std::pair<std::string, std::string>>;

struct cors_policy {
  bool any = false;                   // `*`: every origin
  std::vector<std::string> exact;     // e.g. http://127.0.0.1:3000
  std::vector<std::string> suffixes;  // from https://*.netlify.app: {"https://", ".netlify.app"}
  std::vector<std::string> schemes;   // the scheme part of each suffix entry, same index
};

// The origins the original runner allowed for its portal in development and on its hosting.
inline constexpr const char* default_cors_origins =
    "http://localhost:3000,http://127.0.0.1:3000,http://localhost:5173,http://127.0.0.1:5173,"
    "http://localhost:8080,http://127.0.0.1:8080,https://*.netlify.app";

// Parses a comma-separated allow-list; throws std::invalid_argument naming a malformed entry.
cors_policy parse_cors_origins(std::string_view list);

// Whether `origin` (an Origin header) may read responses; `host` is the request's Host header:
// the node's own origin (http://<host>) is always allowed.
bool origin_allowed(const cors_policy& policy, std::string_view origin, std::string_view host);

// The headers every response carries: Vary: Origin, and for an allowed origin (empty: none)
// Access-Control-Allow-Origin and -Expose-Headers.
header_list cors_response_headers(std::string_view allowed_origin);

// The extra headers of a preflight answer for a path whose routes take `methods`.
header_list cors_preflight_headers(const std::string& methods);

// True for the header names a preflight sets (stripped again when the origin is not allowed).
bool is_cors_header(std::string_view name);

}  // namespace beacon::http
