// Durable execution (issue 14, findings 1-3), against real parts: a provider outage shorter than
// the cell budget costs time, not cells (a node in this process, a fault-injecting provider on
// loopback with the node's default resilience settings); retry budgets survive `kill -9` of a
// node process mid-retry; a node stopped (SIGTERM) mid-job ends its cells before its storage and
// providers, so the stop writes no failure and the job resumes; a node restarts its embedded
// PostgreSQL server after the postmaster is killed, and the job carries on; the transparency log of
// a node killed mid-job goes on after its restart with no gap and no rewrite.
#define CAF_SUITE outages
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "app/node.hpp"
#include "caf/test/dsl.hpp"
#include "common/crypto.hpp"
#include "common/merkle.hpp"
#include "domain/job_spec.hpp"
#include "tests/fake_provider.hpp"
#include "tests/harness.hpp"
#include "tests/http_client.hpp"
#include "tests/node_process.hpp"
#include "tests/sse_client.hpp"

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
  std::vector<std::string> args{"--providers-file", file, "--sim-regions", "", "--max-retries", "3",
                                "--retry-base-ms", "200", "--retry-cap-ms", "400",
                                // One node restarted twice: it takes its own lease back at once.
                                "--node-id", "durable-node"};
  auto questions = builtin_question_ids();
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

