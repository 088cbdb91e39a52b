// Durable execution (issue 14, findings 1-3), against real parts: a provider outage shorter than
// the cell budget costs time, not cells (a node in this process, a fault-injecting provider on
// loopback with the node's default resilience settings); retry budgets survive `kill -9` of a
// node process mid-retry; a node restarts its embedded PostgreSQL server after the postmaster is
// killed, and the job carries on.
#define CAF_SUITE outages
#include <signal.h>

#include <atomic>
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "app/node.hpp"
#include "caf/test/dsl.hpp"
#include "domain/job_spec.hpp"
#include "tests/fake_provider.hpp"
#include "tests/harness.hpp"
#include "tests/http_client.hpp"
#include "tests/node_process.hpp"

using namespace beacon;
using namespace beacon::test;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

template <class Pred>
bool within(std::chrono::milliseconds limit, Pred pred) {
  auto deadline = steady::now() + limit;
  while (!pred() && steady::now() < deadline) std::this_thread::sleep_for(20ms);
  return pred();
}

// A providers file with one OpenAI-compatible provider of `region` serving `models`.
std::string providers_file(const std::string& name, const std::string& url,
                           const std::string& region, const std::string& models,
                           const std::string& extra = "") {
  auto path = std::filesystem::path(BEACON_TEST_OUTPUT_DIR) / (name + "-providers.json");
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path) << R"([{"name": ")" << name << R"(", "kind": "openai", "base_url": ")" << url
                      << R"(", "region": ")" << region << R"(", "models": [)" << models << "]"
                      << (extra.empty() ? "" : ", " + extra) << "}]";
  return path.string();
}

// Requests inside [start, start + length) get `kind` (health checks too); the rest a correct
// answer. The outage starts when begin() is called.
struct outage {
  fault kind;
  std::chrono::milliseconds length;
  std::shared_ptr<std::atomic<int64_t>> ends_ns = std::make_shared<std::atomic<int64_t>>(0);

  void begin() { ends_ns->store((steady::now() + length).time_since_epoch().count()); }
  fake_provider::plan plan() const {
    auto ends = ends_ns;
    auto k = kind;
    return [ends, k](const seen_request&) {
      fault_step s;
      if (steady::now().time_since_epoch().count() < ends->load()) s.kind = k;
      return s;
    };
  }
};

// Runs a 24-cell job through a provider that has `o` at its start, with the node's default
// retry, circuit and budget settings; every cell must complete.
void job_survives(const std::string& id, outage o) {
  auto url = fresh_database();
  fake_provider provider{"US", o.plan()};
  node_config cfg;
  cfg.database_url = url;
  cfg.sim_regions = "";
  cfg.threads = 2;
  cfg.providers_file = providers_file("outage-" + id, provider.url(), "US", R"("m")");
  node n{cfg};
  n.start(false);
  o.begin();
  auto t0 = steady::now();
  // 5 s per attempt (the job's own setting): a hung call costs 5 s, not the 5 min default.
  CAF_REQUIRE_EQUAL(n.submit(job_json(id, {"math_basic"}, {"m"}, {"US"}, 24, 1.0)).status, 202u);
  CAF_REQUIRE(within(100s, [&] {
    return query_int(url, "SELECT count(*) FROM jobs WHERE status IN ('completed', 'failed')") == 1;
  }));
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - t0);
  n.stop();
  CAF_MESSAGE(id << ": ended after " << took.count() << " ms, " << provider.requests("/v1/chat")
                 << " calls");
  CAF_CHECK_GREATER(took, o.length);  // the outage really was in the way
  CAF_CHECK_EQUAL(query_column(url, "SELECT status FROM jobs"),
                  std::vector<std::string>{"completed"});
  CAF_CHECK_EQUAL(query_int(url, "SELECT count(*) FROM executions WHERE status = 'completed'"), 24);
  // Every call is an attempt in its row, and no row spent more than its budget of 4.
  CAF_CHECK_EQUAL(query_int(url, "SELECT sum(attempts) FROM executions"),
                  static_cast<int64_t>(provider.requests("/v1/chat")));
  CAF_CHECK_LESS_OR_EQUAL(query_int(url, "SELECT max(attempts) FROM executions"), 4);
  CAF_CHECK_EQUAL(query_int(url,
                            "SELECT count(*) FROM executions WHERE"
                            " jsonb_array_length(retry_history) <> attempts - 1"),
                  0);
  CAF_CHECK_EQUAL(counter_mismatch(url, id), "");
}

}  // namespace

