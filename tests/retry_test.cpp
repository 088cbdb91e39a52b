// Retries, backoff timing, attempt timeouts and non-retryable failures.
#define CAF_SUITE retry
#define FAIL CAF_FAIL
#include "actors/question_batch.hpp"
#include "caf/test/dsl.hpp"
#include "tests/runtime_fixture.hpp"

using namespace beacon;
using namespace beacon::test;
using namespace std::chrono_literals;

CAF_TEST(backoff is full jitter under a doubling ceiling with a cap) {
  for (int attempt = 1; attempt <= 8; ++attempt) {
    auto ceiling = std::min<caf::timespan>(100ms * (1 << (attempt - 1)), 1s);
    for (uint64_t seed = 0; seed < 200; ++seed) {
      auto d = backoff_delay(100ms, 1s, attempt, seed);
      CAF_CHECK_GREATER_OR_EQUAL(d.count(), 0);
      CAF_CHECK_LESS_OR_EQUAL(d, ceiling);
    }
  }
  CAF_CHECK_EQUAL(backoff_delay(100ms, 1s, 3, 7), backoff_delay(100ms, 1s, 3, 7));
  CAF_CHECK_NOT_EQUAL(backoff_delay(100ms, 1s, 3, 7), backoff_delay(100ms, 1s, 3, 8));
}

CAF_TEST(latency quantiles interpolate within their bucket) {
  latency_histogram h;
  auto empty = h.snapshot();
  CAF_CHECK_EQUAL(empty.quantile(0.5), 0.0);
  for (int i = 0; i < 90; ++i) h.add(1.5);  // bucket (1, 2]
  for (int i = 0; i < 9; ++i) h.add(7);     // bucket (6, 8]
  h.add(20000);                             // the unbounded bucket
  auto s = h.snapshot();
  CAF_CHECK_EQUAL(s.total(), 100);
  CAF_CHECK_EQUAL(s.quantile(0.45), 1.5);  // rank 45 of 90 in (1, 2]
  CAF_CHECK_EQUAL(s.quantile(0.99), 8.0);  // rank 99: the last of (6, 8]
  CAF_CHECK_EQUAL(s.quantile(1.0), 10000.0);
  CAF_CHECK_EQUAL(s.sum_ms, 90 * 1.5 + 9 * 7 + 20000);
  h.add(0.1);
  auto later = h.snapshot().since(s);
  CAF_CHECK_EQUAL(later.total(), 1);
  CAF_CHECK_EQUAL(later.quantile(0.5), 0.25);  // bucket [0, 0.25]
}

CAF_TEST(calls are swept for their deadline often enough to time out at most 5 % late) {
  CAF_CHECK_EQUAL(shortest_call_timeout(30s, 15min), 30s);
  CAF_CHECK_EQUAL(shortest_call_timeout(30s, 10s), 10s);  // the budget cuts the only attempt
  CAF_CHECK_EQUAL(shortest_call_timeout(30s, 0s), 30s);   // no budget
  CAF_CHECK_EQUAL(deadline_sweep_interval(10s), 500ms);
  CAF_CHECK_EQUAL(deadline_sweep_interval(5min), 1s);   // at most a second late
  CAF_CHECK_EQUAL(deadline_sweep_interval(20ms), 5ms);  // not a busy loop
}

CAF_TEST_FIXTURE_SCOPE(retry_tests, runtime_fixture)