CAF_TEST(a node stopped mid job stops its cells before its storage and the job resumes) {
  auto url = fresh_database();
  std::vector<std::string> args{"--sim-latency-ms",
                                "2",
                                "--sim-max-concurrency",
                                "4096",
                                "--max-in-flight-per-job",
                                "4096",
                                "--pipeline-questions",
                                "8",
                                "--node-id",
                                "stopped-node"};
  auto spec = job_json("stopped-1", builtin_question_ids(),
                       {"llama3.2-1b", "mistral-7b", "qwen2.5-1.5b"}, {"US", "EU", "ASIA"}, 200);
  auto completed = [&] {
    return query_int(url, "SELECT count(*) FROM executions WHERE status = 'completed'");
  };
  std::string log;
  {
    node_process first{"stopped-1", url, args};
    CAF_REQUIRE_EQUAL(http_call(first.port(), "POST", "/api/v1/jobs", spec).status, 202u);
    CAF_REQUIRE(within(30s, [&] { return completed() >= 500; }));
    CAF_CHECK_EQUAL(first.stop(), 0);  // SIGTERM while cells are claimed, called and written
    log = first.log();
  }
  auto stopped_at = completed();
  CAF_MESSAGE(stopped_at << " of 14400 cells completed when the node stopped");
  CAF_CHECK_LESS(stopped_at, 14400);
  // Every cell was stopped before the storage it writes to: no request of one failed.
  for (auto event : {"claim_failed", "persist_failed", "attempt_record_failed"})
    CAF_CHECK_EQUAL(log.find(std::string("\"") + event + "\"") == std::string::npos ? "" : event,
                    std::string());
  // ... nor did the stop write a failed attempt into any row.
  CAF_CHECK_EQUAL(
      query_int(url,
                "SELECT count(*) FROM executions e WHERE strpos(e::text, 'receiver_down') > 0"),
      0);
  node_process second{"stopped-2", url, args};  // resumes the job
  CAF_REQUIRE(within(60s, [&] {
    return query_int(url, "SELECT count(*) FROM jobs WHERE status = 'completed'") == 1;
  }));
  CAF_CHECK_EQUAL(second.stop(), 0);
  CAF_CHECK_EQUAL(completed(), 14400);
  CAF_CHECK_EQUAL(counter_mismatch(url, "stopped-1"), "");
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

#undef CAF_SUITE
#define CAF_SUITE multi_node

namespace {

// Node arguments for a cluster member: short leases so a takeover takes about two seconds.
std::vector<std::string> member_args(const std::string& providers, const std::string& node_id) {
  return {"--providers-file", providers, "--sim-regions",  "",   "--node-id", node_id,
          "--lease-ttl-ms",   "1500",    "--heartbeat-ms", "300"};
}

std::string lease_owner(const std::string& url, const std::string& job_id) {
  auto owners = query_column(url, "SELECT node_id FROM job_leases WHERE job_id = '" + job_id + "'");
  return owners.empty() ? "" : owners.front();
}

std::string job_status_at(uint16_t port, const std::string& job_id) {
  auto r = http_call(port, "GET", "/api/v1/jobs/" + job_id);
  if (r.status != 200) return "";
  auto o = boost::json::parse(r.body).as_object();
  return std::string(o["status"].as_string());
}

// What a paused node could change: every cell's state and the job rows.
std::string stored_checksum(const std::string& url) {
  return query_column(url,
                      "SELECT md5(coalesce(string_agg(id || status || attempts ||"
                      " coalesce(output_data::text, ''), ',' ORDER BY id), ''))"
                      " || (SELECT md5(string_agg(id || status, ',' ORDER BY id)) FROM jobs)"
                      " FROM executions")
      .front();
}

bool has_job_event(const std::vector<sse_event>& events, const std::string& status) {
  for (auto& e : events)
    if (e.type == "job" && e.data.find("\"" + status + "\"") != std::string::npos) return true;
  return false;
}

}  // namespace

CAF_TEST(a job whose node is killed completes on another node and any node serves it) {
  auto url = fresh_database();
  auto counter = std::make_shared<call_counter>();
  fake_provider provider{"US", [counter](const seen_request& r) {
                           if (!r.health()) counter->count(r.body);
                           return fault_step{fault::none, 400ms};
                         }};
  auto file = providers_file("cluster", provider.url(), "US", R"("m1", "m2", "m3")",
                             R"("health_interval_ms": 0, "max_concurrency": 3)");
  node_process a{"cluster-a", url, member_args(file, "node-a")};
  node_process b{"cluster-b", url, member_args(file, "node-b")};
  node_process c{"cluster-c", url, member_args(file, "node-c")};
  auto questions = builtin_question_ids();
  auto cells = static_cast<int64_t>(questions.size()) * 2;
  // mn-1 (m1, m2) on node a, to be killed; mn-2 (m3) on node b, followed from node c.
  CAF_REQUIRE_EQUAL(http_call(a.port(), "POST", "/api/v1/jobs",
                              job_json("mn-1", questions, {"m1", "m2"}, {"US"}, 1, 0.5))
                        .status,
                    202u);
  CAF_REQUIRE_EQUAL(http_call(b.port(), "POST", "/api/v1/jobs",
                              job_json("mn-2", questions, {"m3"}, {"US"}, 1, 0.5))
                        .status,
                    202u);
  sse_result followed;
  std::thread follower{[&] {
    followed = sse_read(
        c.port(), "/api/v1/jobs/mn-2/events", "",
        [](auto& evs) { return has_job_event(evs, "completed"); }, 60s);
  }};
  auto done_count = [&] {
    return query_int(url,
                     "SELECT count(*) FROM executions WHERE job_id = 'mn-1' AND status = "
                     "'completed'");
  };
  CAF_REQUIRE(within(30s, [&] { return done_count() >= 4; }));
  CAF_CHECK_EQUAL(lease_owner(url, "mn-1"), "node-a");
  // Progress of a job another node runs: counted in storage.
  auto progress = http_call(c.port(), "GET", "/api/v1/jobs/mn-1/progress");
  CAF_CHECK_EQUAL(progress.status, 200u);
  auto progress_json = boost::json::parse(progress.body).as_object();
  auto progress_total = progress_json["cells"].as_object()["total"].as_int64();
  CAF_CHECK_EQUAL(progress_total, cells);
  a.kill_hard();
  auto killed = steady::now();
  auto done_before =
      query_column(url,
                   "SELECT question_id || '/' || model_id FROM executions WHERE job_id = 'mn-1'"
                   " AND status = 'completed'");
  auto in_flight = query_int(url,
                             "SELECT count(*) FROM executions WHERE job_id = 'mn-1' AND status"
                             " = 'running'");
  // A cell's first call goes out while its claim commits: cells still pending at the kill that
  // were called were in flight too (no node calls until the takeover).
  for (auto& cell : query_column(url,
                                 "SELECT question_id || '/' || model_id FROM executions WHERE"
                                 " job_id = 'mn-1' AND status = 'pending'"))
    in_flight += counter->of(cell) > 0;
  CAF_REQUIRE(within(20s, [&] {
    auto owner = lease_owner(url, "mn-1");
    return !owner.empty() && owner != "node-a";
  }));
  auto takeover = std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - killed);
  CAF_MESSAGE("mn-1 taken over by " << lease_owner(url, "mn-1") << " after " << takeover.count()
                                    << " ms; " << done_before.size() << " cells done and "
                                    << in_flight << " in flight at the kill");
  CAF_CHECK_LESS(takeover, 1500ms + 300ms + 3000ms);  // TTL + a heartbeat, and slack for ASan
  CAF_REQUIRE(within(60s, [&] { return job_status_at(c.port(), "mn-1") == "completed"; }));
  CAF_CHECK_EQUAL(query_int(url,
                            "SELECT count(*) FROM executions WHERE job_id = 'mn-1' AND status = "
                            "'completed'"),
                  cells);
  CAF_CHECK_EQUAL(counter_mismatch(url, "mn-1"), "");
  // No call for a cell that was done; re-calls only for cells in flight at the kill.
  int64_t calls = 0;
  for (auto& cell : done_before) CAF_CHECK_EQUAL(counter->of(cell), 1);
  for (auto& q : questions)
    for (auto m : {"m1", "m2"}) calls += counter->of(q + "/" + m);
  CAF_MESSAGE(calls << " calls for " << cells << " cells");
  CAF_CHECK_LESS_OR_EQUAL(calls - cells, in_flight);
  // Node c followed mn-2 (run by node b) to its end.
  follower.join();
  CAF_CHECK(followed.head.find("200 OK") != std::string::npos);
  CAF_REQUIRE(!followed.events.empty());
  CAF_CHECK_EQUAL(followed.events.front().type, "snapshot");
  CAF_CHECK(has_job_event(followed.events, "completed"));
  auto last_snapshot = std::find_if(followed.events.rbegin(), followed.events.rend(),
                                    [](auto& e) { return e.type == "snapshot"; });
  CAF_REQUIRE(last_snapshot != followed.events.rend());
  auto snap = boost::json::parse(last_snapshot->data).as_object();
  auto snap_done = snap["cells"].as_object()["done"].as_int64();
  CAF_CHECK_EQUAL(snap_done, static_cast<int64_t>(questions.size()));
  // A cancel sent to a node that does not run the job reaches its owner.
  CAF_REQUIRE_EQUAL(http_call(b.port(), "POST", "/api/v1/jobs",
                              job_json("mn-3", questions, {"m3"}, {"US"}, 4, 0.5))
                        .status,
                    202u);
  CAF_REQUIRE(within(20s, [&] { return lease_owner(url, "mn-3") == "node-b"; }));
  auto cancel = http_call(c.port(), "POST", "/api/v1/jobs/mn-3/cancel");
  CAF_CHECK(cancel.status == 200u || cancel.status == 202u);
  CAF_CHECK(within(20s, [&] { return job_status_at(c.port(), "mn-3") == "cancelled"; }));
  CAF_CHECK_EQUAL(counter_mismatch(url, "mn-3"), "");
  CAF_CHECK_EQUAL(query_int(url,
                            "SELECT count(*) FROM executions WHERE job_id = 'mn-3' AND "
                            "status IN ('queued', 'running')"),
                  0);
  CAF_CHECK_EQUAL(b.stop(), 0);
  CAF_CHECK_EQUAL(c.stop(), 0);
}

