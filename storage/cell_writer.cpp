// The SQL of the persistence actor. Every UPDATE touches only open rows (pending or running), so a
// terminal row is never overwritten, and records previous_status from the row it locked, so the
// counters move by exact transitions even under concurrent writers. The lease fence is written
// `(e.job_id = ANY (...)) IS TRUE` so it stays a filter on the rows found by id: as a plain ANY
// the planner answered it with the job_id index, reading every row of the job for each batch
// (a 100,000-cell job ran 40% slower with leases on).
#include "storage/cell_writer.hpp"

#include <algorithm>
#include <map>
#include <pqxx/pqxx>
#include <set>
#include <tuple>

#include "common/assert.hpp"
#include "common/text.hpp"
#include "domain/status.hpp"
#include "storage/lease_store.hpp"
#include "storage/pg_arrays.hpp"
#include "storage/prepared.hpp"
#include "storage/status_words.hpp"

namespace beacon::storage {
namespace {

// A claim opens the cell's next attempt. An attempt still open (its node or actor stopped
// before its outcome was recorded) is recorded as interrupted first: it may have reached the
// provider, so it stays counted, but outside the retry budget.
constexpr prepared_statement claim_sql = {"beacon_claim", R"sql(
UPDATE executions e
   SET previous_status = e.status, status = 'running',
       started_at = beacon_from_epoch_us(v.started_us), updated_at = now(),
       retry_history = CASE WHEN e.attempt_open THEN e.retry_history || jsonb_build_array(
                         jsonb_build_object(
                           'attempt', e.attempts,
                           'at', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                           'class', 'interrupted',
                           'message', 'the node or actor running this attempt stopped before its '
                                      'outcome was recorded; the call may have reached the provider'))
                       ELSE e.retry_history END,
       interrupted_attempts = e.interrupted_attempts + e.attempt_open::int,
       attempts = e.attempts + 1, attempt_open = true
  FROM unnest($1::bigint[], $2::bigint[]) AS v(id, started_us)
 WHERE e.id = v.id AND e.status IN ('pending', 'running')
   AND (NOT $3::bool OR (e.job_id = ANY ($4::text[])) IS TRUE)
RETURNING e.id, e.job_id, e.region, e.question_index, e.previous_status, e.attempts,
          e.model_id, e.interrupted_attempts)sql"};

// A retry's attempt, before its call, with the failures before it. Repeating a record (a
// re-send after a lost connection) changes nothing.
constexpr prepared_statement attempt_sql = {"beacon_attempt", R"sql(
UPDATE executions e
   SET retry_history = CASE WHEN e.attempts < v.attempt THEN e.retry_history || v.failures::jsonb
                            ELSE e.retry_history END,
       attempts = greatest(e.attempts, v.attempt), attempt_open = true, updated_at = now()
  FROM unnest($1::bigint[], $2::int[], $3::text[]) AS v(id, attempt, failures)
 WHERE e.id = v.id AND e.status = 'running'
   AND (NOT $4::bool OR (e.job_id = ANY ($5::text[])) IS TRUE)
RETURNING e.id)sql"};

constexpr prepared_statement outcome_sql = {"beacon_outcome", R"sql(
UPDATE executions e
   SET previous_status = e.status, status = v.status, provider_id = v.provider_id, provider_region = v.provider_region,
       attempts = CASE WHEN v.attempts < 0 THEN e.attempts ELSE v.attempts END,
       attempt_open = false,
       retry_history = e.retry_history || v.retry_history::jsonb,
       started_at = CASE WHEN v.started_us > 0 THEN beacon_from_epoch_us(v.started_us)
                         ELSE e.started_at END,
       completed_at = beacon_from_epoch_us(v.completed_us), duration_ms = v.duration_ms,
       output_data = v.output_data::jsonb, error_code = v.error_code,
       error_message = v.error_message, response_classification = v.classification,
       is_substantive = v.substantive, is_content_refusal = v.refusal,
       is_technical_error = v.technical, response_length = NULLIF(v.response_length, -1),
       http_status = NULLIF(v.http_status, 0),
       receipt_leaf = NULL, receipt_log = NULLIF(v.receipt_log, 0),
       receipt_index = NULLIF(v.receipt_index, -1),
       output_hash = CASE WHEN v.hash_slot >= 0
                          THEN substring($35::bytea FROM v.hash_slot * 32 + 1 FOR 32) END,
       benchmark_hash = CASE WHEN v.hash_slot >= 0
                             THEN substring($36::bytea FROM v.hash_slot * 32 + 1 FOR 32) END,
       prompt_tokens = NULLIF(v.prompt_tokens, -1), completion_tokens = NULLIF(v.completion_tokens, -1),
       finish_reason = v.finish_reason,
       temperature = v.temperature, max_tokens = v.max_tokens,
       top_p = v.top_p, seed = NULLIF(v.seed, -1),
       settings_unsent = v.settings_unsent, cost = NULLIF(v.cost, -1),
       charged = CASE WHEN v.charged < 0 THEN e.charged ELSE coalesce(e.charged, 0) + v.charged END,
       updated_at = now()
  FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::int[], $6::text[],
              $7::bigint[], $8::bigint[], $9::bigint[], $10::text[], $11::text[],
              $12::text[], $13::text[], $14::bool[], $15::bool[], $16::bool[], $17::int[],
              $18::int[], $19::int[], $20::bigint[], $21::int[], $22::bigint[],
              $23::bigint[], $24::text[], $25::numeric[], $26::int[], $27::numeric[], $28::bigint[],
              $29::text[], $30::float8[], $31::float8[], $32::bool[])
    AS v(id, status, provider_id, provider_region, attempts, retry_history, started_us,
         completed_us, duration_ms, output_data, error_code, error_message, classification,
         substantive, refusal, technical, response_length, http_status, receipt_log,
         receipt_index, hash_slot, prompt_tokens, completion_tokens,
         finish_reason, temperature, max_tokens, top_p, seed, settings_unsent, cost, charged,
         with_claim)
 WHERE e.id = v.id AND e.status IN ('pending', 'running')
   AND (NOT v.with_claim OR (e.status = 'running' AND e.attempts = v.attempts))
   AND (NOT $33::bool OR (e.job_id = ANY ($34::text[])) IS TRUE)
RETURNING e.id, e.job_id, e.region, e.question_index, e.previous_status, e.status,
          coalesce(e.provider_id, ''), coalesce(e.error_code || ': ' || e.error_message, ''),
          e.model_id, coalesce(e.prompt_tokens, -1), coalesce(e.completion_tokens, -1),
          coalesce(e.cost, -1))sql"};

// One page of open cells, in id order after a cursor. The ids are gathered first (ARRAY of an
// index-ordered scan), so the update reads only them: an IN over the subquery let the planner
// scan the whole job on every page.
constexpr const char* abort_sql = R"sql(
UPDATE executions e
   SET previous_status = e.status, status = $2, error_code = $3, error_message = $4,
       completed_at = now(), attempt_open = false,
       duration_ms = CASE WHEN e.started_at IS NULL THEN NULL
                          ELSE greatest(0, (extract(epoch FROM now() - e.started_at) * 1000)::bigint) END,
       updated_at = now()
 WHERE e.id = ANY (ARRAY(SELECT id FROM executions
                           WHERE job_id = $1 AND id > $6 AND status IN ('pending', 'running')
                           ORDER BY id LIMIT $5))
RETURNING e.id, e.job_id, e.region, e.question_index, e.previous_status, e.status,
          e.model_id)sql";

