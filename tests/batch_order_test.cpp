// Batch order and in-flight bounds, on the deterministic scheduler with a real database.
#define CAF_SUITE batch_order
#define FAIL CAF_FAIL
#include <algorithm>
#include <boost/json.hpp>

#include "actors/persistence.hpp"
#include "caf/test/dsl.hpp"
#include "common/crypto.hpp"
#include "common/hex.hpp"
#include "common/receipt.hpp"
#include "tests/runtime_fixture.hpp"

using namespace beacon;
using namespace beacon::test;

CAF_TEST_FIXTURE_SCOPE(batch_order_tests, runtime_fixture)

CAF_TEST(the first call of a question comes only after every answer of the questions before it) {
  auto o = options();
  o.sim.latency_ms = 20;
  boot(o);
  std::vector<std::string> qs = {"math_basic", "taiwan_status", "greatest_leader"};
  auto id =
      admit_spec(url, job_json("order-1", qs, {"llama3.2-1b", "mistral-7b"}, {"US", "EU", "ASIA"}));
  start(id);
  CAF_REQUIRE(run_until([&] { return job_terminal(id); }));
  for (size_t qi = 1; qi < qs.size(); ++qi) {
    CAF_REQUIRE_GREATER(log->first_call_of(id, qs[qi]), 0);
    CAF_CHECK_GREATER(log->first_call_of(id, qs[qi]), log->last_answer_of(id, qs[qi - 1]));
  }
  CAF_CHECK_EQUAL(log->peak_open_questions(), 1u);
  CAF_CHECK_EQUAL(job_status(id), "completed");
  CAF_CHECK_EQUAL(cells(id, "status = 'completed'"), 18);
  CAF_CHECK_EQUAL(log->total(), 18);
  CAF_CHECK_EQUAL(counter_mismatch(url, id), "");
}

CAF_TEST(the in flight bound per job is never exceeded) {
  auto o = options();
  o.sim.latency_ms = 20;
  o.supervisor.max_in_flight_per_job = 4;
  boot(o);
  auto id = admit_spec(
      url, job_json("bound-1", {"hongkong_2019"}, {"llama3.2-1b", "mistral-7b", "qwen2.5-1.5b"},
                    {"US", "EU", "ASIA"}, 4));
  start(id);
  size_t peak_actors = 0;
  int64_t peak_running = 0;
  bool done = run_until([&] {
    peak_actors = std::max(peak_actors, executions_of(id).size());
    peak_running = std::max(peak_running, cells(id, "status = 'running'"));
    return job_terminal(id);
  });
  CAF_REQUIRE(done);
  CAF_CHECK_LESS_OR_EQUAL(peak_actors, 4u);
  CAF_CHECK_LESS_OR_EQUAL(peak_running, 4);
  CAF_CHECK_LESS_OR_EQUAL(log->peak_in_flight(), 4u);
  CAF_CHECK_GREATER_OR_EQUAL(log->peak_in_flight(), 2u);  // it did run cells concurrently
  CAF_CHECK_EQUAL(cells(id, "status = 'completed'"), 36);
}

CAF_TEST(a provider serves at most its max concurrency and queues the rest) {
  auto o = options();
  o.sim.latency_ms = 20;
  o.sim.max_concurrency = 3;
  o.supervisor.max_in_flight_per_job = 16;
  o.sim_deployments = {{"sim-us", "US", {"llama3.2-1b", "mistral-7b"}}};
  boot(o);
  auto id = admit_spec(url, job_json("prov-1", {"q1"}, {"llama3.2-1b", "mistral-7b"}, {"US"}, 10));
  start(id);
  size_t peak_cells = 0;
  bool done = run_until([&] {
    peak_cells = std::max(peak_cells, executions_of(id).size());
    return job_terminal(id);
  });
  CAF_REQUIRE(done);
  CAF_CHECK_EQUAL(log->peak_in_flight(), 3u);
  CAF_CHECK_GREATER(peak_cells, 3u);  // more cells were waiting than the provider served
  CAF_CHECK_EQUAL(cells(id, "status = 'completed'"), 20);
}

CAF_TEST(pipelining runs N questions at once and no more) {
  auto o = options();
  o.sim.latency_ms = 20;
  o.supervisor.pipeline = 2;
  o.supervisor.max_in_flight_per_job = 8;
  boot(o);
  auto id = admit_spec(url, job_json("pipe-1", {"q1", "q2", "q3", "q4"},
                                     {"llama3.2-1b", "mistral-7b"}, {"US", "EU"}));
  start(id);
  CAF_REQUIRE(run_until([&] { return job_terminal(id); }));
  CAF_CHECK_EQUAL(log->peak_open_questions(), 2u);
  CAF_CHECK_EQUAL(job_status(id), "completed");
}

