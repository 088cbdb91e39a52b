// The ANALYST actor: computes a job's cross-region analysis when the job ends (its supervisor
// tells it) and stores it in cross_region_analyses. Detached: it blocks on PostgreSQL and on the
// computation, off the scheduler's threads, one job at a time, on its own connection.
#pragma once

#include <memory>
#include <pqxx/connection>
#include <string>

#include "caf/all.hpp"
#include "messages/interfaces.hpp"

namespace beacon {

struct analyst_state {
  std::string database_url;
  std::unique_ptr<pqxx::connection> conn;  // opened on first use, reopened after a failure
  ~analyst_state();
  static inline const char* name = "analyst";
};

analyst_actor::behavior_type analyst(analyst_actor::stateful_pointer<analyst_state> self,
                                     std::string database_url);

}  // namespace beacon
