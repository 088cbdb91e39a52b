// The EXECUTION actor: runs one cell. Claims the cell (marks it running and opens its first
// attempt; a terminal cell is never run again) while its first call goes out (a failed reply
// waits for the claim's acknowledgement, an answer is stored with the claim; without
// call_during_claim, or with a budget, the call waits for it instead), routes it to a provider
// of its own region, calls it with a per-attempt timeout, retries transient failures with
// exponential backoff and full jitter (at least a provider's Retry-After) within max_retries AND
// within the cell's time budget, recording each retry before its call so the budget survives a
// crash. A call refused before it was sent (the region's circuit is open) is no attempt: the cell
// waits for the circuit's half-open trial, within its budget, and calls again with the same attempt
// number; profiles the answer (analysis/answer_profile.hpp), signs its receipt and persists the
// terminal outcome. It tells the actor that sent its first (run) (answered) as soon as it makes
// no more calls, so the next question's calls need not wait for this outcome's commit. It exits
// normally only once the outcome is committed (or the claim was denied because the cell is
// already terminal), so its parent may count a normal exit as "cell terminal and durable".
//
// Messages: (run) start or re-claim; (retry) a backoff or a wait elapsed; (persist) re-send the
// outcome; (deadline) the batch's sweep: time out the open call if it is past its deadline.
#pragma once

#include <boost/json/array.hpp>
#include <optional>

#include "caf/all.hpp"
#include "common/latency_histogram.hpp"
#include "common/live_count.hpp"
#include "common/node_key.hpp"
#include "domain/pricing.hpp"
#include "messages/interfaces.hpp"

namespace beacon {

struct execution_settings {
  provider_registry_actor registry;
  caf::timespan retry_base = std::chrono::milliseconds(250);
  caf::timespan retry_cap = std::chrono::seconds(5);
  // Timeout of job-level storage requests (load, start, abort, finish). Cell claims and outcomes
  // wait without one: a dead persistence answers at once and a slow one is not sped up by resends.
  caf::timespan storage_timeout = std::chrono::seconds(10);
  // Total time a cell may spend on attempts and backoffs from its claim (0: attempts only).
  caf::timespan cell_budget = std::chrono::minutes(15);
  // Signs a receipt for every completed cell (null: no receipts, e.g. in actor tests).
  std::shared_ptr<const node_key> signer;
  // Classify each answer and find its key terms (off only to measure what that costs).
  bool analyze_answers = true;
  // The job's budget (null: none): a cell's charge replaces its reservation once it is durable.
  std::shared_ptr<budget_ledger> budget;
  // The first call goes out while its claim commits (off: after it). Never with a budget: a
  // budget needs every call's attempt stored before the call.
  bool call_during_claim = true;
  // ... and an answer that comes before the claim's acknowledgement is stored with the claim
  // (off: it waits for the acknowledgement; only to measure what this saves).
  bool answer_with_claim = true;
  // Receives each cell's own time in the node: from its first run to its committed outcome,
  // minus its provider calls and deliberate waits (backoffs, an open circuit). Null: not kept.
  std::shared_ptr<latency_histogram> overhead;
  // Counts the live executions: a stop of the node waits for them to end before it stops the
  // storage and the providers they send to (null: not counted).
  std::shared_ptr<live_count> live;
};

struct execution_state {
  // The provider call in flight, if any.
  struct open_call {
    uint32_t serial = 0;  // of the latest call: a reply to an earlier one is dropped
    bool open = false;
    caf::actor_clock::time_point sent{};
    caf::actor_clock::time_point deadline{};
    std::string provider_id;
    std::string provider_region;
  };
  cell_task task;
  execution_settings settings;
  std::optional<cell_outcome> preset;  // report-only mode: persist this outcome
  int32_t attempts = 0;     // the current attempt's number (earlier ones, recorded, included)
  int32_t interrupted = 0;  // earlier attempts cut off by a stop: not against the budget
  int32_t recorded = 0;     // the highest attempt number recorded in storage
  int32_t waits = 0;        // calls refused before they were sent (circuit open)
  int32_t storage_failures = 0;
  int64_t started_us = 0;
  caf::actor_clock::time_point budget_start{};  // when the claim was granted
  std::string routed_provider;                  // the registry's choice for the current attempt
  std::string failed_provider;  // served the last failed attempt (avoided when possible)
  // {attempt, at, class, message, http_status, provider_id} per failed attempt not yet
  // recorded (stored with the next attempt, or with the outcome).
  boost::json::array unrecorded;
  cell_outcome outcome;
  double charged = 0;          // what the job's budget counts for this round's attempts so far
  bool called_early = false;   // the first call went out before the claim was acknowledged
  bool claim_pending = false;  // ... and the claim is not acknowledged yet
  std::optional<provider_reply> held_reply;  // a reply that came before the claim's ack
  bool persist_after_claim = false;          // an outcome decided before the claim's ack
  bool outcome_refused = false;  // an answer sent with its claim was not written (see .cpp)
  caf::actor_clock::time_point dispatched{};  // the first run (the cell left its batch's queue)
  caf::timespan outside{};  // time in provider calls and deliberate waits (not the node's own)
  open_call call;
  caf::actor runner;  // sent the first (run): hears (answered) once the calls are over
  bool told_answered = false;
  live_count::token alive;  // counted in settings.live while the actor lives
  static inline const char* name = "execution";
};

caf::behavior execution(caf::stateful_actor<execution_state>* self, cell_task task,
                        execution_settings settings, std::optional<cell_outcome> preset);

// What the job's budget counts for one attempt that was sent: the answer's cost when it is
// known; nothing for an HTTP error status (providers do not bill refused calls); else (a
// timeout, a lost connection, an answer without usage) the attempt's worst case.
double attempt_charge(const provider_reply& r, double attempt_bound);

// Full-jitter exponential backoff: uniform in [0, min(cap, base * 2^(attempt-1))], drawn
// deterministically from (seed, attempt).
caf::timespan backoff_delay(caf::timespan base, caf::timespan cap, int32_t attempt, uint64_t seed);

}  // namespace beacon