CAF_TEST(a batch pages through its cells and holds at most a page and a half) {
  auto o = options();
  o.sim.latency_ms = 5;
  o.supervisor.max_in_flight_per_job = 2;  // pages of 64 cells
  boot(o);
  auto id = admit_spec(
      url, job_json("page-1", {"math_basic"}, {"llama3.2-1b", "mistral-7b", "qwen2.5-1.5b"},
                    {"US", "EU", "ASIA"}, 20));  // 180 cells: three pages
  start(id);
  size_t peak_ready = 0;
  bool done = run_until([&] {
    for (auto& b : batches_of(id))
      peak_ready = std::max(peak_ready,
                            deref<caf::stateful_actor<question_batch_state>>(b).state.ready.size());
    return job_terminal(id);
  });
  CAF_REQUIRE(done);
  CAF_CHECK_LESS_OR_EQUAL(peak_ready, 96u);  // it fetches the next page below half a page
  CAF_CHECK_GREATER(peak_ready, 0u);
  CAF_CHECK_EQUAL(cells(id, "status = 'completed'"), 180);
  CAF_CHECK_EQUAL(log->total(), 180);  // every cell called once: no page overlap
}

// Runs a 6-cell job on a scripted provider that reads, at each call, whether the called cell's
// claim is already committed; returns how many calls found it still pending. The persistence
// actor is killed as the cells' executions start (its guard restarts it), so every claim waits.
int calls_before_claim(runtime_fixture& f, bool call_during_claim, const std::string& id) {
  auto o = f.options();
  o.supervisor.batch.execution.call_during_claim = call_during_claim;
  auto url = f.url;
  auto early = std::make_shared<int>(0);
  f.add_scripted(o, "script-x", "XR", {"m1", "m2"}, [=](const provider_request& r) {
    auto status = query_column(url, "SELECT status FROM executions WHERE job_id = '" + id +
                                        "' AND model_id = '" + r.model_id +
                                        "' AND run = " + std::to_string(r.run));
    if (!status.empty() && status[0] == "pending") ++*early;
    return "ok";
  });
  f.boot(o);
  admit_spec(f.url, job_json(id, {"q1"}, {"m1", "m2"}, {"XR"}, 3));
  caf::anon_send(f.rt.manager, atom::start::value, id);
  for (int i = 0; i < 10000 && f.executions_of(id).empty(); ++i) f.sched.run_once();
  CAF_REQUIRE(!f.executions_of(id).empty());
  auto store = caf::actor_cast<caf::strong_actor_ptr>(current_persistence(f.sys));
  store->enqueue(nullptr, caf::make_message_id(caf::message_priority::high),
                 caf::make_message(caf::exit_msg{store->address(), caf::exit_reason::kill}),
                 nullptr);
  CAF_REQUIRE(f.run_until([&] { return f.job_terminal(id); }));
  CAF_CHECK_EQUAL(f.scripted(f.doubles.back()).calls.size(), 6u);  // one call per cell
  CAF_CHECK_EQUAL(f.job_status(id), "completed");
  CAF_CHECK_EQUAL(f.cells(id, "status = 'completed' AND attempts = 1"), 6);
  CAF_CHECK_EQUAL(counter_mismatch(f.url, id), "");
  return *early;
}

CAF_TEST(the first call goes out while its claim commits and the outcome waits for the claim) {
  auto early = calls_before_claim(*this, true, "overlap-1");
  CAF_CHECK_GREATER(early, 0);  // the claim is off the call's path
}

CAF_TEST(without call during claim no cell is called before its claim commits) {
  auto early = calls_before_claim(*this, false, "overlap-2");
  CAF_CHECK_EQUAL(early, 0);
}

persistence_state& persistence_of(runtime_fixture& f) {
  return f.deref<persistence_actor::stateful_base<persistence_state>>(current_persistence(f.sys))
      .state;
}

// Runs every job of the scheduler but the persistence actor's until only it has work: answers
// reach it before it commits the claims it was sent.
void run_all_but_persistence(runtime_fixture& f) {
  auto* store = dynamic_cast<caf::resumable*>(
      caf::actor_cast<caf::abstract_actor*>(current_persistence(f.sys)));
  for (int i = 0; i < 100000; ++i) {
    auto& jobs = f.sched.jobs;
    auto it = std::find_if(jobs.begin(), jobs.end(), [&](caf::resumable* r) { return r != store; });
    if (it == jobs.end()) return;
    std::rotate(jobs.begin(), it, std::next(it));
    f.sched.run_once();
  }
}