CAF_TEST(transient failures are retried only after their backoff) {
  auto o = options();
  auto p = add_scripted(o, "flaky-x", "XR", {"m"},
                        [](const provider_request& r) { return r.attempt <= 2 ? "5xx" : "ok"; });
  boot(o);
  auto id = admit_spec(url, job_json("retry-1", {"math_basic"}, {"m"}, {"XR"}));
  auto cell = query_int(url, "SELECT id FROM executions");
  start(id);
  CAF_CHECK_EQUAL(scripted(p).calls.size(), 1u);
  for (int attempt = 1; attempt <= 2; ++attempt) {
    auto delay = backoff_delay(100ms, 1s, attempt, static_cast<uint64_t>(cell));
    if (delay > 1ms) {
      advance_time(delay - 1ms);
      sched.run();
      CAF_CHECK_EQUAL(scripted(p).calls.size(), static_cast<size_t>(attempt));  // still waiting
      advance_time(1ms);
    } else {
      advance_time(delay);
    }
    sched.run();
    CAF_CHECK_EQUAL(scripted(p).calls.size(), static_cast<size_t>(attempt + 1));
  }
  CAF_REQUIRE(run_until([&] { return job_terminal(id); }));
  CAF_CHECK_EQUAL(job_status(id), "completed");
  CAF_CHECK_EQUAL(query_int(url, "SELECT attempts FROM executions"), 3);
  CAF_CHECK_EQUAL(query_int(url, "SELECT jsonb_array_length(retry_history) FROM executions"), 2);
  CAF_CHECK_EQUAL(query_column(url, "SELECT retry_history->0->>'class' FROM executions"),
                  std::vector<std::string>{"http_5xx"});
  CAF_CHECK_EQUAL(query_column(url, "SELECT provider_id || '/' || provider_region FROM executions"),
                  std::vector<std::string>{"flaky-x/XR"});
  // The backoffs are the cell's only elapsed time (the clock moves only when the test moves it),
  // and they are not the node's own time.
  auto overhead = rt.cell_overhead->snapshot();
  CAF_CHECK_EQUAL(overhead.total(), 1);
  CAF_CHECK_EQUAL(overhead.sum_ms, 0.0);
}

