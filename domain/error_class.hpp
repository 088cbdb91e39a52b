// The vocabulary of provider and runtime failures, and which of them are worth another attempt.
// The words are what executions.error_code stores and what /metrics and logs print.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

#include "domain/vocabulary.hpp"

namespace beacon {

// Why an attempt failed; none when it did not.
enum class error_class : uint8_t {
  none,
  timeout,
  connect_error,
  rate_limited,
  http_4xx,
  http_5xx,
  redirect,
  bad_response,
  provider_error,
  cancelled,
  region_mismatch,  // the far side says another region served the call: never this region's answer
  no_provider,      // runtime side: no provider serves the cell's region and model
  circuit_open,     // the provider's circuit breaker is open: refused at once, no call made
  actor_crashed,    // runtime side: the actor running the cell died
};

inline constexpr std::array<error_class, 14> all_error_classes = {
    error_class::none,         error_class::timeout,         error_class::connect_error,
    error_class::rate_limited, error_class::http_4xx,        error_class::http_5xx,
    error_class::redirect,     error_class::bad_response,    error_class::provider_error,
    error_class::cancelled,    error_class::region_mismatch, error_class::no_provider,
    error_class::circuit_open, error_class::actor_crashed};

// The stored word; empty for none.
constexpr std::string_view to_string(error_class c) {
  switch (c) {
    case error_class::none:
      return "";
    case error_class::timeout:
      return "timeout";
    case error_class::connect_error:
      return "connect_error";
    case error_class::rate_limited:
      return "rate_limited";
    case error_class::http_4xx:
      return "http_4xx";
    case error_class::http_5xx:
      return "http_5xx";
    case error_class::redirect:
      return "redirect";
    case error_class::bad_response:
      return "bad_response";
    case error_class::provider_error:
      return "provider_error";
    case error_class::cancelled:
      return "cancelled";
    case error_class::region_mismatch:
      return "region_mismatch";
    case error_class::no_provider:
      return "no_provider";
    case error_class::circuit_open:
      return "circuit_open";
    case error_class::actor_crashed:
      return "actor_crashed";
  }
  return "";  // unreachable: every enumerator is handled above
}

// The class a word names; nullopt for any other word.
constexpr std::optional<error_class> parse_error_class(std::string_view word) {
  return from_word(word, all_error_classes);
}

// A failure of this class may go away on another attempt.
constexpr bool is_transient(error_class c) {
  switch (c) {
    case error_class::timeout:
    case error_class::connect_error:
    case error_class::rate_limited:
    case error_class::http_5xx:
    case error_class::redirect:
    case error_class::provider_error:
    case error_class::actor_crashed:
    case error_class::region_mismatch:
    case error_class::circuit_open:
      return true;
    case error_class::none:
    case error_class::http_4xx:
    case error_class::bad_response:
    case error_class::cancelled:
    case error_class::no_provider:
      return false;
  }
  return false;
}

}  // namespace beacon
