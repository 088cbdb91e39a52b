// Cancellation and the job deadline end every open cell and the job, with honest counters.
#define CAF_SUITE cancellation
#define FAIL CAF_FAIL
#include "actors/progress_hub.hpp"
#include "caf/test/dsl.hpp"
#include "http/admission.hpp"
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

namespace {

// The hub's counts of a job: per status over its questions, and over its groups.
std::pair<std::vector<int32_t>, std::vector<int32_t>> hub_totals(const job_progress& p) {
  std::vector<int32_t> by_question(cell_status_count, 0), by_group(cell_status_count, 0);
  for (auto& q : p.questions)
    for (size_t i = 0; i < q.counts.size(); ++i) by_question[i] += q.counts[i];
  for (auto& g : p.groups)
    for (size_t i = 0; i < g.counts.size(); ++i) by_group[i] += g.counts[i];
  return {by_question, by_group};
}

}  // namespace

CAF_TEST(a start reads the counts in pages and runs questions before the last page) {
  auto o = options();
  o.supervisor.page_cells = 2;  // one question (two cells) per page
  add_scripted(o, "ok-x", "XR", {"m1", "m2"}, [](const provider_request&) { return "ok"; });
  boot(o);
  std::vector<std::string> qs{"q1", "q2", "q3", "q4", "q5"};
  auto id = admit_spec(url, job_json("pages-1", qs, {"m1", "m2"}, {"XR"}));
  caf::anon_send(rt.manager, atom::start::value, id);
  // Step until the first question has a cell running: later pages are not read yet.
  size_t steps = 0;
  while (cells(id, "status <> 'pending'") == 0 && steps++ < 2000) sched.run_once();
  auto* sup = supervisor_of(id)
                  ? &deref<caf::stateful_actor<job_supervisor_state>>(supervisor_of(id)).state
                  : nullptr;
  CAF_REQUIRE(sup != nullptr);
  CAF_CHECK(sup->loading);
  CAF_CHECK_LESS(sup->next_question, 5);
  CAF_REQUIRE(run_until([&] { return job_terminal(id); }));
  CAF_CHECK_EQUAL(job_status(id), "completed");
  CAF_CHECK_EQUAL(counter_mismatch(url, id), "");
  auto& held =
      deref<progress_hub_actor::stateful_base<progress_hub_state>>(rt.hub).state.jobs.at(id);
  CAF_CHECK_EQUAL(held.questions.size(), 5u);
  CAF_CHECK_EQUAL(held.groups.size(), 10u);
  auto totals = hub_totals(held);
  auto done = index_of(cell_status::completed);
  CAF_CHECK_EQUAL(totals.first[done], 10);
  CAF_CHECK_EQUAL(totals.second[done], 10);
}

CAF_TEST(a cancel during a paged start ends every cell cancelled and the counts stay whole) {
  auto o = options();
  o.supervisor.page_cells = 3;
  auto p =
      add_scripted(o, "hold-x", "XR", {"m1", "m2"}, [](const provider_request&) { return "hold"; });
  boot(o);
  auto id = admit_spec(url, job_json("pages-2", {"q1", "q2", "q3", "q4"}, {"m1", "m2"}, {"XR"}, 2));
  caf::anon_send(rt.manager, atom::start::value, id);
  caf::anon_send(rt.manager, atom::cancel::value, id);
  CAF_REQUIRE(run_until([&] { return job_terminal(id); }));
  CAF_CHECK_EQUAL(job_status(id), "cancelled");
  CAF_CHECK_EQUAL(cells(id, "status = 'cancelled'"), 16);
  CAF_CHECK_EQUAL(counter_mismatch(url, id), "");
  CAF_CHECK_EQUAL(query_int(url, "SELECT count(*) FROM jobs WHERE cancel_requested_at IS NOT NULL"),
                  1);
  auto& held =
      deref<progress_hub_actor::stateful_base<progress_hub_state>>(rt.hub).state.jobs.at(id);
  auto totals = hub_totals(held);
  auto cancelled = index_of(cell_status::cancelled);
  CAF_CHECK_EQUAL(totals.first[cancelled], 16);
  CAF_CHECK_EQUAL(totals.second[cancelled], 16);
  CAF_CHECK(scripted(p).calls.size() <= 2u);
}

