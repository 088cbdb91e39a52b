// The command-line client against a real node over loopback: submit --follow returns when the
// job ends (0 for completed), status/jobs/cancel/export answer, refusals and an unreachable node
// get their exit codes.
#define CAF_SUITE cli
#include <fstream>
#include <thread>

#include "app/client.hpp"
#include "app/node.hpp"
#include "caf/test/dsl.hpp"
#include "tests/harness.hpp"

using namespace beacon;
using namespace beacon::test;

CAF_TEST(the client submits follows and inspects jobs on a running node) {
  auto url = fresh_database();
  node_config cfg;
  cfg.database_url = url;
  cfg.http_port = 0;
  cfg.sim_latency_ms = 20;
  cfg.threads = 2;
  node n{cfg};
  n.start(true);
  client_options o;
  o.node_url = "http://127.0.0.1:" + std::to_string(n.http_port());
  auto spec = "/tmp/beacon-cli-" + std::to_string(getpid()) + ".json";
  std::ofstream(spec) << job_json("cli-1", {"math_basic", "taiwan_status"},
                                  {"llama3.2-1b", "qwen2.5-1.5b"}, {"US", "ASIA"}, 2);
  CAF_CHECK_EQUAL(run_submit(o, spec, true), 0);
  // --follow returned at the verdict: the job is terminal in storage.
  CAF_CHECK_EQUAL(query_column(url, "SELECT status FROM jobs WHERE id = 'cli-1'"),
                  std::vector<std::string>{"completed"});
  CAF_CHECK_EQUAL(run_follow(o, "cli-1"), 0);  // a finished job: its snapshot says so
  CAF_CHECK_EQUAL(run_status(o, "cli-1"), 0);
  CAF_CHECK_EQUAL(run_jobs(o, 5), 0);
  CAF_CHECK_EQUAL(run_cancel(o, "cli-1"), 1);  // already completed
  CAF_CHECK_EQUAL(run_status(o, "nope"), 1);
  CAF_CHECK_EQUAL(run_submit(o, spec, false), 1);  // duplicate id: 409
  CAF_CHECK_EQUAL(query_int(url, "SELECT count(*) FROM jobs"), 1);
  // export: every execution, streamed to a file.
  auto csv = spec + ".csv";
  CAF_CHECK_EQUAL(run_export(o, "cli-1", "csv", csv), 0);
  std::ifstream in(csv);
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) lines += line.rfind("\"", 0) != 0 ? 1 : 0;
  CAF_CHECK(lines >= 17);  // the header and 16 rows (answers may span lines inside quotes)
  auto jsonl = spec + ".jsonl";
  CAF_CHECK_EQUAL(run_export(o, "cli-1", "jsonl", jsonl), 0);
  std::ifstream in2(jsonl);
  int rows = 0;
  while (std::getline(in2, line)) ++rows;
  CAF_CHECK_EQUAL(rows, 16);
  CAF_CHECK_EQUAL(run_export(o, "nope", "csv", csv), 1);
  std::remove(csv.c_str());
  std::remove(jsonl.c_str());
  n.stop();
  client_options gone;
  gone.node_url = "http://127.0.0.1:1";
  CAF_CHECK_EQUAL(run_jobs(gone, 5), 2);
  CAF_CHECK_EQUAL(run_follow(gone, "cli-1"), 2);
}
