// Fault injection: kill actors mid-call and check the invariants (one terminal outcome per cell,
// honest counters, no second call for a terminal cell, nothing acknowledged lost).
#define CAF_SUITE supervision
#define FAIL CAF_FAIL
#include "caf/test/dsl.hpp"
#include "tests/runtime_fixture.hpp"

using namespace beacon;
using namespace beacon::test;
using namespace std::chrono_literals;

namespace {

struct fixture : runtime_fixture {
  std::shared_ptr<bool> holding = std::make_shared<bool>(true);
  scripted_actor provider;
  std::string id;

  // One question, models m1 (answered at once) and m2 (held while `holding`), regions XR.
  void boot_job(int crash_retries = 2) {
    auto o = options();
    o.supervisor.batch.crash_retries = crash_retries;
    auto hold = holding;
    provider = add_scripted(o, "script-x", "XR", {"m1", "m2"}, [hold](const provider_request& r) {
      return r.model_id == "m2" && *hold ? "hold" : "ok";
    });
    boot(o);
    id = admit_spec(url, job_json("sup-1", {"q1"}, {"m1", "m2"}, {"XR"}, 2));
    start(id);
  }

  size_t calls(const std::string& model, int run) {
    size_t n = 0;
    for (auto& c : scripted(provider).calls) n += c.model_id == model && c.run == run;
    return n;
  }

  caf::actor execution_for(const std::string& model, int run) {
    for (auto& b : batches_of(id))
      for (auto& kv : deref<caf::stateful_actor<question_batch_state>>(b).state.in_flight) {
        auto& task = deref<caf::stateful_actor<execution_state>>(kv.second.actor).state.task;
        if (task.model_id == model && task.run == run) return kv.second.actor;
      }
    return caf::actor{};
  }

  // Releases the held answers and steps until their outcomes wait, uncommitted, in the
  // persistence actor's buffer; returns its state.
  persistence_state& buffer_outcomes() {
    *holding = false;
    caf::anon_send(provider, atom::deliver::value, uint64_t{0});
    auto& pst =
        deref<persistence_actor::stateful_base<persistence_state>>(current_persistence(sys)).state;
    size_t steps = 0;
    while (pst.outcomes.empty() && steps++ < 1000) sched.run_once();
    CAF_REQUIRE(!pst.outcomes.empty());
    return pst;
  }

  void finish_job() {
    *holding = false;
    release(provider);
    CAF_REQUIRE(run_until([&] { return job_terminal(id); }));
  }

  void check_invariants() {
    CAF_CHECK_EQUAL(cells(id), 4);
    CAF_CHECK_EQUAL(
        query_int(url,
                  "SELECT count(DISTINCT (region, model_id, question_id, run)) FROM executions"),
        4);
    CAF_CHECK_EQUAL(cells(id, "status IN ('pending', 'running')"), 0);
    CAF_CHECK_EQUAL(counter_mismatch(url, id), "");
    // m1 cells completed before any fault: never called again.
    CAF_CHECK_EQUAL(calls("m1", 0), 1u);
    CAF_CHECK_EQUAL(calls("m1", 1), 1u);
  }
};

}  // namespace

CAF_TEST_FIXTURE_SCOPE(supervision_tests, fixture)

CAF_TEST(an execution actor killed mid call is re run and its cell completes) {
  boot_job();
  CAF_CHECK_EQUAL(cells(id, "model_id = 'm1' AND status = 'completed'"), 2);
  auto victim = execution_for("m2", 0);
  CAF_REQUIRE(victim != nullptr);
  caf::anon_send_exit(victim, caf::exit_reason::kill);
  sched.run();
  CAF_CHECK_EQUAL(calls("m2", 0), 2u);  // re-run within the crash budget
  auto fresh = execution_for("m2", 0);
  CAF_CHECK(fresh != nullptr && fresh != victim);
  finish_job();
  CAF_CHECK_EQUAL(job_status(id), "completed");
  CAF_CHECK_EQUAL(cells(id, "status = 'completed'"), 4);
  check_invariants();
}