// Every counter a batch moves, in one statement: the region rows, then per job its cross-region
// row and its job row. Each group's provider ids come as the text of a text[] literal.
constexpr prepared_statement counters_sql = {"beacon_counters", R"sql(
WITH regions AS (
UPDATE region_results r
   SET pending_cells = r.pending_cells + v.p, running_cells = r.running_cells + v.ru,
       completed_cells = r.completed_cells + v.c, failed_cells = r.failed_cells + v.f,
       timeout_cells = r.timeout_cells + v.t, cancelled_cells = r.cancelled_cells + v.x,
       status = beacon_rollup_status(r.pending_cells + v.p, r.running_cells + v.ru,
                                     r.completed_cells + v.c, r.failed_cells + v.f,
                                     r.timeout_cells + v.t, r.cancelled_cells + v.x),
       provider_ids = CASE WHEN v.providers::text[] <@ r.provider_ids THEN r.provider_ids
                      ELSE ARRAY(SELECT DISTINCT x FROM unnest(r.provider_ids || v.providers::text[]) x ORDER BY x) END,
       latest_error = coalesce(NULLIF(v.latest_error, ''), r.latest_error),
       started_at = coalesce(r.started_at, now()),
       completed_at = CASE WHEN r.pending_cells + v.p + r.running_cells + v.ru = 0 THEN now() END,
       duration_ms = CASE WHEN r.pending_cells + v.p + r.running_cells + v.ru = 0 THEN
                       greatest(0, (extract(epoch FROM now() - coalesce(r.started_at, now())) * 1000)::bigint) END,
       updated_at = now()
  FROM unnest($1::text[], $2::text[], $3::int[], $4::int[], $5::int[], $6::int[], $7::int[],
              $8::int[], $9::text[], $10::text[])
    AS v(job_id, region, p, ru, c, f, t, x, providers, latest_error)
 WHERE r.job_id = v.job_id AND r.region = v.region
RETURNING 1),
job_deltas AS (
SELECT * FROM unnest($11::text[], $12::int[], $13::int[], $14::int[], $15::int[], $16::int[],
                     $17::int[], $18::text[], $19::text[])
    AS v(job_id, p, ru, c, f, t, x, providers, latest_error)),
cross_region AS (
UPDATE cross_region_executions cr
   SET pending_cells = cr.pending_cells + v.p, running_cells = cr.running_cells + v.ru,
       completed_cells = cr.completed_cells + v.c, failed_cells = cr.failed_cells + v.f,
       timeout_cells = cr.timeout_cells + v.t, cancelled_cells = cr.cancelled_cells + v.x,
       provider_ids = CASE WHEN v.providers::text[] <@ cr.provider_ids THEN cr.provider_ids
                      ELSE ARRAY(SELECT DISTINCT x FROM unnest(cr.provider_ids || v.providers::text[]) x ORDER BY x) END,
       latest_error = coalesce(NULLIF(v.latest_error, ''), cr.latest_error),
       updated_at = now()
  FROM job_deltas v
 WHERE cr.job_id = v.job_id
RETURNING 1)
UPDATE jobs j
   SET pending_cells = j.pending_cells + v.p, running_cells = j.running_cells + v.ru,
       completed_cells = j.completed_cells + v.c, failed_cells = j.failed_cells + v.f,
       timeout_cells = j.timeout_cells + v.t, cancelled_cells = j.cancelled_cells + v.x,
       updated_at = now()
  FROM job_deltas v
 WHERE j.id = v.job_id)sql"};

