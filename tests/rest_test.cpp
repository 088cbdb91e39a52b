// The REST API over real loopback HTTP: the portal's shapes, and bad input refused with a clear
// JSON error and nothing stored.
#define CAF_SUITE rest
#define FAIL CAF_FAIL
#include <boost/json.hpp>
#include <pqxx/pqxx>
#include <set>
#include <sstream>
#include <thread>

#include "actors/progress_board.hpp"
#include "app/node.hpp"
#include "caf/test/dsl.hpp"
#include "common/receipt.hpp"
#include "http/server.hpp"
#include "tests/harness.hpp"
#include "tests/http_client.hpp"
#include "tests/raw_socket.hpp"
#include "tests/rest_node.hpp"
#include "tests/sse_client.hpp"

using namespace beacon;
using namespace beacon::test;

CAF_TEST(progress is published every 10 ms unless its copy costs more than a twentieth of that) {
  using std::chrono::microseconds;
  using std::chrono::milliseconds;
  CAF_CHECK_EQUAL(progress_board::publish_gap(microseconds(20)), milliseconds(10));
  CAF_CHECK_EQUAL(progress_board::publish_gap(microseconds(500)), milliseconds(10));
  CAF_CHECK_EQUAL(progress_board::publish_gap(milliseconds(2)), milliseconds(40));
}

namespace {

struct fixture : rest_node {
  fixture() {
    node_config cfg;
    cfg.max_body_bytes = 64 * 1024;
    start(cfg);
  }

  boost::json::object json_of(const http_reply& r) {
    return boost::json::parse(r.body).as_object();
  }

  int64_t stored() {
    return query_int(url,
                     "SELECT (SELECT count(*) FROM jobs) + (SELECT count(*) FROM executions)"
                     " + (SELECT count(*) FROM region_results)");
  }

  // Bad input gets `status` with `code`, and nothing is stored.
  void refused(const std::string& body, unsigned status, const std::string& code,
               const std::string& field = "",
               const std::string& content_type = "application/json") {
    auto before = stored();
    auto r = http_call(port, "POST", "/api/v1/jobs", body, content_type);
    CAF_CHECK_EQUAL(r.status, status);
    CAF_CHECK_EQUAL(r.content_type, "application/json");
    auto j = json_of(r);
    CAF_CHECK_EQUAL(j["error_code"].as_string(), code);
    CAF_CHECK(!j["error"].as_string().empty());
    if (!field.empty()) CAF_CHECK_EQUAL(j["field"].as_string(), field);
    CAF_CHECK_EQUAL(stored(), before);
  }
};

}  // namespace

CAF_TEST_FIXTURE_SCOPE(rest_tests, fixture)