// Runs a 2-cell job (receipts on) whose answers reach persistence before their claims are
// committed; `before_commit` runs at that moment. Returns the group commits that stored them.
uint64_t answers_before_claims(runtime_fixture& f, const std::string& id,
                               const std::function<void()>& before_commit) {
  auto o = f.options();
  o.supervisor.batch.execution.signer =
      std::make_shared<node_key>(node_key_from_secret(crypto::ed25519_generate().secret_key));
  f.add_scripted(o, "fast-x", "XR", {"m1"}, [](const provider_request&) { return "ok"; });
  f.boot(o);
  admit_spec(f.url, job_json(id, {"q1"}, {"m1"}, {"XR"}, 2));
  caf::anon_send(f.rt.manager, atom::start::value, id);
  for (int i = 0; i < 10000 && f.executions_of(id).empty(); ++i) f.sched.run_once();
  CAF_REQUIRE(!f.executions_of(id).empty());
  run_all_but_persistence(f);
  CAF_CHECK_EQUAL(f.scripted(f.doubles.back()).calls.size(), 2u);  // answered, nothing stored
  CAF_CHECK_EQUAL(f.cells(id, "status = 'pending'"), 2);
  before_commit();
  auto flushes = persistence_of(f).flushes;
  CAF_REQUIRE(f.run_until([&] { return f.job_terminal(id); }));
  CAF_CHECK_EQUAL(f.job_status(id), "completed");
  CAF_CHECK_EQUAL(f.scripted(f.doubles.back()).calls.size(), 2u);  // never called again
  CAF_CHECK_EQUAL(counter_mismatch(f.url, id), "");
  // Each receipt, built from its row, hashes to the leaf at its place in the log.
  pqxx::connection conn{f.url};
  pqxx::read_transaction tx{conn};
  int verified = 0;
  for (auto row :
       tx.exec_params("SELECT beacon_receipt(beacon_row_receipt(e), e.output_data)::text,"
                      " l.leaf_data FROM executions e JOIN log_leaf_list l"
                      " ON l.log_id = e.receipt_log AND l.leaf_index = e.receipt_index"
                      " WHERE e.job_id = $1",
                      id)) {
    auto leaf = receipt_leaf_data(boost::json::parse(row[0].as<std::string>()));
    CAF_CHECK_EQUAL(to_hex(leaf), to_hex(pqxx::binarystring(row[1]).str()));
    ++verified;
  }
  CAF_CHECK_EQUAL(verified, 2);
  return persistence_of(f).flushes - flushes;
}

CAF_TEST(an answer that comes before its claim commits is stored in the claim transaction) {
  auto commits = answers_before_claims(*this, "with-claim-1", [] {});
  CAF_CHECK_EQUAL(commits, 1u);  // claims and answers together
  CAF_CHECK_EQUAL(cells("with-claim-1", "status = 'completed' AND attempts = 1"), 2);
}

CAF_TEST(an answer sent with a claim that opened another attempt is stored at that attempt) {
  // One row changed after its cell was loaded: its claim opens attempt 3, not the predicted 1.
  auto commits = answers_before_claims(*this, "with-claim-2", [&] {
    query_int(url,
              "WITH one AS (SELECT min(id) AS id FROM executions WHERE job_id = 'with-claim-2')"
              " UPDATE executions SET attempts = 2 FROM one WHERE executions.id = one.id"
              " RETURNING 1");
  });
  CAF_CHECK_EQUAL(commits, 2u);  // the refused answer is stored once the claim is known
  CAF_CHECK_EQUAL(query_column(url,
                               "SELECT status || '/' || attempts FROM executions"
                               " WHERE job_id = 'with-claim-2' ORDER BY id"),
                  (std::vector<std::string>{"completed/3", "completed/1"}));
}

CAF_TEST(the calls of the next question go out while the outcomes of the one before it commit) {
  auto o = options();
  add_scripted(o, "script-q", "XR", {"m1"}, [](const provider_request&) { return "ok"; });
  boot(o);
  std::string id = "early-next-1";
  admit_spec(url, job_json(id, {"q1", "q2"}, {"m1"}, {"XR"}, 2));
  caf::anon_send(rt.manager, atom::start::value, id);
  for (int i = 0; i < 10000 && executions_of(id).empty(); ++i) sched.run_once();
  CAF_REQUIRE(!executions_of(id).empty());
  run_all_but_persistence(*this);
  // Both questions were called, one after the other, while storage had committed nothing.
  auto& calls = scripted(doubles.back()).calls;
  CAF_REQUIRE_EQUAL(calls.size(), 4u);
  CAF_CHECK_EQUAL(calls[0].question_id, "q1");
  CAF_CHECK_EQUAL(calls[1].question_id, "q1");
  CAF_CHECK_EQUAL(calls[2].question_id, "q2");
  CAF_CHECK_EQUAL(calls[3].question_id, "q2");
  CAF_CHECK_EQUAL(cells(id, "status = 'pending'"), 4);
  CAF_REQUIRE(run_until([&] { return job_terminal(id); }));
  CAF_CHECK_EQUAL(job_status(id), "completed");
  CAF_CHECK_EQUAL(cells(id, "status = 'completed' AND attempts = 1"), 4);
  CAF_CHECK_EQUAL(calls.size(), 4u);  // never called again
  CAF_CHECK_EQUAL(counter_mismatch(url, id), "");
}

CAF_TEST_FIXTURE_SCOPE_END()
