// Query and path parameter parsing for the routes.
#include "http/route_util.hpp"

#include "common/text.hpp"

namespace beacon::http {

std::optional<int64_t> int_param(const request& req, const std::string& name, int64_t fallback,
                                 int64_t max, std::string& problem) {
  auto it = req.query.find(name);
  if (it == req.query.end() || it->second.empty()) return fallback;
  try {
    size_t used = 0;
    auto v = std::stoll(it->second, &used);
    if (used == it->second.size() && v >= 0 && v <= max) return v;
  } catch (...) {
  }
  problem = name + " must be an integer between 0 and " + std::to_string(max);
  return std::nullopt;
}

std::optional<int64_t> positive_id(const std::string& text) {
  try {
    size_t used = 0;
    auto id = std::stoll(text, &used);
    if (used == text.size() && id > 0) return id;
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

bool is_json_media_type(std::string_view content_type) {
  auto type = text::trim(content_type.substr(0, content_type.find(';')));
  return text::equal_ignoring_case(type, "application/json");
}

}  // namespace beacon::http