CAF_TEST(a paused node writes nothing once its lease was taken over) {
  auto url = fresh_database();
  fake_provider provider{"US", [](const seen_request&) { return fault_step{fault::none, 1000ms}; }};
  auto file = providers_file("fenced", provider.url(), "US", R"("m1")",
                             R"("health_interval_ms": 0, "max_concurrency": 4)");
  node_process a{"fenced-a", url, member_args(file, "node-a")};
  node_process b{"fenced-b", url, member_args(file, "node-b")};
  auto questions = builtin_question_ids();
  auto cells = static_cast<int64_t>(questions.size()) * 3;
  CAF_REQUIRE_EQUAL(http_call(a.port(), "POST", "/api/v1/jobs",
                              job_json("fenced-1", questions, {"m1"}, {"US"}, 3, 0.5))
                        .status,
                    202u);
  CAF_REQUIRE(within(20s, [&] { return provider.requests("/v1/chat") >= 2; }));
  ::kill(a.pid(), SIGSTOP);  // its calls in flight get their answers while it is paused
  CAF_REQUIRE(within(20s, [&] { return lease_owner(url, "fenced-1") == "node-b"; }));
  ::kill(b.pid(), SIGSTOP);  // nothing else writes while node a is back
  auto before = stored_checksum(url);
  ::kill(a.pid(), SIGCONT);
  bool told = within(5s, [&] { return a.log().find("\"lease_lost\"") != std::string::npos; });
  std::this_thread::sleep_for(300ms);
  auto after = stored_checksum(url);
  ::kill(b.pid(), SIGCONT);
  CAF_CHECK(told);
  CAF_CHECK_EQUAL(after, before);
  CAF_REQUIRE(within(60s, [&] { return job_status_at(b.port(), "fenced-1") == "completed"; }));
  CAF_CHECK_EQUAL(query_int(url, "SELECT count(*) FROM executions WHERE status = 'completed'"),
                  cells);
  CAF_CHECK_EQUAL(counter_mismatch(url, "fenced-1"), "");
  CAF_CHECK_EQUAL(a.stop(), 0);
  CAF_CHECK_EQUAL(b.stop(), 0);
}

