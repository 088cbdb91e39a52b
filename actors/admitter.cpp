// The admitter actor.
#include "actors/admitter.hpp"

#include <pqxx/pqxx>

#include "common/logging.hpp"
#include "storage/failures.hpp"
#include "storage/job_store.hpp"

namespace beacon {

admitter_actor::behavior_type admitter(admitter_actor::stateful_pointer<admitter_state> self,
                                       std::string database_url) {
  self->state.database_url = std::move(database_url);
  return {[=](atom::admit, const admission_request& r) -> caf::result<admission_reply> {
    auto& s = self->state;
    for (int attempt = 0;; ++attempt) {
      try {
        if (!s.conn || !s.conn->is_open())
          s.conn = std::make_unique<pqxx::connection>(s.database_url);
        return storage::store_admission(*s.conn, r);
      } catch (const std::exception& e) {
        s.conn.reset();
        // A connection lost before the commit: nothing was stored, so once more on a new one (not
        // after an in-doubt commit, which may have stored the job).
        if (dynamic_cast<const pqxx::broken_connection*>(&e) && attempt == 0) continue;
        logging::warn("admission_failed").job(r.spec.id).field("error", e.what());
        return storage::storage_error(e);
      }
    }
  }};
}

}  // namespace beacon
