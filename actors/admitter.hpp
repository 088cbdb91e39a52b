// The ADMITTER actor: the writer of new jobs. Stores each admitted job with all its cells as
// pending (storage::admit_job, one transaction) and replies after commit. Detached, on its own
// connection, one admission at a time, so a million-cell insert does not hold up persistence's
// commits for the jobs that run meanwhile.
#pragma once

#include <memory>
#include <pqxx/connection>
#include <string>

#include "caf/all.hpp"
#include "messages/interfaces.hpp"

namespace beacon {

struct admitter_state {
  std::string database_url;
  std::unique_ptr<pqxx::connection> conn;  // opened on first use, reopened after a loss
  static inline const char* name = "admitter";
};

admitter_actor::behavior_type admitter(admitter_actor::stateful_pointer<admitter_state> self,
                                       std::string database_url);

}  // namespace beacon
