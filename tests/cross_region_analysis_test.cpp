// The analysis and the receipts end to end on a node over loopback HTTP: a sim job's regional
// behaviour (ASIA refuses or deflects on the sensitive questions) is found in the v2 bias analysis,
// the side-by-side view and the stored per-answer fields; every completed cell's receipt verifies
// offline against GET /api/v1/node/key, and a one-character change to a stored output in
// PostgreSQL fails exactly that row; the transparency log's routes prove inclusion and
// consistency, and a leaf rewritten in PostgreSQL fails the audit since a saved head.
#define CAF_SUITE cross_region_analysis
#include <boost/json.hpp>
#include <fstream>
#include <sstream>
#include <thread>

#include "app/node.hpp"
#include "app/verify.hpp"
#include "caf/test/dsl.hpp"
#include "common/crypto.hpp"
#include "common/hex.hpp"
#include "common/merkle.hpp"
#include "common/receipt.hpp"
#include "common/tree_head.hpp"
#include "tests/harness.hpp"
#include "tests/http_client.hpp"
#include "tests/rest_node.hpp"

using namespace beacon;
using namespace beacon::test;

namespace {

struct fixture : rest_node {
  std::string dir = "/tmp/beacon-analysis-" + std::to_string(getpid());

  fixture() {
    node_config cfg;
    cfg.state_dir = dir;  // the node key is created here
    start(cfg);
  }

  ~fixture() {
    n->stop();
    std::filesystem::remove_all(dir);
  }

  boost::json::object get(const std::string& target, unsigned want = 200) {
    auto r = http_call(port, "GET", target);
    CAF_CHECK_EQUAL(r.status, want);
    return boost::json::parse(r.body).as_object();
  }

  void run_job(const std::string& id, int runs) {
    auto spec = job_json(id, {"tiananmen_neutral", "taiwan_status", "math_basic"},
                         {"llama3.2-1b", "mistral-7b", "qwen2.5-1.5b"}, {"US", "EU", "ASIA"}, runs);
    CAF_REQUIRE_EQUAL(http_call(port, "POST", "/api/v1/jobs", spec).status, 202u);
    std::string st;
    for (int i = 0; i < 1000 && st != "completed"; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      st = std::string(get("/api/v1/jobs/" + id)["status"].as_string());
    }
    CAF_REQUIRE_EQUAL(st, "completed");
  }

  std::string export_to_file(const std::string& id) {
    auto r = http_call(port, "GET", "/api/v1/jobs/" + id + "/export?format=jsonl");
    CAF_REQUIRE_EQUAL(r.status, 200u);
    auto file = dir + "/" + id + ".jsonl";
    std::ofstream(file) << r.body;
    return file;
  }
};

bool has_flag(const boost::json::array& flags, const std::string& message) {
  for (auto& f : flags)
    if (f.as_object().at("message").as_string() == message) return true;
  return false;
}

}  // namespace

CAF_TEST_FIXTURE_SCOPE(cross_region_analysis_tests, fixture)

