// JSON errors.
#include "http/error_json.hpp"

#include <boost/json.hpp>

#include "common/canonical_json.hpp"

namespace beacon::http {

std::string error_json(std::string_view message, std::string_view code,
                       const std::map<std::string, std::string>& extra) {
  boost::json::object o;
  o["error"] = message;
  o["error_code"] = code;
  for (auto& [k, v] : extra) o[k] = v;
  return json_text(o);
}

}  // namespace beacon::http
