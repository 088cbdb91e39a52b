// Job leases: which node runs which job, on the job_leases table (migration 0008). A lease has
// an expiry that the owner's heartbeats push forward and a fencing token that grows with every
// take-over; the persistence actor writes a job only under the token it holds (fenced_jobs).
// Only the lease keeper takes, renews and releases leases.
#pragma once

#include <cstdint>
#include <pqxx/transaction>
#include <string>
#include <unordered_map>
#include <vector>

namespace beacon::storage {

// A lease this node holds, as a heartbeat or a take-over saw it.
struct held_lease {
  std::string job_id;
  int64_t token = 0;
  bool cancel_requested = false;  // a person asked (on any node) to cancel the job
  bool runnable = true;           // the job is queued or running
};

// Takes the lease of a queued or running job for `node_id` when nobody holds it, it lapsed, or
// this node held it before; returns the new token, 0 when another node's lease is live (or the
// job is not runnable).
int64_t take_lease(pqxx::work& tx, const std::string& job_id, const std::string& node_id,
                   int64_t ttl_ms);

// Pushes the expiry of every lease of `node_id` forward; returns those still held (a lease
// another node took is not among them).
std::vector<held_lease> renew_leases(pqxx::work& tx, const std::string& node_id, int64_t ttl_ms);

// Takes up to `limit` leases of queued or running jobs whose owner let them lapse (rows locked by
// another taker are skipped), and of such jobs nobody leased that have not moved for
// `unowned_grace_ms` (their node stopped between admission and start). With `own` the node's own
// leases (from before a restart) are taken again at once, with new tokens.
std::vector<held_lease> take_over_leases(pqxx::work& tx, const std::string& node_id, int64_t ttl_ms,
                                         int32_t limit, int64_t unowned_grace_ms, bool own);

// Gives a lease up (the job ended, or its supervisor gave up) if this node still holds it.
void release_lease(pqxx::work& tx, const std::string& job_id, const std::string& node_id,
                   int64_t token);

// Lets every lease of the node lapse now (a clean stop): other nodes take the jobs over at once.
void lapse_leases(pqxx::work& tx, const std::string& node_id);

// The jobs among `held` (job -> token) whose stored token is still the held one. Their lease
// rows stay locked FOR SHARE until the transaction ends, so no take-over commits in between.
std::vector<std::string> fenced_jobs(pqxx::work& tx,
                                     const std::unordered_map<std::string, int64_t>& held);

// The node holding a live lease of the job, empty when none does.
std::string lease_owner(pqxx::transaction_base& tx, const std::string& job_id);

}  // namespace beacon::storage
