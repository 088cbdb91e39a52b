// The lease keeper actor.
#include "actors/lease_keeper.hpp"

#include <pqxx/pqxx>

#include "caf/all.hpp"
#include "common/logging.hpp"
#include "storage/failures.hpp"
#include "storage/lease_store.hpp"
#include "storage/retry_store.hpp"
#include "storage/writer_connection.hpp"

namespace beacon {
namespace {

using self_ptr = lease_keeper_actor::stateful_pointer<lease_keeper_state>;

int64_t ms(caf::timespan t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t).count();
}

// Runs `fn` in a transaction on the keeper's connection, re-opened when lost.
template <class Fn>
auto with_tx(self_ptr self, Fn&& fn) {
  auto& st = self->state;
  try {
    // A heartbeat locks this node's lease rows until it commits: paused in between, the node
    // must not keep them (another node's takeover skips locked rows), so PostgreSQL ends a
    // transaction that idles a lease's time to live.
    if (!st.conn || !st.conn->is_open())
      st.conn = storage::open_writer_connection(
          st.opts.database_url, std::chrono::duration_cast<std::chrono::milliseconds>(st.opts.ttl));
    pqxx::work tx{*st.conn};
    auto result = fn(tx);
    tx.commit();
    return result;
  } catch (...) {
    st.conn.reset();
    throw;
  }
}

// Drops a lease from the book and tells the job manager to stop the job.
void lose(self_ptr self, const std::string& job_id, const char* why) {
  self->state.book->drop(job_id);
  self->state.cancels_told.erase(job_id);
  logging::warn("lease_lost")
      .job(job_id)
      .field("node", self->state.book->node_id())
      .field("why", why);
  if (self->state.manager) caf::anon_send(self->state.manager, atom::lost::value, job_id);
}

// Puts a lease this node took (or still holds but had given up on) into the book and hands the
// job to the job manager.
void adopt(self_ptr self, const storage::held_lease& l, const char* how) {
  self->state.book->hold(l.job_id, l.token);
  logging::info("lease_taken").job(l.job_id).field("token", l.token).field("how", how);
  if (self->state.manager) caf::anon_send(self->state.manager, atom::lease::value, l.job_id);
}

// Compares the renewed leases with the book: lost ones are stopped, recorded cancels passed on.
void reconcile(self_ptr self, const std::vector<storage::held_lease>& renewed) {
  auto& st = self->state;
  std::unordered_map<std::string, const storage::held_lease*> now;
  for (auto& l : renewed) now.emplace(l.job_id, &l);
  for (auto& [job, token] : st.book->held()) {
    auto it = now.find(job);
    if (it == now.end() || it->second->token != token)
      lose(self, job, "another node holds the lease now");
  }
  for (auto& l : renewed) {
    if (st.book->token(l.job_id) == 0) {
      if (l.runnable) adopt(self, l, "still held after a missed renewal");
      continue;
    }
    if (l.cancel_requested && st.cancels_told.insert(l.job_id).second && st.manager)
      caf::anon_send(st.manager, atom::cancel::value, l.job_id);
  }
}

// A retry a person sent to another node, for a job this node runs (or an ended job nobody
// holds): the job manager carries it out like one sent here; the reopen deletes the request.
void hand_over_retry(self_ptr self, const storage::retry_request& r) {
  logging::info("retry_request_taken").job(r.job_id).field("execution_id", r.execution_id);
  if (self->state.manager)
    caf::anon_send(self->state.manager, atom::reopen::value, r.job_id, r.execution_id);
}

// Every lease is presumed lost once no renewal succeeded for a whole TTL.
void give_up_if_stale(self_ptr self) {
  auto& st = self->state;
  if (st.first || std::chrono::steady_clock::now() - st.last_renewed < st.opts.ttl) return;
  for (auto& kv : st.book->held()) lose(self, kv.first, "no renewal for a whole lease TTL");
}

void heartbeat(self_ptr self) {
  auto& st = self->state;
  give_up_if_stale(self);
  auto node = st.book->node_id();
  try {
    std::vector<storage::held_lease> renewed, taken;
    std::vector<storage::retry_request> retries;
    with_tx(self, [&](pqxx::work& tx) {
      renewed = storage::renew_leases(tx, node, ms(st.opts.ttl));
      taken = storage::take_over_leases(tx, node, ms(st.opts.ttl), st.opts.takeover_limit,
                                        st.first ? 0 : ms(st.opts.ttl), st.first);
      retries = storage::take_retry_requests(tx, node, ms(st.opts.ttl), st.opts.takeover_limit);
      return 0;
    });
    st.last_renewed = std::chrono::steady_clock::now();
    reconcile(self, renewed);
    for (auto& l : taken) adopt(self, l, st.first ? "resumed" : "taken over");
    for (auto& r : retries) hand_over_retry(self, r);
    st.first = false;
  } catch (const std::exception& e) {
    logging::warn("lease_heartbeat_failed").field("node", node).field("error", e.what());
  }
}

}  // namespace

lease_keeper_actor::behavior_type lease_keeper(
    lease_keeper_actor::stateful_pointer<lease_keeper_state> self, lease_keeper_options opts,
    std::shared_ptr<storage::lease_book> book) {
  self->state.opts = std::move(opts);
  self->state.book = std::move(book);
  return {
      [=](atom::lease, const std::string& job_id) -> caf::result<int64_t> {
        auto& st = self->state;
        try {
          auto token = with_tx(self, [&](pqxx::work& tx) {
            return storage::take_lease(tx, job_id, st.book->node_id(), ms(st.opts.ttl));
          });
          if (token > 0) st.book->hold(job_id, token);
          return token;
        } catch (const std::exception& e) {
          logging::warn("lease_take_failed").job(job_id).field("error", e.what());
          return storage::storage_error(e);
        }
      },
      [=](atom::release, const std::string& job_id) {
        auto& st = self->state;
        auto token = st.book->token(job_id);
        st.book->drop(job_id);
        st.cancels_told.erase(job_id);
        if (token == 0) return;
        try {
          with_tx(self, [&](pqxx::work& tx) {
            storage::release_lease(tx, job_id, st.book->node_id(), token);
            return 0;
          });
        } catch (const std::exception& e) {
          // The lease lapses by itself; the job is ended, so nobody takes it over.
          logging::warn("lease_release_failed").job(job_id).field("error", e.what());
        }
      },
      [=](atom::run, job_manager_actor manager) {
        self->state.manager = std::move(manager);
        heartbeat(self);
        self->delayed_send(self, self->state.opts.heartbeat, atom::heartbeat::value);
      },
      [=](atom::lapse) -> caf::result<bool> {
        auto& st = self->state;
        try {
          with_tx(self, [&](pqxx::work& tx) {
            storage::lapse_leases(tx, st.book->node_id());
            return 0;
          });
          // The book keeps the tokens: the writes still in flight while the node stops are
          // fenced by them as before (refused once another node has taken a job over). No
          // heartbeat renews the lapsed leases.
          st.stopping = true;
          return true;
        } catch (const std::exception& e) {
          logging::warn("lease_lapse_failed").field("error", e.what());
          return storage::storage_error(e);
        }
      },
      [=](atom::heartbeat) {
        if (self->state.stopping) return;
        heartbeat(self);
        self->delayed_send(self, self->state.opts.heartbeat, atom::heartbeat::value);
      },
  };
}

}  // namespace beacon