CAF_TEST(a submitted job runs and reads back in the portal shapes) {
  auto spec =
      job_json("rest-1", {"tiananmen_neutral", "math_basic"}, {"llama3.2-1b"}, {"US", "ASIA"});
  auto r = http_call(port, "POST", "/api/v1/jobs", spec);
  CAF_REQUIRE_EQUAL(r.status, 202u);
  auto accepted = json_of(r);
  CAF_CHECK_EQUAL(accepted["id"].as_string(), "rest-1");
  CAF_CHECK_EQUAL(accepted["status"].as_string(), "enqueued");
  // Visible from the first poll with the exact cell count.
  auto first = json_of(http_call(port, "GET", "/api/v1/jobs/rest-1?include=executions"));
  CAF_CHECK_EQUAL(first["executions"].as_array().size(), 4u);
  CAF_CHECK_EQUAL(first["cells"].as_object()["total"].as_int64(), 4);
  std::string st;
  for (int i = 0; i < 2000 && st != "completed" && st != "failed"; ++i) {
    st = std::string(json_of(http_call(port, "GET", "/api/v1/jobs/rest-1"))["status"].as_string());
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  CAF_REQUIRE_EQUAL(st, "completed");
  auto job = json_of(http_call(port, "GET", "/api/v1/jobs/rest-1?include=executions&exec_limit=3"));
  CAF_CHECK_EQUAL(job["job"].as_object()["id"].as_string(), "rest-1");
  CAF_CHECK(job["job"].as_object().contains("created_at"));
  auto execs = job["executions"].as_array();
  CAF_CHECK_EQUAL(execs.size(), 3u);
  for (auto key : {"id", "region", "provider_id", "status", "model_id", "question_id",
                   "response_classification", "is_substantive", "is_content_refusal", "started_at",
                   "completed_at", "receipt"})
    CAF_CHECK(execs[0].as_object().contains(key));
  auto all = json_of(http_call(port, "GET", "/api/v1/jobs/rest-1/executions/all"))["executions"]
                 .as_array();
  CAF_CHECK_EQUAL(all.size(), 4u);
  int refusals = 0;
  for (auto& e : all) {
    auto& o = e.as_object();
    for (auto key : {"output", "retry_count", "max_retries", "retry_history", "created_at",
                     "has_receipt", "response_length", "system_prompt"})
      CAF_CHECK(o.contains(key));
    CAF_CHECK_EQUAL(o.at("provider_region").as_string(), o.at("region").as_string());
    refusals += o.at("is_content_refusal").as_bool();
  }
  CAF_CHECK_EQUAL(refusals, 1);  // llama in ASIA on tiananmen_neutral
  // Above `limit` the answer says it is cut and where the next rows start; they follow, once.
  auto first_page = json_of(http_call(port, "GET", "/api/v1/jobs/rest-1/executions/all?limit=3"));
  CAF_CHECK_EQUAL(first_page["executions"].as_array().size(), 3u);
  CAF_CHECK_EQUAL(first_page["truncated"].as_bool(), true);
  CAF_CHECK_EQUAL(first_page["total"].as_int64(), 4);
  auto next = first_page["next_before_id"].as_int64();
  auto rest = json_of(http_call(
      port, "GET", "/api/v1/jobs/rest-1/executions/all?before_id=" + std::to_string(next)));
  CAF_CHECK_EQUAL(rest["executions"].as_array().size(), 1u);
  CAF_CHECK_EQUAL(rest["truncated"].as_bool(), false);
  CAF_CHECK_EQUAL(http_call(port, "GET", "/api/v1/jobs/rest-1/executions/all?limit=50001").status,
                  400u);
  auto paged = json_of(
      http_call(port, "GET", "/api/v1/jobs/rest-1?include=executions&exec_limit=3&exec_offset=3"));
  CAF_CHECK_EQUAL(paged["executions"].as_array().size(), 1u);
  // include=all: the executions/all fields, newest first; a job with no page asked has none.
  auto full = json_of(http_call(port, "GET", "/api/v1/jobs/rest-1?include=all&exec_limit=2"));
  auto& newest = full["executions"].as_array();
  CAF_REQUIRE_EQUAL(newest.size(), 2u);
  CAF_CHECK(newest[0].as_object().contains("output"));
  CAF_CHECK(newest[0].as_object().contains("retry_history"));
  CAF_CHECK_GREATER(newest[0].as_object().at("id").as_int64(),
                    newest[1].as_object().at("id").as_int64());
  CAF_CHECK(!json_of(http_call(port, "GET", "/api/v1/jobs/rest-1")).contains("executions"));
}

CAF_TEST(bad input gets a clear json error and nothing is stored) {
  refused("{\"questions\": [", 400, "invalid_json", "body");
  refused(job_json("b1", {}, {"m"}, {"US"}), 400, "invalid_spec", "questions");
  refused(R"({"id":"b2","models":["m"],"constraints":{"regions":["US"]}})", 400, "invalid_spec",
          "questions");
  refused(job_json("b3", {"q"}, {}, {"US"}), 400, "invalid_spec", "metadata.models");
  refused(job_json("b4", {"q"}, {"m"}, {}), 400, "invalid_spec", "constraints.regions");
  refused(
      R"({"id":"b5","questions":["q"],"models":["m"],"constraints":{"regions":["US"]},"runs":"two"})",
      400, "invalid_spec", "runs");
  refused(
      R"({"id":"b6","questions":["q"],"models":["m"],"constraints":{"regions":["US"],"timeout":"10m"}})",
      400, "invalid_spec", "constraints.timeout");
  refused(
      R"({"id":"b7","questions":["q"],"models":["m"],"constraints":{"regions":["US"]},"metadata":"x"})",
      400, "invalid_spec", "metadata");
  std::string huge = R"({"id":"b8","questions":[")" + std::string(70 * 1024, 'x') +
                     R"("],"models":["m"],"constraints":{"regions":["US"]}})";
  refused(huge, 413, "body_too_large");
  refused(job_json("b9", {"q"}, {"m"}, {"US"}), 415, "unsupported_media_type", "", "text/plain");
  refused(job_json("b10", {"q"}, {"m"}, {"US"}), 415, "unsupported_media_type", "",
          "application/jsonfoo");
  // The media type in any case, with parameters, is JSON.
  CAF_CHECK_EQUAL(http_call(port, "POST", "/api/v1/jobs", job_json("b11", {"q"}, {"m"}, {"US"}),
                            "Application/JSON; charset=utf-8")
                      .status,
                  202u);
  // A duplicate id: the first is stored, the second refused without touching it.
  CAF_REQUIRE_EQUAL(
      http_call(port, "POST", "/api/v1/jobs", job_json("dup-1", {"q"}, {"m"}, {"US"})).status,
      202u);
  refused(job_json("dup-1", {"q", "r"}, {"m"}, {"US", "EU"}), 409, "duplicate_job");
  CAF_CHECK_EQUAL(query_int(url, "SELECT count(*) FROM executions WHERE job_id = 'dup-1'"), 1);
}

