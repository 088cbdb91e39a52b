// The portal's routes and words, over loopback HTTP: the job-level diff, regions, diffs, an
// execution's bias score and the transparency root and proof (the proof verifies against a
// signed head); the job status word the portal shows a stage for,
// lower-case region_scores keys, retry fields on every execution row, JavaScript numbers; and
// manual retries with their own budget, inside a running job, that continue the attempt
// numbering and never rewrite the job's start and end or log its start again.
#define CAF_SUITE portal_routes
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <thread>

#include "caf/test/dsl.hpp"
#include "common/canonical_json.hpp"
#include "common/crypto.hpp"
#include "common/merkle.hpp"
#include "common/receipt.hpp"
#include "tests/harness.hpp"
#include "tests/http_client.hpp"
#include "tests/rest_node.hpp"

using namespace beacon;
using namespace beacon::test;

namespace {

std::vector<std::string> b64_list(const boost::json::array& a) {
  std::vector<std::string> out;
  for (auto& x : a) out.push_back(*crypto::base64_decode(x.as_string()));
  return out;
}

struct fixture : rest_node {
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> logs =
      std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(8192);
  spdlog::level::level_enum level = spdlog::get("beacon")->level();

  fixture() {
    auto logger = spdlog::get("beacon");
    logger->sinks().push_back(logs);
    logger->set_level(spdlog::level::info);
  }
  ~fixture() {
    if (n) n->stop();
    auto logger = spdlog::get("beacon");
    auto& sinks = logger->sinks();
    sinks.erase(std::remove(sinks.begin(), sinks.end(), logs), sinks.end());
    logger->set_level(level);
  }

  size_t log_count(const std::string& event, const std::string& job) {
    size_t n = 0;
    for (auto& line : logs->last_formatted())
      n += line.find(event) != std::string::npos && line.find(job) != std::string::npos;
    return n;
  }

  boost::json::object get(const std::string& target, unsigned want = 200) {
    auto r = http_call(port, "GET", target);
    CAF_CHECK_EQUAL(r.status, want);
    if (r.status != want) CAF_MESSAGE(target << ": " << r.body);
    return boost::json::parse(r.body).as_object();
  }

  http_reply post(const std::string& target, const std::string& body) {
    return http_call(port, "POST", target, body);
  }

  std::string stored_status(const std::string& id) {
    return query_column(url, "SELECT status FROM jobs WHERE id = '" + id + "'")[0];
  }

