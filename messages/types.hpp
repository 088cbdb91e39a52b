// Message structs exchanged between actors. All are inspectable (CAF 0.17 inspect signature).
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "caf/meta/type_name.hpp"
#include "caf/optional.hpp"
#include "caf/timespan.hpp"
#include "domain/error_class.hpp"
#include "domain/job_spec.hpp"
#include "domain/status.hpp"
#include "domain/verdict.hpp"

namespace beacon {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, generation_settings& x) {
  return f(caf::meta::type_name("generation_settings"), x.temperature, x.max_tokens, x.top_p,
           x.has_seed, x.seed);
}

// One cell row as the runtime needs it to run the cell (loaded per question).
struct cell_row {
  int64_t id = 0;
  std::string model_id;
  std::string region;
  int32_t run = 0;
  cell_status status = cell_status::pending;
  int32_t attempts = 0;
  int32_t max_retries = 0;
  std::string system_prompt;
  int32_t attempt_base = 0;  // provider calls of the cell's earlier (manually retried) rounds
  int32_t question_index = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cell_row& x) {
  return f(caf::meta::type_name("cell_row"), x.id, x.model_id, x.region, x.run, x.status,
           x.attempts, x.max_retries, x.system_prompt, x.attempt_base, x.question_index);
}

// Everything an execution actor needs to run one cell.
struct cell_task {
  int64_t cell_id = 0;
  std::string job_id;
  std::string question_id;
  int32_t question_index = 0;
  std::string prompt;
  std::string model_id;
  std::string region;
  int32_t run = 0;
  std::string system_prompt;
  int32_t max_retries = 0;  // extra attempts after the first
  caf::timespan attempt_timeout{};
  // Provider calls of earlier rounds (before a manual retry): attempt numbers sent to providers
  // continue after them, so a provider that decides by attempt number sees a new attempt.
  int32_t attempt_base = 0;
  generation_settings generation;  // how the model is asked to generate
  // The most one attempt of the cell can cost (the budget charges it for an attempt whose cost
  // is unknown); < 0: the job has no budget.
  double attempt_bound = -1;
  // The attempts stored when the cell was loaded: its claim will open attempt loaded_attempts+1
  // (the number a call sent before the claim commits carries).
  int32_t loaded_attempts = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cell_task& x) {
  return f(caf::meta::type_name("cell_task"), x.cell_id, x.job_id, x.question_id, x.question_index,
           x.prompt, x.model_id, x.region, x.run, x.system_prompt, x.max_retries, x.attempt_timeout,
           x.attempt_base, x.generation, x.attempt_bound, x.loaded_attempts);
}

// A request to mark a cell running; granted only while the cell is not terminal.
struct cell_claim {
  int64_t cell_id = 0;
  int64_t started_us = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cell_claim& x) {
  return f(caf::meta::type_name("cell_claim"), x.cell_id, x.started_us);
}

// The answer to a claim, sent after the claim is committed. A granted claim opens the cell's
// next attempt (recorded before its call, so the budget survives a crash).
struct claim_result {
  bool granted = false;
  int32_t attempts = 0;     // the number of the attempt the claim opened (earlier ones included)
  int32_t interrupted = 0;  // earlier attempts cut off by a stop (outside the retry budget)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, claim_result& x) {
  return f(caf::meta::type_name("claim_result"), x.granted, x.attempts, x.interrupted);
}

// The start of a retry, recorded before its provider call: the attempt's number and the
// previous attempts' failures not stored yet (a JSON array of retry_history entries).
struct attempt_record {
  int64_t cell_id = 0;
  int32_t attempt = 0;
  std::string failures = "[]";
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, attempt_record& x) {
  return f(caf::meta::type_name("attempt_record"), x.cell_id, x.attempt, x.failures);
}