CAF_TEST(text postgresql cannot store is refused at the edge naming where it is) {
  // A NUL anywhere in a spec: a question, a nested metadata string, a key.
  refused(R"({"id":"n1","questions":["q\u0000x"],"models":["m"],"constraints":{"regions":["US"]}})",
          400, "invalid_spec", "questions[0]");
  refused(
      R"({"id":"n2","questions":["q"],"models":["m"],"constraints":{"regions":["US"]},"metadata":{"note":{"a":"\u0000"}}})",
      400, "invalid_spec", "metadata.note.a");
  refused(
      R"({"id":"n3","questions":["q"],"models":["m"],"constraints":{"regions":["US"]},"x\u0000":1})",
      400, "invalid_spec", "x\\u0000");
  // Numbers beyond a double are refused, never stored as Infinity.
  refused(
      R"({"id":"n4","questions":["q"],"models":["m"],"constraints":{"regions":["US"],"min_success_rate":1e999}})",
      400, "invalid_json", "body");
  // An Idempotency-Key that is not printable ASCII.
  auto before = stored();
  auto r = http_call(port, "POST", "/api/v1/jobs", job_json("n5", {"q"}, {"m"}, {"US"}),
                     "application/json", {{"Idempotency-Key", "k\xff"}});
  CAF_CHECK_EQUAL(r.status, 400u);
  auto key_error = json_of(r);
  CAF_CHECK_EQUAL(key_error["field"].as_string(), "Idempotency-Key");
  CAF_CHECK_EQUAL(stored(), before);
  // Targets: invalid UTF-8 or a NUL in a path id or a query value, a malformed escape. None of
  // them reaches SQL, and a NUL does not cut the id short (n2%00zzz is not job n2).
  CAF_REQUIRE_EQUAL(
      http_call(port, "POST", "/api/v1/jobs", job_json("n6", {"q"}, {"m"}, {"US"})).status, 202u);
  for (auto target : {"/api/v1/jobs/%ff", "/api/v1/jobs/n6%00zzz", "/api/v1/jobs/n6%",
                      "/api/v1/jobs?limit=%ff", "/api/v1/jobs/n6?include=%00"}) {
    auto bad = http_call(port, "GET", target);
    CAF_CHECK_EQUAL(bad.status, 400u);
    auto bad_json = json_of(bad);
    CAF_CHECK_EQUAL(bad_json["error_code"].as_string(), "invalid_request_target");
    CAF_CHECK(!bad_json["field"].as_string().empty());
  }
  // A bad value under an empty name (found by the HTTP fuzz harness) names the query.
  auto unnamed = json_of(http_call(port, "GET", "/api/v1/jobs?=%ff"));
  CAF_CHECK_EQUAL(unnamed["field"].as_string(), "query");
  CAF_CHECK_EQUAL(http_call(port, "GET", "/api/v1/jobs/n6").status, 200u);
  // A keyset cursor beyond 2^31 is a valid bigint id, not a database error.
  auto page = http_call(port, "GET", "/api/v1/executions?cursor=3000000000&limit=5");
  CAF_CHECK_EQUAL(page.status, 200u);
  auto page_json = json_of(page);
  CAF_CHECK(!page_json["executions"].as_array().empty());
}

CAF_TEST(unknown jobs routes and parameters are json errors) {
  auto r = http_call(port, "GET", "/api/v1/jobs/nope");
  CAF_CHECK_EQUAL(r.status, 404u);
  auto not_found = json_of(r);
  CAF_CHECK_EQUAL(not_found["error"].as_string(), "job not found");
  CAF_CHECK_EQUAL(http_call(port, "GET", "/api/v1/nothing").status, 404u);
  CAF_CHECK_EQUAL(http_call(port, "DELETE", "/api/v1/jobs/x").status, 405u);
  CAF_REQUIRE_EQUAL(
      http_call(port, "POST", "/api/v1/jobs", job_json("p-1", {"q"}, {"m"}, {"US"})).status, 202u);
  auto bad = http_call(port, "GET", "/api/v1/jobs/p-1?include=executions&exec_limit=500");
  CAF_CHECK_EQUAL(bad.status, 400u);
  auto bad_json = json_of(bad);
  CAF_CHECK_EQUAL(bad_json["error_code"].as_string(), "invalid_parameter");
  CAF_CHECK_EQUAL(http_call(port, "GET", "/api/v1/jobs/p-1?include=everything").status, 400u);
}

