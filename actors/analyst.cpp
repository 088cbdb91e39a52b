// The analyst actor.
#include "actors/analyst.hpp"

#include <boost/json.hpp>
#include <pqxx/pqxx>

#include "common/logging.hpp"
#include "storage/analysis_store.hpp"

namespace beacon {

analyst_state::~analyst_state() = default;

analyst_actor::behavior_type analyst(analyst_actor::stateful_pointer<analyst_state> self,
                                     std::string database_url) {
  self->state.database_url = std::move(database_url);
  return {[=](atom::analyze, const std::string& job_id) {
    auto& s = self->state;
    try {
      if (!s.conn || !s.conn->is_open())
        s.conn = std::make_unique<pqxx::connection>(s.database_url);
      auto stored = storage::analyze_job(*s.conn, job_id);
      if (!stored) return false;
      auto row = boost::json::parse(*stored).as_object();
      logging::info("analysis_stored")
          .job(job_id)
          .field("cells", row["cells_analyzed"].as_int64())
          .field("answers", row["answers_analyzed"].as_int64())
          .field("duration_ms", row["duration_ms"].as_int64());
      return true;
    } catch (const std::exception& e) {
      s.conn.reset();
      logging::error("analysis_failed").job(job_id).field("error", e.what());
      return false;
    }
  }};
}

}  // namespace beacon