CAF_TEST(a cancel recorded before a stop is finished when the job resumes) {
  auto o = options();
  auto p = add_scripted(o, "ok-x", "XR", {"m"}, [](const provider_request&) { return "ok"; });
  boot(o);
  auto id = admit_spec(url, job_json("cancel-resume", {"q1", "q2"}, {"m"}, {"XR"}));
  // As a node that stopped after recording the cancel, before ending any cell.
  exec(url, "UPDATE jobs SET status = 'running', started_at = now(), cancel_requested_at = now()");
  caf::anon_send(rt.manager, atom::resume::value);
  CAF_REQUIRE(run_until([&] { return job_terminal(id); }));
  CAF_CHECK_EQUAL(job_status(id), "cancelled");
  CAF_CHECK_EQUAL(cells(id, "status = 'cancelled'"), 2);
  CAF_CHECK_EQUAL(scripted(p).calls.size(), 0u);
  CAF_CHECK_EQUAL(counter_mismatch(url, id), "");
}

CAF_TEST(a job no supervisor runs is cancelled all the same) {
  boot(options());
  auto id = admit_spec(url, job_json("cancel-idle", {"q1"}, {"m1", "m2"}, {"us-east"}));
  CAF_CHECK(supervisor_of(id) == nullptr);
  caf::anon_send(rt.manager, atom::cancel::value, id);
  CAF_REQUIRE(run_until([&] { return job_terminal(id); }));
  CAF_CHECK_EQUAL(job_status(id), "cancelled");
  CAF_CHECK_EQUAL(cells(id, "status = 'cancelled'"), 2);
  CAF_CHECK_EQUAL(log->total(), 0);
}

CAF_TEST(a start that keeps failing ends the job failed with start_failed) {
  auto o = options();
  o.supervisor.start_attempts = 3;
  boot(o);
  auto id = admit_spec(url, job_json("start-fails", {"q1"}, {"m1"}, {"us-east"}));
  // Storage refuses to mark this job running (as a start that times out every time).
  exec(url,
       "CREATE FUNCTION refuse_start() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
       " RAISE EXCEPTION 'start refused'; END $$;"
       "CREATE TRIGGER refuse_start BEFORE UPDATE ON jobs FOR EACH ROW"
       " WHEN (NEW.status = 'running') EXECUTE FUNCTION refuse_start()");
  caf::anon_send(rt.manager, atom::start::value, id);
  CAF_REQUIRE(run_until([&] { return job_terminal(id); }));
  CAF_CHECK_EQUAL(job_status(id), "failed");
  CAF_CHECK_EQUAL(cells(id,
                        "status = 'failed' AND error_code = 'start_failed'"
                        " AND error_message LIKE '%after 3 attempts%'"),
                  1);
  CAF_CHECK_EQUAL(counter_mismatch(url, id), "");
  CAF_CHECK(supervisor_of(id) == nullptr);
}

