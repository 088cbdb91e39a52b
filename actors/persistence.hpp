// The PERSISTENCE actor: owns one libpqxx connection (run it detached: it blocks), buffers
// claims and outcomes and writes them in one transaction per flush together with the counters
// they move; replies to each request only after commit. Flushes when the buffer reaches
// batch_max or when its mailbox has drained (a self-sent flush queued behind pending messages:
// group commit without timers). A lost connection is re-opened and the batch retried.
#pragma once

#include <memory>
#include <pqxx/connection>
#include <string>
#include <unordered_map>
#include <vector>

#include "messages/interfaces.hpp"

namespace beacon {

struct persistence_options {
  std::string database_url;
  size_t batch_max = 4096;
  caf::timespan reconnect_delay = std::chrono::milliseconds(250);
  progress_hub_actor hub;
};

struct persistence_state {
  struct pending_claim {
    cell_claim claim;
    std::vector<caf::typed_response_promise<claim_result>> replies;
  };
  struct pending_outcome {
    cell_outcome outcome;
    std::vector<caf::typed_response_promise<bool>> replies;
  };

  persistence_options opts;
  std::unique_ptr<pqxx::connection> conn;
  std::vector<pending_claim> claims;
  std::unordered_map<int64_t, size_t> claim_at;  // cell id -> index in claims
  std::vector<pending_outcome> outcomes;
  std::unordered_map<int64_t, size_t> outcome_at;
  bool flush_queued = false;
  uint64_t flushes = 0;
  uint64_t items_written = 0;

  // Requesters whose items die with us get an error now instead of waiting for their timeout.
  ~persistence_state();
  static inline const char* name = "persistence";
};

persistence_actor::behavior_type persistence(
    persistence_actor::stateful_pointer<persistence_state> self, persistence_options opts);

// The persistence actor currently registered (it changes when it is restarted).
persistence_actor current_persistence(caf::actor_system& sys);

}  // namespace beacon
