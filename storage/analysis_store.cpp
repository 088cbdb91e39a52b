// Analysis SQL.
#include "storage/analysis_store.hpp"

#include <boost/json.hpp>
#include <chrono>
#include <pqxx/pqxx>

#include "analysis/job_report.hpp"
#include "domain/status.hpp"
#include "storage/sql_time.hpp"
#include "storage/status_words.hpp"

namespace beacon::storage {
namespace {

constexpr const char* answer_columns =
    "e.id, e.question_id, e.model_id, e.region, e.run, e.status, e.response_classification,"
    " coalesce(e.output_data ->> 'response', ''), coalesce(e.finish_reason = 'length', false)";

analysis::answer answer_from(const pqxx::row& row) {
  return {row[0].as<int64_t>(),     row[3].as<std::string>(),
          row[4].as<int32_t>(),     stored_cell_status(row[5].as<std::string>()),
          row[6].as<std::string>(), row[7].as<std::string>(),
          row[8].as<bool>()};
}

}  // namespace

int64_t for_each_answer_group(pqxx::transaction_base& tx, const std::string& job_id,
                              const std::function<void(const std::string&, const std::string&,
                                                       std::vector<analysis::answer>&)>& group) {
  tx.exec(std::string("DECLARE beacon_answers NO SCROLL CURSOR FOR SELECT ") + answer_columns +
          " FROM executions e WHERE e.job_id = " + tx.quote(job_id) +
          " ORDER BY e.question_index, e.model_id, e.region, e.run, e.id");
  int64_t cells = 0;
  std::string question, model;
  std::vector<analysis::answer> answers;
  for (;;) {
    auto rows = tx.exec("FETCH 5000 FROM beacon_answers");
    for (auto row : rows) {
      auto q = row[1].as<std::string>(), m = row[2].as<std::string>();
      if ((q != question || m != model) && !answers.empty()) {
        group(question, model, answers);
        answers.clear();
      }
      question = std::move(q);
      model = std::move(m);
      answers.push_back(answer_from(row));
      ++cells;
    }
    if (rows.empty()) break;
  }
  if (!answers.empty()) group(question, model, answers);
  tx.exec("CLOSE beacon_answers");
  return cells;
}

std::vector<analysis::answer> answer_group(pqxx::transaction_base& tx, const std::string& job_id,
                                           const std::string& model_id,
                                           const std::string& question_id) {
  std::vector<analysis::answer> out;
  for (auto row : tx.exec_params(std::string("SELECT ") + answer_columns +
                                     " FROM executions e WHERE e.job_id = $1 AND e.model_id = $2"
                                     " AND e.question_id = $3 ORDER BY e.region, e.run, e.id",
                                 job_id, model_id, question_id))
    out.push_back(answer_from(row));
  return out;
}

std::optional<std::string> analyze_job(pqxx::connection& conn, const std::string& job_id) {
  auto start = std::chrono::steady_clock::now();
  std::vector<analysis::group_analysis> groups;
  boost::json::array group_json;
  job_status status = job_status::queued;
  std::string cross_region_id;
  int64_t cells = 0;
  {
    // One snapshot for every read.
    pqxx::transaction<pqxx::isolation_level::repeatable_read, pqxx::readwrite_policy::read_only> tx{
        conn};
    auto job = tx.exec_params(
        "SELECT j.status, coalesce(x.id::text, '') FROM jobs j"
        " LEFT JOIN cross_region_executions x ON x.job_id = j.id"
        " WHERE j.id = $1",
        job_id);
    if (job.empty()) return std::nullopt;
    status = stored_job_status(job[0][0].as<std::string>());
    cross_region_id = job[0][1].as<std::string>();
    cells = for_each_answer_group(tx, job_id,
                                  [&](const std::string& q, const std::string& m, auto& answers) {
                                    groups.push_back(analysis::analyze_group(q, m, answers));
                                    group_json.push_back(analysis::to_json(groups.back()));
                                  });
    tx.commit();
  }
  auto report = analysis::job_report(groups);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  start)
                .count();
  // Written at READ COMMITTED: a concurrent analysis of the same job (the analyst and an
  // on-demand request) ends as one row, the last writer's.
  pqxx::work tx{conn};
  tx.exec_params(
      "INSERT INTO cross_region_analyses (job_id, cross_region_execution_id, job_status,"
      " cells_analyzed, answers_analyzed, report, groups, duration_ms)"
      " VALUES ($1, NULLIF($2, '')::uuid, $3, $4, $5, $6::jsonb, $7::jsonb, $8)"
      " ON CONFLICT (job_id) DO UPDATE SET cross_region_execution_id = "
      "EXCLUDED.cross_region_execution_id,"
      " job_status = EXCLUDED.job_status, cells_analyzed = EXCLUDED.cells_analyzed,"
      " answers_analyzed = EXCLUDED.answers_analyzed, report = EXCLUDED.report,"
      " groups = EXCLUDED.groups, duration_ms = EXCLUDED.duration_ms, created_at = now()",
      job_id, cross_region_id, word(status), cells, report["answers"].as_int64(),
      boost::json::serialize(report), boost::json::serialize(group_json), ms);
  auto stored = job_analysis_json(tx, job_id, false);
  tx.commit();
  return stored;
}

std::optional<current_analysis> current_job_analysis(
    pqxx::connection& conn, const std::string& job_id, bool with_groups,
    const std::function<bool(const std::string& job_id)>& compute) {
  current_analysis out;
  {
    pqxx::read_transaction tx{conn};
    auto job = tx.exec_params(
        "SELECT j.status, a.job_status FROM jobs j"
        " LEFT JOIN cross_region_analyses a ON a.job_id = j.id"
        " WHERE j.id = $1",
        job_id);
    if (job.empty()) return std::nullopt;
    out.status = stored_job_status(job[0][0].as<std::string>());
    bool ended = is_terminal(out.status);
    bool stored = !job[0][1].is_null();
    // Cells retried after the analysis reopened the job and ended it again: recompute.
    if (stored && (!ended || job[0][1].as<std::string>() == to_string(out.status))) {
      out.row = job_analysis_json(tx, job_id, with_groups);
      return out;
    }
    if (!ended) return out;
  }
  if (!compute(job_id)) return out;
  pqxx::read_transaction tx{conn};
  out.row = job_analysis_json(tx, job_id, with_groups);
  return out;
}

std::optional<std::string> job_analysis_json(pqxx::transaction_base& tx, const std::string& job_id,
                                             bool with_groups) {
  auto rows = tx.exec_params(
      "SELECT json_build_object('id', a.id, 'job_id', a.job_id,"
      " 'cross_region_execution_id', a.cross_region_execution_id, 'job_status', a.job_status,"
      " 'cells_analyzed', a.cells_analyzed, 'answers_analyzed', a.answers_analyzed,"
      " 'report', a.report, 'groups', CASE WHEN $2 THEN a.groups END,"
      " 'duration_ms', a.duration_ms, 'created_at', " +
          rfc3339("a.created_at") + ")::text FROM cross_region_analyses a WHERE a.job_id = $1",
      job_id, with_groups);
  if (rows.empty()) return std::nullopt;
  return rows[0][0].as<std::string>();
}

}  // namespace beacon::storage
