// The DATABASE KEEPER: watches the node's embedded PostgreSQL server (run it detached: a restart
// blocks). Once per interval it checks that the postmaster lives; a dead one (killed, crashed,
// out of memory) is started again, which runs PostgreSQL's crash recovery, and the node carries
// on: the persistence actor and the REST pool reconnect by themselves. While the server is down
// /health says why; every restart is logged and counted for /metrics. A start that fails (the
// old server's processes still hold its shared memory, for a moment) is tried again next tick.
#pragma once

#include <memory>

#include "messages/interfaces.hpp"
#include "storage/database_watch.hpp"
#include "storage/embedded_postgres.hpp"

namespace beacon {

struct database_keeper_state {
  std::shared_ptr<storage::embedded_postgres> server;
  std::shared_ptr<storage::database_watch> watch;
  caf::timespan interval{};
  int32_t failed_starts = 0;  // since the server was last seen down
  static inline const char* name = "database_keeper";
};

database_keeper_actor::behavior_type database_keeper(
    database_keeper_actor::stateful_pointer<database_keeper_state> self,
    std::shared_ptr<storage::embedded_postgres> server,
    std::shared_ptr<storage::database_watch> watch, caf::timespan interval);

}  // namespace beacon
