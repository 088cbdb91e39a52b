// Errors the persistence actor returns, as a CAF error code enum in their own category
// ("storage"), so callers can tell a refusal of the data (do not resend it) from an outage
// (resend later).
#pragma once

#include <cstdint>
#include <string>

#include "caf/error.hpp"
#include "caf/make_message.hpp"

namespace beacon {

enum class storage_errc : uint8_t {
  rejected = 1,     // the database refused the data (constraint, bad value)
  unavailable = 2,  // the database could not be reached
};

}  // namespace beacon

CAF_ERROR_CODE_ENUM(beacon::storage_errc, "storage")

namespace beacon {

inline caf::error make_storage_error(storage_errc code, std::string message) {
  return caf::make_error(code, std::move(message));
}

// The database could not be reached (an outage: worth waiting for, not a reason to give up).
inline bool is_storage_outage(const caf::error& e) {
  return e.category() == caf::detail::error_factory<storage_errc>::category &&
         e.code() == static_cast<uint8_t>(storage_errc::unavailable);
}

inline bool is_storage_rejection(const caf::error& e) {
  return e.category() == caf::detail::error_factory<storage_errc>::category &&
         e.code() == static_cast<uint8_t>(storage_errc::rejected);
}

}  // namespace beacon