CAF_TEST(health reports the database the actor runtime and every provider) {
  for (auto path : {"/health", "/api/v1/health"}) {
    auto r = http_call(port, "GET", path);
    CAF_CHECK_EQUAL(r.status, 200u);
    auto j = json_of(r);
    CAF_CHECK_EQUAL(j["status"].as_string(), "healthy");
    std::vector<std::string> names;
    for (auto& s : j["services"].as_array())
      names.emplace_back(s.as_object().at("name").as_string());
    CAF_CHECK_EQUAL(names, (std::vector<std::string>{"database", "actor_runtime", "persistence",
                                                     "provider:sim-us", "provider:sim-eu",
                                                     "provider:sim-asia"}));
  }
  CAF_CHECK_EQUAL(http_call(port, "GET", "/health/live").body, R"({"status":"alive"})");
  auto ready = http_call(port, "GET", "/health/ready");
  CAF_CHECK_EQUAL(ready.status, 200u);
  CAF_CHECK(json_of(ready)["ready"].as_bool());
}

CAF_TEST(health is unhealthy while the persistence actor makes no progress) {
  // The one writer blocked on a lock: no job can make progress, whatever else answers.
  pqxx::connection locker{url};
  pqxx::work lock{locker};
  lock.exec("LOCK TABLE executions IN ACCESS EXCLUSIVE MODE");
  auto store = n->system().registry().get<persistence_actor>(persistence_key);
  caf::anon_send(store, atom::progress::value, std::string("held"), int32_t{0}, int32_t{1});
  auto r = http_call(port, "GET", "/health");
  CAF_CHECK_EQUAL(r.status, 503u);
  auto j = json_of(r);
  CAF_CHECK_EQUAL(j["status"].as_string(), "unhealthy");
  std::string persistence_status;
  for (auto& s : j["services"].as_array())
    if (s.as_object().at("name").as_string() == "persistence")
      persistence_status = std::string(s.as_object().at("status").as_string());
  CAF_CHECK_EQUAL(persistence_status, "unhealthy");
  CAF_CHECK_EQUAL(http_call(port, "GET", "/health/live").status, 200u);
  lock.abort();
  CAF_CHECK_EQUAL(http_call(port, "GET", "/health").status, 200u);
}