// The terminal outcome of one cell, written once by persistence.
struct cell_outcome {
  int64_t cell_id = 0;
  cell_status status = cell_status::failed;  // a terminal status
  std::string provider_id;
  std::string provider_region;
  int32_t attempts = 0;       // provider calls that may have been made; -1: as recorded
  std::string retry_history;  // JSON array of the failures not recorded with an attempt yet
  int64_t started_us = 0;
  int64_t completed_us = 0;
  int64_t duration_ms = 0;
  std::string output_json;  // JSON object, empty when there is none
  std::string error_code;
  std::string error_message;
  std::string classification = "unknown";
  bool is_substantive = false;
  bool is_content_refusal = false;
  bool is_technical_error = false;
  int32_t response_length = -1;  // -1: no response
  int32_t http_status = 0;       // of the last attempt; 0: no HTTP response
  // Of the answer, as its provider reported them (-1, empty: not reported).
  int64_t prompt_tokens = -1;
  int64_t completion_tokens = -1;
  std::string finish_reason;
  // How it was generated, what of that its provider's protocol could not carry (comma-separated
  // setting names, empty: all sent), what the answer cost (-1: unknown, no price or no usage)
  // and what the job's budget charged for the cell's attempts (-1: the job has no budget).
  generation_settings generation;
  std::string settings_unsent;
  double cost = -1;
  double charged = -1;
  // A completed cell's receipt (v1.1, a view of the row): its leaf data in the transparency log
  // and the output's and benchmark's SHA-256 the row keeps for it (32 bytes each); or empty.
  std::string receipt_leaf;
  std::string output_hash;
  std::string benchmark_hash;
  // Sent before the cell's claim was acknowledged (its answer came first): written only if the
  // cell is running at exactly `attempts` by then, after the claims of its own write, so it
  // commits in its claim's transaction or after it, never without it.
  bool with_claim = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cell_outcome& x) {
  return f(caf::meta::type_name("cell_outcome"), x.cell_id, x.status, x.provider_id,
           x.provider_region, x.attempts, x.retry_history, x.started_us, x.completed_us,
           x.duration_ms, x.output_json, x.error_code, x.error_message, x.classification,
           x.is_substantive, x.is_content_refusal, x.is_technical_error, x.response_length,
           x.http_status, x.prompt_tokens, x.completion_tokens, x.finish_reason, x.generation,
           x.settings_unsent, x.cost, x.charged, x.receipt_leaf, x.output_hash, x.benchmark_hash,
           x.with_claim);
}

// A provider call for one attempt of one cell.
struct provider_request {
  std::string job_id;
  std::string question_id;
  std::string model_id;
  std::string region;
  int32_t run = 0;
  int32_t attempt = 0;
  std::string prompt;
  std::string system_prompt;
  int64_t timeout_ms = 0;  // the caller's attempt timeout; transports abort at it (0: none given)
  generation_settings generation;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, provider_request& x) {
  return f(caf::meta::type_name("provider_request"), x.job_id, x.question_id, x.model_id, x.region,
           x.run, x.attempt, x.prompt, x.system_prompt, x.timeout_ms, x.generation);
}

// A finished HTTP transfer, from the HTTP client's thread to the provider that started it.
struct http_result {
  int32_t status = 0;
  std::string body;
  error_class failure = error_class::none;  // transport failure: timeout, connect_error, ...
  std::string error_message;
  std::string retry_after;
  double elapsed_ms = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, http_result& x) {
  return f(caf::meta::type_name("http_result"), x.status, x.body, x.failure, x.error_message,
           x.retry_after, x.elapsed_ms);
}

// A provider's answer or failure for one attempt; failures travel as values so their details
// are kept.
struct provider_reply {
  bool ok = false;
  std::string text;
  error_class failure = error_class::none;
  std::string error_message;
  int32_t http_status = 0;
  std::string provider_id;
  std::string provider_region;
  std::string model_served;
  std::string model_asked;  // the model id the cell asked for (metrics count by it)
  int64_t latency_us = 0;
  int64_t retry_after_ms = 0;  // the provider asked us to wait this long (429 Retry-After)
  // Whether the call left for the provider (false: refused here, e.g. its circuit is open or
  // its slots stayed busy; such a refusal is no attempt).
  bool sent = true;
  // Usage as the provider reported it (-1: not reported) and why its generation stopped.
  int64_t prompt_tokens = -1;
  int64_t completion_tokens = -1;
  std::string finish_reason;
  // The answer's cost at the provider's prices (-1: unknown: no price, or usage not reported)
  // and the settings its protocol could not carry (comma-separated names; empty: all sent).
  double cost = -1;
  std::string settings_unsent;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, provider_reply& x) {
  return f(caf::meta::type_name("provider_reply"), x.ok, x.text, x.failure, x.error_message,
           x.http_status, x.provider_id, x.provider_region, x.model_served, x.model_asked,
           x.latency_us, x.retry_after_ms, x.sent, x.prompt_tokens, x.completion_tokens,
           x.finish_reason, x.cost, x.settings_unsent);
}

