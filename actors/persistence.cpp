// The persistence actor.
#include "actors/persistence.hpp"

#include <algorithm>
#include <pqxx/pqxx>
#include <pqxx/transaction>

#include "caf/all.hpp"
#include "common/assert.hpp"
#include "common/clock.hpp"
#include "common/logging.hpp"
#include "common/priority.hpp"
#include "domain/status.hpp"
#include "messages/errors.hpp"
#include "storage/cell_writer.hpp"
#include "storage/failures.hpp"
#include "storage/job_store.hpp"
#include "storage/lease_store.hpp"
#include "storage/prepared.hpp"
#include "storage/retry_store.hpp"
#include "storage/transparency_store.hpp"
#include "storage/writer_connection.hpp"

namespace beacon {
namespace {

using self_ptr = persistence_actor::stateful_pointer<persistence_state>;

using storage::is_connection_loss;
using storage::storage_error;

// Prepares the writes on a new connection; a failure here only costs the first commit that
// preparation (the write itself reports real failures).
void warm_up(self_ptr self) {
  try {
    storage::warm_up_writes(*self->state.conn, self->state.opts.leases != nullptr);
  } catch (const std::exception& e) {
    logging::info("storage_warm_up_failed").field("error", e.what());
  }
}

pqxx::connection& connection(self_ptr self) {
  auto& st = self->state;
  if (!st.conn || !st.conn->is_open()) {
    st.conn.reset();
    st.conn = storage::open_writer_connection(
        st.opts.database_url,
        std::chrono::duration_cast<std::chrono::milliseconds>(st.opts.stuck_transaction_timeout));
    if (st.opts.backend_niceness > 0 &&
        !set_process_niceness(st.conn->backendpid(), st.opts.backend_niceness))
      logging::info("storage_niceness_not_set")
          .field("backend_pid", st.conn->backendpid())
          .field("why", "the PostgreSQL backend belongs to another user");
    warm_up(self);
  }
  return *st.conn;
}

// Runs `fn` in a transaction, re-opening a lost connection once. Other errors propagate.
template <class Fn>
auto with_tx(self_ptr self, Fn&& fn) {
  for (int attempt = 0;; ++attempt) {
    try {
      pqxx::work tx{connection(self)};
      auto result = fn(tx);
      tx.commit();
      return result;
    } catch (const std::exception& e) {
      if (!is_connection_loss(e) || attempt > 0) throw;
      logging::warn("storage_reconnect").field("error", e.what());
      self->state.conn.reset();
    }
  }
}

// The jobs this transaction may write (their lease rows locked until it ends).
storage::write_fence fence(self_ptr self, pqxx::work& tx) {
  storage::write_fence f;
  if (!self->state.opts.leases) return f;
  f.on = true;
  f.jobs = storage::fenced_jobs(tx, self->state.opts.leases->held());
  return f;
}

// Refuses a job-level write when this node does not hold the job's current lease.
void check_lease(self_ptr self, pqxx::work& tx, const std::string& job_id) {
  auto& leases = self->state.opts.leases;
  if (!leases) return;
  auto token = leases->token(job_id);
  if (token == 0 || storage::fenced_jobs(tx, {{job_id, token}}).empty())
    throw storage::lease_lost_error(job_id);
}

// The node that must carry out a retry of the job: empty when this node may (it holds the live
// lease, or nobody does); a retry of a job another node runs is recorded for that node.
std::string retry_owner(self_ptr self, pqxx::work& tx, const std::string& job_id) {
  auto& leases = self->state.opts.leases;
  if (!leases) return {};
  auto token = leases->token(job_id);
  if (token != 0 && !storage::fenced_jobs(tx, {{job_id, token}}).empty()) return {};
  auto owner = storage::lease_owner(tx, job_id);
  return owner == leases->node_id() ? std::string() : owner;
}

// A person's retry: reopened here, or recorded for the node that runs the job.
reopen_result reopen_or_route(self_ptr self, pqxx::work& tx, const std::string& job_id,
                              int64_t execution_id,
                              std::vector<storage::cell_transition>& transitions) {
  auto owner = retry_owner(self, tx, job_id);
  if (owner.empty()) {
    auto r = storage::reopen_failed_cells(tx, job_id, execution_id, transitions);
    storage::apply_counters(tx, transitions);
    return r;
  }
  reopen_result r;
  r.cells = storage::retryable_cells(tx, job_id, execution_id);
  r.routed_to = owner;
  if (r.cells > 0)
    storage::record_retry_request(tx, job_id, execution_id, self->state.opts.leases->node_id());
  return r;
}

// Hands the committed transitions to the progress hub (counters and event streams).
void publish(self_ptr self, std::vector<storage::cell_transition>& transitions) {
  if (!transitions.empty() && self->state.opts.hub)
    self->send(self->state.opts.hub, atom::update::value, std::move(transitions));
}

using claim_entries = std::vector<persistence_state::claim_writes::entry>;
using outcome_entries = std::vector<persistence_state::outcome_writes::entry>;
using attempt_entries = std::vector<persistence_state::attempt_writes::entry>;

// Everything one flush writes.
struct batch {
  claim_entries claims;
  outcome_entries outcomes;
  attempt_entries attempts;
  size_t size() const { return claims.size() + outcomes.size() + attempts.size(); }
};

batch take_all(persistence_state& st) {
  return {st.claims.take(), st.outcomes.take(), st.attempts.take()};
}

void put_back(persistence_state& st, batch& b) {
  for (auto& c : b.claims) st.claims.add(std::move(c));
  for (auto& o : b.outcomes) st.outcomes.add(std::move(o));
  for (auto& a : b.attempts) st.attempts.add(std::move(a));
}

void fail_all(batch& b, const caf::error& err) {
  persistence_state::claim_writes::fail(b.claims, err);
  persistence_state::outcome_writes::fail(b.outcomes, err);
  persistence_state::attempt_writes::fail(b.attempts, err);
}

// A batch's outcomes in the order they are written: those written before its claims, then those
// sent with a claim of the same batch (written after the claims, so they commit together). An
// outcome sent with its claim whose claim was committed (or refused) earlier is written before.
struct ordered_outcomes {
  std::vector<cell_outcome> before, after;
  size_t size() const { return before.size() + after.size(); }
};

ordered_outcomes outcomes_in_order(const outcome_entries& entries, const claim_entries& claims) {
  std::unordered_set<int64_t> claimed;
  for (auto& c : claims) claimed.insert(c.item.cell_id);
  ordered_outcomes out;
  for (auto& e : entries)
    (e.item.with_claim && claimed.count(e.item.cell_id) ? out.after : out.before).push_back(e.item);
  return out;
}

// How many of the outcomes carry a receipt leaf (each takes the next place in the log).
uint64_t leaves_in(const std::vector<cell_outcome>& outcomes) {
  return static_cast<uint64_t>(
      std::count_if(outcomes.begin(), outcomes.end(),
                    [](const cell_outcome& o) { return !o.receipt_leaf.empty(); }));
}

// The leaf data of the outcomes this transaction wrote, in the order written; when some outcomes
// with a leaf were not written (fenced, or already terminal), the written ones move up to close the
// gap their placement left.
std::vector<std::string> written_leaves(pqxx::work& tx, const storage::log_info& log,
                                        const ordered_outcomes& outcomes,
                                        const std::unordered_set<int64_t>& written) {
  std::vector<std::string> leaves;
  std::vector<std::pair<int64_t, uint64_t>> places;
  size_t placed = 0;
  for (auto* part : {&outcomes.before, &outcomes.after})
    for (auto& o : *part) {
      if (o.receipt_leaf.empty()) continue;
      ++placed;
      if (!written.count(o.cell_id)) continue;
      places.emplace_back(o.cell_id, log.size + leaves.size());
      leaves.push_back(o.receipt_leaf);
    }
  if (leaves.size() != placed) storage::move_receipts(tx, log.log_id, places);
  return leaves;
}

// Appends leaves to this node's log (locked by the caller) and signs the new tree head, in the
// batch's transaction. Returns the log as it is once the transaction commits (the caller keeps it
// then). The stored size is the truth: a writer whose tree differs from it (another writer with
// this key, or a restarted actor) reloads the frontier from the stored tree first.
log_writer append_to_log(self_ptr self, pqxx::work& tx, const storage::log_info& log,
                         const std::vector<std::string>& leaves) {
  auto& st = self->state;
  log_writer next;
  next.log_id = log.log_id;
  if (st.log && st.log->log_id == log.log_id && st.log->tree.size() == log.size)
    next.tree = st.log->tree;
  else
    next.tree =
        merkle::tree_builder(log.size, storage::log_tree(log.log_id).frontier(tx, log.size));
  std::vector<merkle::subtree> closed;
  for (auto& leaf : leaves) next.tree.add_leaf_hash(merkle::leaf_hash(leaf), &closed);
  storage::append_batch(
      tx, log.log_id, log.size, leaves, closed,
      sign_tree_head(*st.opts.log_key, next.tree.size(), next.tree.root(), now_us()));
  return next;
}

// This node's log, locked for the transaction, when the batch completes cells with receipts.
std::optional<storage::log_info> log_for(self_ptr self, pqxx::work& tx,
                                         const ordered_outcomes& outcomes) {
  auto& key = self->state.opts.log_key;
  if (!key || leaves_in(outcomes.before) + leaves_in(outcomes.after) == 0) return std::nullopt;
  auto& known = self->state.log;
  return storage::lock_log(tx, key->key_id, key->public_key, known ? known->log_id : 0);
}

// Writes the given items in one transaction and answers their requesters.
void write_batch(self_ptr self, batch& b) {
  auto claim_rows = persistence_state::claim_writes::items(b.claims);
  auto outcome_rows = outcomes_in_order(b.outcomes, b.claims);
  auto attempt_rows = persistence_state::attempt_writes::items(b.attempts);
  std::vector<storage::cell_transition> transitions;
  std::unordered_set<int64_t> written, open;
  std::unordered_map<int64_t, claim_result> granted;
  std::optional<log_writer> log;
  with_tx(self, [&](pqxx::work& tx) {
    transitions.clear();
    log.reset();
    storage::use_generic_plans(tx);
    auto allowed = fence(self, tx);
    // The log is locked first: the receipts' places in it are written with their rows.
    auto held = log_for(self, tx, outcome_rows);
    storage::receipt_placement place;
    if (held) place = {held->log_id, held->size};
    // Outcomes before claims (a claim must see the latest terminal state), except those sent
    // with their claim: after the claims, so one may commit with its own.
    written = storage::record_outcomes(tx, outcome_rows.before, transitions, allowed, place);
    granted = storage::claim_cells(tx, claim_rows, transitions, allowed);
    place.first += leaves_in(outcome_rows.before);
    for (auto id : storage::record_outcomes(tx, outcome_rows.after, transitions, allowed, place))
      written.insert(id);
    open = storage::record_attempts(tx, attempt_rows, allowed);
    storage::apply_counters(tx, transitions);
    if (held)
      if (auto leaves = written_leaves(tx, *held, outcome_rows, written); !leaves.empty())
        log = append_to_log(self, tx, *held, leaves);
    return 0;
  });
  if (log) self->state.log = std::move(log);
  BEACON_ASSERT(written.size() <= outcome_rows.size() && granted.size() <= claim_rows.size() &&
                    open.size() <= attempt_rows.size(),
                "storage answers only for the cells it was given");
  for (auto& o : b.outcomes)
    for (auto& rp : o.replies) rp.deliver(written.count(o.item.cell_id) > 0);
  for (auto& a : b.attempts)
    for (auto& rp : a.replies) rp.deliver(open.count(a.item.cell_id) > 0);
  for (auto& c : b.claims) {
    auto it = granted.find(c.item.cell_id);
    auto r = it != granted.end() ? it->second : claim_result{};
    for (auto& rp : c.replies) rp.deliver(r);
  }
  publish(self, transitions);
}

void flush(self_ptr self) {
  auto& st = self->state;
  if (st.buffered() == 0) return;
  auto b = take_all(st);
  ++st.flushes;
  st.items_written += b.size();
  try {
    write_batch(self, b);
  } catch (const std::exception& e) {
    if (is_connection_loss(e)) {
      // Keep everything and try again shortly; nothing was acknowledged.
      logging::warn("storage_unavailable").field("error", e.what());
      st.conn.reset();
      put_back(st, b);
      if (!st.flush_queued) {
        st.flush_queued = true;
        self->delayed_send(self, st.opts.reconnect_delay, atom::flush::value);
      }
      return;
    }
    // A statement failed on the data: write the items one by one so only the bad one fails.
    if (b.size() == 1) {
      logging::error("storage_rejected").field("error", e.what());
      fail_all(b, storage_error(e));
      return;
    }
    for (auto& c : b.claims) {
      st.claims.add(std::move(c));
      flush(self);
    }
    for (auto& o : b.outcomes) {
      st.outcomes.add(std::move(o));
      flush(self);
    }
    for (auto& a : b.attempts) {
      st.attempts.add(std::move(a));
      flush(self);
    }
  }
}

void schedule_flush(self_ptr self) {
  auto& st = self->state;
  if (st.buffered() >= st.opts.batch_max) {
    flush(self);
  } else if (!st.flush_queued) {
    st.flush_queued = true;
    self->send(self, atom::flush::value);
  }
}

// Runs a read or job-level write after the buffered items, mapping failures to errors.
template <class Fn>
auto job_operation(self_ptr self, Fn&& fn)
    -> caf::expected<decltype(fn(std::declval<pqxx::work&>()))> {
  flush(self);
  try {
    return with_tx(self, std::forward<Fn>(fn));
  } catch (const std::exception& e) {
    logging::warn("storage_operation_failed").field("error", e.what());
    return storage_error(e);
  }
}

}  // namespace

persistence_state::~persistence_state() {
  logging::info("persistence_stopped").field("flushes", flushes).field("items", items_written);
  auto err = caf::make_error(caf::sec::request_receiver_down, "persistence stopped before commit");
  auto open = take_all(*this);
  fail_all(open, err);
}

persistence_actor current_persistence(caf::actor_system& sys) {
  return sys.registry().get<persistence_actor>(persistence_key);
}

persistence_actor::behavior_type persistence(
    persistence_actor::stateful_pointer<persistence_state> self, persistence_options opts) {
  self->state.opts = std::move(opts);
  return {
      [=](atom::claim, const cell_claim& c) {
        auto rp = self->make_response_promise<claim_result>();
        self->state.claims.add({c, {rp}});
        schedule_flush(self);
        return rp;
      },
      [=](atom::attempt, const attempt_record& a) {
        auto rp = self->make_response_promise<bool>();
        self->state.attempts.add({a, {rp}});
        schedule_flush(self);
        return rp;
      },
      [=](atom::record, const cell_outcome& o) {
        auto rp = self->make_response_promise<bool>();
        self->state.outcomes.add({o, {rp}});
        schedule_flush(self);
        return rp;
      },
      [=](atom::flush) {
        self->state.flush_queued = false;
        flush(self);
      },
      [=](atom::load, const std::string& job_id, int32_t first_question, int32_t end_question,
          int64_t after_id, int32_t limit) -> caf::result<std::vector<cell_row>> {
        return job_operation(self, [&](pqxx::work& tx) {
          return storage::load_open_cells(tx, job_id, first_question, end_question, after_id,
                                          limit);
        });
      },
      [=](atom::start, const std::string& job_id) -> caf::result<job_snapshot> {
        auto result = job_operation(self, [&](pqxx::work& tx) {
          check_lease(self, tx, job_id);
          return storage::start_job(tx, job_id);
        });
        if (result && result->found && self->state.opts.hub)
          self->send(self->state.opts.hub, atom::job_state::value, job_id, result->status,
                     std::string());
        return result;
      },
      [=](atom::progress, const std::string& job_id, int32_t first,
          int32_t end) -> caf::result<job_progress> {
        auto result = job_operation(self, [&](pqxx::work& tx) {
          job_progress page;
          page.job_id = job_id;
          page.found = true;
          page.first_question = first;
          page.end_question = end;
          storage::read_progress_page(tx, job_id, first, end, page);
          return page;
        });
        if (result && self->state.opts.hub)
          self->send(self->state.opts.hub, atom::seed::value, *result);
        return result;
      },
      [=](atom::abort, const std::string& job_id, cell_status st, const std::string& code,
          const std::string& message, int32_t limit, int64_t after_id) -> caf::result<abort_page> {
        std::vector<storage::cell_transition> transitions;
        auto result = job_operation(self, [&](pqxx::work& tx) {
          transitions.clear();
          check_lease(self, tx, job_id);
          if (st == cell_status::cancelled) storage::request_cancel(tx, job_id);
          auto page = storage::abort_open_cells(tx, job_id, st, code, message, transitions, limit,
                                                after_id);
          storage::apply_counters(tx, transitions);
          return page;
        });
        publish(self, transitions);
        return result;
      },
      [=](atom::ping) { return static_cast<int64_t>(self->state.flushes); },
      [=](atom::finish, const std::string& job_id, bool cancelled) -> caf::result<job_verdict> {
        auto result = job_operation(self, [&](pqxx::work& tx) {
          check_lease(self, tx, job_id);
          return storage::finish_job(tx, job_id, cancelled);
        });
        if (result && self->state.opts.hub)
          self->send(self->state.opts.hub, atom::job_state::value, job_id, result->status,
                     result->reason);
        return result;
      },
      [=](atom::reopen, const std::string& job_id,
          int64_t execution_id) -> caf::result<reopen_result> {
        std::vector<storage::cell_transition> transitions;
        auto result = job_operation(self, [&](pqxx::work& tx) {
          transitions.clear();
          return reopen_or_route(self, tx, job_id, execution_id, transitions);
        });
        publish(self, transitions);
        if (result && result->cells > 0 && !result->routed_to.empty())
          logging::info("retry_routed")
              .job(job_id)
              .field("cells", result->cells)
              .field("execution_id", execution_id)
              .field("owner", result->routed_to);
        else if (result && result->cells > 0)
          logging::info("cells_reopened")
              .job(job_id)
              .field("cells", result->cells)
              .field("execution_id", execution_id)
              .field("job_was_ended", result->job_was_ended);
        if (result && result->job_was_ended && self->state.opts.hub)
          self->send(self->state.opts.hub, atom::job_state::value, job_id, job_status::queued,
                     std::string());
        return result;
      },
      [=](atom::cancel, const std::string& job_id) -> caf::result<bool> {
        return job_operation(self, [&](pqxx::work& tx) {
          storage::request_cancel(tx, job_id);
          return true;
        });
      },
      [=](atom::resumable) -> caf::result<std::vector<std::string>> {
        return job_operation(self, [&](pqxx::work& tx) { return storage::resumable_jobs(tx); });
      },
  };
}

}  // namespace beacon