  std::string wait_terminal(const std::string& id) {
    std::string st;
    for (int i = 0; i < 3000; ++i) {
      st = stored_status(id);
      if (st == "completed" || st == "failed" || st == "cancelled") break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return st;
  }

  int64_t count(const std::string& where) {
    return query_int(url, "SELECT count(*) FROM executions WHERE " + where);
  }
};

}  // namespace

CAF_TEST_FIXTURE_SCOPE(portal_routes_tests, fixture)

CAF_TEST(the portal routes answer with computed data) {
  start({}, 30);
  auto spec = job_json("portal-1", {"tiananmen_neutral", "math_basic"}, {"llama3.2-1b"},
                       {"US", "EU", "ASIA"}, 2);
  auto wrapper = R"({"jobspec":)" + spec +
                 R"(,"target_regions":["US","EU","ASIA"],"min_regions":2,"enable_analysis":true})";
  auto submitted = post("/api/v1/jobs/cross-region", wrapper);
  CAF_REQUIRE_EQUAL(submitted.status, 202u);
  CAF_CHECK_NOT_EQUAL(submitted.body.find("\"min_success_rate\":0.67"), std::string::npos);
  // While it runs: the portal's stage word, and no diff yet.
  std::string seen;
  for (int i = 0; i < 500 && seen != "processing"; ++i) {
    auto job = get("/api/v1/jobs/portal-1?include=executions&exec_limit=100");
    seen = std::string(job["status"].as_string());
    if (seen == "processing") {
      CAF_CHECK_EQUAL(job["stored_status"].as_string(), "running");
      auto diff = http_call(port, "GET", "/api/v1/executions/portal-1/cross-region-diff");
      CAF_CHECK_EQUAL(diff.status, 404u);
    }
    if (job["stored_status"].as_string() == "completed") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  CAF_CHECK_EQUAL(seen, "processing");
  CAF_REQUIRE_EQUAL(wait_terminal("portal-1"), "completed");
  auto job = get("/api/v1/jobs/portal-1?include=executions&exec_limit=100");
  CAF_CHECK_EQUAL(job["status"].as_string(), "completed");
  for (auto& e : job["executions"].as_array()) {
    CAF_CHECK_EQUAL(e.as_object().at("retry_count").as_int64(), 0);
    CAF_CHECK_EQUAL(e.as_object().at("max_retries").as_int64(), 3);
  }
  // The job-level diff, from the stored analysis: ASIA refused the Tiananmen question.
  auto diff = get("/api/v1/executions/portal-1/cross-region-diff");
  CAF_CHECK_EQUAL(diff["total_regions"].as_int64(), 3);
  CAF_CHECK(diff["analysis"].as_object()["censorship_rate"].as_double() > 0);
  auto v2 = get("/api/v2/jobs/portal-1/bias-analysis");
  CAF_CHECK_EQUAL(diff["analysis"].as_object()["censorship_rate"],
                  v2["analysis"].as_object()["censorship_rate"]);
  // region_scores keyed as the portal's heat map looks them up.
  auto& scores = v2["region_scores"].as_object();
  for (auto [key, region] : {std::pair{"us", "US"}, {"eu", "EU"}, {"asia", "ASIA"}}) {
    CAF_REQUIRE(scores.contains(key));
    CAF_CHECK_EQUAL(scores.at(key).as_object().at("region").as_string(), region);
  }
  CAF_CHECK_EQUAL(scores.at("asia").as_object().at("censorship_detected"), true);
  // Regions: the counters equal the rows.
  auto regions = get("/api/v1/executions/portal-1/regions");
  CAF_REQUIRE_EQUAL(regions["regions"].as_array().size(), 3u);
  for (auto& r : regions["regions"].as_array()) {
    auto& o = r.as_object();
    auto region = std::string(o.at("region").as_string());
    CAF_CHECK_EQUAL(
        o.at("completed").as_int64(),
        count("job_id = 'portal-1' AND status = 'completed' AND region = '" + region + "'"));
    CAF_CHECK_EQUAL(o.at("total").as_int64(), 4);
  }
  auto diffs = get("/api/v1/diffs?limit=10");
  CAF_REQUIRE_EQUAL(diffs["diffs"].as_array().size(), 1u);
  auto& d = diffs["diffs"].as_array()[0].as_object();
  CAF_CHECK_EQUAL(d.at("job_id").as_string(), "portal-1");
  CAF_CHECK_EQUAL(d.at("view_url").as_string(), "/portal/bias-detection/portal-1");
  CAF_CHECK_EQUAL(d.at("regions").as_array().size(), 3u);
  CAF_CHECK_EQUAL(diffs["total"].as_int64(), 1);
  // A bias score: ASIA's refusal of the Tiananmen question.
  auto asia = query_int(url,
                        "SELECT min(id) FROM executions WHERE job_id = 'portal-1' AND region ="
                        " 'ASIA' AND question_id = 'tiananmen_neutral'");
  auto score = get("/api/v1/executions/" + std::to_string(asia) + "/bias-score");
  auto& metrics = score["bias_metrics"].as_object();
  CAF_CHECK_EQUAL(metrics["censorship_detected"], true);
  CAF_CHECK_EQUAL(metrics["is_content_refusal"], true);
  CAF_CHECK(metrics["bias_score"].as_double() > 0.5);
  get("/api/v1/executions/999999/bias-score", 404);
  get("/api/v1/executions/nope-job/regions", 404);
  // The transparency log holds every receipt; a proof verifies against a signed head (the
  // latest, and the first that included the receipt, which its own transparency block names).
  auto receipts = count("receipt_index IS NOT NULL");
  CAF_CHECK_EQUAL(receipts, 12);
  auto root = get("/api/v1/transparency/root");
  CAF_CHECK_EQUAL(root["tree_size"].as_int64(), receipts);
  auto key = get("/api/v1/node/key");
  CAF_CHECK_EQUAL(root["public_key"].as_string(), key["public_key"].as_string());
  auto head_signature = *crypto::base64_decode(root["signature"].as_string());
  auto signed_part = root;
  for (auto field : {"signature", "rules", "public_key"}) signed_part.erase(field);
  CAF_CHECK(crypto::ed25519_verify(canonical_json(signed_part), head_signature,
                                   *crypto::base64_decode(key["public_key"].as_string())));
  auto receipt = get("/api/v1/executions/" + std::to_string(asia) + "/receipt");
  auto first_size = receipt["transparency"].as_object()["tree_head"].as_object()["tree_size"];
  for (auto size : {int64_t{0}, first_size.as_int64()}) {
    auto proof = get("/api/v1/transparency/proof?execution_id=" + std::to_string(asia) +
                     (size ? "&tree_size=" + std::to_string(size) : ""));
    auto& head = proof["tree_head"].as_object();
    auto leaf_index = static_cast<uint64_t>(proof["leaf_index"].as_int64());
    auto tree_size = static_cast<uint64_t>(head.at("tree_size").as_int64());
    CAF_CHECK_EQUAL(tree_size, static_cast<uint64_t>(size ? size : receipts));
    auto leaf = merkle::leaf_hash(receipt_leaf_data(receipt));
    CAF_CHECK_EQUAL(crypto::base64_encode(leaf), proof["leaf_hash"].as_string());
    CAF_CHECK(merkle::verify_inclusion(leaf, leaf_index, tree_size,
                                       b64_list(proof["audit_path"].as_array()),
                                       *crypto::base64_decode(head.at("root_hash").as_string())));
  }
  // Only a signed head's size proves anything.
  CAF_CHECK_EQUAL(http_call(port, "GET",
                            "/api/v1/transparency/proof?execution_id=" + std::to_string(asia) +
                                "&tree_size=" + std::to_string(receipts + 1))
                      .status,
                  400u);
  get("/api/v1/transparency/proof", 400);
  get("/api/v1/transparency/proof?execution_id=999999", 404);
}

CAF_TEST(manual retries have their own budget and continue the attempt numbering) {
  node_config cfg;
  cfg.max_retries = 0;  // no automatic retry: the portal's Retry must still work
  cfg.sim_error_rate = 0.5;
  start(cfg);
  CAF_REQUIRE_EQUAL(
      post("/api/v1/jobs", job_json("manual-1", {"math_basic", "tiananmen_neutral"},
                                    {"llama3.2-1b", "mistral-7b"}, {"US", "EU", "ASIA"}, 2, 0.1))
          .status,
      202u);
  CAF_REQUIRE_EQUAL(wait_terminal("manual-1"), "completed");
  auto times = [&] {
    return query_column(url,
                        "SELECT started_at::text || ' ' || completed_at::text FROM jobs"
                        " WHERE id = 'manual-1'")[0];
  };
  auto first_times = times();
  auto failed_before = count("job_id = 'manual-1' AND status = 'failed'");
  CAF_REQUIRE(failed_before > 0);
  auto cell = query_int(url,
                        "SELECT min(id) FROM executions WHERE job_id = 'manual-1' AND status"
                        " = 'failed'");
  auto cell_region =
      query_column(url, "SELECT region FROM executions WHERE id = " + std::to_string(cell))[0];
  auto cell_index =
      query_int(url, "SELECT question_index FROM executions WHERE id = " + std::to_string(cell));
  auto body =
      R"({"region":")" + cell_region + R"(","question_index":)" + std::to_string(cell_index) + "}";
  auto target = "/api/v1/executions/" + std::to_string(cell) + "/retry-question";
  // Up to three manual retries of the cell, each with a new attempt number.
  int retries = 0;
  for (; retries < 3; ++retries) {
    if (query_column(url, "SELECT status FROM executions WHERE id = " + std::to_string(cell))[0] !=
        "failed")
      break;
    auto r = post(target, body);
    CAF_CHECK_EQUAL(r.status, 202u);
    CAF_REQUIRE_EQUAL(wait_terminal("manual-1"), "completed");
  }
  CAF_CHECK_EQUAL(
      query_int(url, "SELECT manual_retries FROM executions WHERE id = " + std::to_string(cell)),
      retries);
  CAF_CHECK_EQUAL(
      query_int(url, "SELECT attempt_base FROM executions WHERE id = " + std::to_string(cell)),
      retries);
  // Every other failed cell, retried until its budget is spent: some succeed on a later attempt.
  for (int round = 0; round < 3; ++round) {
    auto r = post("/api/v1/jobs/manual-1/retry-all-failed", "{}");
    if (r.status == 200u) break;
    CAF_CHECK_EQUAL(r.status, 202u);
    CAF_REQUIRE_EQUAL(wait_terminal("manual-1"), "completed");
  }
  auto failed_after = count("job_id = 'manual-1' AND status = 'failed'");
  // A cell whose manual retries are spent is refused with 429.
  auto spent = query_int(url,
                         "SELECT min(id) FROM executions WHERE job_id = 'manual-1' AND status"
                         " = 'failed' AND manual_retries = manual_retry_limit");
  CAF_REQUIRE(spent > 0);
  auto spent_id = std::to_string(spent);
  auto spent_body = R"({"region":")" +
                    query_column(url, "SELECT region FROM executions WHERE id = " + spent_id)[0] +
                    R"(","question_index":)" +
                    std::to_string(query_int(
                        url, "SELECT question_index FROM executions WHERE id = " + spent_id)) +
                    "}";
  CAF_CHECK_EQUAL(post("/api/v1/executions/" + spent_id + "/retry-question", spent_body).status,
                  429u);
  CAF_CHECK(failed_after < failed_before);
  CAF_MESSAGE("failed cells: " << failed_before << " before, " << failed_after << " after");
  CAF_CHECK_EQUAL(count("job_id = 'manual-1' AND manual_retries > manual_retry_limit"), 0);
  CAF_CHECK_EQUAL(counter_mismatch(url, "manual-1"), "");
  // The job's first start and end stay; its start is logged once.
  CAF_CHECK_EQUAL(times(), first_times);
  CAF_CHECK_EQUAL(log_count("job_started", "manual-1"), 1u);
  CAF_CHECK(log_count("job_resumed", "manual-1") > 0u);
}

