// Cancellation and the job deadline end every open cell and the job, with honest counters.
#define CAF_SUITE cancellation
#define FAIL CAF_FAIL
#include "caf/test/dsl.hpp"
#include "tests/runtime_fixture.hpp"

using namespace beacon;
using namespace beacon::test;
using namespace std::chrono_literals;

CAF_TEST_FIXTURE_SCOPE(cancellation_tests, runtime_fixture)

CAF_TEST(cancel ends running and pending cells as cancelled and the job as cancelled) {
  auto o = options();
  auto p =
      add_scripted(o, "hold-x", "XR", {"m1", "m2"}, [](const provider_request&) { return "hold"; });
  boot(o);
  auto id = admit_spec(url, job_json("cancel-1", {"q1", "q2"}, {"m1", "m2"}, {"XR"}));
  start(id);
  CAF_CHECK_EQUAL(scripted(p).calls.size(), 2u);  // question 1's two cells are in flight
  CAF_CHECK_EQUAL(cells(id, "status = 'running'"), 2);
  caf::anon_send(rt.manager, atom::cancel::value, id);
  CAF_REQUIRE(run_until([&] { return job_terminal(id); }));
  CAF_CHECK_EQUAL(job_status(id), "cancelled");
  CAF_CHECK_EQUAL(cells(id, "status = 'cancelled' AND error_code = 'cancelled'"), 4);
  CAF_CHECK_EQUAL(cells(id, "status = 'cancelled' AND started_at IS NOT NULL"), 2);
  CAF_CHECK_EQUAL(counter_mismatch(url, id), "");
  release(p);  // late answers change nothing
  sched.run();
  CAF_CHECK_EQUAL(cells(id, "status = 'cancelled'"), 4);
  CAF_CHECK_EQUAL(scripted(p).calls.size(), 2u);  // question 2 was never called
  CAF_CHECK(supervisor_of(id) == nullptr);
  CAF_CHECK_EQUAL(query_column(url, "SELECT status FROM cross_region_executions"),
                  std::vector<std::string>{"cancelled"});
}

CAF_TEST(the job deadline ends open cells as timeout and the job as failed) {
  auto o = options();
  auto p = add_scripted(o, "hold-x", "XR", {"m"}, [](const provider_request&) { return "hold"; });
  boot(o);
  auto id = admit_spec(url, job_json("deadline-1", {"q1"}, {"m"}, {"XR"}, 1, 0.67, 60'000'000'000,
                                     2'000'000'000 /* job timeout 2 s */));
  start(id);
  CAF_REQUIRE(run_until([&] { return job_terminal(id); }, 100ms));
  CAF_CHECK_EQUAL(job_status(id), "failed");
  CAF_CHECK_EQUAL(cells(id, "status = 'timeout' AND error_code = 'job_timeout'"), 1);
  CAF_CHECK_EQUAL(counter_mismatch(url, id), "");
  CAF_CHECK_EQUAL(scripted(p).calls.size(), 1u);
}

CAF_TEST_FIXTURE_SCOPE_END()
