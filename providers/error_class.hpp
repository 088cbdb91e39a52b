// The vocabulary of provider failures, and which of them are worth another attempt.
#pragma once

#include <string_view>

namespace beacon::error_class {

inline constexpr std::string_view timeout = "timeout";
inline constexpr std::string_view connect_error = "connect_error";
inline constexpr std::string_view rate_limited = "rate_limited";
inline constexpr std::string_view http_4xx = "http_4xx";
inline constexpr std::string_view http_5xx = "http_5xx";
inline constexpr std::string_view redirect = "redirect";
inline constexpr std::string_view bad_response = "bad_response";
inline constexpr std::string_view provider_error = "provider_error";
inline constexpr std::string_view cancelled = "cancelled";
// The far side says another region served the call: never accepted as this region's answer.
inline constexpr std::string_view region_mismatch = "region_mismatch";
// Runtime-side causes of a failed cell.
inline constexpr std::string_view no_provider = "no_provider";
// The provider's circuit breaker is open: refused at once, no call was made.
inline constexpr std::string_view circuit_open = "circuit_open";
inline constexpr std::string_view actor_crashed = "actor_crashed";

constexpr bool is_transient(std::string_view c) {
  return c == timeout || c == connect_error || c == rate_limited || c == http_5xx ||
         c == redirect || c == provider_error || c == actor_crashed || c == region_mismatch ||
         c == circuit_open;
}

}  // namespace beacon::error_class
