// Wall-clock helpers: timestamps cross actor and database boundaries as microseconds since the
// epoch.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace beacon {

inline int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// RFC 3339 UTC with milliseconds, e.g. 2026-11-22T11:15:27.123Z.
std::string format_rfc3339(int64_t us);

// Parses RFC 3339 ("2026-11-22T11:15:27Z", fractions and +hh:mm offsets allowed) to
// microseconds since the epoch; nullopt when malformed.
std::optional<int64_t> parse_rfc3339(std::string_view text);

}  // namespace beacon