CAF_TEST(a retry sent to a node that does not run the job is carried out by its owner) {
  auto url = fresh_database();
  auto questions = builtin_question_ids();
  auto failing = questions.front();  // the job's first question: its two cells fail at once
  auto calls = std::make_shared<call_counter>();
  auto failed_once = std::make_shared<std::atomic<int>>(0);
  fake_provider provider{"US", [=](const seen_request& r) {
                           if (r.health()) return fault_step{};
                           calls->count(r.body);
                           if (calls->of(failing + "/m1") <= 2 && ++*failed_once <= 2)
                             return fault_step{fault::status_400, 0ms};
                           return fault_step{fault::none, 500ms};
                         }};
  auto file = providers_file("routed", provider.url(), "US", R"("m1")",
                             R"("health_interval_ms": 0, "max_concurrency": 1)");
  node_process a{"routed-a", url, member_args(file, "node-a")};
  node_process b{"routed-b", url, member_args(file, "node-b")};
  CAF_REQUIRE_EQUAL(http_call(a.port(), "POST", "/api/v1/jobs",
                              job_json("routed-1", questions, {"m1"}, {"US"}, 2, 0.5))
                        .status,
                    202u);
  auto failed_cells = [&] {
    return query_int(url, "SELECT count(*) FROM executions WHERE status = 'failed'");
  };
  CAF_REQUIRE(within(20s, [&] { return failed_cells() == 2; }));
  CAF_REQUIRE_EQUAL(job_status_at(b.port(), "routed-1"), "processing");
  auto retry = http_call(b.port(), "POST", "/api/v1/jobs/routed-1/retry-all-failed");
  CAF_CHECK_EQUAL(retry.status, 202u);
  auto answer = boost::json::parse(retry.body).as_object();
  CAF_CHECK_EQUAL(boost::json::serialize(answer["routed_to"]), "\"node-a\"");
  CAF_CHECK_EQUAL(boost::json::serialize(answer["cells_retried"]), "2");
  CAF_CHECK_EQUAL(boost::json::serialize(answer["status"]), "\"retrying\"");
  // Node a takes the request at its next heartbeat and runs the cells again inside the job.
  CAF_REQUIRE(within(30s, [&] { return job_status_at(b.port(), "routed-1") == "completed"; }));
  CAF_CHECK_EQUAL(query_int(url,
                            "SELECT count(*) FROM executions WHERE status = 'completed'"
                            " AND manual_retries = 1 AND question_id = '" +
                                failing + "'"),
                  2);
  CAF_CHECK_EQUAL(query_int(url, "SELECT count(*) FROM executions WHERE status = 'completed'"),
                  static_cast<int64_t>(questions.size()) * 2);
  CAF_CHECK_EQUAL(calls->of(failing + "/m1"), 4);  // two failures, two retried answers
  CAF_CHECK_EQUAL(query_int(url, "SELECT count(*) FROM retry_requests"), 0);
  CAF_CHECK(a.log().find("\"retry_request_taken\"") != std::string::npos);
  CAF_CHECK(b.log().find("\"retry_routed\"") != std::string::npos);
  CAF_CHECK_EQUAL(counter_mismatch(url, "routed-1"), "");
  CAF_CHECK_EQUAL(a.stop(), 0);
  CAF_CHECK_EQUAL(b.stop(), 0);
}

