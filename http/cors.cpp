// CORS policy.
#include "http/cors.hpp"

#include <stdexcept>

#include "common/text.hpp"

namespace beacon::http {
namespace {

bool ends_with(std::string_view s, std::string_view tail) {
  return s.size() >= tail.size() && s.substr(s.size() - tail.size()) == tail;
}

// scheme://host[:port] with no path, query or user part.
void check_origin(std::string_view entry) {
  auto scheme_end = entry.find("://");
  auto bad = [&](const char* why) {
    throw std::invalid_argument("cors-origins: '" + std::string(entry) + "' " + why);
  };
  if (scheme_end == std::string_view::npos || scheme_end == 0)
    bad("is not an origin (scheme://host[:port])");
  auto rest = entry.substr(scheme_end + 3);
  if (rest.empty()) bad("has no host");
  if (rest.find_first_of("/?#@ ") != std::string_view::npos)
    bad("must be scheme://host[:port], without a path");
}

}  // namespace

cors_policy parse_cors_origins(std::string_view list) {
  cors_policy p;
  while (!list.empty()) {
    auto comma = list.find(',');
    auto entry = text::trim(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    if (entry.empty()) continue;
    if (entry == "*") {
      p.any = true;
      continue;
    }
    check_origin(entry);
    auto star = entry.find("://*.");
    if (star != std::string_view::npos) {
      auto suffix = entry.substr(star + 4);  // ".netlify.app"
      if (suffix.size() < 2 || suffix.find('*') != std::string_view::npos)
        throw std::invalid_argument("cors-origins: '" + std::string(entry) +
                                    "' needs a domain after *.");
      p.schemes.emplace_back(entry.substr(0, star + 3));
      p.suffixes.emplace_back(suffix);
      continue;
    }
    if (entry.find('*') != std::string_view::npos)
      throw std::invalid_argument("cors-origins: '" + std::string(entry) +
                                  "': a wildcard is only allowed as scheme://*.domain");
    p.exact.emplace_back(entry);
  }
  return p;
}

bool origin_allowed(const cors_policy& policy, std::string_view origin, std::string_view host) {
  if (origin.empty() || origin == "null") return false;  // no origin, or an opaque one
  if (policy.any) return true;
  if (!host.empty() && origin.size() == host.size() + 7 && origin.substr(0, 7) == "http://" &&
      text::equal_ignoring_case(origin.substr(7), host))
    return true;
  for (auto& e : policy.exact)
    if (text::equal_ignoring_case(e, origin)) return true;
  for (size_t i = 0; i < policy.suffixes.size(); ++i) {
    auto& scheme = policy.schemes[i];
    if (origin.size() <= scheme.size() + policy.suffixes[i].size()) continue;
    if (origin.substr(0, scheme.size()) != scheme) continue;
    auto host_part = origin.substr(scheme.size());
    if (host_part.find_first_of("/?#@") != std::string_view::npos) continue;
    if (ends_with(host_part, policy.suffixes[i])) return true;
  }
  return false;
}

header_list cors_response_headers(std::string_view allowed_origin) {
  header_list out{{"Vary", "Origin"}};
  if (allowed_origin.empty()) return out;
  out.emplace_back("Access-Control-Allow-Origin", std::string(allowed_origin));
  out.emplace_back("Access-Control-Expose-Headers", "Retry-After, Location, Allow");
  return out;
}

header_list cors_preflight_headers(const std::string& methods) {
  return {{"Access-Control-Allow-Methods", methods},
          {"Access-Control-Allow-Headers",
           "Content-Type, Authorization, Idempotency-Key, Last-Event-ID, Accept, X-Request-ID"},
          {"Access-Control-Max-Age", "86400"}};
}

bool is_cors_header(std::string_view name) {
  return name.size() > 15 && text::equal_ignoring_case(name.substr(0, 15), "access-control-");
}

}  // namespace beacon::http