CAF_TEST(an 8 s burst of server errors loses no cell) {
  job_survives("burst-500", {fault::status_500, 8s});
}

CAF_TEST(a 15 s hang loses no cell) {
  job_survives("hang-15", {fault::hang, 15s});
}

#undef CAF_SUITE
#define CAF_SUITE durable_attempts

namespace {

// Provider calls per cell, keyed "question_id/model_id" from the request body.
class call_counter {
 public:
  void count(const std::string& body) {
    auto v = boost::json::parse(body).as_object();
    std::string prompt(v["messages"].as_array().back().as_object()["content"].as_string());
    std::string model(v["model"].as_string());
    std::string question;
    for (auto& q : builtin_questions())
      if (q.prompt == prompt) question = q.id;
    std::lock_guard<std::mutex> lock(mutex_);
    ++calls_[question + "/" + model];
  }
  int64_t of(const std::string& cell) {
    std::lock_guard<std::mutex> lock(mutex_);
    return calls_[cell];
  }

 private:
  std::mutex mutex_;
  std::map<std::string, int64_t> calls_;
};

}  // namespace

CAF_TEST(retry budgets and histories survive kills of the node mid retry) {
  auto url = fresh_database();
  auto counter = std::make_shared<call_counter>();
  // Every call fails after 300 ms, so cells are always retrying (or in a call) when killed.
  fake_provider provider{"US", [counter](const seen_request& r) {
                           if (!r.health()) counter->count(r.body);
                           return fault_step{fault::status_500, 300ms};
                         }};
  auto file = providers_file("durable", provider.url(), "US", R"("m1", "m2")",
                             R"("health_interval_ms": 0, "failure_threshold": 1000)");
  std::vector<std::string> args{"--providers-file", file, "--sim-regions",   "",
                                "--max-retries",    "3",  "--retry-base-ms", "200",
                                "--retry-cap-ms",   "400"};
  std::vector<std::string> questions;
  for (auto& q : builtin_questions()) questions.push_back(q.id);
  auto spec = job_json("durable-1", questions, {"m1", "m2"}, {"US"}, 1, 0.5);
  auto most_attempts = [&] {
    return query_int(url,
                     "SELECT coalesce(max(attempts), 0) FROM executions WHERE status = "
                     "'running'");
  };
  {
    node_process first{"durable-1", url, args};
    CAF_REQUIRE_EQUAL(http_call(first.port(), "POST", "/api/v1/jobs", spec).status, 202u);
    CAF_REQUIRE(within(30s, [&] { return most_attempts() >= 2; }));
    first.kill_hard();
  }
  {
    node_process second{"durable-2", url, args};  // resumes the job
    CAF_REQUIRE(within(30s, [&] { return most_attempts() >= 3; }));
    second.kill_hard();
  }
  node_process third{"durable-3", url, args};
  CAF_REQUIRE(within(60s, [&] {
    return query_int(url, "SELECT count(*) FROM jobs WHERE status IN ('completed', 'failed')") == 1;
  }));
  third.stop();
  pqxx::connection conn{url};
  pqxx::nontransaction tx{conn};
  int64_t interrupted_total = 0, calls_total = 0;
  for (auto row :
       tx.exec("SELECT question_id || '/' || model_id, attempts, interrupted_attempts,"
               " jsonb_array_length(retry_history), status, error_code FROM executions")) {
    auto cell = row[0].as<std::string>();
    auto attempts = row[1].as<int64_t>(), interrupted = row[2].as<int64_t>();
    auto calls = counter->of(cell);
    calls_total += calls;
    interrupted_total += interrupted;
    CAF_MESSAGE(cell << ": " << calls << " calls, " << attempts << " attempts, " << interrupted
                     << " interrupted");
    CAF_CHECK_EQUAL(row[4].as<std::string>() + " " + row[5].as<std::string>(), "failed http_5xx");
    // Every call that reached the provider is in the row; the budget counts the others.
    CAF_CHECK_LESS_OR_EQUAL(calls, attempts);
    CAF_CHECK_EQUAL(attempts - interrupted, 4);  // max_retries + 1, kills or not
    CAF_CHECK_LESS_OR_EQUAL(calls, 4 + interrupted);
    CAF_CHECK_LESS_OR_EQUAL(interrupted, 2);          // at most one per kill
    CAF_CHECK_EQUAL(row[3].as<int64_t>(), attempts);  // one history entry per attempt
  }
  CAF_MESSAGE(calls_total << " calls, " << interrupted_total << " attempts interrupted by kills");
  CAF_CHECK_GREATER(interrupted_total, 0);  // the kills did hit attempts in flight
  CAF_CHECK_EQUAL(query_int(url, "SELECT count(*) FROM executions"), 16);
  CAF_CHECK_EQUAL(counter_mismatch(url, "durable-1"), "");
}

