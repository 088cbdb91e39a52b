// Job operations over loopback HTTP: retry-question and retry-all-failed (a person's retries,
// counters kept exact), the streamed export in CSV and JSON lines, and the side-by-side view of
// one model x question across regions.
#define CAF_SUITE rest_jobs
#include <boost/json.hpp>
#include <thread>

#include "app/node.hpp"
#include "caf/test/dsl.hpp"
#include "tests/harness.hpp"
#include "tests/http_client.hpp"
#include "tests/rest_node.hpp"

using namespace beacon;
using namespace beacon::test;

namespace {

// RFC 4180 records of a CSV text (quoted fields may hold commas, quotes and line breaks).
std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
  std::vector<std::vector<std::string>> rows(1);
  std::string field;
  bool quoted = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      rows.back().push_back(std::move(field));
      field.clear();
    } else if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
      rows.back().push_back(std::move(field));
      field.clear();
      rows.emplace_back();
      ++i;
    } else {
      field += c;
    }
  }
  rows.pop_back();  // after the last CRLF
  return rows;
}

struct fixture : rest_node {
  void start(const std::string& models = "llama3.2-1b,mistral-7b,qwen2.5-1.5b") {
    node_config cfg;
    cfg.sim_models = models;
    rest_node::start(cfg);
  }

  boost::json::object get(const std::string& target) {
    auto r = http_call(port, "GET", target);
    return boost::json::parse(r.body).as_object();
  }

  std::string wait_terminal(const std::string& id) {
    std::string st;
    for (int i = 0; i < 1000; ++i) {
      st = std::string(get("/api/v1/jobs/" + id)["status"].as_string());
      if (st == "completed" || st == "failed" || st == "cancelled") break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return st;
  }

  void submit(const std::string& spec) {
    auto r = http_call(port, "POST", "/api/v1/jobs", spec);
    CAF_REQUIRE_EQUAL(r.status, 202u);
  }
};

}  // namespace

CAF_TEST_FIXTURE_SCOPE(rest_jobs_tests, fixture)

CAF_TEST(failed cells run again on request once a provider serves them) {
  start("llama3.2-1b");  // mistral-7b has no provider yet: its cells fail no_provider
  submit(job_json("retry-1", {"math_basic", "capital_france"}, {"llama3.2-1b", "mistral-7b"},
                  {"US", "EU"}, 1, 0.1));
  CAF_REQUIRE_EQUAL(wait_terminal("retry-1"), "completed");
  CAF_CHECK_EQUAL(query_int(url,
                            "SELECT count(*) FROM executions WHERE job_id = 'retry-1' AND status = "
                            "'failed' AND error_code = 'no_provider'"),
                  4);
  auto failed_id = query_int(url,
                             "SELECT min(id) FROM executions WHERE job_id = 'retry-1' AND status "
                             "= 'failed'");
  auto index = query_int(
      url, "SELECT question_index FROM executions WHERE id = " + std::to_string(failed_id));
  auto region =
      query_column(url, "SELECT region FROM executions WHERE id = " + std::to_string(failed_id))[0];
  auto target = "/api/v1/executions/" + std::to_string(failed_id) + "/retry-question";
  // Wrong region or index: refused, nothing changes.
  auto wrong = http_call(port, "POST", target,
                         R"({"region":"ASIA","question_index":)" + std::to_string(index) + "}");
  CAF_CHECK_EQUAL(wrong.status, 400u);
  std::string body =
      R"({"region":")" + region + R"(","question_index":)" + std::to_string(index) + "}";
  auto retried = http_call(port, "POST", target, body);
  CAF_CHECK_EQUAL(retried.status, 202u);
  auto r = boost::json::parse(retried.body).as_object();
  CAF_CHECK_EQUAL(r["status"].as_string(), "retrying");
  CAF_CHECK_EQUAL(r["retry_attempt"].as_int64(), 1);
  CAF_REQUIRE_EQUAL(wait_terminal("retry-1"), "completed");
  // Still no provider: failed again, the first failure kept in manual_retry_history.
  auto details = get("/api/v1/executions/" + std::to_string(failed_id) + "/details");
  CAF_CHECK_EQUAL(details["status"].as_string(), "failed");
  CAF_CHECK_EQUAL(details["retry_count"].as_int64(), 1);
  CAF_CHECK_EQUAL(details["manual_retry_history"].as_array().size(), 1u);
  CAF_CHECK_EQUAL(details["original_error"].as_string().empty(), false);
  CAF_CHECK_EQUAL(counter_mismatch(url, "retry-1"), "");
  // The node restarts with a provider for mistral-7b: retry-all-failed completes every cell.
  start("llama3.2-1b,mistral-7b");
  auto all = http_call(port, "POST", "/api/v1/jobs/retry-1/retry-all-failed", "{}");
  CAF_CHECK_EQUAL(all.status, 202u);
  auto a = boost::json::parse(all.body).as_object();
  CAF_CHECK_EQUAL(a["cells_retried"].as_int64(), 4);
  CAF_REQUIRE_EQUAL(wait_terminal("retry-1"), "completed");
  CAF_CHECK_EQUAL(query_int(url,
                            "SELECT count(*) FROM executions WHERE job_id = 'retry-1' AND status = "
                            "'completed'"),
                  8);
  CAF_CHECK_EQUAL(counter_mismatch(url, "retry-1"), "");
  auto job = get("/api/v1/jobs/retry-1");
  CAF_CHECK_EQUAL(job["cells"].as_object()["completed"].as_int64(), 8);
  // A completed cell answers with its result; nothing left to retry job-wide.
  auto done = http_call(port, "POST", target, body);
  CAF_CHECK_EQUAL(done.status, 200u);
  auto d = boost::json::parse(done.body).as_object();
  CAF_CHECK(d["result"].is_object());
  auto none = http_call(port, "POST", "/api/v1/jobs/retry-1/retry-all-failed", "{}");
  CAF_CHECK_EQUAL(none.status, 200u);
  CAF_CHECK_EQUAL(http_call(port, "POST", "/api/v1/executions/999999/retry-question", body).status,
                  404u);
}