CAF_TEST(HEAD is served by the GET routes without a body) {
  auto got =
      send_and_read(port, "HEAD /health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  CAF_CHECK(got.rfind("HTTP/1.1 200", 0) == 0);
  CAF_CHECK(got.find("Content-Length: 18\r\n") != std::string::npos);  // {"status":"alive"}
  CAF_CHECK(got.find("alive") == std::string::npos);
  auto post_only = http_call(port, "HEAD", "/api/v1/jobs/x/cancel");
  CAF_CHECK_EQUAL(post_only.status, 405u);
}

CAF_TEST(metrics are prometheus text with jobs cells providers tokens and cost) {
  node_config cfg;
  cfg.sim_price_input = 1e6;  // a prompt token costs 1, a completion token 2
  cfg.sim_price_output = 2e6;
  start(cfg);
  CAF_REQUIRE_EQUAL(http_call(port, "POST", "/api/v1/jobs",
                              job_json("m-1", {"math_basic"}, {"llama3.2-1b"}, {"US"}))
                        .status,
                    202u);
  for (int i = 0;
       i < 2000 && query_int(url, "SELECT count(*) FROM jobs WHERE status = 'completed'") == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  auto r = http_call(port, "GET", "/metrics");
  // The committed answer's reported tokens, and its cost at the sim's prices.
  auto tokens = query_column(url,
                             "SELECT prompt_tokens || ' ' || completion_tokens || ' ' || cost"
                             " FROM executions WHERE job_id = 'm-1'");
  CAF_REQUIRE_EQUAL(tokens.size(), 1u);
  std::istringstream in(tokens[0]);
  int64_t prompt = 0, completion = 0;
  double cost = 0;
  in >> prompt >> completion >> cost;
  CAF_CHECK_EQUAL(cost, prompt + 2.0 * completion);
  auto labels = std::string("{provider=\"sim-us\",model=\"llama3.2-1b\"");
  CAF_CHECK(r.body.find("beacon_tokens_total" + labels + ",kind=\"prompt\"} " +
                        std::to_string(prompt) + "\n") != std::string::npos);
  CAF_CHECK(r.body.find("beacon_tokens_total" + labels + ",kind=\"completion\"} " +
                        std::to_string(completion) + "\n") != std::string::npos);
  CAF_CHECK(r.body.find("beacon_cost_total" + labels + ",currency=\"USD\"} " +
                        std::to_string(static_cast<int64_t>(cost)) + "\n") != std::string::npos);
  CAF_CHECK_EQUAL(r.status, 200u);
  CAF_CHECK_EQUAL(r.content_type, "text/plain; version=0.0.4");
  for (auto line :
       {"# TYPE beacon_cells gauge", "beacon_cells{status=\"pending\"}",
        "beacon_jobs_running_here ",
        "beacon_provider_queue_depth{provider=\"sim-us\","
        "region=\"US\"}",
        "# TYPE beacon_provider_latency_ms histogram", "# TYPE beacon_cell_overhead_ms histogram",
        "beacon_cell_overhead_ms_count 1\n", "beacon_cell_overhead_ms_bucket{le=\"+Inf\"} 1\n"})
    CAF_CHECK(r.body.find(line) != std::string::npos);
  CAF_CHECK_EQUAL(http_call(port, "GET", "/api/v1/metrics").status, 200u);
}

CAF_TEST(executions page by offset and by cursor and read back one by one) {
  CAF_REQUIRE_EQUAL(http_call(port, "POST", "/api/v1/jobs",
                              job_json("ex-1", {"math_basic"}, {"llama3.2-1b"}, {"US", "EU"}, 3))
                        .status,
                    202u);
  for (int i = 0;
       i < 2000 && query_int(url, "SELECT count(*) FROM jobs WHERE status = 'completed'") == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  auto all = json_of(http_call(port, "GET", "/api/v1/executions?limit=4"));
  CAF_CHECK_EQUAL(all["total"].as_int64(), 6);
  CAF_CHECK_EQUAL(all["limit"].as_int64(), 4);
  auto& first = all["executions"].as_array();
  CAF_REQUIRE_EQUAL(first.size(), 4u);
  auto cursor = all["next_cursor"].as_int64();
  CAF_CHECK_EQUAL(cursor, first.back().as_object().at("id").as_int64());
  auto next = json_of(
      http_call(port, "GET", "/api/v1/executions?limit=4&cursor=" + std::to_string(cursor)));
  auto& second = next["executions"].as_array();
  CAF_CHECK_EQUAL(second.size(), 2u);
  CAF_CHECK(!next.contains("next_cursor"));
  CAF_CHECK_LESS(second.front().as_object().at("id").as_int64(), cursor);
  auto by_offset = json_of(http_call(port, "GET", "/api/v1/executions?limit=4&offset=4"));
  CAF_CHECK_EQUAL(by_offset["executions"].as_array(), second);
  auto id = std::to_string(second.front().as_object().at("id").as_int64());
  auto details = http_call(port, "GET", "/api/v1/executions/" + id + "/details");
  CAF_CHECK_EQUAL(details.status, 200u);
  auto d = json_of(details);
  CAF_CHECK_EQUAL(d["job_id"].as_string(), "ex-1");
  CAF_CHECK_EQUAL(d["status"].as_string(), "completed");
  CAF_CHECK_EQUAL(d["http_status"].as_int64(), 200);  // the sim reports the status it simulates
  CAF_CHECK(d["output"].as_object().contains("response"));
  auto receipt = http_call(port, "GET", "/api/v1/executions/" + id + "/receipt");
  CAF_CHECK_EQUAL(receipt.status, 200u);  // a completed cell is signed (cross_region_analysis)
  auto r = json_of(receipt);
  CAF_CHECK_EQUAL(r["schema_version"].as_string(), receipt_version);
  CAF_CHECK(r["transparency"].as_object().contains("audit_path"));  // in the node's log
  CAF_CHECK_EQUAL(r["output"].as_object()["data"], d["output"]);
  CAF_CHECK_EQUAL(http_call(port, "GET", "/api/v1/executions/999999/receipt").status, 404u);
  CAF_CHECK_EQUAL(http_call(port, "GET", "/api/v1/executions/999999/details").status, 404u);
  CAF_CHECK_EQUAL(http_call(port, "GET", "/api/v1/executions/abc/details").status, 400u);
  CAF_CHECK_EQUAL(http_call(port, "GET", "/api/v1/executions?limit=500").status, 400u);
}

CAF_TEST(the portal cross region wrapper sets the regions and thresholds) {
  auto spec = boost::json::parse(job_json("xr-1", {"math_basic"}, {"llama3.2-1b"}, {"US"}));
  auto wrap = [&](boost::json::object extra) {
    extra["jobspec"] = spec;
    return boost::json::serialize(extra);
  };
  auto r = http_call(port, "POST", "/api/v1/jobs/cross-region",
                     wrap({{"target_regions", {"us-east", "eu-west", "asia-pacific"}},
                           {"min_regions", 2},
                           {"min_success_rate", 0.5},
                           {"enable_analysis", true}}));
  CAF_REQUIRE_EQUAL(r.status, 202u);
  auto j = json_of(r);
  CAF_CHECK_EQUAL(j["job_id"].as_string(), "xr-1");
  CAF_CHECK_EQUAL(j["status"].as_string(), "submitted");
  CAF_CHECK_EQUAL(j["total_regions"].as_int64(), 3);
  CAF_CHECK_EQUAL(j["min_regions"].as_int64(), 2);
  auto cre =
      query_column(url, "SELECT id::text FROM cross_region_executions WHERE job_id = 'xr-1'");
  CAF_REQUIRE_EQUAL(cre.size(), 1u);
  std::string cre_id(j["cross_region_execution_id"].as_string());
  CAF_CHECK_EQUAL(cre_id, cre[0]);
  CAF_CHECK_EQUAL(query_column(url,
                               "SELECT string_agg(DISTINCT region, ',' ORDER BY region)"
                               " FROM executions WHERE job_id = 'xr-1'"),
                  std::vector<std::string>{"ASIA,EU,US"});
  CAF_CHECK_EQUAL(query_column(url,
                               "SELECT (spec->'constraints'->>'min_regions') || ' ' ||"
                               " (spec->'constraints'->>'min_success_rate') FROM jobs"
                               " WHERE id = 'xr-1'"),
                  std::vector<std::string>{"2 0.5"});
  auto before = stored();
  spec.as_object()["id"] = "xr-2";
  CAF_CHECK_EQUAL(http_call(port, "POST", "/api/v1/jobs/cross-region",
                            wrap({{"target_regions", {"US"}}, {"min_regions", 2}}))
                      .status,
                  400u);
  CAF_CHECK_EQUAL(
      http_call(port, "POST", "/api/v1/jobs/cross-region", R"({"target_regions": ["US"]})").status,
      400u);
  CAF_CHECK_EQUAL(http_call(port, "POST", "/api/v1/jobs/cross-region",
                            wrap({{"target_regions", boost::json::array{}}}))
                      .status,
                  400u);
  CAF_CHECK_EQUAL(stored(), before);
}

CAF_TEST(progress counts cells by question model and region) {
  CAF_REQUIRE_EQUAL(http_call(port, "POST", "/api/v1/jobs",
                              job_json("prog-1", {"math_basic", "taiwan_status"},
                                       {"llama3.2-1b", "qwen2.5-1.5b"}, {"US", "ASIA"}, 2))
                        .status,
                    202u);
  boost::json::object p;
  for (int i = 0; i < 2000; ++i) {
    auto r = http_call(port, "GET", "/api/v1/jobs/prog-1/progress");
    CAF_REQUIRE_EQUAL(r.status, 200u);
    p = json_of(r);
    // Every read is consistent: the parts add up to the 16 cells.
    CAF_REQUIRE_EQUAL(p["cells"].as_object()["total"].as_int64(), 16);
    if (p["status"].as_string() == "completed") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  CAF_CHECK_EQUAL(p["status"].as_string(), "completed");
  CAF_CHECK_EQUAL(p["cells"].as_object()["completed"].as_int64(), 16);
  CAF_CHECK_EQUAL(p["cells"].as_object()["done"].as_int64(), 16);
  for (auto part : {"questions", "models", "regions"}) {
    auto& list = p[part].as_array();
    CAF_REQUIRE_EQUAL(list.size(), 2u);
    for (auto& x : list) {
      CAF_CHECK_EQUAL(x.as_object().at("total").as_int64(), 8);
      CAF_CHECK_EQUAL(x.as_object().at("completed").as_int64(), 8);
    }
  }
  CAF_CHECK_EQUAL(p["regions"].as_array()[0].as_object().at("region").as_string(), "ASIA");
  CAF_CHECK_EQUAL(p["questions"].as_array()[1].as_object().at("question_id").as_string(),
                  "taiwan_status");
  // A job this node has not started is counted from storage.
  admit_spec(url, job_json("prog-2", {"math_basic"}, {"m"}, {"US", "EU"}));
  auto q = json_of(http_call(port, "GET", "/api/v1/jobs/prog-2/progress"));
  CAF_CHECK_EQUAL(q["status"].as_string(), "queued");
  CAF_CHECK_EQUAL(q["cells"].as_object()["pending"].as_int64(), 2);
  CAF_CHECK_EQUAL(q["models"].as_array().size(), 1u);
  CAF_CHECK_EQUAL(http_call(port, "GET", "/api/v1/jobs/nope/progress").status, 404u);
}

CAF_TEST(jobs are listed newest first and questions by category) {
  for (auto id : {"list-1", "list-2"}) {
    CAF_REQUIRE_EQUAL(
        http_call(port, "POST", "/api/v1/jobs", job_json(id, {"math_basic"}, {"m"}, {"US"})).status,
        202u);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  auto all = json_of(http_call(port, "GET", "/api/v1/jobs"))["jobs"].as_array();
  CAF_REQUIRE_EQUAL(all.size(), 2u);
  CAF_CHECK_EQUAL(all[0].as_object().at("id").as_string(), "list-2");
  CAF_CHECK(!all[0].as_object().at("created_at").as_string().empty());
  auto one = json_of(http_call(port, "GET", "/api/v1/jobs?limit=1"))["jobs"].as_array();
  CAF_CHECK_EQUAL(one.size(), 1u);
  CAF_CHECK_EQUAL(http_call(port, "GET", "/api/v1/jobs?limit=many").status, 400u);
  auto q = json_of(http_call(port, "GET", "/api/v1/questions"))["categories"].as_object();
  CAF_CHECK_EQUAL(q["control_questions"].as_array().size(), 3u);
  CAF_CHECK_EQUAL(q["bias_detection"].as_array().size(), 3u);
  CAF_CHECK_EQUAL(q["cultural_perspective"].as_array().size(), 2u);
  CAF_CHECK_EQUAL(q["bias_detection"].as_array()[0].as_object().at("question_id").as_string(),
                  "tiananmen_neutral");
}

CAF_TEST(the event stream carries every cell and the verdict and resumes from an event id) {
  // A node whose answers take 150 ms, so the stream opens while the job runs.
  node_config cfg;
  cfg.database_url = fresh_database();
  cfg.http_port = 0;
  cfg.sim_latency_ms = 150;
  cfg.sim_latency_sigma = 0;
  cfg.threads = 2;
  node timed{cfg};
  timed.start(true);
  auto port = timed.http_port();
  CAF_REQUIRE_EQUAL(http_call(port, "POST", "/api/v1/jobs",
                              job_json("sse-1", {"math_basic", "taiwan_status"},
                                       {"llama3.2-1b", "mistral-7b"}, {"US", "EU", "ASIA"}))
                        .status,
                    202u);
  auto finished = [](const std::vector<sse_event>& evs) {
    for (auto& e : evs)
      if (e.type == "job" && e.data.find("\"completed\"") != std::string::npos) return true;
    return false;
  };
  auto first = sse_read(port, "/api/v1/jobs/sse-1/events", "", finished);
  CAF_CHECK(first.head.find("200 OK") != std::string::npos);
  CAF_CHECK(first.head.find("text/event-stream") != std::string::npos);
  CAF_REQUIRE(finished(first.events));
  // Ids strictly increase; every one of the 12 cells reaches a terminal state exactly once.
  int64_t prev = -1;
  std::set<int64_t> terminal_cells;
  int terminal_events = 0;
  for (auto& e : first.events) {
    int64_t id = std::stoll(e.id);
    if (e.type != "snapshot") CAF_CHECK_GREATER(id, prev);
    prev = std::max(prev, id);
    if (e.type != "cell") continue;
    auto d = boost::json::parse(e.data).as_object();
    if (d["status"].as_string() == "completed") {
      ++terminal_events;
      terminal_cells.insert(d["cell_id"].as_int64());
    }
  }
  // Cells completed before the stream opened are in the snapshot instead.
  auto& snap = first.events.front();
  CAF_REQUIRE_EQUAL(snap.type, "snapshot");
  auto snap_done =
      boost::json::parse(snap.data).as_object()["cells"].as_object()["done"].as_int64();
  CAF_CHECK_EQUAL(terminal_events, static_cast<int>(terminal_cells.size()));
  CAF_CHECK_EQUAL(snap_done + terminal_events, 12);
  // Resuming after an event replays exactly what followed it, without a snapshot.
  auto middle = first.events[first.events.size() / 2].id;
  auto resumed = sse_read(port, "/api/v1/jobs/sse-1/events", middle, finished);
  CAF_REQUIRE(!resumed.events.empty());
  CAF_CHECK_NOT_EQUAL(resumed.events.front().type, "snapshot");
  CAF_CHECK_EQUAL(std::stoll(resumed.events.front().id), std::stoll(middle) + 1);
  CAF_CHECK_EQUAL(resumed.events.back().id, first.events.back().id);
  // An id the node never gave (say, from before a restart) starts over from a snapshot.
  auto unknown =
      sse_read(port, "/api/v1/jobs/sse-1/events", "999999", [](auto& evs) { return !evs.empty(); });
  CAF_REQUIRE(!unknown.events.empty());
  CAF_CHECK_EQUAL(unknown.events.front().type, "snapshot");
  CAF_CHECK_EQUAL(http_call(port, "GET", "/api/v1/jobs/nope/events").status, 404u);
  CAF_CHECK_EQUAL(http_call(port, "GET", "/api/v1/jobs/sse-1/events?last_event_id=x").status, 400u);
  timed.stop();
}

CAF_TEST_FIXTURE_SCOPE_END()

CAF_TEST(cancel ends a running job and reports what it cancelled) {
  auto db = fresh_database();
  node_config cfg;
  cfg.database_url = db;
  cfg.http_port = 0;
  cfg.sim_latency_ms = 5000;  // nothing finishes on its own during the test
  cfg.sim_latency_sigma = 0;
  cfg.threads = 2;
  node slow{cfg};
  slow.start(true);
  auto p = slow.http_port();
  CAF_REQUIRE_EQUAL(
      http_call(p, "POST", "/api/v1/jobs",
                job_json("c-1", {"math_basic"}, {"llama3.2-1b", "mistral-7b"}, {"US"}, 3))
          .status,
      202u);
  auto wait_running = [&] {
    for (int i = 0; i < 400; ++i) {
      if (query_int(db, "SELECT count(*) FROM executions WHERE status = 'running'") > 0)
        return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
  };
  if (!wait_running())
    CAF_FAIL("no running cell: "
             << query_column(db, "SELECT status || ' ' || count(*) FROM executions GROUP BY status")
                    .front()
             << "; job " << query_column(db, "SELECT status FROM jobs").front());
  auto r = http_call(p, "POST", "/api/v1/jobs/c-1/cancel", "{}");
  CAF_CHECK_EQUAL(r.status, 200u);
  auto j = boost::json::parse(r.body).as_object();
  CAF_CHECK_EQUAL(j["ok"].as_bool(), true);
  CAF_CHECK_EQUAL(j["previous_status"].as_string(), "running");
  CAF_CHECK_EQUAL(j["new_status"].as_string(), "cancelled");
  CAF_CHECK_EQUAL(j["executions_cancelled"].as_int64(), 6);
  CAF_CHECK_EQUAL(query_int(db, "SELECT count(*) FROM executions WHERE status = 'cancelled'"), 6);
  auto again = http_call(p, "POST", "/api/v1/jobs/c-1/cancel", "{}");
  CAF_CHECK_EQUAL(again.status, 200u);
  auto again_json = boost::json::parse(again.body).as_object();
  CAF_CHECK_EQUAL(again_json["ok"].as_bool(), false);
  CAF_CHECK_EQUAL(again_json["status"].as_string(), "cancelled");
  CAF_CHECK_EQUAL(http_call(p, "POST", "/api/v1/jobs/nope/cancel", "{}").status, 404u);
  CAF_CHECK_EQUAL(http_call(p, "GET", "/api/v1/jobs/c-1/cancel").status, 405u);
  slow.stop();
}

CAF_TEST(a handler that fails answers 500 with a request id and none of the words of the failure) {
  http::server server{[](const http::request&) -> http::response {
                        throw std::runtime_error("ERROR: relation \"jobs\" does not exist");
                      },
                      1, 1 << 20};
  auto port = server.listen("127.0.0.1", 0);
  auto r = http_call(port, "GET", "/api/v1/jobs");
  CAF_CHECK_EQUAL(r.status, 500u);
  auto j = boost::json::parse(r.body).as_object();
  CAF_CHECK_EQUAL(j["error_code"].as_string(), "internal_error");
  auto id = std::string(j["request_id"].as_string());
  CAF_CHECK(!id.empty());
  CAF_CHECK_NOT_EQUAL(std::string(j["error"].as_string()).find(id), std::string::npos);
  CAF_CHECK_EQUAL(r.body.find("relation"), std::string::npos);
  // Every failure gets its own id.
  auto again = boost::json::parse(http_call(port, "GET", "/").body).as_object();
  CAF_CHECK_NOT_EQUAL(std::string(again["request_id"].as_string()), id);
}
