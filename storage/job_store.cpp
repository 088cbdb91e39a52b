// Job-level SQL.
#include "storage/job_store.hpp"

#include <algorithm>
#include <limits>
#include <map>
#include <pqxx/pqxx>
#include <stdexcept>
#include <tuple>

#include "common/assert.hpp"
#include "domain/status.hpp"
#include "domain/verdict.hpp"
#include "storage/pg_arrays.hpp"
#include "storage/prepared.hpp"
#include "storage/sql_time.hpp"
#include "storage/status_words.hpp"

namespace beacon::storage {

admit_outcome admit_job(pqxx::connection& conn, const job_spec& spec, const retry_budget& retries,
                        const std::map<std::string, std::string>& system_prompts,
                        const admit_guards& guards) {
  pqxx::work tx{conn};
  if (!guards.idempotency_key.empty()) {
    // A concurrent first use of the key holds its row lock until it commits; we then see it.
    auto seen = tx.exec_params(
        "SELECT job_id, request_sha256 FROM idempotency_keys WHERE key = $1 FOR SHARE",
        guards.idempotency_key);
    if (!seen.empty())
      return {seen[0][1].as<std::string>() == guards.request_sha256
                  ? admit_result::idempotent_repeat
                  : admit_result::idempotency_conflict,
              seen[0][0].as<std::string>()};
  }
  auto total = spec.total_cells();
  auto inserted = tx.exec_params(
      "INSERT INTO jobs (id, spec, total_cells, pending_cells, min_success_rate, min_regions) "
      "VALUES ($1, $2::jsonb, $3, $3, $4, $5) ON CONFLICT (id) DO NOTHING",
      spec.id, spec.json, total, spec.min_success_rate, spec.min_regions);
  if (inserted.affected_rows() == 0) return {admit_result::duplicate, spec.id};
  if (!guards.nonce.empty()) {
    auto fresh = tx.exec_params(
        "INSERT INTO signature_nonces (public_key, nonce, job_id) VALUES ($1, $2, $3)"
        " ON CONFLICT DO NOTHING RETURNING job_id",
        guards.signer_public_key, guards.nonce, spec.id);
    if (fresh.empty()) {
      auto first = tx.exec_params1(
          "SELECT job_id FROM signature_nonces WHERE public_key = $1 AND nonce = $2",
          guards.signer_public_key, guards.nonce);
      return {admit_result::replay, first[0].as<std::string>()};
    }
  }
  if (!guards.idempotency_key.empty()) {
    auto fresh = tx.exec_params(
        "INSERT INTO idempotency_keys (key, request_sha256, job_id) VALUES ($1, $2, $3)"
        " ON CONFLICT DO NOTHING RETURNING key",
        guards.idempotency_key, guards.request_sha256, spec.id);
    if (fresh.empty()) {  // lost a race with the same key: answer as the winner's repeat
      tx.abort();
      pqxx::work again{conn};
      auto seen =
          again.exec_params1("SELECT job_id, request_sha256 FROM idempotency_keys WHERE key = $1",
                             guards.idempotency_key);
      return {seen[1].as<std::string>() == guards.request_sha256
                  ? admit_result::idempotent_repeat
                  : admit_result::idempotency_conflict,
              seen[0].as<std::string>()};
    }
  }
  auto cross_id =
      tx.exec_params1(
            "INSERT INTO cross_region_executions (job_id, total_regions, total_cells, "
            "pending_cells,"
            " min_regions_required, min_success_rate) VALUES ($1, $2, $3, $3, $4, $5) RETURNING id",
            spec.id, static_cast<int64_t>(spec.regions.size()), total, spec.min_regions,
            spec.min_success_rate)[0]
          .as<std::string>();
  int64_t per_region = total / static_cast<int64_t>(spec.regions.size());
  tx.exec_params(
      "INSERT INTO region_results (cross_region_execution_id, job_id, region, total_cells,"
      " pending_cells) SELECT $1::uuid, $2, r, $3, $3 FROM unnest($4::text[]) r",
      cross_id, spec.id, per_region, text_array(spec.regions));
  std::vector<std::string> qids, prompts;
  for (auto& q : spec.questions) qids.push_back(q.id);
  for (auto& r : spec.regions) {
    auto it = system_prompts.find(r);
    prompts.push_back(it == system_prompts.end() ? std::string() : it->second);
  }
  tx.exec_params(
      "INSERT INTO executions (job_id, cross_region_execution_id, region, model_id, question_id,"
      " question_index, run, max_retries, manual_retry_limit, system_prompt)"
      " SELECT $1, $2::uuid, r.region, m.model, q.qid, (q.qi - 1)::int, n, $8, $9,"
      " NULLIF(r.prompt, '')"
      " FROM unnest($3::text[]) WITH ORDINALITY AS q(qid, qi)"
      " CROSS JOIN unnest($4::text[]) WITH ORDINALITY AS m(model, mi)"
      " CROSS JOIN unnest($5::text[], $6::text[]) WITH ORDINALITY AS r(region, prompt, ri)"
      " CROSS JOIN generate_series(0, $7 - 1) AS n"
      " ORDER BY q.qi, m.mi, r.ri, n",
      spec.id, cross_id, text_array(qids), text_array(spec.models), text_array(spec.regions),
      text_array(prompts), spec.runs, retries.automatic, retries.manual);
  tx.commit();
  return {admit_result::created, spec.id};
}

// admission_reply carries admit_result as its number.
static_assert(static_cast<int32_t>(admit_result::created) == admission_reply::created);
static_assert(static_cast<int32_t>(admit_result::duplicate) == admission_reply::duplicate);
static_assert(static_cast<int32_t>(admit_result::idempotent_repeat) ==
              admission_reply::idempotent_repeat);
static_assert(static_cast<int32_t>(admit_result::idempotency_conflict) ==
              admission_reply::idempotency_conflict);
static_assert(static_cast<int32_t>(admit_result::replay) == admission_reply::replay);

admission_reply store_admission(pqxx::connection& conn, const admission_request& r) {
  auto out = admit_job(conn, r.spec, {r.max_retries, r.manual_retry_limit}, r.system_prompts,
                       {r.idempotency_key, r.request_sha256, r.signer_public_key, r.nonce});
  return admission_reply{static_cast<int32_t>(out.result), out.existing_job_id};
}

void read_progress_page(pqxx::transaction_base& tx, const std::string& job_id,
                        int32_t first_question, int32_t end_question, job_progress& progress) {
  std::map<std::tuple<int32_t, std::string, std::string>, size_t> group_at;
  for (auto row :
       tx.exec_params("SELECT question_index, question_id, model_id, region, status, count(*)::int,"
                      " coalesce(sum(prompt_tokens), 0)::bigint,"
                      " coalesce(sum(completion_tokens), 0)::bigint, coalesce(sum(cost), 0),"
                      " count(*) FILTER (WHERE status = 'completed' AND cost IS NULL)::int"
                      " FROM executions WHERE job_id = $1 AND question_index >= $2"
                      " AND question_index < $3 GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 3, 4",
                      job_id, first_question, end_question)) {
    auto qi = row[0].as<int32_t>();
    auto idx = index_of(stored_cell_status(row[4].as<std::string>()));
    auto n = row[5].as<int32_t>();
    if (progress.questions.size() <= static_cast<size_t>(qi)) progress.questions.resize(qi + 1);
    auto& q = progress.questions[qi];
    q.question_id = row[1].as<std::string>();
    q.counts[idx] += n;
    auto key = std::make_tuple(qi, row[2].as<std::string>(), row[3].as<std::string>());
    auto it = group_at.find(key);
    if (it == group_at.end()) {
      it = group_at.emplace(key, progress.groups.size()).first;
      progress.groups.push_back(
          {qi, std::get<1>(key), std::get<2>(key), std::vector<int32_t>(cell_status_count, 0), {}});
    }
    auto& g = progress.groups[it->second];
    g.counts[idx] += n;
    g.usage.add(
        {row[6].as<int64_t>(), row[7].as<int64_t>(), row[8].as<double>(), row[9].as<int32_t>()});
  }
}

void read_progress(pqxx::transaction_base& tx, const std::string& job_id, job_progress& progress) {
  read_progress_page(tx, job_id, 0, std::numeric_limits<int32_t>::max(), progress);
}

job_snapshot start_job(pqxx::work& tx, const std::string& job_id) {
  job_snapshot snap;
  snap.job_id = job_id;
  auto job = tx.exec_params(
      "SELECT status, spec::text,"
      " coalesce(extract(epoch FROM coalesce(round_started_at, started_at)) * 1e6, 0)::bigint,"
      " started_at IS NULL, cancel_requested_at IS NOT NULL,"
      " coalesce(jsonb_typeof(spec->'constraints'->'max_cost') IN ('number', 'string'), false)"
      " FROM jobs WHERE id = $1 FOR UPDATE",
      job_id);
  if (job.empty()) return snap;
  snap.found = true;
  if (job[0][5].as<bool>()) {  // a budget: what its cells were charged so far
    auto spent = tx.exec_params1(
        "SELECT coalesce(sum(charged), 0), coalesce(sum(attempts) FILTER"
        " (WHERE status IN ('pending', 'running')), 0)::bigint FROM executions WHERE job_id = $1",
        job_id);
    snap.charged = spent[0].as<double>();
    snap.open_attempts = spent[1].as<int64_t>();
  }
  snap.status = stored_job_status(job[0][0].as<std::string>());
  snap.spec_json = job[0][1].as<std::string>();
  snap.started_us = job[0][2].as<int64_t>();
  snap.cancel_requested = job[0][4].as<bool>();
  if (snap.status == job_status::queued) {
    // A job queued again by a manual retry keeps the started_at of its first run.
    auto started = tx.exec_params1(
        "UPDATE jobs SET status = 'running', started_at = coalesce(started_at, now()),"
        " round_started_at = now(), updated_at = now() WHERE id = $1"
        " RETURNING (extract(epoch FROM round_started_at) * 1e6)::bigint",
        job_id);
    tx.exec_params(
        "UPDATE cross_region_executions SET status = 'running',"
        " started_at = coalesce(started_at, now()), updated_at = now() WHERE job_id = $1",
        job_id);
    snap.status = job_status::running;
    snap.started_us = started[0].as<int64_t>();
    snap.first_start = job[0][3].as<bool>();
  }
  return snap;
}

void request_cancel(pqxx::work& tx, const std::string& job_id) {
  tx.exec_params(
      "UPDATE jobs SET cancel_requested_at = now(), updated_at = now()"
      " WHERE id = $1 AND cancel_requested_at IS NULL",
      job_id);
}

job_verdict finish_job(pqxx::work& tx, const std::string& job_id, bool cancelled) {
  auto job = tx.exec_params(
      "SELECT status, coalesce(error, ''), total_cells, pending_cells + running_cells,"
      " completed_cells, min_success_rate, min_regions, budget_exhausted_at IS NOT NULL"
      " FROM jobs WHERE id = $1 FOR UPDATE",
      job_id);
  if (job.empty()) throw std::logic_error("job " + job_id + " does not exist");
  auto current = stored_job_status(job[0][0].as<std::string>());
  if (is_terminal(current)) return {current, job[0][1].as<std::string>()};
  auto total = job[0][2].as<int64_t>();
  auto open = job[0][3].as<int64_t>();
  auto completed = job[0][4].as<int64_t>();
  auto min_rate = job[0][5].as<double>();
  auto min_regions = job[0][6].as<int64_t>();
  if (open > 0)
    throw std::logic_error("job " + job_id + " still has " + std::to_string(open) +
                           " open cells; it cannot finish yet");
  auto regions_ok =
      tx.exec_params1(
            "SELECT count(*) FROM region_results WHERE job_id = $1 AND completed_cells > 0",
            job_id)[0]
          .as<int64_t>();
  BEACON_ASSERT(completed <= total, "the counters never count more completed cells than exist");
  auto v = decide_verdict(
      {total, completed, regions_ok, min_rate, min_regions, cancelled, job[0][7].as<bool>()});
  tx.exec_params(
      "UPDATE jobs SET status = $2, error = CASE WHEN $2 = 'completed' THEN NULL ELSE $3 END,"
      " completed_at = coalesce(completed_at, now()), updated_at = now() WHERE id = $1",
      job_id, word(v.status), v.reason);
  tx.exec_params(
      "UPDATE cross_region_executions SET status = $2, completed_at = coalesce(completed_at, "
      "now()),"
      " updated_at = now(),"
      " duration_ms = greatest(0, (extract(epoch FROM now() - coalesce(started_at, created_at)) * "
      "1000)::bigint)"
      " WHERE job_id = $1",
      job_id, word(v.status));
  return v;
}

std::vector<std::string> resumable_jobs(pqxx::work& tx) {
  std::vector<std::string> out;
  for (auto row :
       tx.exec("SELECT id FROM jobs WHERE status IN ('queued', 'running') ORDER BY created_at, id"))
    out.push_back(row[0].as<std::string>());
  return out;
}

std::vector<cell_row> load_open_cells(pqxx::work& tx, const std::string& job_id,
                                      int32_t first_question, int32_t end_question,
                                      int64_t after_id, int32_t limit) {
  std::vector<cell_row> out;
  out.reserve(static_cast<size_t>(std::max(0, limit)));
  for (auto row : tx.exec_params(
           "SELECT id, model_id, region, run, status, attempts, max_retries,"
           " coalesce(system_prompt, ''), attempt_base, question_index FROM executions"
           " WHERE job_id = $1 AND question_index >= $2 AND question_index < $3 AND id > $4"
           " AND status IN ('pending', 'running') ORDER BY id LIMIT $5",
           job_id, first_question, end_question, after_id, limit)) {
    out.push_back({row[0].as<int64_t>(), row[1].as<std::string>(), row[2].as<std::string>(),
                   row[3].as<int32_t>(), stored_cell_status(row[4].as<std::string>()),
                   row[5].as<int32_t>(), row[6].as<int32_t>(), row[7].as<std::string>(),
                   row[8].as<int32_t>(), row[9].as<int32_t>()});
  }
  return out;
}

namespace {

// The job row's columns as job_view reads them, then (with a page) the page's JSON array.
std::string job_select(const std::optional<bool>& page_full) {
  std::string sql = "SELECT (spec || jsonb_build_object('created_at', " + rfc3339("created_at") +
                    "))::text, status, coalesce(error, ''),"
                    " jsonb_build_object('total', total_cells, 'pending', pending_cells,"
                    " 'running', running_cells, 'completed', completed_cells, 'failed', "
                    "failed_cells, 'timeout', timeout_cells, 'cancelled', cancelled_cells,"
                    " 'started_at', " +
                    rfc3339("started_at") + ", 'completed_at', " + rfc3339("completed_at") +
                    ", 'updated_at', " + rfc3339("updated_at") + ")::text";
  if (page_full)
    sql +=
        ", (SELECT coalesce(json_agg(x.j ORDER BY x.id DESC), '[]')::text FROM ("
        " SELECT e.id, json_build_object(" +
        execution_fields(*page_full) +
        ") AS j FROM executions e WHERE e.job_id = $1"
        " ORDER BY e.id DESC LIMIT $2 OFFSET $3) x)";
  return sql + " FROM jobs WHERE id = $1";
}

}  // namespace

std::optional<job_view> find_job(pqxx::transaction_base& tx, const std::string& job_id,
                                 const std::optional<cells_page>& page) {
  // Prepared: the portal polls the job and its page; planning the page cost ~0.45 ms a time.
  static const std::string job_sql = job_select(std::nullopt), page_sql = job_select(false),
                           full_page_sql = job_select(true);
  static const prepared_statement job{"find_job", job_sql.c_str()},
      with_page{"find_job_page", page_sql.c_str()},
      with_full_page{"find_job_full_page", full_page_sql.c_str()};
  auto rows = !page        ? exec_prepared(tx, job, job_id)
              : page->full ? exec_prepared(tx, with_full_page, job_id, page->limit, page->offset)
                           : exec_prepared(tx, with_page, job_id, page->limit, page->offset);
  if (rows.empty()) return std::nullopt;
  auto& r = rows[0];
  job_view v{r[0].as<std::string>(),
             stored_job_status(r[1].as<std::string>()),
             r[2].as<std::string>(),
             r[3].as<std::string>(),
             {}};
  if (page) v.cells_json = r[4].as<std::string>();
  return v;
}

std::string list_jobs_json(pqxx::transaction_base& tx, int64_t limit) {
  return tx
      .exec_params1(
          "SELECT coalesce(json_agg(json_build_object('id', id, 'status', status, 'created_at', " +
              rfc3339("created_at") +
              ", 'total_cells', total_cells, 'completed_cells', completed_cells)"
              " ORDER BY created_at DESC, id), '[]')::text"
              " FROM (SELECT * FROM jobs ORDER BY created_at DESC, id LIMIT $1) j",
          limit)[0]
      .as<std::string>();
}

// Whether a row has a receipt: v0 (in the row), v1.0 (its text beside its leaf) or v1.1 (a view
// of the row at its place in the log).
constexpr const char* has_receipt =
    "(e.receipt_data IS NOT NULL OR e.receipt_leaf IS NOT NULL OR e.receipt_index IS NOT NULL)";

std::string execution_fields(bool full) {
  std::string fields =
      "'id', e.id, 'job_id', e.job_id, 'region', e.region, 'provider_id', e.provider_id,"
      " 'provider_region', e.provider_region, 'status', e.status, 'model_id', e.model_id,"
      " 'question_id', e.question_id, 'run', e.run,"
      " 'response_classification', e.response_classification,"
      " 'is_substantive', e.is_substantive, 'is_content_refusal', e.is_content_refusal,"
      " 'is_technical_error', e.is_technical_error,"
      " 'error_code', e.error_code, 'error_message', e.error_message,"
      " 'started_at', " +
      rfc3339("e.started_at") + ", 'completed_at', " + rfc3339("e.completed_at") +
      ", 'duration_ms', e.duration_ms, 'attempts', e.attempts,"
      // retry_count: retries a person asked for (the portal's meaning, shown as "Retry n/limit"
      // and hidden at the limit); automatic retries show in attempts and retry_history.
      " 'retry_count', e.manual_retries, 'max_retries', e.manual_retry_limit,"
      // Only rows with a receipt call the receipt's SQL functions (not inlinable: ~14 us a row).
      " 'receipt', CASE WHEN " +
      std::string(has_receipt) + " THEN beacon_receipt(beacon_row_receipt(e), e.output_data) END";
  if (full)
    fields += ", 'created_at', coalesce(" + rfc3339("e.created_at") + ", ''), 'has_receipt', " +
              has_receipt +
              ","
              " 'output', e.output_data,"
              " 'system_prompt', e.system_prompt, 'response_length', e.response_length,"
              " 'auto_max_retries', e.max_retries, 'http_status', e.http_status,"
              " 'prompt_tokens', e.prompt_tokens, 'completion_tokens', e.completion_tokens,"
              " 'finish_reason', e.finish_reason,"
              " 'generation', CASE WHEN e.max_tokens IS NULL THEN NULL ELSE jsonb_build_object("
              "   'temperature', e.temperature, 'max_tokens', e.max_tokens, 'top_p', e.top_p,"
              "   'seed', e.seed) END,"
              " 'settings_unsent', e.settings_unsent, 'cost', e.cost, 'charged', e.charged,"
              " 'classification_reason', e.output_data -> 'metadata' ->> 'classification_reason',"
              " 'response_language', e.output_data -> 'metadata' ->> 'language',"
              " 'key_terms', e.output_data -> 'metadata' -> 'key_terms',"
              " 'retry_history', e.retry_history,"
              " 'manual_retry_history', e.manual_retry_history,"
              " 'last_retry_at', coalesce(e.manual_retry_history -> -1 -> 'at',"
              "                           e.retry_history -> -1 -> 'at'),"
              " 'original_error', coalesce(e.manual_retry_history -> 0 -> 'error_message',"
              "                            e.retry_history -> 0 -> 'message')";
  return fields;
}

execution_rows executions_before(pqxx::transaction_base& tx, const std::string& job_id,
                                 int64_t before_id, int64_t limit) {
  execution_rows out;
  auto sql = "SELECT e.id, json_build_object(" + execution_fields(true) +
             ")::text FROM executions e WHERE e.job_id = $1"
             " AND ($2::bigint <= 0 OR e.id < $2::bigint) ORDER BY e.id DESC LIMIT $3";
  for (auto row : tx.exec_params(sql, job_id, before_id, limit)) {
    out.last_id = row[0].as<int64_t>();
    out.rows.push_back(row[1].as<std::string>());
  }
  return out;
}

std::optional<int64_t> job_total_cells(pqxx::transaction_base& tx, const std::string& job_id) {
  auto rows = tx.exec_params("SELECT total_cells FROM jobs WHERE id = $1", job_id);
  if (rows.empty()) return std::nullopt;
  return rows[0][0].as<int64_t>();
}

std::string list_executions_json(pqxx::transaction_base& tx, int64_t limit, int64_t offset,
                                 int64_t before_id) {
  auto sql =
      "SELECT coalesce(json_agg(x.j ORDER BY x.id DESC), '[]')::text FROM ("
      " SELECT e.id, json_build_object(" +
      execution_fields(true) + ", 'receipt_id', CASE WHEN " + has_receipt +
      " THEN 'receipt-' || e.id END) AS j"
      " FROM executions e"
      " WHERE ($3::bigint <= 0 OR e.id < $3::bigint) ORDER BY e.id DESC LIMIT $1 OFFSET $2) x";
  return tx.exec_params1(sql, limit, offset, before_id)[0].as<std::string>();
}

int64_t executions_total(pqxx::transaction_base& tx) {
  return tx.exec1("SELECT coalesce(sum(total_cells), 0) FROM jobs")[0].as<int64_t>();
}

int64_t cells_with_status(pqxx::transaction_base& tx, const std::string& job_id,
                          cell_status status) {
  return tx
      .exec_params1("SELECT count(*) FROM executions WHERE job_id = $1 AND status = $2", job_id,
                    word(status))[0]
      .as<int64_t>();
}

std::optional<std::string> execution_json(pqxx::transaction_base& tx, int64_t id) {
  auto rows = tx.exec_params("SELECT json_build_object(" + execution_fields(true) +
                                 ")::text FROM executions e WHERE e.id = $1",
                             id);
  if (rows.empty()) return std::nullopt;
  return rows[0][0].as<std::string>();
}

std::optional<std::string> execution_receipt(pqxx::transaction_base& tx, int64_t id) {
  auto rows = tx.exec_params(
      "SELECT beacon_receipt(beacon_row_receipt(e), e.output_data)::text"
      " FROM executions e WHERE e.id = $1",
      id);
  if (rows.empty()) return std::nullopt;
  return rows[0][0].is_null() ? std::string() : rows[0][0].as<std::string>();
}

}  // namespace beacon::storage