cell_transition transition_from(const pqxx::row& row, cell_status to) {
  return {row[1].as<std::string>(),
          row[2].as<std::string>(),
          row[3].as<int32_t>(),
          stored_cell_status(row[4].as<std::string>()),
          to,
          "",
          "",
          row["model_id"].as<std::string>(),
          row[0].as<int64_t>()};
}

// Counter deltas of one group (a region of a job, or a job).
struct group_delta {
  int64_t d[cell_status_count] = {};
  std::set<std::string> providers;
  std::string latest_error;
};

}  // namespace

std::unordered_map<int64_t, claim_result> claim_cells(pqxx::work& tx,
                                                      const std::vector<cell_claim>& claims,
                                                      std::vector<cell_transition>& out,
                                                      const write_fence& fence) {
  std::unordered_map<int64_t, claim_result> granted;
  if (claims.empty()) return granted;
  std::vector<int64_t> ids, started;
  for (auto& c : claims) {
    ids.push_back(c.cell_id);
    started.push_back(c.started_us);
  }
  for (auto row : exec_prepared(tx, claim_sql, int_array(ids), int_array(started), fence.on,
                                text_array(fence.jobs))) {
    granted.emplace(row[0].as<int64_t>(),
                    claim_result{true, row[5].as<int32_t>(), row[7].as<int32_t>()});
    out.push_back(transition_from(row, cell_status::running));
  }
  return granted;
}

std::unordered_set<int64_t> record_attempts(pqxx::work& tx,
                                            const std::vector<attempt_record>& records,
                                            const write_fence& fence) {
  std::unordered_set<int64_t> open;
  if (records.empty()) return open;
  std::vector<int64_t> ids, numbers;
  std::vector<std::string> failures;
  for (auto& r : records) {
    ids.push_back(r.cell_id);
    numbers.push_back(r.attempt);
    failures.push_back(r.failures.empty() ? "[]" : r.failures);
  }
  for (auto row : exec_prepared(tx, attempt_sql, int_array(ids), int_array(numbers),
                                text_array(failures), fence.on, text_array(fence.jobs)))
    open.insert(row[0].as<int64_t>());
  return open;
}

