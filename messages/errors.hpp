// Errors the persistence actor returns, in their own category so callers can tell a refusal of
// the data (do not resend it) from an outage (resend later).
#pragma once

#include <string>

#include "caf/atom.hpp"
#include "caf/error.hpp"
#include "caf/make_message.hpp"

namespace beacon {

enum class storage_errc : uint8_t {
  rejected = 1,     // the database refused the data (constraint, bad value)
  unavailable = 2,  // the database could not be reached
};

inline caf::error make_storage_error(storage_errc code, std::string message) {
  return caf::error{static_cast<uint8_t>(code), caf::atom("storage"),
                    caf::make_message(std::move(message))};
}

inline bool is_storage_rejection(const caf::error& e) {
  return e.category() == caf::atom("storage") &&
         e.code() == static_cast<uint8_t>(storage_errc::rejected);
}

}  // namespace beacon
