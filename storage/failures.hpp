// How a failed PostgreSQL call is classed for the writers' callers: a lost connection (the
// database could not be reached or the commit's fate is unknown: retry later) or a refusal of the
// data (do not resend it), as the storage error of messages/errors.hpp.
#pragma once

#include <exception>
#include <pqxx/except>
#include <stdexcept>
#include <string>

#include "messages/errors.hpp"

namespace beacon::storage {

inline bool is_connection_loss(const std::exception& e) {
  return dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr ||
         dynamic_cast<const pqxx::in_doubt_error*>(&e) != nullptr;
}

// A job write refused by fencing: this node no longer holds the job's lease.
struct lease_lost_error : std::runtime_error {
  explicit lease_lost_error(const std::string& job_id)
      : std::runtime_error("this node no longer holds the lease of job " + job_id +
                           ": another node runs it") {}
};

inline caf::error storage_error(const std::exception& e) {
  if (dynamic_cast<const lease_lost_error*>(&e) != nullptr)
    return make_storage_error(storage_errc::lease_lost, e.what());
  return make_storage_error(
      is_connection_loss(e) ? storage_errc::unavailable : storage_errc::rejected, e.what());
}

}  // namespace beacon::storage