#undef CAF_SUITE
#define CAF_SUITE embedded_restart

namespace {

// The embedded cluster's directory, from the node's database_started log line.
std::string cluster_dir(const node_process& n) {
  std::istringstream lines(n.log());
  for (std::string line; std::getline(lines, line);) {
    if (line.find("\"database_started\"") == std::string::npos) continue;
    return std::string(boost::json::parse(line).as_object()["dir"].as_string());
  }
  return "";
}

}  // namespace

CAF_TEST(a killed embedded postmaster is restarted and the job carries on) {
  node_process n{"embedded-restart", "", {"--sim-latency-ms", "100", "--sim-max-concurrency", "2"}};
  auto dir = cluster_dir(n);
  CAF_REQUIRE(!dir.empty());
  std::ifstream pidfile(std::filesystem::path(dir) / "data" / "postmaster.pid");
  pid_t postmaster = 0;
  pidfile >> postmaster;
  CAF_REQUIRE_GREATER(postmaster, 0);
  auto spec = job_json("pg-restart-1", {"math_basic", "geography_basic"},
                       {"llama3.2-1b", "mistral-7b"}, {"US", "EU"}, 3);
  CAF_REQUIRE_EQUAL(http_call(n.port(), "POST", "/api/v1/jobs", spec).status, 202u);
  auto job = [&] {
    auto r = http_call(n.port(), "GET", "/api/v1/jobs/pg-restart-1");
    return r.status == 200 ? boost::json::parse(r.body).as_object() : boost::json::object{};
  };
  CAF_REQUIRE(within(30s, [&] { return job().contains("status"); }));
  ::kill(postmaster, SIGKILL);
  // While it is down, /health is 503 and says why.
  bool told_why = false;
  CAF_REQUIRE(within(30s, [&] {
    auto h = http_call(n.port(), "GET", "/health");
    if (h.status == 503 && h.body.find("the node is restarting it") != std::string::npos)
      told_why = true;
    return h.status == 200 && told_why;
  }));
  CAF_CHECK(told_why);
  CAF_REQUIRE(within(60s, [&] {
    auto j = job();
    return j.contains("status") && j["status"].as_string() == "completed";
  }));
  auto metrics = http_call(n.port(), "GET", "/metrics").body;
  CAF_CHECK(metrics.find("beacon_embedded_postgres_restarts_total 1\n") != std::string::npos);
  auto log = n.log();
  CAF_CHECK(log.find("\"database_down\"") != std::string::npos);
  CAF_CHECK(log.find("\"database_restarted\"") != std::string::npos);
  auto cells = job()["cells"].as_object();
  CAF_CHECK_EQUAL(cells["total"].as_int64(), 24);
  CAF_CHECK_EQUAL(cells["completed"].as_int64(), 24);  // none lost to the outage
  CAF_CHECK_EQUAL(n.stop(), 0);
}