std::unordered_set<int64_t> record_outcomes(pqxx::work& tx,
                                            const std::vector<cell_outcome>& outcomes,
                                            std::vector<cell_transition>& out,
                                            const write_fence& fence,
                                            const receipt_placement& placement) {
  std::unordered_set<int64_t> written;
  if (outcomes.empty()) return written;
  std::vector<int64_t> ids, attempts, started, completed, duration, length, http_status, log, index,
      hash_slot, prompt_tokens, completion_tokens, max_tokens, seed;
  std::vector<std::string> st, provider, provider_region, history, output, code, message, cls,
      finish_reason, unsent, temperature, top_p;
  // The receipts' two hashes, 32 raw bytes each, one after another (a row's slot says where its
  // own are): one binary parameter each, no hex text to write and parse per row.
  std::string output_hashes, benchmark_hashes;
  std::vector<double> cost, charged;
  std::vector<bool> substantive, refusal, technical, with_claim;
  auto next_leaf = placement.first;
  for (auto& o : outcomes) {
    bool placed = placement.log_id != 0 && !o.receipt_leaf.empty();
    log.push_back(placed ? placement.log_id : 0);
    index.push_back(placed ? static_cast<int64_t>(next_leaf++) : -1);
    bool hashed = o.output_hash.size() == 32 && o.benchmark_hash.size() == 32;
    BEACON_ASSERT(hashed || (o.output_hash.empty() && o.benchmark_hash.empty()),
                  "a receipt's hashes are 32 bytes each, or absent together");
    hash_slot.push_back(hashed ? static_cast<int64_t>(output_hashes.size() / 32) : -1);
    if (hashed) {
      output_hashes += o.output_hash;
      benchmark_hashes += o.benchmark_hash;
    }
    prompt_tokens.push_back(o.prompt_tokens);
    completion_tokens.push_back(o.completion_tokens);
    finish_reason.push_back(o.finish_reason);
    // As decimal text: the row reads back the very text the receipt covers.
    temperature.push_back(text::decimal_text(o.generation.temperature));
    max_tokens.push_back(o.generation.max_tokens);
    top_p.push_back(o.generation.top_p > 0 ? text::decimal_text(o.generation.top_p) : "");
    seed.push_back(o.generation.has_seed ? o.generation.seed : -1);
    unsent.push_back(o.settings_unsent);
    cost.push_back(o.cost >= 0 ? o.cost : -1);
    charged.push_back(o.charged >= 0 ? o.charged : -1);
    ids.push_back(o.cell_id);
    st.push_back(word(o.status));
    provider.push_back(o.provider_id);
    provider_region.push_back(o.provider_region);
    attempts.push_back(o.attempts);
    history.push_back(o.retry_history.empty() ? "[]" : o.retry_history);
    started.push_back(o.started_us);
    completed.push_back(o.completed_us);
    duration.push_back(o.duration_ms);
    output.push_back(o.output_json);
    code.push_back(o.error_code);
    message.push_back(o.error_message);
    cls.push_back(o.classification);
    substantive.push_back(o.is_substantive);
    refusal.push_back(o.is_content_refusal);
    technical.push_back(o.is_technical_error);
    length.push_back(o.response_length);
    http_status.push_back(o.http_status);
    with_claim.push_back(o.with_claim);
  }
  auto rows = exec_prepared(
      tx, outcome_sql, int_array(ids), text_array(st), text_array_empty_null(provider),
      text_array_empty_null(provider_region), int_array(attempts), text_array(history),
      int_array(started), int_array(completed), int_array(duration), text_array_empty_null(output),
      text_array_empty_null(code), text_array_empty_null(message), text_array(cls),
      bool_array(substantive), bool_array(refusal), bool_array(technical), int_array(length),
      int_array(http_status), int_array(log), int_array(index), int_array(hash_slot),
      int_array(prompt_tokens), int_array(completion_tokens), text_array_empty_null(finish_reason),
      text_array(temperature), int_array(max_tokens), text_array_empty_null(top_p), int_array(seed),
      text_array_empty_null(unsent), float_array(cost), float_array(charged),
      bool_array(with_claim), fence.on, text_array(fence.jobs), pqxx::binarystring(output_hashes),
      pqxx::binarystring(benchmark_hashes));
  for (auto row : rows) {
    written.insert(row[0].as<int64_t>());
    auto t = transition_from(row, stored_cell_status(row[5].as<std::string>()));
    t.provider_id = row[6].as<std::string>();
    t.error = row[7].as<std::string>();
    t.prompt_tokens = row[9].as<int64_t>();
    t.completion_tokens = row[10].as<int64_t>();
    t.cost = row[11].as<double>();
    out.push_back(std::move(t));
  }
  return written;
}

void move_receipts(pqxx::work& tx, int32_t log_id,
                   const std::vector<std::pair<int64_t, uint64_t>>& places) {
  if (places.empty()) return;
  std::vector<int64_t> ids, indexes;
  for (auto& [id, index] : places) {
    ids.push_back(id);
    indexes.push_back(static_cast<int64_t>(index));
  }
  tx.exec_params(
      "UPDATE executions e SET receipt_log = $1, receipt_index = v.i"
      "  FROM unnest($2::bigint[], $3::bigint[]) AS v(id, i) WHERE e.id = v.id",
      log_id, int_array(ids), int_array(indexes));
}

