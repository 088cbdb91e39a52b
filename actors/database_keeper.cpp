// The database keeper actor.
#include "actors/database_keeper.hpp"

#include "caf/all.hpp"
#include "common/logging.hpp"

namespace beacon {
namespace {

using self_ptr = database_keeper_actor::stateful_pointer<database_keeper_state>;

// Starts the dead server again; on failure the next tick tries again.
void restart_server(self_ptr self) {
  auto& st = self->state;
  auto pid = st.server->postmaster_pid();
  if (st.failed_starts == 0)
    logging::error("database_down")
        .field("postmaster_pid", pid)
        .field("dir", st.server->dir().string())
        .field("action", "restarting the embedded PostgreSQL server");
  st.watch->mark_down("the embedded PostgreSQL server (postmaster pid " + std::to_string(pid) +
                      ") is not running; the node is restarting it (" +
                      std::to_string(st.failed_starts) + " failed start(s) so far)");
  try {
    st.server->restart();
  } catch (const std::exception& e) {
    ++st.failed_starts;
    logging::warn("database_restart_failed")
        .field("attempt", st.failed_starts)
        .field("error", e.what());
    return;
  }
  st.watch->mark_restarted();
  logging::warn("database_restarted")
      .field("postmaster_pid", st.server->postmaster_pid())
      .field("failed_starts", st.failed_starts)
      .field("restarts", st.watch->restarts());
  st.failed_starts = 0;
}

}  // namespace

database_keeper_actor::behavior_type database_keeper(
    database_keeper_actor::stateful_pointer<database_keeper_state> self,
    std::shared_ptr<storage::embedded_postgres> server,
    std::shared_ptr<storage::database_watch> watch, caf::timespan interval) {
  auto& st = self->state;
  st.server = std::move(server);
  st.watch = std::move(watch);
  st.interval = interval;
  self->delayed_send(self, interval, atom::probe::value);
  return {
      [=](atom::probe) {
        if (!self->state.server->alive()) restart_server(self);
        self->delayed_send(self, self->state.interval, atom::probe::value);
      },
  };
}

}  // namespace beacon