// What a provider reports to the registry (and the registry to health and metrics readers):
// its circuit, its load and its current concurrency limit.
struct provider_status {
  std::string provider_id;
  std::string region;
  std::string kind;  // protocol, or "sim"
  circuit_state circuit = circuit_state::closed;
  int32_t load = 0;   // calls in flight plus queued
  int32_t limit = 0;  // calls allowed in flight now (adaptive); 0: unknown
  int32_t max_concurrency = 0;
  int32_t consecutive_failures = 0;
  std::string last_failure;          // the failure that counted last, with its message
  bool healthy = true;               // the last health probe succeeded (or none ran)
  int64_t last_health_check_us = 0;  // 0: never probed
  int64_t rate_limit_cuts = 0;       // times a 429 burst cut the limit
  double latency_ms = 0;             // moving average of answered calls; 0: none yet
  // Totals since start, for /metrics: calls answered over HTTP by latency bucket (counts per
  // bucket of latency_bounds_ms, the last one unbounded), their latency sum, calls that were a
  // cell's retry, and failed calls by error class.
  std::vector<int64_t> latency_buckets;
  double latency_sum_ms = 0;
  int64_t calls = 0;
  int64_t retry_calls = 0;
  std::map<std::string, int64_t> failures;
};

// Upper bounds (ms) of the provider latency histogram buckets; one more bucket is unbounded.
inline const std::vector<double>& latency_bounds_ms() {
  static const std::vector<double> bounds = {10,   50,   100,   250,   500,   1000,
                                             2500, 5000, 10000, 30000, 60000, 120000};
  return bounds;
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, provider_status& x) {
  return f(caf::meta::type_name("provider_status"), x.provider_id, x.region, x.kind, x.circuit,
           x.load, x.limit, x.max_concurrency, x.consecutive_failures, x.last_failure, x.healthy,
           x.last_health_check_us, x.rate_limit_cuts, x.latency_ms, x.latency_buckets,
           x.latency_sum_ms, x.calls, x.retry_calls, x.failures);
}

// What a job supervisor needs to (re)start a job, read from storage.
struct job_snapshot {
  std::string job_id;
  bool found = false;  // the job exists
  job_status status = job_status::queued;
  std::string spec_json;
  int64_t started_us = 0;         // start of the current round (the job timeout counts from here)
  bool first_start = false;       // this start moved the job out of queued for the first time
  bool cancel_requested = false;  // a cancel was asked for and has not finished: end it cancelled
  // A budgeted job's charges so far (its cells' `charged`) and the attempts of its open cells
  // (made before a stop, so possibly spent); 0 without a budget.
  double charged = 0;
  int64_t open_attempts = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, job_snapshot& x) {
  return f(caf::meta::type_name("job_snapshot"), x.job_id, x.found, x.status, x.spec_json,
           x.started_us, x.first_start, x.cancel_requested, x.charged, x.open_attempts);
}

// One page of a job's open cells ended (cancel, deadline, failed start).
struct abort_page {
  int32_t cells = 0;    // cells ended by this page
  int64_t last_id = 0;  // the next page starts after this cell id
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, abort_page& x) {
  return f(caf::meta::type_name("abort_page"), x.cells, x.last_id);
}

// What a manual retry reopened: failed or timed-out cells back to pending.
struct reopen_result {
  int32_t cells = 0;                      // cells reopened
  std::vector<int32_t> question_indexes;  // of those cells, each once, ascending
  bool job_was_ended = false;             // the job was terminal and is queued again
  bool deferred = false;  // (supervisor to manager) the job is ending: retry once it has ended
  // Another node runs the job: the retry was recorded for it (this node), and `cells` is how
  // many cells it will reopen as things stand.
  std::string routed_to;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, reopen_result& x) {
  return f(caf::meta::type_name("reopen_result"), x.cells, x.question_indexes, x.job_was_ended,
           x.deferred, x.routed_to);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, job_verdict& x) {
  return f(caf::meta::type_name("job_verdict"), x.status, x.reason);
}

// One cell's committed status change: the counters, live progress and the event stream use it.
struct cell_event {
  std::string job_id;
  std::string region;
  int32_t question_index = 0;
  cell_status from = cell_status::pending;
  cell_status to = cell_status::pending;
  std::string provider_id;  // empty when none
  std::string error;        // "code: message", empty when none
  std::string model_id;
  int64_t cell_id = 0;
  // The stored answer's usage and cost (-1: not reported, unknown, or no answer).
  int64_t prompt_tokens = -1;
  int64_t completion_tokens = -1;
  double cost = -1;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cell_event& x) {
  return f(caf::meta::type_name("cell_event"), x.job_id, x.region, x.question_index, x.from, x.to,
           x.provider_id, x.error, x.model_id, x.cell_id, x.prompt_tokens, x.completion_tokens,
           x.cost);
}

