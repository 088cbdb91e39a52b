// The LEASE KEEPER actor (run it detached: it blocks on its own connection). Every heartbeat it
// renews this node's leases in one transaction and takes over up to `takeover_limit` lapsed or
// unowned jobs (SKIP LOCKED), handing each to the job manager; a lease another node took is
// dropped from the book and the job manager stops the job. A node that could not renew for a
// whole TTL assumes it lost everything (another node may run its jobs by now) until a renew
// shows what it still holds. A cancel or a retry recorded on another node reaches the job manager
// here.
// The first heartbeat takes back this node's own leases (from before a restart) at once.
#pragma once

#include <chrono>
#include <memory>
#include <pqxx/connection>
#include <set>

#include "messages/interfaces.hpp"
#include "storage/lease_book.hpp"

namespace beacon {

struct lease_keeper_options {
  std::string database_url;
  caf::timespan ttl = std::chrono::seconds(10);
  caf::timespan heartbeat = std::chrono::seconds(2);
  int32_t takeover_limit = 16;  // jobs taken over per heartbeat
};

struct lease_keeper_state {
  lease_keeper_options opts;
  std::shared_ptr<storage::lease_book> book;
  job_manager_actor manager;
  std::unique_ptr<pqxx::connection> conn;
  std::set<std::string> cancels_told;  // jobs whose recorded cancel the manager was told of
  bool first = true;                   // no heartbeat succeeded yet
  bool stopping = false;               // the leases were let lapse: no more heartbeats
  std::chrono::steady_clock::time_point last_renewed{};  // the last successful renewal
  static inline const char* name = "lease_keeper";
};

lease_keeper_actor::behavior_type lease_keeper(
    lease_keeper_actor::stateful_pointer<lease_keeper_state> self, lease_keeper_options opts,
    std::shared_ptr<storage::lease_book> book);

}  // namespace beacon
