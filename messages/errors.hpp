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
  lease_lost = 3,   // this node no longer holds the job's lease: another node runs it now
};

// Why a part of a running job stopped early by design (category "job").
enum class job_errc : uint8_t {
  budget_exhausted = 1,  // the job's budget (constraints.max_cost) cannot hold another cell
};

}  // namespace beacon

CAF_ERROR_CODE_ENUM(beacon::storage_errc, "storage")
CAF_ERROR_CODE_ENUM(beacon::job_errc, "job")

namespace beacon {

inline caf::error make_storage_error(storage_errc code, std::string message) {
  return caf::make_error(code, std::move(message));
}

// Whether e is the storage error code (an empty error is none of them).
inline bool is_storage_errc(const caf::error& e, storage_errc code) {
  return e && e.category() == caf::detail::error_factory<storage_errc>::category &&
         e.code() == static_cast<uint8_t>(code);
}

// The database could not be reached (an outage: worth waiting for, not a reason to give up).
inline bool is_storage_outage(const caf::error& e) {
  return is_storage_errc(e, storage_errc::unavailable);
}

inline bool is_storage_rejection(const caf::error& e) {
  return is_storage_errc(e, storage_errc::rejected);
}

// A question batch stopped because the job's budget closed.
inline bool is_budget_exhausted(const caf::error& e) {
  return e && e.category() == caf::detail::error_factory<job_errc>::category &&
         e.code() == static_cast<uint8_t>(job_errc::budget_exhausted);
}

// The job's lease moved to another node (or lapsed and was taken): stop working on it.
inline bool is_lease_lost(const caf::error& e) {
  return is_storage_errc(e, storage_errc::lease_lost);
}

}  // namespace beacon