CAF_TEST(an export streams every execution as csv or json lines) {
  start();
  submit(job_json("exp-1", {"tiananmen_neutral", "math_basic", "capital_france"},
                  {"llama3.2-1b", "mistral-7b"}, {"US", "EU", "ASIA"}, 2));
  CAF_REQUIRE_EQUAL(wait_terminal("exp-1"), "completed");
  auto csv = http_call(port, "GET", "/api/v1/jobs/exp-1/export?format=csv");
  CAF_CHECK_EQUAL(csv.status, 200u);
  CAF_CHECK_EQUAL(csv.content_type, "text/csv; charset=utf-8");
  CAF_CHECK_EQUAL(csv.headers["content-disposition"], "attachment; filename=\"exp-1.csv\"");
  CAF_CHECK_EQUAL(csv.headers["transfer-encoding"], "chunked");
  auto rows = parse_csv(csv.body);
  CAF_REQUIRE_EQUAL(rows.size(), 37u);  // header + 3 x 2 x 3 x 2
  CAF_CHECK_EQUAL(rows[0][0], "id");
  CAF_CHECK_EQUAL(rows[0].back(), "response");
  size_t bad_width = 0, answered = 0;
  for (auto& row : rows) bad_width += row.size() != rows[0].size();
  for (size_t i = 1; i < rows.size(); ++i) answered += !rows[i].back().empty();
  CAF_CHECK_EQUAL(bad_width, 0u);
  CAF_CHECK_EQUAL(answered, 36u);
  auto jsonl = http_call(port, "GET", "/api/v1/jobs/exp-1/export?format=jsonl");
  CAF_CHECK_EQUAL(jsonl.content_type, "application/x-ndjson");
  std::vector<int64_t> ids;
  size_t start_at = 0;
  while (start_at < jsonl.body.size()) {
    auto end = jsonl.body.find('\n', start_at);
    auto line = boost::json::parse(jsonl.body.substr(start_at, end - start_at)).as_object();
    ids.push_back(line["id"].as_int64());
    CAF_CHECK(line.contains("question_index"));
    CAF_CHECK(line["output"].is_object());
    start_at = end + 1;
  }
  CAF_CHECK_EQUAL(ids.size(), 36u);
  CAF_CHECK(std::is_sorted(ids.begin(), ids.end()));
  CAF_CHECK_EQUAL(http_call(port, "GET", "/api/v1/jobs/exp-1/export?format=xml").status, 400u);
  CAF_CHECK_EQUAL(http_call(port, "GET", "/api/v1/jobs/nope/export").status, 404u);
}

CAF_TEST(the cross region view puts one model and question side by side) {
  start();
  submit(job_json("side-1", {"tiananmen_neutral", "math_basic"}, {"llama3.2-1b"},
                  {"US", "EU", "ASIA"}));
  CAF_REQUIRE_EQUAL(wait_terminal("side-1"), "completed");
  auto view = get(
      "/api/v1/executions/side-1/cross-region?model_id=llama3.2-1b&question_id=tiananmen_neutral");
  auto regions = view["region_results"].as_array();
  CAF_REQUIRE_EQUAL(regions.size(), 3u);
  int refusals = 0;
  for (auto& r : regions) {
    auto& o = r.as_object();
    CAF_CHECK_EQUAL(o.at("status").as_string(), "completed");
    CAF_CHECK(o.at("execution_output").as_object().contains("response"));
    // Scored from the rows (the values are checked in the cross_region_analysis suite).
    CAF_CHECK(o.at("scoring").as_object().contains("bias_score"));
    refusals += o.at("is_content_refusal").as_bool();
  }
  CAF_CHECK_EQUAL(refusals, 1);
  CAF_CHECK_EQUAL(regions[0].as_object().at("region").as_string(), "ASIA");
  CAF_CHECK_EQUAL(view["summary"].as_object()["completed_regions"].as_int64(), 3);
  CAF_CHECK_EQUAL(http_call(port, "GET", "/api/v1/executions/side-1/cross-region").status, 400u);
  CAF_CHECK_EQUAL(
      http_call(port, "GET", "/api/v1/executions/side-1/cross-region?model_id=gpt-9").status, 404u);
}

CAF_TEST_FIXTURE_SCOPE_END()
