// Typed interfaces of the long-lived actors: the one header to grep for who accepts what.
// The per-job tree (job_supervisor, question_batch, execution) speaks the atoms documented in
// actors/*.hpp and is reached only through the JOB MANAGER.
#pragma once

#include <string>
#include <vector>

#include "caf/replies_to.hpp"
#include "caf/typed_actor.hpp"
#include "messages/atoms.hpp"
#include "messages/types.hpp"

namespace beacon {

// The PERSISTENCE actor: the only writer of execution rows and of the job, cross-region and
// region counters, which it updates in the same transaction. Replies only after commit.
using persistence_actor = caf::typed_actor<
    // Mark a cell running and open its next attempt; denied when the cell is already terminal.
    caf::replies_to<atom::claim, cell_claim>::with<claim_result>,
    // Record a retry before its call; false when the cell is no longer running.
    caf::replies_to<atom::attempt, attempt_record>::with<bool>,
    // Write a terminal outcome; true when applied, false when the cell was already terminal.
    caf::replies_to<atom::record, cell_outcome>::with<bool>,
    // A page of the open cells of the questions [first, end): (job id, first, end, after cell
    // id, limit), in id order (question by question: cells are numbered in question order).
    caf::replies_to<atom::load, std::string, int32_t, int32_t, int64_t,
                    int32_t>::with<std::vector<cell_row>>,
    // Mark a job running (idempotent) and return its spec and state (the same cost for every
    // job size; its counts come in pages).
    caf::replies_to<atom::start, std::string>::with<job_snapshot>,
    // A page of a job's counts, questions [first, end): (job id, first, end) -> the page; the
    // progress hub gets it too.
    caf::replies_to<atom::progress, std::string, int32_t, int32_t>::with<job_progress>,
    // End a page of a job's open cells: (job id, cell status, error code, message, limit, after
    // cell id) -> the page (fewer than `limit` cells: none is left open). Status cancelled also
    // records the cancel request, so a resumed job finishes the cancel.
    caf::replies_to<atom::abort, std::string, cell_status, std::string, std::string, int32_t,
                    int64_t>::with<abort_page>,
    // Is the actor taking messages? -> how many write batches it has committed.
    caf::replies_to<atom::ping>::with<int64_t>,
    // Decide and write the final job status: (job id, cancelled) -> verdict.
    caf::replies_to<atom::finish, std::string, bool>::with<job_verdict>,
    // Record a person's cancel of a job another node runs (its owner sees it at its next
    // heartbeat and ends the job): true once recorded.
    caf::replies_to<atom::cancel, std::string>::with<bool>,
    // Jobs that a starting node must resume (queued or running).
    caf::replies_to<atom::resumable>::with<std::vector<std::string>>,
    // A person's retry: reopen the job's failed and timed-out cells (job id, execution id or 0
    // for all) within their manual retry limit; an ended job is queued again. A job another
    // node runs is not changed: the retry is recorded for that node (routed_to names it).
    caf::replies_to<atom::reopen, std::string, int64_t>::with<reopen_result>,
    // Internal: write the buffered claims and outcomes now.
    caf::reacts_to<atom::flush>>;

// An EVENT STREAM: one server-sent event connection following a job.
using event_stream_actor = caf::typed_actor<
    // A snapshot of the job's counts as of event id `seq`.
    caf::reacts_to<atom::seed, job_progress, int64_t>,
    // New (or missed) items of the job's stream, in order.
    caf::reacts_to<atom::update, std::vector<stream_item>>,
    // Internal: write a keep-alive comment.
    caf::reacts_to<atom::ping>,
    // Internal: read the job's counts from storage (a job another node runs).
    caf::reacts_to<atom::load>>;

// The PROGRESS HUB: per-job counters for fast status reads and the per-job event streams, fed by
// persistence after commit.
using progress_hub_actor =
    caf::typed_actor<caf::reacts_to<atom::seed, job_progress>,
                     // Committed cell transitions (from persistence).
                     caf::reacts_to<atom::update, std::vector<cell_event>>,
                     // (job id, last event id seen or -1, subscriber): the subscriber gets
                     // (seed, job_progress, seq) snapshots and (update, vector<stream_item>).
                     caf::reacts_to<atom::subscribe, std::string, int64_t, event_stream_actor>,
                     // (job id, status, reason)
                     caf::reacts_to<atom::job_state, std::string, job_status, std::string>,
                     // An unknown job yields an empty status.
                     caf::replies_to<atom::get, std::string>::with<job_progress>,
                     // Internal: publish the jobs whose counts moved to the progress board.
                     caf::reacts_to<atom::flush>>;

// A PROVIDER: one configured endpoint (or the in-process sim) serving some models in one region.
using provider_actor =
    caf::typed_actor<caf::replies_to<atom::complete, provider_request>::with<provider_reply>>;

// The SIM PROVIDER: a provider whose answers wait out a simulated latency.
using sim_provider_actor =
    // Internal: the simulated latency of the call with this token elapsed.
    provider_actor::extend<caf::reacts_to<atom::deliver, uint64_t>>;

// The PROVIDER REGISTRY: routes (region, model) to a provider registered in that region only,
// preferring providers whose circuit is not open, then the least loaded (expected wait); `avoid`
// (the provider that just failed this cell, or empty) is chosen only when no other is available.
// Replies (provider, provider id, provider region); an invalid handle means no provider.
using provider_registry_actor =
    caf::typed_actor<caf::replies_to<atom::route, std::string, std::string,
                                     std::string>::with<provider_actor, std::string, std::string>,
                     // A provider's circuit, load and limit changed.
                     caf::reacts_to<atom::update, provider_status>,
                     // Every provider's last reported status, in registration order.
                     caf::replies_to<atom::get>::with<std::vector<provider_status>>>;

// An HTTP PROVIDER: a provider whose calls travel over the shared HTTP client. It reports its
// status to the registry that spawned it.
using http_provider_actor =
    provider_actor::extend<caf::reacts_to<atom::http_done, uint64_t, http_result>,
                           // Internal: run a health check now / a health check ended.
                           caf::reacts_to<atom::probe>, caf::reacts_to<atom::probe, http_result>,
                           // Internal: send the status to the registry now / an open circuit's
                           // cool-down ended.
                           caf::reacts_to<atom::report>, caf::reacts_to<atom::half_open>,
                           // Internal: a queued call's deadline passed (answer it unsent).
                           caf::reacts_to<atom::deadline>>;

// The JOB MANAGER: owns one job supervisor per running job and restarts crashed ones.
using job_manager_actor = caf::typed_actor<
    // Start (or resume) a job already admitted to storage; false when it is already running.
    caf::replies_to<atom::start, std::string>::with<bool>,
    // Cancel a queued or running job: true once its supervisor has ended (after the verdict is
    // committed, or a crash). A job this node holds no supervisor for (its supervisor gave up,
    // or it was never started) gets one that only ends it cancelled.
    caf::replies_to<atom::cancel, std::string>::with<bool>,
    // Resume every queued or running job from storage; replies how many were started.
    caf::replies_to<atom::resume>::with<int32_t>,
    // The ids of the jobs this node is running.
    caf::replies_to<atom::get>::with<std::vector<std::string>>,
    // A person's retry of a job's failed cells (job id, execution id or 0 for all): the running
    // job's supervisor runs them again, or the ended job is queued and started again. Replies
    // after the cells are reopened in storage, or the retry is recorded for the node that runs
    // the job (which takes it at its next heartbeat). The lease keeper sends the retries
    // recorded for this node here too.
    caf::replies_to<atom::reopen, std::string, int64_t>::with<reopen_result>,
    // Internal: restart the supervisor of a job after its backoff.
    caf::reacts_to<atom::restart, std::string>,
    // A lease the lease keeper took for this node (a lapsed node's job, this node's own from
    // before a restart, or one nobody held): run the job.
    caf::reacts_to<atom::lease, std::string>,
    // This node lost the job's lease to another node: stop its supervisor, with no verdict.
    caf::reacts_to<atom::lost, std::string>>;

// The LEASE KEEPER: which jobs this node runs when several nodes share one database
// (storage/lease_store.hpp). It takes leases for the job manager, renews them at every heartbeat,
// takes over lapsed ones, and keeps the lease book the persistence actor fences writes with.
using lease_keeper_actor = caf::typed_actor<
    // Take the job's lease for this node: its fencing token, 0 when another node holds it.
    caf::replies_to<atom::lease, std::string>::with<int64_t>,
    // Give the job's lease up (its supervisor ended, or gave up).
    caf::reacts_to<atom::release, std::string>,
    // Begin heartbeats, handing leases taken over and lost to this job manager.
    caf::reacts_to<atom::run, job_manager_actor>,
    // Let every lease of this node lapse now (a clean stop): true once written.
    caf::replies_to<atom::lapse>::with<bool>,
    // Internal: renew and take over now.
    caf::reacts_to<atom::heartbeat>>;

// The ADMITTER: stores admitted jobs, each with all its cells as pending and its guards
// (Idempotency-Key, nonce) in one transaction, on its own connection, so a large submission does
// not hold up the commits of running jobs. Replies after commit.
using admitter_actor =
    caf::typed_actor<caf::replies_to<atom::admit, admission_request>::with<admission_reply>>;

// The ANALYST: computes and stores a job's cross-region analysis (storage/analysis_store.hpp);
// replies true once it is stored.
using analyst_actor = caf::typed_actor<caf::replies_to<atom::analyze, std::string>::with<bool>>;

// The DATABASE KEEPER: watches the embedded PostgreSQL server and restarts it when it died.
using database_keeper_actor = caf::typed_actor<
    // Internal: look at the server now (and again after the interval).
    caf::reacts_to<atom::probe>>;

// The actor registry key under which the current persistence actor is found after restarts.
inline const caf::atom_value persistence_key = caf::atom("persist");

}  // namespace beacon