CAF_TEST(a job stops at its budget with exact accounting and nothing dispatched past it) {
  auto o = options();
  o.sim.prices = {true, "USD", {1e6, 1e6}, {}};  // a prompt or completion token costs 1
  o.supervisor.max_in_flight_per_job = 1;        // one cell at a time: the stop point is exact
  boot(o);
  const double max_cost = 2000;
  auto id = admit_spec(url, R"({"id": "budget-1", "questions": ["greatest_leader"], "runs": 2,
      "models": ["llama3.2-1b", "mistral-7b", "qwen2.5-1.5b"], "generation": {"max_tokens": 20},
      "constraints": {"regions": ["US", "EU", "ASIA"], "max_cost": 2000}})");
  start(id);
  CAF_REQUIRE(run_until([&] { return job_terminal(id); }));
  CAF_CHECK_EQUAL(job_status(id), "failed");
  auto error = query_column(url, "SELECT error FROM jobs WHERE id = 'budget-1'");
  CAF_REQUIRE_EQUAL(error.size(), 1u);
  CAF_CHECK_EQUAL(error[0].rfind("budget_exhausted: ", 0), 0u);
  auto completed = cells(id, "status = 'completed'");
  CAF_CHECK_GREATER(completed, 1);
  CAF_CHECK_LESS(completed, 18);
  // Cells not run end cancelled with the budget's code, never having been called.
  CAF_CHECK_EQUAL(cells(id,
                        "status = 'cancelled' AND error_code = 'budget_exhausted'"
                        " AND attempts = 0 AND started_at IS NULL"),
                  18 - completed);
  CAF_CHECK_EQUAL(log->total(), completed);
  // Exact accounting: each answer costs its reported tokens, and the budget charged just that.
  CAF_CHECK_EQUAL(cells(id,
                        "status = 'completed' AND cost = prompt_tokens + completion_tokens"
                        " AND charged = cost AND completion_tokens <= 20"),
                  completed);
  auto spent =
      query_column(url, "SELECT sum(charged)::text FROM executions WHERE job_id = '" + id + "'");
  auto costs =
      query_column(url, "SELECT sum(cost)::text FROM executions WHERE job_id = '" + id + "'");
  CAF_CHECK_EQUAL(spent, costs);
  auto total = std::stod(spent.at(0));
  CAF_CHECK_LESS_OR_EQUAL(total, max_cost);
  // The first cell not run did not fit: what was spent plus its worst case (every prompt byte a
  // token plus the template, max_tokens, for each attempt it may make) exceeds the budget.
  auto next = query_column(url,
                           "SELECT octet_length(system_prompt) || ' ' || max_retries FROM"
                           " executions WHERE job_id = '" +
                               id + "' AND status = 'cancelled' ORDER BY id LIMIT 1");
  CAF_REQUIRE_EQUAL(next.size(), 1u);
  auto system_bytes = std::stod(next[0].substr(0, next[0].find(' ')));
  auto retries = std::stod(next[0].substr(next[0].find(' ') + 1));
  auto worst = (system_bytes + prompt_for("greatest_leader").size() + 64 + 20) * (1 + retries);
  CAF_CHECK_GREATER(total + worst, max_cost);
  CAF_CHECK_EQUAL(counter_mismatch(url, id), "");
  // The live counts carry the same cost.
  auto& progress =
      deref<progress_hub_actor::stateful_base<progress_hub_state>>(rt.hub).state.jobs.at(id);
  double hub_cost = 0;
  for (auto& g : progress.groups) hub_cost += g.usage.cost;
  CAF_CHECK_EQUAL(hub_cost, total);
}

CAF_TEST(a budget is refused when a provider that may serve the job has no price) {
  auto o = options();
  add_scripted(o, "free-x", "XR", {"m"}, [](const provider_request&) { return "ok"; });
  boot(o);
  admission_settings settings;
  settings.prices = rt.prices;
  pqxx::connection conn{url};
  auto r = admit(conn, job_json("budget-2", {"q1"}, {"m"}, {"XR"}), settings);
  CAF_CHECK_EQUAL(r.status, 202u);  // no budget: an unpriced provider is fine
  auto budgeted = R"({"id": "budget-3", "questions": ["q1"], "models": ["m"],
      "constraints": {"regions": ["XR"], "max_cost": 5}})";
  auto refused = admit(conn, budgeted, settings);
  CAF_CHECK_EQUAL(refused.status, 400u);
  CAF_CHECK(refused.body.find("\"field\":\"constraints.max_cost\"") != std::string::npos);
  CAF_CHECK(refused.body.find("free-x") != std::string::npos);
  CAF_CHECK_EQUAL(query_int(url, "SELECT count(*) FROM jobs WHERE id = 'budget-3'"), 0);
}

CAF_TEST_FIXTURE_SCOPE_END()