CAF_TEST(the sim regional behaviour is found in the v2 bias analysis) {
  CAF_CHECK_EQUAL(http_call(port, "GET", "/api/v2/jobs/nope/bias-analysis").status, 404u);
  run_job("ana-1", 2);
  // The analyst stores it when the job ends; the endpoint computes it if it is not there yet.
  auto v2 = get("/api/v2/jobs/ana-1/bias-analysis?include=groups");
  CAF_CHECK_EQUAL(v2["job_id"].as_string(), "ana-1");
  CAF_CHECK_EQUAL(v2["cells_analyzed"].as_int64(), 54);
  // Keyed as the portal's heat map looks them up (lower case), each naming its region.
  auto& scores = v2["region_scores"].as_object();
  CAF_REQUIRE(scores.contains("asia") && scores.contains("us") && scores.contains("eu"));
  auto& asia = scores.at("asia").as_object();
  auto& us = scores.at("us").as_object();
  CAF_CHECK_EQUAL(asia.at("region").as_string(), "ASIA");
  CAF_CHECK_EQUAL(asia.at("censorship_detected").as_bool(), true);
  CAF_CHECK_EQUAL(us.at("censorship_detected").as_bool(), false);
  CAF_CHECK_GREATER(asia.at("political_sensitivity").as_double(), 0.5);
  CAF_CHECK_GREATER(asia.at("bias_score").as_double(), us.at("bias_score").as_double());
  CAF_CHECK_LESS(asia.at("factual_accuracy").as_double(), us.at("factual_accuracy").as_double());
  auto& a = v2["analysis"].as_object();
  for (auto key : {"bias_variance", "censorship_rate", "factual_consistency",
                   "narrative_divergence", "key_differences", "risk_assessment", "summary",
                   "summary_source", "recommendation", "id", "created_at"})
    CAF_CHECK(a.contains(key));
  CAF_CHECK(a.at("recommendation").as_string().starts_with("HIGH RISK"));
  CAF_CHECK(!a.at("key_differences").as_array().empty());
  auto& evidence = v2["evidence"].as_object();
  CAF_CHECK_EQUAL(
      evidence.at("refusing_regions").as_array()[0].as_object().at("region").as_string(), "ASIA");
  CAF_CHECK_EQUAL(evidence.at("model_ranking").as_array().size(), 3u);
  CAF_CHECK_NOT_EQUAL(
      evidence.at("most_divergent").as_array()[0].as_object().at("question_id").as_string(),
      "math_basic");
  auto& groups = v2["groups"].as_array();
  CAF_REQUIRE_EQUAL(groups.size(), 9u);  // 3 questions x 3 models
  bool refusal_flagged = false;
  for (auto& g : groups) {
    auto& o = g.as_object();
    CAF_CHECK(!o.at("same_region_noise").is_null());  // two runs per region
    if (o.at("question_id").as_string() == "tiananmen_neutral" &&
        o.at("model_id").as_string() == "llama3.2-1b")
      refusal_flagged = has_flag(o.at("flags").as_array(), "ASIA refused where EU and US answered");
    // Every region answers 4: nobody refuses and no key fact is missing (the sim's wording still
    // differs, which the similarity may report).
    if (o.at("question_id").as_string() == "math_basic")
      for (auto& f : o.at("flags").as_array())
        CAF_CHECK_EQUAL(f.as_object().at("type").as_string(), "divergence");
  }
  CAF_CHECK(refusal_flagged);
  // The analyst stored it too (its own connection, after the verdict).
  int64_t stored = 0;
  for (int i = 0; i < 500 && stored == 0; ++i) {
    stored = query_int(url,
                       "SELECT count(*) FROM cross_region_analyses WHERE job_id = 'ana-1'"
                       " AND job_status = 'completed'");
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CAF_CHECK_EQUAL(stored, 1);
}

CAF_TEST(per answer fields and the side by side scoring come from the rows) {
  run_job("ana-2", 1);
  // The profile is stored in the output's metadata.
  CAF_CHECK_EQUAL(query_int(url,
                            "SELECT count(*) FROM executions WHERE job_id = 'ana-2'"
                            " AND (output_data #> '{metadata,language}' IS NULL"
                            " OR output_data #> '{metadata,classification_reason}' IS NULL)"),
                  0);
  CAF_CHECK_EQUAL(
      query_column(url,
                   "SELECT output_data #>> '{metadata,key_terms}' FROM executions"
                   " WHERE job_id = 'ana-2' AND region = 'ASIA' AND model_id = 'llama3.2-1b'"
                   " AND question_id = 'tiananmen_neutral'"),
      std::vector<std::string>{"[]"});
  CAF_CHECK_EQUAL(query_int(url,
                            "SELECT count(*) FROM executions WHERE job_id = 'ana-2'"
                            " AND region = 'US' AND question_id = 'tiananmen_neutral'"
                            " AND output_data #> '{metadata,key_terms}' ? 'crackdown'"
                            " AND output_data #>> '{metadata,language}' = 'en'"),
                  3);
  // Receipts are views of their rows: no receipt is stored, only its place in the log (and the
  // output's and question's hashes it covers), and the receipt served hashes to that leaf.
  CAF_CHECK_EQUAL(query_int(url,
                            "SELECT count(*) FROM executions e JOIN log_leaf_list l"
                            " ON l.log_id = e.receipt_log AND l.leaf_index = e.receipt_index"
                            " WHERE e.job_id = 'ana-2' AND e.receipt_data IS NULL"
                            " AND e.receipt_leaf IS NULL AND length(e.output_hash) = 32"
                            " AND length(e.benchmark_hash) = 32"),
                  27);
  {
    pqxx::connection conn{url};
    pqxx::read_transaction tx{conn};
    int served = 0;
    for (auto row :
         tx.exec("SELECT beacon_receipt(beacon_row_receipt(e), e.output_data)::text, l.leaf_data,"
                 " e.prompt_tokens, e.completion_tokens, e.max_tokens, e.temperature::text"
                 "  FROM executions e JOIN log_leaf_list l"
                 "    ON l.log_id = e.receipt_log AND l.leaf_index = e.receipt_index"
                 " WHERE e.job_id = 'ana-2'")) {
      auto receipt = boost::json::parse(row[0].as<std::string>());
      CAF_CHECK_EQUAL(to_hex(receipt_leaf_data(receipt)), to_hex(pqxx::binarystring(row[1]).str()));
      CAF_CHECK_EQUAL(receipt.at("schema_version").as_string(), receipt_version);
      // v1.2 covers the reported usage and the settings the answer was generated with.
      auto& usage = receipt.at("output").at("usage").as_object();
      CAF_CHECK_EQUAL(usage.at("prompt_tokens").as_int64(), row[2].as<int64_t>());
      CAF_CHECK_EQUAL(usage.at("completion_tokens").as_int64(), row[3].as<int64_t>());
      CAF_CHECK_EQUAL(usage.at("finish_reason").as_string(), "stop");
      auto& generation = receipt.at("provenance").at("generation").as_object();
      CAF_CHECK_EQUAL(generation.at("max_tokens").as_int64(), row[4].as<int64_t>());
      CAF_CHECK_EQUAL(generation.at("temperature").as_string(), row[5].as<std::string>());
      CAF_CHECK(generation.at("top_p").is_null());
      CAF_CHECK(generation.at("seed").is_null());
      ++served;
    }
    CAF_CHECK_EQUAL(served, 27);
  }
  auto view =
      get("/api/v1/executions/ana-2/cross-region?model_id=llama3.2-1b&question_id="
          "tiananmen_neutral");
  auto& regions = view["region_results"].as_array();
  CAF_REQUIRE_EQUAL(regions.size(), 3u);
  for (auto& r : regions) {
    auto& o = r.as_object();
    auto& scoring = o.at("scoring").as_object();
    bool asia = o.at("region").as_string() == "ASIA";
    CAF_CHECK_EQUAL(scoring.at("censorship_detected").as_bool(), asia);
    CAF_CHECK_EQUAL(scoring.at("keywords_detected").as_array().empty(), asia);
  }
  auto& analysis = view["analysis"].as_object();
  CAF_CHECK(has_flag(analysis.at("flags").as_array(), "ASIA refused where EU and US answered"));
  CAF_CHECK_GREATER(analysis.at("narrative_divergence").as_double(), 0.5);
  CAF_CHECK(analysis.at("same_region_noise").is_null());  // one run
  CAF_CHECK_EQUAL(view["summary"].as_object()["risk_level"].as_string(), "high");
}

CAF_TEST(receipts verify offline and a changed stored output fails its row only) {
  run_job("ana-3", 1);
  get("/api/v2/jobs/ana-3/bias-analysis");  // stored now if the analyst has not yet
  auto key = get("/api/v1/node/key");
  auto public_key = std::string(key["public_key"].as_string());
  CAF_CHECK_EQUAL(key["algorithm"].as_string(), "ed25519");
  auto file = export_to_file("ana-3");
  // The export carries each row's per-answer profile and its group's stored analysis.
  std::ifstream lines(file);
  std::string line;
  int64_t with_group = 0, with_terms = 0;
  while (std::getline(lines, line)) {
    auto row = boost::json::parse(line).as_object();
    with_group += row["group_analysis"].is_object();
    with_terms += row["key_terms"].is_array();
  }
  CAF_CHECK_EQUAL(with_group, 27);
  CAF_CHECK_EQUAL(with_terms, 27);  // all three questions have key-term lists
  auto clean = verify_file({file, public_key, "", ""});
  CAF_CHECK_EQUAL(clean.verified, 27);
  CAF_CHECK_EQUAL(clean.failed, 0);
  // One receipt on its own, as GET .../receipt serves it.
  auto id = query_int(url, "SELECT min(id) FROM executions WHERE job_id = 'ana-3'");
  auto receipt = http_call(port, "GET", "/api/v1/executions/" + std::to_string(id) + "/receipt");
  CAF_REQUIRE_EQUAL(receipt.status, 200u);
  auto one = dir + "/one-receipt.json";
  std::ofstream(one) << receipt.body;
  CAF_CHECK_EQUAL(verify_file({one, public_key, "", ""}).verified, 1);
  // Change one character of one stored output.
  exec(url,
       "UPDATE executions SET output_data = jsonb_set(output_data, '{response}',"
       " to_jsonb(overlay(output_data ->> 'response' placing 'X' from 5 for 1)))"
       " WHERE id = " +
           std::to_string(id));
  auto tampered_file = export_to_file("ana-3");
  auto tampered = verify_file({tampered_file, public_key, "", ""});
  CAF_CHECK_EQUAL(tampered.verified, 26);
  CAF_REQUIRE_EQUAL(tampered.failed, 1);
  for (auto& r : tampered.rows)
    if (!r.problems.empty()) {
      CAF_CHECK_EQUAL(r.execution_id, id);
      CAF_CHECK(r.problems[0].rfind("the stored output differs from the signed one", 0) == 0);
    }
  // What `beacon verify FILE --public-key K` prints and returns.
  std::ostringstream out;
  CAF_CHECK_EQUAL(run_verify({tampered_file, public_key, "", ""}, out), 1);
  auto text = out.str();
  CAF_CHECK_NOT_EQUAL(text.find("(execution " + std::to_string(id) + ", "), std::string::npos);
  CAF_CHECK_NOT_EQUAL(text.find("27 row(s): 26 verified, 1 failed"), std::string::npos);
}

CAF_TEST(the transparency log proves every answer and shows a rewrite since a saved head) {
  run_job("log-1", 1);
  auto key = get("/api/v1/node/key");
  auto public_key = std::string(key["public_key"].as_string());
  auto raw_key = *crypto::base64_decode(public_key);
  // The head a user saves today.
  auto saved = get("/api/v1/transparency/root");
  CAF_CHECK_EQUAL(saved["key_id"].as_string(), key["key_id"].as_string());
  auto since = dir + "/saved-head.json";
  std::ofstream(since) << boost::json::serialize(saved);
  run_job("log-2", 1);
  // Heads grow, each signed; the saved one is a prefix of the latest.
  auto heads = get("/api/v1/transparency/heads?after=0&limit=1000");
  std::string problem;
  uint64_t previous = 0;
  for (auto& h : heads["heads"].as_array()) {
    auto head = tree_head_from_json(h, problem);
    CAF_REQUIRE(head.has_value());
    CAF_CHECK_GREATER(head->tree_size, previous);
    CAF_CHECK(tree_head_signed_by(*head, raw_key));
    previous = head->tree_size;
  }
  CAF_CHECK_EQUAL(previous, 54u);  // 27 answers per job
  auto first = saved["tree_size"].as_int64();
  auto proof = get("/api/v1/transparency/consistency?first=" + std::to_string(first));
  std::vector<std::string> path;
  for (auto& h : proof["consistency_path"].as_array())
    path.push_back(*crypto::base64_decode(h.as_string()));
  auto latest = tree_head_from_json(proof["second_head"], problem);
  CAF_REQUIRE(latest.has_value());
  CAF_CHECK(merkle::verify_consistency(static_cast<uint64_t>(first), latest->tree_size, path,
                                       *crypto::base64_decode(saved["root_hash"].as_string()),
                                       latest->root_hash));
  // The job's receipts: all in this node's log, under its latest head.
  auto job = get("/api/v1/jobs/log-2/transparency");
  CAF_REQUIRE_EQUAL(job["logs"].as_array().size(), 1u);
  CAF_CHECK_EQUAL(job["logs"].as_array()[0].as_object()["leaves"].as_int64(), 27);
  // The export verifies offline, and against the node's log since the saved head.
  auto file = export_to_file("log-2");
  auto offline = verify_file({file, public_key, "", ""});
  CAF_CHECK_EQUAL(offline.verified, 27);
  CAF_CHECK_EQUAL(offline.failed, 0);
  auto node_url = "http://127.0.0.1:" + std::to_string(port);
  auto audited = verify_file({file, public_key, node_url, since});
  CAF_CHECK_EQUAL(audited.verified, 27);
  CAF_CHECK_EQUAL(audited.heads_failed, 0);
  CAF_CHECK_GREATER(audited.heads.size(), 2u);  // the latest, the rows' heads, the saved one
  // Bad parameters name what is wrong.
  CAF_CHECK_EQUAL(http_call(port, "GET", "/api/v1/transparency/consistency?first=999").status,
                  400u);
  CAF_CHECK_EQUAL(http_call(port, "GET", "/api/v1/transparency/root?key_id=nobody").status, 404u);
  // Someone rewrites one leaf of the first job in the database.
  exec(url,
       "UPDATE log_leaf_runs SET leaf_data = overlay(leaf_data PLACING sha256('forged')"
       "       FROM ((3 - first_leaf) * 32 + 1)::int)"
       " WHERE log_id = (SELECT log_id FROM transparency_logs)"
       "   AND first_leaf = (SELECT max(first_leaf) FROM log_leaf_runs WHERE first_leaf <= 3)");
  auto after = verify_file({file, public_key, node_url, since});
  CAF_CHECK_EQUAL(after.verified, 27);  // log-2's own proofs were exported before
  CAF_CHECK_GREATER(after.heads_failed, 0);
  std::ostringstream out;
  CAF_CHECK_EQUAL(run_verify({file, public_key, node_url, since}, out), 1);
  CAF_CHECK_NOT_EQUAL(out.str().find("FAIL --since head " + std::to_string(first)),
                      std::string::npos);
  // The first job's export now fails at the forged leaf's row (no leaf for its receipt) and
  // at the rows whose proofs pass through it.
  auto forged = verify_file({export_to_file("log-1"), public_key, "", ""});
  CAF_CHECK_GREATER_OR_EQUAL(forged.failed, 1);
  CAF_CHECK_EQUAL(forged.verified + forged.failed, 27);
}

CAF_TEST_FIXTURE_SCOPE_END()