#undef CAF_SUITE
#define CAF_SUITE log_after_kill

CAF_TEST(the transparency log survives a kill of its node mid job with no gap and no rewrite) {
  auto url = fresh_database();
  fake_provider provider{"US", always(fault_step{fault::none, 200ms})};
  auto file = providers_file("logkill", provider.url(), "US", R"("m1", "m2")",
                             R"("health_interval_ms": 0, "max_concurrency": 2)");
  // The same key (so the same log) and node id across the restart.
  auto key_file = std::string(BEACON_TEST_OUTPUT_DIR) + "/logkill-node.key";
  std::filesystem::remove(key_file);
  std::vector<std::string> args{"--providers-file", file,           "--sim-regions",   "",
                                "--node-id",        "logkill-node", "--node-key-file", key_file};
  auto questions = builtin_question_ids();
  auto cells = static_cast<int64_t>(questions.size()) * 2;
  auto completed = [&] {
    return query_int(url, "SELECT count(*) FROM executions WHERE status = 'completed'");
  };
  boost::json::object before;
  {
    node_process first{"logkill-1", url, args};
    CAF_REQUIRE_EQUAL(http_call(first.port(), "POST", "/api/v1/jobs",
                                job_json("logkill-1", questions, {"m1", "m2"}, {"US"}, 1, 0.5))
                          .status,
                      202u);
    CAF_REQUIRE(within(30s, [&] { return completed() >= 4; }));
    before = boost::json::parse(http_call(first.port(), "GET", "/api/v1/transparency/root").body)
                 .as_object();
    first.kill_hard();
  }
  CAF_REQUIRE_LESS(completed(), cells);  // killed mid-job
  node_process second{"logkill-2", url, args};
  CAF_REQUIRE(within(60s, [&] { return completed() == cells; }));
  CAF_REQUIRE(within(10s, [&] {
    return query_int(url, "SELECT count(*) FROM jobs WHERE status = 'completed'") == 1;
  }));
  auto after = boost::json::parse(http_call(second.port(), "GET", "/api/v1/transparency/root").body)
                   .as_object();
  // One log; exactly one leaf per completed cell, indexes 0..size-1 with no gap.
  CAF_CHECK_EQUAL(query_int(url, "SELECT count(*) FROM transparency_logs"), 1);
  CAF_CHECK_EQUAL(after["tree_size"].as_int64(), cells);
  CAF_CHECK_EQUAL(query_int(url, "SELECT count(*) FROM log_leaf_list"), cells);
  CAF_CHECK_EQUAL(query_int(url, "SELECT max(leaf_index) + 1 FROM log_leaf_list"), cells);
  CAF_CHECK_EQUAL(query_int(url,
                            "SELECT count(DISTINCT e.receipt_index) FROM executions e"
                            " WHERE e.status = 'completed' AND e.receipt_log IS NOT NULL"),
                  cells);
  // The head from before the kill is a prefix of the final one.
  auto first_size = before["tree_size"].as_int64();
  auto proof = boost::json::parse(
                   http_call(second.port(), "GET",
                             "/api/v1/transparency/consistency?first=" + std::to_string(first_size))
                       .body)
                   .as_object();
  std::vector<std::string> path;
  for (auto& h : proof["consistency_path"].as_array())
    path.push_back(*crypto::base64_decode(h.as_string()));
  CAF_CHECK(merkle::verify_consistency(static_cast<uint64_t>(first_size),
                                       static_cast<uint64_t>(cells), path,
                                       *crypto::base64_decode(before["root_hash"].as_string()),
                                       *crypto::base64_decode(after["root_hash"].as_string())));
  CAF_CHECK_EQUAL(second.stop(), 0);
}
