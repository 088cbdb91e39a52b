// The live page in a real headless Chromium (Debian's chromium + chromium-driver over WebDriver),
// served from another origin than the API (a second port), so Chromium itself enforces CORS:
// a job runs on sim while the page follows its event stream; every cell of the grid turns
// completed without polling, the DOM counts equal the job's counters, a click opens the answers
// side by side with ASIA's refusal highlighted and flagged by the analysis, the job's analysis
// panel shows, calls made the portal's way (preflighted GET and POST) succeed, and a screenshot is
// saved with the test output. The same page from an origin the node does not allow loads nothing.
#define CAF_SUITE web_page
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <thread>

#include "app/client.hpp"
#include "app/node.hpp"
#include "caf/test/dsl.hpp"
#include "http/embedded_files.hpp"
#include "http/server.hpp"
#include "tests/harness.hpp"
#include "tests/http_client.hpp"
#include "tests/webdriver.hpp"

using namespace beacon;
using namespace beacon::test;

namespace {

// The live page's files on a port of their own: another origin than the node's API.
struct page_server {
  http::server server{
      [](const http::request& req) {
        auto name = req.path == "/" ? std::string("web/index.html") : req.path.substr(1);
        auto& files = http::embedded_files();
        auto it = files.find(name);
        if (it == files.end() || name.rfind("web/", 0) != 0) return http::response{404, "{}"};
        auto type = name.size() > 3 && name.substr(name.size() - 3) == ".js" ? "text/javascript"
                    : name.substr(name.size() - 4) == ".css"                 ? "text/css"
                                                                             : "text/html";
        return http::response{200, it->second, type};
      },
      1, 1 << 20};
  uint16_t port = server.listen("127.0.0.1", 0);
  std::string origin() const { return "http://127.0.0.1:" + std::to_string(port); }
};

// Waits until the page's script has run (window.beacon is defined).
void wait_for_page(webdriver& browser) {
  for (int i = 0; i < 600; ++i) {
    if (browser.execute("return !!window.beacon;").as_bool()) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CAF_FAIL("the page did not load");
}

}  // namespace

CAF_TEST(the live page follows a job to the end and shows a cell side by side) {
  page_server pages, other_pages;
  node_config cfg;
  cfg.cors_origins = pages.origin();  // other_pages is not allowed
  cfg.database_url = fresh_database();
  cfg.http_port = 0;
  cfg.threads = 2;
  cfg.sim_latency_ms = 150;     // with one call at a time per region, the job runs for ~1.2 s+:
  cfg.sim_max_concurrency = 1;  // long enough for the page to see cells change live
  cfg.sim_latency_sigma = 0.2;
  cfg.sim_models = "llama3.2-1b,mistral-7b";
  cfg.sim_price_input = 1e6;  // a token costs 1: the page's cost is the job's token count
  cfg.sim_price_output = 1e6;
  node n{cfg};
  n.start(true);
  auto port = n.http_port();
  webdriver browser;
  auto spec =
      job_json("web-1", {"tiananmen_neutral", "math_basic", "capital_france", "taiwan_status"},
               {"llama3.2-1b", "mistral-7b"}, {"US", "EU", "ASIA"});
  auto api = "http://127.0.0.1:" + std::to_string(port);
  // The page is loaded and idle before the job exists (a browser starting under load may take
  // seconds); the job is opened by its hash right after it is submitted, as a user would.
  browser.navigate(pages.origin() + "/?api=" + api);
  wait_for_page(browser);
  CAF_REQUIRE_EQUAL(http_call(port, "POST", "/api/v1/jobs", spec).status, 202u);
  browser.execute("location.hash = 'job=web-1'; return true;");
  // Wait until the page says every cell is completed (it learns it only from the stream).
  boost::json::object summary;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  int64_t completed_in_dom = 0;
  std::string status;
  while (std::chrono::steady_clock::now() < deadline) {
    auto v = browser.execute("return window.beacon ? window.beacon.summary() : null;");
    if (v.is_object()) {
      summary = v.as_object();
      completed_in_dom = summary["dom"].as_object()["byStatus"].as_object()["completed"].as_int64();
      status = std::string(summary["status"].as_string());
      if (completed_in_dom == 24 && status == "completed") break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  CAF_CHECK_EQUAL(completed_in_dom, 24);
  CAF_CHECK_EQUAL(status, "completed");
  auto dom = summary["dom"].as_object();
  CAF_CHECK_EQUAL(dom["cells"].as_int64(), 24);
  CAF_CHECK_EQUAL(dom["totalText"].as_string(), "24");
  // Cells changed live: the page received cell events, not only a final snapshot.
  auto events = summary["events"].as_object();
  CAF_CHECK(events["cell"].as_int64() > 0);
  // The counts on the page equal the job's counters in PostgreSQL.
  auto job = boost::json::parse(http_call(port, "GET", "/api/v1/jobs/web-1").body).as_object();
  auto counted = job["cells"].as_object()["completed"].as_int64();
  CAF_CHECK_EQUAL(summary["totals"].as_object()["completed"].as_int64(), counted);
  // Tokens and cost on the page, summed from the snapshot and the stream, equal the rows'.
  auto usage = browser.execute(
      "return document.querySelector('#total-tokens').textContent + ' | ' +"
      " document.querySelector('#total-cost').textContent;");
  auto stored = query_column(cfg.database_url,
                             "SELECT sum(prompt_tokens) || ' in / ' || sum(completion_tokens) ||"
                             " ' out | ' || sum(cost)::bigint FROM executions");
  CAF_CHECK_EQUAL(std::string(usage.as_string()), stored.at(0));
  // And per region and model, each as its rows say.
  auto by = browser.execute(
      "return ['region-ASIA', 'region-EU', 'region-US', 'model-llama3.2-1b', 'model-mistral-7b']"
      ".map((k) => document.getElementById('usage-' + k).textContent).join(' ');");
  auto stored_by = query_column(
      cfg.database_url,
      "SELECT string_agg(c::bigint::text, ' ' ORDER BY k) FROM (SELECT 'a' || region AS k,"
      " sum(cost) AS c FROM executions GROUP BY region UNION ALL SELECT 'b' || model_id,"
      " sum(cost) FROM executions GROUP BY model_id) x");
  CAF_CHECK_EQUAL(std::string(by.as_string()), stored_by.at(0));
  // Open ASIA's llama cell of the first question: three regions side by side, ASIA refused.
  browser.click(
      browser.find(R"(td.cell[data-qi="0"][data-model="llama3.2-1b"][data-region="ASIA"])"));
  std::string flagged;
  int64_t cards = 0;
  for (int i = 0; i < 100 && cards < 3; ++i) {
    auto v = browser.execute(
        "return {cards: document.querySelectorAll('#detail .region-answer').length,"
        " refused: [...document.querySelectorAll('#detail .region-answer.refusal')]"
        ".map(e => e.dataset.region).join(','),"
        " selected: (document.querySelector('#detail .region-answer.selected') || {dataset: {}})"
        ".dataset.region};");
    auto o = v.as_object();
    cards = o["cards"].as_int64();
    flagged = std::string(o["refused"].as_string());
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CAF_CHECK_EQUAL(cards, 3);
  CAF_CHECK_EQUAL(flagged, "ASIA");
  // Each answer side by side shows its tokens, finish reason and cost.
  auto usage_fields = browser.execute(
      "return [...document.querySelectorAll('#detail .region-answer dt')]"
      ".filter((d) => ['tokens', 'finish reason', 'cost'].includes(d.textContent)).length;");
  CAF_CHECK_EQUAL(usage_fields.as_int64(), 9);
  // Each answer checked in the browser against the node's transparency log (WebCrypto SHA-256
  // and Ed25519), and the job's tree head under the analysis.
  std::string verified, job_log;
  for (int i = 0; i < 200; ++i) {
    auto v = browser.execute(
        "return {marks: [...document.querySelectorAll('#detail .region-answer')]"
        ".map(e => e.dataset.verified || '').join(','), log: (document.querySelector("
        "'#job-log li') || {}).textContent || ''};");
    verified = std::string(v.as_object()["marks"].as_string());
    job_log = std::string(v.as_object()["log"].as_string());
    if (verified == "true,true,true" && !job_log.empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CAF_CHECK_EQUAL(verified, "true,true,true");
  CAF_CHECK_NOT_EQUAL(job_log.find("24 of this job's answers"), std::string::npos);
  CAF_CHECK_NOT_EQUAL(job_log.find("signature verified"), std::string::npos);
  // The comparison next to the answers: the refusal flag and the divergence with its components.
  boost::json::value shown;
  for (int i = 0; i < 300; ++i) {
    shown = browser.execute(
        "return {flags: [...document.querySelectorAll('#detail-analysis .flag')]"
        ".map(e => e.textContent), divergence: (document.querySelector('#detail-analysis "
        ".divergence') || {}).textContent || '', job: (document.querySelector('#job-analysis "
        ".recommendation') || {}).textContent || ''};");
    if (!shown.as_object().at("job").as_string().empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  auto& a = shown.as_object();
  bool refusal_flag = false;
  for (auto& f : a.at("flags").as_array())
    refusal_flag = refusal_flag || f.as_string() == "ASIA refused where EU and US answered";
  CAF_CHECK(refusal_flag);
  auto divergence = std::string(a.at("divergence").as_string());
  CAF_CHECK_EQUAL(divergence.rfind("divergence 0.", 0), 0u);
  CAF_CHECK_NOT_EQUAL(divergence.find("(refusal gap)"), std::string::npos);
  // The job's analysis panel appeared when the job ended.
  CAF_CHECK_EQUAL(std::string(a.at("job").as_string()).rfind("HIGH RISK", 0), 0u);
  // Calls the portal's way from this origin: every one preflighted (a JSON Content-Type on a GET,
  // a POST with an Idempotency-Key), then read.
  auto portal_calls = browser.execute(
      "const api = '" + api +
      "';"
      "const h = {'Content-Type': 'application/json; charset=utf-8'};"
      "return Promise.all(["
      " fetch(api + '/api/v1/jobs/web-1?include=executions&exec_limit=100', {headers: h})"
      "  .then(r => r.json().then(b => r.status + ':' + b.status + ':' + b.executions.length)),"
      " fetch(api + '/api/v1/jobs/web-1/cancel', {method: 'POST', headers: Object.assign("
      "  {'Idempotency-Key': 'k1'}, h), body: '{}'}).then(r => r.json().then(b => r.status + ':' +"
      "  b.status)),"
      " fetch(api + '/api/v1/executions/web-1/cross-region-diff', {headers: h}).then(r => "
      "  String(r.status))"
      "]).then(x => x.join(' '), e => 'error: ' + e);");
  CAF_CHECK_EQUAL(portal_calls.as_string(), "200:completed:24 200:completed 200");
  std::filesystem::create_directories(BEACON_TEST_OUTPUT_DIR);
  auto shot = std::string(BEACON_TEST_OUTPUT_DIR) + "/web_page.png";
  auto png = browser.screenshot();
  std::ofstream(shot, std::ios::binary) << png;
  CAF_CHECK(png.size() > 1000);
  CAF_CHECK_EQUAL(png.substr(1, 3), "PNG");
  CAF_MESSAGE("screenshot: " << shot);
  // From an origin the node does not list, Chromium withholds every answer: nothing loads.
  browser.navigate(other_pages.origin() + "/?api=" + api + "#job=web-1");
  std::string shown_error;
  for (int i = 0; i < 100 && shown_error.empty(); ++i) {
    auto v = browser.execute(
        "const e = document.querySelector('#error');"
        " return e && !e.hidden ? e.textContent : '';");
    shown_error = std::string(v.as_string());
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CAF_CHECK(!shown_error.empty());
  CAF_MESSAGE("page on a foreign origin says: " << shown_error);
  auto blocked = browser.execute(
      "return fetch('" + api +
      "/api/v1/jobs?limit=50', {headers: {'Content-Type': "
      "'application/json'}}).then(r => 'read ' + r.status, e => 'blocked ' + e.name);");
  CAF_CHECK_EQUAL(blocked.as_string(), "blocked TypeError");
  auto cells = browser.execute("return document.querySelectorAll('td.cell').length;");
  CAF_CHECK_EQUAL(cells.as_int64(), 0);
}

CAF_TEST(a job report is one self contained file that renders the grid answers and charts) {
  node_config cfg;
  cfg.database_url = fresh_database();
  cfg.http_port = 0;
  cfg.threads = 2;
  cfg.sim_latency_ms = 1;
  cfg.sim_models = "llama3.2-1b,mistral-7b";
  cfg.sim_price_input = 1e6;
  cfg.sim_price_output = 1e6;
  node n{cfg};
  n.start(true);
  auto port = n.http_port();
  auto spec = R"({"id": "report-1", "questions": ["tiananmen_neutral", "math_basic"], "runs": 2,
      "models": ["llama3.2-1b", "mistral-7b"], "generation": {"max_tokens": 40},
      "constraints": {"regions": ["US", "EU", "ASIA"]}})";
  CAF_REQUIRE_EQUAL(http_call(port, "POST", "/api/v1/jobs", spec).status, 202u);
  // The analysis is stored once the job has ended: the report shows it.
  for (int i = 0; i < 600; ++i) {
    if (http_call(port, "GET", "/api/v2/jobs/report-1/bias-analysis").status == 200) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::filesystem::create_directories(BEACON_TEST_OUTPUT_DIR);
  auto file = std::string(BEACON_TEST_OUTPUT_DIR) + "/report.html";
  client_options client;
  client.node_url = "http://127.0.0.1:" + std::to_string(port);
  CAF_REQUIRE_EQUAL(run_report(client, "report-1", file), 0);
  std::ifstream in(file);
  std::string html((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Self-contained: no script, nothing to fetch.
  for (auto needle : {"<script", "src=", "href=", "@import", "url("})
    CAF_CHECK(html.find(needle) == std::string::npos);
  webdriver browser;
  browser.navigate("file://" + file);
  auto page = browser.execute(R"(
    const text = (s) => (document.querySelector(s) || {}).textContent || '';
    const bars = (s) => [...document.querySelectorAll(s + ' rect.bar')];
    return {
      status: text('#status'), cost: text('#cost'), tokens: text('#tokens'),
      groups: document.querySelectorAll('article.group').length,
      cards: document.querySelectorAll('article.group .answer').length,
      asiaRefused: document.querySelectorAll(
        'article.group[data-question="tiananmen_neutral"][data-model="llama3.2-1b"]' +
        ' .answer.content_refusal[data-region="ASIA"]').length,
      truncated: [...document.querySelectorAll('.answer .tag')]
        .filter((t) => t.textContent === 'truncated').length,
      divergenceBars: bars('#divergence-chart').length,
      refusalBars: bars('#refusal-chart').map((b) => b.dataset.value).join(','),
      gridRows: document.querySelectorAll('#grid tr').length,
      scores: document.querySelectorAll('#region-scores tr').length,
      fetched: performance.getEntriesByType('resource').length,
    };)");
  auto o = page.as_object();
  CAF_CHECK_EQUAL(o["status"].as_string(), "completed");
  CAF_CHECK_EQUAL(o["groups"].as_int64(), 4);  // 2 questions x 2 models
  CAF_CHECK_EQUAL(o["cards"].as_int64(), 24);  // every cell, runs side by side
  CAF_CHECK_EQUAL(o["asiaRefused"].as_int64(), 2);
  CAF_CHECK_EQUAL(o["divergenceBars"].as_int64(), 2);  // one per question
  CAF_CHECK_EQUAL(o["gridRows"].as_int64(), 5);        // a header and 4 groups
  CAF_CHECK_EQUAL(o["scores"].as_int64(), 4);          // a header and 3 regions
  CAF_CHECK_EQUAL(o["fetched"].as_int64(), 0);
  // The numbers are the node's: cost and tokens as stored, truncated answers as the rows say.
  auto stored = query_column(cfg.database_url,
                             "SELECT sum(cost)::bigint || ' | ' || sum(prompt_tokens) || ' / ' ||"
                             " sum(completion_tokens) || ' | ' ||"
                             " count(*) FILTER (WHERE finish_reason = 'length') FROM executions");
  CAF_CHECK_EQUAL(std::string(o["cost"].as_string()) + " | " +
                      std::string(o["tokens"].as_string()) + " | " +
                      std::to_string(o["truncated"].as_int64()),
                  stored.at(0));
  // Refusals per region: ASIA refused or deflected some answers, US and EU none.
  auto refusal = std::string(o["refusalBars"].as_string());
  auto shares = query_column(cfg.database_url,
                             "SELECT string_agg(round(avoided::numeric / answers, 6)::float8::text,"
                             " ',' ORDER BY region) FROM (SELECT region, count(*) AS answers,"
                             " count(*) FILTER (WHERE response_classification IN"
                             " ('content_refusal', 'deflection')) AS avoided FROM executions"
                             " WHERE status = 'completed' GROUP BY region) r");
  CAF_CHECK_EQUAL(refusal, shares.at(0));
  auto png = browser.screenshot();
  std::ofstream(std::string(BEACON_TEST_OUTPUT_DIR) + "/report.png", std::ios::binary) << png;
  CAF_CHECK_EQUAL(png.substr(1, 3), "PNG");
  n.stop();
}
