// The PERSISTENCE actor: owns one libpqxx connection (run it detached: it blocks), buffers
// claims, attempts and outcomes and writes them in one transaction per flush together with the
// counters they move; replies to each request only after commit. Flushes when the buffer reaches
// batch_max or when its mailbox has drained (a self-sent flush queued behind pending messages:
// group commit without timers). A lost connection is re-opened and the batch retried. With
// leases, each transaction first locks the lease rows of the jobs it writes (FOR SHARE) and
// writes only the jobs whose stored fencing token is the one this node holds. With a log key,
// the receipts of the cells a batch completes become leaves of the node's transparency log in
// the same transaction, under one signed tree head per batch. Outcomes are written before the
// claims of their batch, except those sent with their claim (cell_outcome::with_claim): after
// them, so an answer that came before its claim's commit commits with it.
#pragma once

#include <memory>
#include <optional>
#include <pqxx/connection>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/merkle.hpp"
#include "common/node_key.hpp"
#include "messages/interfaces.hpp"
#include "storage/lease_book.hpp"

namespace beacon {

struct persistence_options {
  std::string database_url;
  int32_t backend_niceness = 0;  // > 0: its PostgreSQL backend yields to interactive reads
  size_t batch_max = 4096;
  caf::timespan reconnect_delay = std::chrono::milliseconds(250);
  // PostgreSQL ends this connection's transaction when it idles this long between statements
  // (the node was paused mid-write: SIGSTOP, a frozen VM): its locks on lease rows would
  // otherwise keep every other node from taking its jobs over until it resumed. The writer never
  // idles in a transaction by itself; a node that resumes reconnects and is fenced.
  caf::timespan stuck_transaction_timeout = std::chrono::seconds(5);
  progress_hub_actor hub;
  // The leases this node holds. Set: every write of a job is fenced by the job's token (a job
  // whose token is stale or not held is not written); none: every job is written (actor tests).
  std::shared_ptr<storage::lease_book> leases;
  // The key of this node's transparency log: each batch's receipts are appended as leaves and
  // one tree head is signed per batch. None: receipts are not logged.
  std::shared_ptr<const node_key> log_key;
};

// This node's transparency log as the writer holds it: its row and the tree so far (its
// frontier), checked against the stored size at every append.
struct log_writer {
  int32_t log_id = 0;
  merkle::tree_builder tree;
};

// Buffered writes of one kind awaiting commit: one entry per cell, in arrival order; an item
// re-sent for a cell already waiting joins that entry (its requester is answered with it).
template <class Item, class Reply>
class pending_writes {
 public:
  using promise = caf::typed_response_promise<Reply>;
  struct entry {
    Item item;
    std::vector<promise> replies;
  };

  void add(entry e) {
    auto [it, fresh] = at_.emplace(e.item.cell_id, entries_.size());
    if (fresh) {
      entries_.push_back(std::move(e));
    } else {
      auto& replies = entries_[it->second].replies;
      replies.insert(replies.end(), e.replies.begin(), e.replies.end());
    }
  }
  // Removes and returns everything buffered.
  std::vector<entry> take() {
    at_.clear();
    return std::exchange(entries_, {});
  }
  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }

  static void fail(std::vector<entry>& entries, const caf::error& err) {
    for (auto& e : entries)
      for (auto& rp : e.replies)
        if (rp.pending()) rp.deliver(err);
  }
  static std::vector<Item> items(const std::vector<entry>& entries) {
    std::vector<Item> out;
    out.reserve(entries.size());
    for (auto& e : entries) out.push_back(e.item);
    return out;
  }

 private:
  std::vector<entry> entries_;
  std::unordered_map<int64_t, size_t> at_;  // cell id -> index in entries_
};

struct persistence_state {
  using claim_writes = pending_writes<cell_claim, claim_result>;
  using outcome_writes = pending_writes<cell_outcome, bool>;
  using attempt_writes = pending_writes<attempt_record, bool>;

  persistence_options opts;
  std::unique_ptr<pqxx::connection> conn;
  claim_writes claims;
  outcome_writes outcomes;
  attempt_writes attempts;
  size_t buffered() const { return claims.size() + outcomes.size() + attempts.size(); }
  bool flush_queued = false;
  uint64_t flushes = 0;
  uint64_t items_written = 0;
  std::optional<log_writer> log;  // loaded at the first append

  // Requesters whose items die with us get an error now instead of waiting for their timeout.
  ~persistence_state();
  static inline const char* name = "persistence";
};

persistence_actor::behavior_type persistence(
    persistence_actor::stateful_pointer<persistence_state> self, persistence_options opts);

// The persistence actor currently registered (it changes when it is restarted).
persistence_actor current_persistence(caf::actor_system& sys);

}  // namespace beacon
