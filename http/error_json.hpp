// The one JSON error shape of the API: {"error": "...", "error_code": "..."} (+ extra fields).
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace beacon::http {

std::string error_json(std::string_view message, std::string_view code,
                       const std::map<std::string, std::string>& extra = {});

}  // namespace beacon::http