CAF_TEST(a provider that never answers times out each attempt and the cell ends timeout) {
  auto o = options();
  auto p =
      add_scripted(o, "silent-x", "XR", {"m"}, [](const provider_request&) { return "never"; });
  boot(o);
  auto id = admit_spec(url,
                       job_json("timeout-1", {"math_basic"}, {"m"}, {"XR"}, 1, 0.67,
                                1'000'000'000 /* 1 s per attempt */),
                       2);
  start(id);
  CAF_REQUIRE(run_until([&] { return job_terminal(id); }, 50ms));
  CAF_CHECK_EQUAL(scripted(p).calls.size(), 3u);  // 1 + max_retries
  CAF_CHECK_EQUAL(query_column(url, "SELECT status || '/' || error_code FROM executions"),
                  std::vector<std::string>{"timeout/timeout"});
  CAF_CHECK_EQUAL(query_column(url, "SELECT error_message FROM executions"),
                  std::vector<std::string>{"no answer within 1000 ms (after 3 attempts)"});
  CAF_CHECK_EQUAL(job_status(id), "failed");
  CAF_CHECK_EQUAL(counter_mismatch(url, id), "");
}

CAF_TEST(calls in flight share one batch timer and an answer after its deadline is dropped) {
  auto o = options();
  auto p = add_scripted(o, "slow-x", "XR", {"m"}, [](const provider_request& r) {
    return r.attempt == 1 ? "hold" : "ok";  // the first attempts answer only on release
  });
  boot(o);
  auto timers_before = sched.clock().schedule().size();
  auto id = admit_spec(
      url, job_json("sweep-1", {"math_basic"}, {"m"}, {"XR"}, 20, 0.0, 1'000'000'000 /* 1 s */), 1);
  start(id);
  CAF_REQUIRE_EQUAL(scripted(p).calls.size(), 20u);
  // Twenty calls wait on one sweep of their batch: the timers pending are that and the job's own
  // (its deadline, flushes), a handful; a CAF request timeout per call would add twenty.
  CAF_CHECK_LESS(sched.clock().schedule().size() - timers_before, 10u);
  advance_time(999ms);
  sched.run();
  CAF_CHECK_EQUAL(scripted(p).calls.size(), 20u);  // no timeout yet
  CAF_REQUIRE(run_until([&] { return scripted(p).calls.size() == 40u; }));
  release(p);  // the first attempts' answers, too late
  CAF_REQUIRE(run_until([&] { return job_terminal(id); }));
  CAF_CHECK_EQUAL(cells(id, "status = 'completed' AND attempts = 2"), 20);
  CAF_CHECK_EQUAL(cells(id,
                        "retry_history->0->>'class' = 'timeout' AND "
                        "retry_history->0->>'message' = 'no answer within 1000 ms'"),
                  20);
  CAF_CHECK_EQUAL(counter_mismatch(url, id), "");
}

CAF_TEST(a deterministic 4xx is not retried and rate limits are) {
  auto o = options();
  auto bad = add_scripted(o, "bad-x", "XR", {"m"}, [](const provider_request&) { return "4xx"; });
  auto busy = add_scripted(o, "busy-y", "YR", {"m"},
                           [](const provider_request& r) { return r.attempt == 1 ? "429" : "ok"; });
  boot(o);
  auto id = admit_spec(url, job_json("mixed-1", {"math_basic"}, {"m"}, {"XR", "YR"}, 1, 0.5));
  start(id);
  CAF_REQUIRE(run_until([&] { return job_terminal(id); }));
  CAF_CHECK_EQUAL(scripted(bad).calls.size(), 1u);
  CAF_CHECK_EQUAL(scripted(busy).calls.size(), 2u);
  CAF_CHECK_EQUAL(query_column(url,
                               "SELECT region || ':' || status || ':' || coalesce(error_code, '')"
                               " FROM executions ORDER BY region"),
                  (std::vector<std::string>{"XR:failed:http_4xx", "YR:completed:"}));
  CAF_CHECK_EQUAL(job_status(id), "completed");  // 1 of 2 meets min_success_rate 0.5
}

CAF_TEST(a cell with no provider in its region fails at once and is never served elsewhere) {
  auto o = options();
  boot(o);  // sim serves US, EU and ASIA only
  auto id = admit_spec(
      url, job_json("noprov-1", {"math_basic"}, {"llama3.2-1b", "gpt-x"}, {"US", "MARS"}, 1, 0.0));
  start(id);
  CAF_REQUIRE(run_until([&] { return job_terminal(id); }));
  CAF_CHECK_EQUAL(cells(id, "error_code = 'no_provider'"), 3);
  CAF_CHECK_EQUAL(query_column(url,
                               "SELECT error_message FROM executions WHERE region = 'MARS'"
                               " AND model_id = 'gpt-x'"),
                  std::vector<std::string>{"no provider serves model gpt-x in region MARS"});
  CAF_CHECK_EQUAL(cells(id, "status = 'completed' AND provider_region = region"), 1);
  CAF_CHECK_EQUAL(cells(id, "provider_region IS NOT NULL AND provider_region <> region"), 0);
  CAF_CHECK_EQUAL(log->calls_for(id, "math_basic", "llama3.2-1b", "MARS", 0), 0);
  CAF_CHECK_EQUAL(job_status(id), "completed");  // min_success_rate 0 and min_regions 1
}

CAF_TEST(a rate limit waits at least its Retry - After) {
  auto o = options();  // backoff ceilings of 100 ms .. 1 s
  auto p = add_scripted(o, "busy-x", "XR", {"m"}, [](const provider_request& r) {
    return r.attempt == 1 ? "429:2000" : "ok";
  });
  boot(o);
  auto id = admit_spec(url, job_json("retry-after-1", {"math_basic"}, {"m"}, {"XR"}));
  start(id);
  CAF_CHECK_EQUAL(scripted(p).calls.size(), 1u);
  advance_time(std::chrono::milliseconds(1999));
  sched.run();
  CAF_CHECK_EQUAL(scripted(p).calls.size(), 1u);  // the backoff alone would have retried by now
  advance_time(std::chrono::milliseconds(1));
  sched.run();
  CAF_CHECK_EQUAL(scripted(p).calls.size(), 2u);
  CAF_REQUIRE(run_until([&] { return job_terminal(id); }));
  CAF_CHECK_EQUAL(job_status(id), "completed");
}

CAF_TEST(the cell time budget ends retries before the attempt cap) {
  auto o = options();
  o.supervisor.batch.execution.cell_budget = std::chrono::milliseconds(1500);
  auto p = add_scripted(o, "down-x", "XR", {"m"}, [](const provider_request& r) {
    return r.question_id == "q1" ? "ok" : "never";
  });
  boot(o);
  // 1 s per attempt and 10 retries allowed: the 1.5 s budget allows two attempts, the second
  // cut to the 0.5 s that remain.
  auto id =
      admit_spec(url, job_json("budget-1", {"q1", "q2"}, {"m"}, {"XR"}, 1, 0.0, 1'000'000'000), 10);
  start(id);
  CAF_REQUIRE(run_until([&] { return job_terminal(id); }, std::chrono::milliseconds(20)));
  CAF_CHECK_EQUAL(
      query_column(url, "SELECT status || ' ' || attempts FROM executions ORDER BY question_index"),
      (std::vector<std::string>{"completed 1", "timeout 2"}));
  auto msg = query_column(url, "SELECT error_message FROM executions WHERE question_index = 1");
  CAF_CHECK(msg[0].find("time budget of 1500 ms leaves no room for attempt 3") !=
            std::string::npos);
  CAF_CHECK_EQUAL(scripted(p).calls.size(), 3u);
}

CAF_TEST_FIXTURE_SCOPE_END()
