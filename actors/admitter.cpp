// The admitter actor.
#include "actors/admitter.hpp"

#include <pqxx/pqxx>

#include "common/logging.hpp"
#include "messages/errors.hpp"
#include "storage/job_store.hpp"

namespace beacon {
namespace {

// admission_reply carries storage's admit_result as its number.
static_assert(static_cast<int32_t>(storage::admit_result::created) == admission_reply::created);
static_assert(static_cast<int32_t>(storage::admit_result::duplicate) == admission_reply::duplicate);
static_assert(static_cast<int32_t>(storage::admit_result::idempotent_repeat) ==
              admission_reply::idempotent_repeat);
static_assert(static_cast<int32_t>(storage::admit_result::idempotency_conflict) ==
              admission_reply::idempotency_conflict);
static_assert(static_cast<int32_t>(storage::admit_result::replay) == admission_reply::replay);

bool is_connection_loss(const std::exception& e) {
  return dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr;
}

}  // namespace

admitter_actor::behavior_type admitter(admitter_actor::stateful_pointer<admitter_state> self,
                                       std::string database_url) {
  self->state.database_url = std::move(database_url);
  return {[=](atom::admit, const admission_request& r) -> caf::result<admission_reply> {
    auto& s = self->state;
    storage::admit_guards guards{r.idempotency_key, r.request_sha256, r.signer_public_key, r.nonce};
    for (int attempt = 0;; ++attempt) {
      try {
        if (!s.conn || !s.conn->is_open())
          s.conn = std::make_unique<pqxx::connection>(s.database_url);
        auto out = storage::admit_job(*s.conn, r.spec, {r.max_retries, r.manual_retry_limit},
                                      r.system_prompts, guards);
        return admission_reply{static_cast<int32_t>(out.result), out.existing_job_id};
      } catch (const std::exception& e) {
        s.conn.reset();
        if (is_connection_loss(e) && attempt == 0) continue;  // nothing was committed: once more
        logging::warn("admission_failed").job(r.spec.id).field("error", e.what());
        return make_storage_error(
            is_connection_loss(e) ? storage_errc::unavailable : storage_errc::rejected, e.what());
      }
    }
  }};
}

}  // namespace beacon