CAF_TEST(an execution that keeps crashing ends failed with actor_crashed and the reason) {
  boot_job(1);
  for (int i = 0; i < 2; ++i) {
    auto victim = execution_for("m2", 0);
    CAF_REQUIRE(victim != nullptr);
    caf::anon_send_exit(victim, caf::exit_reason::kill);
    sched.run();
  }
  finish_job();
  CAF_CHECK_EQUAL(query_column(url,
                               "SELECT status || '/' || error_code FROM executions"
                               " WHERE model_id = 'm2' AND run = 0"),
                  std::vector<std::string>{"failed/actor_crashed"});
  auto msg =
      query_column(url, "SELECT error_message FROM executions WHERE model_id = 'm2' AND run = 0");
  CAF_CHECK(msg[0].find("ended abnormally 2 times") != std::string::npos);
  CAF_CHECK(msg[0].find("kill") != std::string::npos);
  CAF_CHECK_EQUAL(calls("m2", 0), 2u);
  check_invariants();
}

CAF_TEST(a killed question batch is restarted and resumes from storage) {
  boot_job();
  auto batches = batches_of(id);
  CAF_REQUIRE_EQUAL(batches.size(), 1u);
  caf::anon_send_exit(batches[0], caf::exit_reason::kill);
  sched.run();
  CAF_CHECK(execution_for("m2", 0) == nullptr);  // its children died with it
  *holding = false;
  CAF_REQUIRE(run_until([&] { return job_terminal(id); }));
  CAF_CHECK_EQUAL(job_status(id), "completed");
  CAF_CHECK_EQUAL(calls("m2", 0), 2u);  // the abandoned call, then the resumed one
  check_invariants();
}

CAF_TEST(a killed job supervisor is restarted and finishes the job) {
  boot_job();
  auto sup = supervisor_of(id);
  CAF_REQUIRE(sup != nullptr);
  caf::anon_send_exit(sup, caf::exit_reason::kill);
  sched.run();
  CAF_CHECK(supervisor_of(id) == nullptr);
  *holding = false;
  CAF_REQUIRE(run_until([&] { return job_terminal(id); }));
  CAF_CHECK_EQUAL(job_status(id), "completed");
  CAF_CHECK_EQUAL(manager_state().restarts.count(id), 0u);  // cleared once it ended normally
  check_invariants();
}

CAF_TEST(a killed persistence actor is restarted and nothing acknowledged is lost) {
  boot_job();
  // Kill persistence while the held answers' outcomes sit in its buffer.
  auto store = current_persistence(sys);
  buffer_outcomes();
  // An urgent kill overtakes the flush already queued behind the outcomes.
  auto handle = caf::actor_cast<caf::strong_actor_ptr>(store);
  handle->enqueue(nullptr, caf::make_message_id(caf::message_priority::high),
                  caf::make_message(caf::exit_msg{handle->address(), caf::exit_reason::kill}),
                  nullptr);
  sched.run();
  CAF_CHECK_EQUAL(cells(id, "model_id = 'm2' AND status = 'running'"), 2);  // not yet durable
  CAF_REQUIRE(run_until([&] { return job_terminal(id); }));
  CAF_CHECK(current_persistence(sys) != store);
  CAF_CHECK_EQUAL(job_status(id), "completed");
  CAF_CHECK_EQUAL(calls("m2", 0), 1u);  // re-sent, not re-run
  CAF_CHECK_EQUAL(calls("m2", 1), 1u);
  check_invariants();
}

CAF_TEST(a lost database connection is reopened and the batch retried) {
  boot_job();
  auto store = current_persistence(sys);
  auto& pst = buffer_outcomes();
  // Kill persistence's server process; the buffered outcomes are written on a new connection.
  auto backend = pst.conn->backendpid();
  CAF_CHECK_EQUAL(query_int(url, "SELECT count(*) FROM pg_stat_activity WHERE pid = " +
                                     std::to_string(backend)),
                  1);
  exec(url, "SELECT pg_terminate_backend(" + std::to_string(backend) + ")");
  CAF_REQUIRE(run_until([&] { return job_terminal(id); }));
  CAF_CHECK(current_persistence(sys) == store);  // same actor, new connection
  CAF_CHECK_NOT_EQUAL(pst.conn->backendpid(), backend);
  CAF_CHECK_EQUAL(job_status(id), "completed");
  CAF_CHECK_EQUAL(calls("m2", 0), 1u);
  CAF_CHECK_EQUAL(calls("m2", 1), 1u);
  check_invariants();
}

CAF_TEST_FIXTURE_SCOPE_END()
