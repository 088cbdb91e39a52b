// A real node (threads, detached persistence) stopped mid-job and started again finishes the job
// with no duplicate rows and no second provider call for a cell that was already completed, and
// its transparency log goes on where it was.
#define CAF_SUITE node_restart
#define FAIL CAF_FAIL
#include <map>
#include <pqxx/pqxx>
#include <thread>

#include "app/node.hpp"
#include "caf/test/dsl.hpp"
#include "common/merkle.hpp"
#include "storage/transparency_store.hpp"
#include "tests/harness.hpp"

using namespace beacon;
using namespace beacon::test;

namespace {

node_config test_config(const std::string& url) {
  node_config cfg;
  cfg.database_url = url;
  cfg.sim_latency_ms = 15;
  cfg.threads = 2;
  cfg.max_in_flight_per_job = 8;
  return cfg;
}

template <class Pred>
bool wait_for(Pred p, std::chrono::seconds limit = std::chrono::seconds(60)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (p()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return p();
}

struct cell_key {
  std::string question, model, region;
  int run;
};

}  // namespace

CAF_TEST(a node stopped mid job resumes it without duplicates or repeated calls) {
  auto url = fresh_database();
  auto calls = std::make_shared<sim_call_log>(true);
  auto questions = builtin_question_ids();
  auto spec = job_json("restart-1", questions, {"llama3.2-1b", "mistral-7b", "qwen2.5-1.5b"},
                       {"US", "EU", "ASIA"}, 2);
  const int64_t total = 8 * 3 * 3 * 2;
  auto completed = [&] {
    return query_int(url, "SELECT count(*) FROM executions WHERE status = 'completed'");
  };
  {
    node first{test_config(url), calls};
    first.start(false);
    CAF_REQUIRE_EQUAL(first.submit(spec).status, 202u);
    CAF_REQUIRE(wait_for([&] { return completed() >= 40; }));
    first.stop();
  }
  auto done_before = completed();
  CAF_MESSAGE("stopped with " << done_before << " of " << total << " cells completed");
  CAF_REQUIRE_LESS(done_before, total);  // the stop really was mid-job
  CAF_CHECK_EQUAL(query_column(url, "SELECT status FROM jobs"),
                  std::vector<std::string>{"running"});
  std::vector<std::pair<cell_key, int>> before;
  {
    pqxx::connection conn{url};
    pqxx::nontransaction tx{conn};
    for (auto row : tx.exec("SELECT question_id, model_id, region, run FROM executions WHERE "
                            "status = 'completed'")) {
      cell_key k{row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<std::string>(),
                 row[3].as<int>()};
      before.emplace_back(k, calls->calls_for("restart-1", k.question, k.model, k.region, k.run));
    }
  }
  {
    node second{test_config(url), calls};
    second.start(false);  // resumes unfinished jobs from PostgreSQL
    CAF_REQUIRE(wait_for([&] {
      return query_int(url, "SELECT count(*) FROM jobs WHERE status IN ('completed', 'failed')") ==
             1;
    }));
    second.stop();
  }
  CAF_CHECK_EQUAL(query_column(url, "SELECT status FROM jobs"),
                  std::vector<std::string>{"completed"});
  CAF_CHECK_EQUAL(query_int(url, "SELECT count(*) FROM executions"), total);
  CAF_CHECK_EQUAL(
      query_int(url, "SELECT count(DISTINCT (region, model_id, question_id, run)) FROM executions"),
      total);
  CAF_CHECK_EQUAL(completed(), total);
  int repeated = 0;
  for (auto& [k, n] : before)
    if (calls->calls_for("restart-1", k.question, k.model, k.region, k.run) != n) ++repeated;
  CAF_CHECK_EQUAL(repeated, 0);
  CAF_CHECK_EQUAL(counter_mismatch(url, "restart-1"), "");
  // The node's transparency log went on where the first node left it: one leaf per completed
  // cell (its receipt's), and every head signed over the tree of its first tree_size leaves.
  pqxx::connection conn{url};
  pqxx::read_transaction tx{conn};
  auto logs = storage::all_logs(tx);
  CAF_REQUIRE_EQUAL(logs.size(), 1u);
  CAF_CHECK_EQUAL(static_cast<int64_t>(logs[0].size), total);
  CAF_CHECK_EQUAL(query_int(url,
                            "SELECT count(*) FROM executions e JOIN log_leaf_list l"
                            " ON l.log_id = e.receipt_log AND l.leaf_index = e.receipt_index"
                            " WHERE e.status = 'completed'"),
                  total);
  merkle::tree_builder tree;
  std::map<uint64_t, std::string> roots;
  for (auto row : tx.exec("SELECT leaf_data FROM log_leaf_list ORDER BY leaf_index")) {
    tree.add_leaf_hash(merkle::leaf_hash(pqxx::binarystring(row[0]).str()));
    roots[tree.size()] = tree.root();
  }
  auto heads = storage::heads_after(tx, logs[0], 0, 10'000);
  CAF_CHECK_GREATER(heads.size(), 1u);
  for (auto& h : heads) {
    CAF_CHECK_EQUAL(h.root_hash, roots[h.tree_size]);
    CAF_CHECK(tree_head_signed_by(h, logs[0].public_key));
  }
}
