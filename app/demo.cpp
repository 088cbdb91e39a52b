// The demo: live progress in the terminal and a summary read back from PostgreSQL.
#include "app/demo.hpp"

#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <pqxx/pqxx>
#include <thread>

#include "app/node.hpp"
#include "app/progress_view.hpp"
#include "app/signals.hpp"
#include "common/receipt.hpp"
#include "domain/status.hpp"
#include "http/transparency_json.hpp"
#include "storage/analysis_store.hpp"
#include "storage/transparency_store.hpp"

namespace beacon {
namespace {

// The cross-region analysis of the job: the analyst's, asked for if it is not stored yet.
void print_analysis(node& n, pqxx::connection& conn, const std::string& job_id) {
  auto current = storage::current_job_analysis(conn, job_id, false, [&](const std::string& id) {
    if (!n.actors().analyst) return false;
    bool stored = false;
    caf::scoped_actor self{n.system()};
    self->request(n.actors().analyst, std::chrono::seconds(60), atom::analyze::value, id)
        .receive([&](bool ok) { stored = ok; }, [](caf::error&) {});
    return stored;
  });
  if (!current || !current->row) return;
  auto row = boost::json::parse(*current->row).as_object();
  auto& report = row["report"].as_object();
  auto& analysis = report["analysis"].as_object();
  auto& evidence = report["evidence"].as_object();
  std::printf("\nCross-region analysis (GET /api/v2/jobs/%s/bias-analysis, docs/analysis.md)\n",
              job_id.c_str());
  std::printf(
      "  %s\n  Most divergent (D = 0.4 dissimilarity + 0.3 refusal gap + 0.2 key-term gap "
      "+ 0.1 length disparity):\n",
      std::string(analysis["recommendation"].as_string()).c_str());
  auto& top = evidence["most_divergent"].as_array();
  for (size_t i = 0; i < top.size() && i < 5; ++i) {
    auto& g = top[i].as_object();
    std::string flags;
    for (auto& f : g.at("flags").as_array())
      flags += (flags.empty() ? "" : "; ") + std::string(f.as_string());
    auto label = std::string(g.at("question_id").as_string()) + " / " +
                 std::string(g.at("model_id").as_string());
    std::printf("    %-32s D %.2f  %s\n", label.c_str(),
                g.at("divergence").as_object().at("score").to_number<double>(),
                flags.empty() ? "no flags" : flags.c_str());
  }
  std::string ranking;
  for (auto& m : evidence["model_ranking"].as_array()) {
    auto& o = m.as_object();
    char buf[96];
    std::snprintf(buf, sizeof buf, "%s %.2f", std::string(o.at("model_id").as_string()).c_str(),
                  o.at("mean_divergence").to_number<double>());
    ranking += (ranking.empty() ? "" : ", ") + std::string(buf);
  }
  std::printf("  Models by mean divergence: %s\n", ranking.c_str());
}

void print_summary(node& n, const std::string& job_id) {
  auto conn = n.pool().acquire();
  pqxx::work tx{*conn};
  auto job = tx.exec_params1(
      "SELECT status, coalesce(error, ''), total_cells, completed_cells FROM jobs WHERE id = $1",
      job_id);
  std::printf("\nJob %s: %s (%d of %d cells completed)\n", job_id.c_str(),
              job[0].as<std::string>().c_str(), job[3].as<int>(), job[2].as<int>());
  if (!job[1].as<std::string>().empty()) std::printf("  reason: %s\n", job[1].c_str());
  std::printf("\nPer region              completed  refused  deflected  failed  providers\n");
  for (auto row : tx.exec_params(
           "SELECT e.region, count(*) FILTER (WHERE e.status = 'completed'),"
           " count(*) FILTER (WHERE e.response_classification = 'content_refusal'),"
           " count(*) FILTER (WHERE e.response_classification = 'deflection'),"
           " count(*) FILTER (WHERE e.status <> 'completed'),"
           " array_to_string(r.provider_ids, ',')"
           " FROM executions e JOIN region_results r ON r.job_id = e.job_id AND r.region = e.region"
           " WHERE e.job_id = $1 GROUP BY e.region, r.provider_ids ORDER BY e.region",
           job_id))
    std::printf("  %-20s %9d %8d %10d %7d  %s\n", row[0].c_str(), row[1].as<int>(),
                row[2].as<int>(), row[3].as<int>(), row[4].as<int>(), row[5].c_str());
  std::printf("\nPer question: regions that refused or deflected\n");
  std::map<int, std::pair<std::string, std::vector<std::string>>> findings;
  for (auto row :
       tx.exec_params("SELECT question_index, question_id, region,"
                      " string_agg(model_id, ', ' ORDER BY model_id) FILTER (WHERE "
                      "response_classification = 'content_refusal'),"
                      " string_agg(model_id, ', ' ORDER BY model_id) FILTER (WHERE "
                      "response_classification = 'deflection')"
                      " FROM executions WHERE job_id = $1 GROUP BY 1, 2, 3 ORDER BY 1, 3",
                      job_id)) {
    auto& f = findings[row[0].as<int>()];
    f.first = row[1].as<std::string>();
    std::string what;
    if (!row[3].is_null()) what += "refused (" + row[3].as<std::string>() + ")";
    if (!row[4].is_null())
      what +=
          std::string(what.empty() ? "" : ", ") + "deflected (" + row[4].as<std::string>() + ")";
    if (!what.empty()) f.second.push_back(row[2].as<std::string>() + " " + what);
  }
  for (auto& [qi, f] : findings) {
    std::string line;
    for (auto& w : f.second) line += (line.empty() ? "" : "; ") + w;
    std::printf("  %-20s %s\n", f.first.c_str(),
                line.empty() ? "answered in every region" : line.c_str());
  }
  // Every completed cell's receipt, checked as `beacon verify` does: its leaf, its inclusion
  // proof and the signed tree head of this node's transparency log.
  int64_t completed = 0, verified = 0;
  auto key = n.key()->public_key;
  std::vector<int64_t> ids;
  std::vector<std::pair<std::string, std::string>> receipts;  // receipt and output, as served
  for (auto row :
       tx.exec_params("SELECT e.id, beacon_receipt(beacon_row_receipt(e), e.output_data)::text,"
                      " e.output_data::text FROM executions e"
                      " WHERE e.job_id = $1 AND e.status = 'completed' ORDER BY e.id",
                      job_id)) {
    ++completed;
    if (row[1].is_null()) continue;
    ids.push_back(row[0].as<int64_t>());
    receipts.emplace_back(row[1].as<std::string>(), row[2].as<std::string>());
  }
  auto positions = storage::receipt_positions(tx, ids);
  std::map<int32_t, storage::log_tree> trees;
  for (size_t i = 0; i < ids.size(); ++i) {
    auto receipt = boost::json::parse(receipts[i].first);
    auto output = boost::json::parse(receipts[i].second);
    if (auto pos = positions.find(ids[i]); pos != positions.end()) {
      auto& tree = trees.try_emplace(pos->second.log.log_id, pos->second.log.log_id).first->second;
      receipt.as_object()["transparency"] = http::receipt_transparency(tx, tree, pos->second);
    }
    verified += verify_receipt(receipt, key, &output).empty();
  }
  tx.commit();
  std::printf(
      "\nReceipts: %lld of %lld completed cells are in this node's transparency log under a tree "
      "head signed with its key %s, and verify\n",
      static_cast<long long>(verified), static_cast<long long>(completed), n.key()->key_id.c_str());
  print_analysis(n, *conn, job_id);
}

}  // namespace

std::string demo_job_spec(const std::string& job_id) {
  boost::json::array questions, models{"llama3.2-1b", "mistral-7b", "qwen2.5-1.5b"};
  for (auto& q : builtin_questions()) questions.push_back(boost::json::value(q.id));
  boost::json::object spec{
      {"id", job_id},
      {"version", "v1"},
      {"benchmark",
       {{"name", "multi-model-bias-detection"},
        {"container", {{"image", "ghcr.io/project-beacon/bias-detection"}, {"tag", "latest"}}},
        {"input",
         {{"type", "prompt"}, {"data", {{"prompt", "math_basic"}}}, {"hash", "sha256:demo"}}}}},
      {"constraints",
       {{"regions", {"US", "EU", "ASIA"}},
        {"min_regions", 2},
        {"min_success_rate", 0.67},
        {"timeout", 600000000000LL},
        {"provider_timeout", 120000000000LL}}},
      {"metadata", {{"created_by", "beacon demo"}, {"multi_model", true}, {"models", models}}},
      {"questions", questions},
      {"runs", 1}};
  return boost::json::serialize(spec);
}

int run_demo(const node_config& cfg, bool keep_serving) {
  auto c = cfg;
  if (!keep_serving) c.http_port = 0;
  node n{c};
  n.start(true);
  auto job_id =
      "bias-detection-" + std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                             std::chrono::system_clock::now().time_since_epoch())
                                             .count());
  auto admitted = n.submit(demo_job_spec(job_id));
  if (admitted.status != 202) {
    std::fprintf(stderr, "the demo job was refused: %s\n", admitted.body.c_str());
    return 1;
  }
  std::printf(
      "beacon demo: job %s, 8 questions x 3 models x 3 regions = 72 cells on the sim provider\n",
      job_id.c_str());
  std::printf("REST: http://%s:%u/api/v1/jobs/%s?include=executions\n\n", c.http_host.c_str(),
              n.http_port(), job_id.c_str());
  progress_view view;
  job_progress p;
  auto t0 = std::chrono::steady_clock::now();
  while (true) {
    p = n.progress(job_id);
    if (!p.questions.empty()) view.show(p);
    if (p.found && is_terminal(p.status)) break;
    if (signals::termination_requested()) {
      std::printf("\ninterrupted; the job resumes on the next start of the node\n");
      return 130;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("\nfinished in %.2f s: %s\n", secs, p.reason.c_str());
  print_summary(n, job_id);
  if (c.database_url.empty())
    std::printf("\nThe database is kept in %s (connect: psql \"%s\")\n", n.embedded_dir().c_str(),
                n.database_url().c_str());
  if (keep_serving) {
    std::printf("Serving REST on http://%s:%u until Ctrl-C\n", c.http_host.c_str(), n.http_port());
    std::fflush(stdout);
    signals::wait_for_termination();
  }
  return p.status == job_status::completed ? 0 : 1;
}

}  // namespace beacon