abort_page abort_open_cells(pqxx::work& tx, const std::string& job_id, cell_status st,
                            const std::string& error_code, const std::string& message,
                            std::vector<cell_transition>& out, int32_t limit, int64_t after_id) {
  BEACON_ASSERT(limit > 0, "an abort page ends at least one cell");
  auto rows = tx.exec_params(abort_sql, job_id, word(st), error_code, message, limit, after_id);
  abort_page page;
  page.last_id = after_id;
  for (auto row : rows) {
    auto t = transition_from(row, st);
    t.error = error_code + ": " + message;
    out.push_back(std::move(t));
    page.last_id = std::max(page.last_id, row[0].as<int64_t>());
  }
  page.cells = static_cast<int32_t>(rows.size());
  if (error_code == "budget_exhausted")
    tx.exec_params(
        "UPDATE jobs SET budget_exhausted_at = coalesce(budget_exhausted_at, now()) WHERE id = $1",
        job_id);
  return page;
}

void apply_counters(pqxx::work& tx, const std::vector<cell_transition>& transitions) {
  std::map<std::pair<std::string, std::string>, group_delta> regions;
  std::map<std::string, group_delta> jobs;
  for (auto& t : transitions) {
    auto from = index_of(t.from), to = index_of(t.to);
    if (from == to) continue;
    for (auto* g : {&regions[{t.job_id, t.region}], &jobs[t.job_id]}) {
      --g->d[from];
      ++g->d[to];
      if (!t.provider_id.empty()) g->providers.insert(t.provider_id);
      if (!t.error.empty()) g->latest_error = t.error;
    }
  }
  if (jobs.empty()) return;
  auto providers = [](const group_delta& g) {
    return text_array(std::vector<std::string>(g.providers.begin(), g.providers.end()));
  };
  // The groups' columns, region groups first (their counts, provider ids and latest error).
  std::vector<std::string> region_jobs, region_names, region_providers, region_errors;
  std::vector<int64_t> region_d[cell_status_count];
  for (auto& [key, g] : regions) {
    region_jobs.push_back(key.first);
    region_names.push_back(key.second);
    for (size_t i = 0; i < cell_status_count; ++i) region_d[i].push_back(g.d[i]);
    region_providers.push_back(providers(g));
    region_errors.push_back(g.latest_error);
  }
  std::vector<std::string> job_ids, job_providers, job_errors;
  std::vector<int64_t> job_d[cell_status_count];
  for (auto& [job, g] : jobs) {
    job_ids.push_back(job);
    for (size_t i = 0; i < cell_status_count; ++i) job_d[i].push_back(g.d[i]);
    job_providers.push_back(providers(g));
    job_errors.push_back(g.latest_error);
  }
  exec_prepared(tx, counters_sql, text_array(region_jobs), text_array(region_names),
                int_array(region_d[0]), int_array(region_d[1]), int_array(region_d[2]),
                int_array(region_d[3]), int_array(region_d[4]), int_array(region_d[5]),
                text_array(region_providers), text_array(region_errors), text_array(job_ids),
                int_array(job_d[0]), int_array(job_d[1]), int_array(job_d[2]), int_array(job_d[3]),
                int_array(job_d[4]), int_array(job_d[5]), text_array(job_providers),
                text_array(job_errors));
}

void warm_up_writes(pqxx::connection& conn, bool fenced) {
  constexpr int64_t no_cell = -1;  // cell ids are positive
  pqxx::work tx{conn};
  // A generic plan made now would be kept for the connection's life, and on a new node's empty
  // tables it scans them (a 100,000-cell job then crawled).
  use_custom_plans(tx);
  write_fence fence{fenced, {}};
  if (fenced) fence.jobs = fenced_jobs(tx, {{"", 0}});
  std::vector<cell_transition> moved;
  claim_cells(tx, {cell_claim{no_cell, 0}}, moved, fence);
  record_attempts(tx, {attempt_record{no_cell, 1, "[]"}}, fence);
  cell_outcome outcome;
  outcome.cell_id = no_cell;
  record_outcomes(tx, {outcome}, moved, fence);
  cell_transition nothing;  // of no job: moves no counter
  nothing.to = cell_status::running;
  apply_counters(tx, {nothing});
  BEACON_ASSERT(moved.empty(), "a warm-up writes nothing");
  tx.abort();
}

}  // namespace beacon::storage