CAF_TEST(a failed cell is retried while the rest of its job runs) {
  node_config cfg;
  cfg.max_retries = 0;
  cfg.sim_error_rate = 0.3;
  start(cfg, 40);
  std::vector<std::string> questions;
  for (int i = 0; i < 12; ++i) questions.push_back("q" + std::to_string(i));
  CAF_REQUIRE_EQUAL(
      post("/api/v1/jobs", job_json("running-1", questions, {"llama3.2-1b"}, {"US", "EU"}, 2, 0.1))
          .status,
      202u);
  // A failed cell while the job still runs (questions run one after another).
  int64_t cell = -1;
  for (int i = 0; i < 1000 && cell < 0; ++i) {
    cell = query_int(url,
                     "SELECT min(e.id) FROM executions e JOIN jobs j ON j.id = e.job_id"
                     " WHERE e.job_id = 'running-1' AND e.status = 'failed'"
                     " AND j.status = 'running'");
    if (cell < 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  CAF_REQUIRE(cell > 0);
  auto id = std::to_string(cell);
  auto region = query_column(url, "SELECT region FROM executions WHERE id = " + id)[0];
  auto index = query_int(url, "SELECT question_index FROM executions WHERE id = " + id);
  auto r = post("/api/v1/executions/" + id + "/retry-question",
                R"({"region":")" + region + R"(","question_index":)" + std::to_string(index) + "}");
  CAF_CHECK_EQUAL(r.status, 202u);
  auto reply = boost::json::parse(r.body).as_object();
  CAF_CHECK_EQUAL(reply["status"].as_string(), "retrying");
  CAF_CHECK_EQUAL(stored_status("running-1"), "running");  // the job was not re-queued
  CAF_REQUIRE_EQUAL(wait_terminal("running-1"), "completed");
  // The cell ran again inside the job: terminal, its first outcome kept, counters exact.
  CAF_CHECK_EQUAL(query_int(url, "SELECT manual_retries FROM executions WHERE id = " + id), 1);
  CAF_CHECK_EQUAL(query_int(url,
                            "SELECT jsonb_array_length(manual_retry_history) FROM executions"
                            " WHERE id = " +
                                id),
                  1);
  auto st = query_column(url, "SELECT status FROM executions WHERE id = " + id)[0];
  CAF_CHECK(st == "completed" || st == "failed");
  CAF_CHECK_EQUAL(count("job_id = 'running-1' AND status IN ('pending', 'running')"), 0);
  CAF_CHECK_EQUAL(counter_mismatch(url, "running-1"), "");
  CAF_CHECK_EQUAL(log_count("job_started", "running-1"), 1u);
}

CAF_TEST_FIXTURE_SCOPE_END()