// One entry of a job's event stream: a cell event, or (new_job_status set) a job status change.
struct stream_item {
  int64_t seq = 0;  // per job, from 1; the SSE event id
  cell_event cell;
  caf::optional<job_status> new_job_status;
  std::string job_reason;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stream_item& x) {
  return f(caf::meta::type_name("stream_item"), x.seq, x.cell, x.new_job_status, x.job_reason);
}

// Tokens and cost of stored answers, summed as reported: answers whose provider reported no
// usage count in none of the sums; completed answers without a known cost are counted apart.
struct usage_totals {
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  double cost = 0;
  int32_t uncosted = 0;  // completed cells whose cost is unknown

  void add(int64_t prompt, int64_t completion, double answer_cost, bool completed) {
    prompt_tokens += std::max<int64_t>(0, prompt);
    completion_tokens += std::max<int64_t>(0, completion);
    if (answer_cost >= 0)
      cost += answer_cost;
    else if (completed)
      ++uncosted;
  }
  void add(const usage_totals& o) {
    prompt_tokens += o.prompt_tokens;
    completion_tokens += o.completion_tokens;
    cost += o.cost;
    uncosted += o.uncosted;
  }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, usage_totals& x) {
  return f(caf::meta::type_name("usage_totals"), x.prompt_tokens, x.completion_tokens, x.cost,
           x.uncosted);
}

// Cell counts of one (question, model, region) group by status (all_cell_statuses order), and
// its answers' usage.
struct group_progress {
  int32_t question_index = 0;
  std::string model_id;
  std::string region;
  std::vector<int32_t> counts = std::vector<int32_t>(cell_status_count, 0);
  usage_totals usage;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, group_progress& x) {
  return f(caf::meta::type_name("group_progress"), x.question_index, x.model_id, x.region, x.counts,
           x.usage);
}

// Cell counts of one question by status (all_cell_statuses order).
struct question_progress {
  std::string question_id;
  std::vector<int32_t> counts = std::vector<int32_t>(cell_status_count, 0);
  int32_t total() const {
    int32_t t = 0;
    for (auto c : counts) t += c;
    return t;
  }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, question_progress& x) {
  return f(caf::meta::type_name("question_progress"), x.question_id, x.counts);
}

// Live progress of one job.
struct job_progress {
  std::string job_id;
  bool found = false;  // the hub knows the job
  job_status status = job_status::queued;
  std::string reason;
  std::vector<question_progress> questions;
  std::vector<group_progress> groups;  // the same cells by (question, model, region)
  // A page of a job's counts holds questions [first_question, end_question) only (the others
  // are left empty); end_question -1: the whole job.
  int32_t first_question = 0;
  int32_t end_question = -1;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, job_progress& x) {
  return f(caf::meta::type_name("job_progress"), x.job_id, x.found, x.status, x.reason, x.questions,
           x.groups, x.first_question, x.end_question);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, question& x) {
  return f(caf::meta::type_name("question"), x.id, x.prompt);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, job_spec& x) {
  return f(caf::meta::type_name("job_spec"), x.id, x.questions, x.models, x.regions, x.runs,
           x.min_success_rate, x.min_regions, x.timeout, x.provider_timeout, x.json, x.generation,
           x.model_generation, x.max_cost);
}

// A validated JobSpec to store with all its cells (persistence's admit): the spec, the cells'
// retry budgets, each region's system prompt and the guards written in the same transaction.
struct admission_request {
  job_spec spec;
  int32_t max_retries = 3;                            // automatic retries per cell
  int32_t manual_retry_limit = 3;                     // retries a person may ask for per cell
  std::map<std::string, std::string> system_prompts;  // region -> prompt
  std::string idempotency_key;                        // empty: none
  std::string request_sha256;
  std::string signer_public_key;  // with nonce: the replay check
  std::string nonce;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, admission_request& x) {
  return f(caf::meta::type_name("admission_request"), x.spec, x.max_retries, x.manual_retry_limit,
           x.system_prompts, x.idempotency_key, x.request_sha256, x.signer_public_key, x.nonce);
}

// What storing it did: created, or why not (duplicate id, Idempotency-Key repeat or conflict,
// nonce replay) with the job that holds the id, key or nonce.
struct admission_reply {
  enum outcome : int32_t {
    created,
    duplicate,
    idempotent_repeat,
    idempotency_conflict,
    replay,
  };
  int32_t result = created;
  std::string existing_job_id;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, admission_reply& x) {
  return f(caf::meta::type_name("admission_reply"), x.result, x.existing_job_id);
}

}  // namespace beacon
