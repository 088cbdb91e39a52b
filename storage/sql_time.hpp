// SQL text for timestamps in the API's format: RFC 3339 UTC with milliseconds (NULL stays NULL).
#pragma once

#include <string>

namespace beacon::storage {

inline std::string rfc3339(const std::string& column) {
  return "to_char(" + column + " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')";
}

}  // namespace beacon::storage
