// Real jobs through the fault-injecting provider (tests/fake_provider.hpp), over loopback HTTP and
// every protocol adapter: each fault ends its cells in the right class (or in success after a
// retry) with the reason in the row and the log, within the attempt caps and the job's budget;
// failover stays inside the region; a dead or hung provider's circuit opens so it costs no
// timeouts, and closes again when it recovers; a 429 burst cuts concurrency, 5xx do not.
#define CAF_SUITE provider_faults
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <thread>

#include "app/node.hpp"
#include "caf/all.hpp"
#include "caf/test/dsl.hpp"
#include "tests/fake_provider.hpp"
#include "tests/harness.hpp"

using namespace beacon;
using namespace beacon::test;
using namespace std::chrono_literals;

namespace {

// One provider entry of a providers file, serving model "m".
std::string entry(const std::string& name, const std::string& kind, const std::string& url,
                  const std::string& region, const std::string& extra = "") {
  return R"({"name": ")" + name + R"(", "kind": ")" + kind + R"(", "base_url": ")" + url +
         R"(", "region": ")" + region + R"(", "models": ["m"], "health_interval_ms": 0)" +
         (extra.empty() ? "" : ", " + extra) + "}";
}

template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = 10s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(5ms);
  return pred();
}

struct fixture {
  std::string url = fresh_database();
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> logs =
      std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(4096);

  fixture() { spdlog::get("beacon")->sinks().push_back(logs); }
  ~fixture() {
    auto& sinks = spdlog::get("beacon")->sinks();
    sinks.erase(std::remove(sinks.begin(), sinks.end(), logs), sinks.end());
  }

  std::string log_text() {
    std::string all;
    for (auto& line : logs->last_formatted()) all += line;
    return all;
  }

  node_config config(const std::vector<std::string>& entries) {
    auto path = "/tmp/beacon-faults-" + std::to_string(getpid()) + "-" +
                std::to_string(std::rand()) + ".json";
    std::string json = "[";
    for (size_t i = 0; i < entries.size(); ++i) json += (i ? ",\n" : "") + entries[i];
    std::ofstream(path) << json << "]";
    node_config cfg;
    cfg.database_url = url;
    cfg.sim_regions = "";
    cfg.providers_file = path;
    cfg.threads = 2;
    cfg.max_retries = 2;
    cfg.retry_base_ms = 5;
    cfg.retry_cap_ms = 20;
    return cfg;
  }

  bool job_ended(const std::string& id) {
    return query_int(url, "SELECT count(*) FROM jobs WHERE id = '" + id +
                              "' AND status IN ('completed', 'failed')") == 1;
  }

  // Submits `spec` (job id `id`) to a started node and waits for its end; returns the time taken.
  std::chrono::milliseconds run(node& n, const std::string& id, const std::string& spec) {
    auto t0 = std::chrono::steady_clock::now();
    CAF_REQUIRE_EQUAL(n.submit(spec).status, 202u);
    CAF_REQUIRE(eventually([&] { return job_ended(id); }, 30s));
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                 t0);
  }

  std::vector<provider_status> statuses(node& n) {
    std::vector<provider_status> out;
    caf::scoped_actor self{n.system()};
    self->request(n.actors().registry, caf::infinite, atom::get::value)
        .receive([&](std::vector<provider_status>& all) { out = std::move(all); },
                 [&](caf::error& e) { CAF_FAIL(n.system().render(e)); });
    return out;
  }

  provider_status status_of(node& n, const std::string& id) {
    for (auto& s : statuses(n))
      if (s.provider_id == id) return s;
    CAF_FAIL("no provider " << id);
    return {};
  }
};

const std::vector<std::string> kinds = {"openai", "beacon_router", "ollama", "modal"};

// The base URL of a fake provider for a protocol (Modal endpoints are a path of their own).
std::string base_for(const fake_provider& f, const std::string& kind) {
  return kind == "modal" ? f.url() + "/modal" : f.url();
}

// Fake providers, one per region, and their entries for the providers file.
struct fake_fleet {
  std::vector<std::unique_ptr<fake_provider>> fakes;
  std::vector<std::string> entries, regions;

  void add(const std::string& region, fake_provider::plan plan, const std::string& kind,
           const std::string& extra = "") {
    fakes.push_back(std::make_unique<fake_provider>(region, std::move(plan)));
    entries.push_back(entry("fake-" + region, kind, base_for(*fakes.back(), kind), region, extra));
    regions.push_back(region);
  }
};

}  // namespace

CAF_TEST_FIXTURE_SCOPE(provider_fault_tests, fixture)

CAF_TEST(a transient fault is retried and the cell completes in its own region) {
  struct fault_case {
    std::string region;
    fault_step step;
    std::string expected_class;
  };
  std::vector<fault_case> cases = {
      {"F1", {fault::rate_limited, 0ms, 1}, "rate_limited"},
      {"F2", {fault::status_500}, "http_5xx"},
      {"F3", {fault::status_502}, "http_5xx"},
      {"F4", {fault::status_503}, "http_5xx"},
      {"F5", {fault::see_other}, "redirect"},
      {"F6", {fault::reset_mid_body}, "connect_error"},
      {"F7", {fault::hang}, "timeout"},
      {"F8", {fault::trickle, 0ms, 1, 0, 100ms}, "timeout"},
  };
  fake_fleet fleet;
  for (size_t i = 0; i < cases.size(); ++i)
    fleet.add(cases[i].region, first_calls(1, cases[i].step), kinds[i % kinds.size()]);
  auto& regions = fleet.regions;
  node n{config(fleet.entries)};
  n.start(false);
  auto took = run(n, "faults-1",
                  job_json("faults-1", {"math_basic"}, {"m"}, regions, 1, 1.0,
                           400'000'000 /* 400 ms per attempt */));
  n.stop();
  CAF_CHECK_EQUAL(query_column(url, "SELECT status FROM jobs"),
                  std::vector<std::string>{"completed"});
  for (auto& c : cases) {
    auto where = " FROM executions WHERE region = '" + c.region + "'";
    CAF_CHECK_EQUAL(
        query_column(url,
                     "SELECT status || ' ' || attempts || ' ' || (retry_history->0->>'class')"
                     " || ' ' || provider_region || ' ' || http_status" +
                         where),
        std::vector<std::string>{"completed 2 " + c.expected_class + " " + c.region + " 200"});
    CAF_CHECK_EQUAL(
        query_int(url, "SELECT count(*)" + where + " AND (retry_history->0->>'message') <> ''"), 1);
  }
  // 429: the retry waited out Retry-After (1 s); 303: the redirect was not followed.
  CAF_CHECK_GREATER_OR_EQUAL(
      query_int(url, "SELECT duration_ms FROM executions WHERE region = 'F1'"), 1000);
  CAF_CHECK_EQUAL(fleet.fakes[4]->requests("/elsewhere"), 0u);
  CAF_CHECK_EQUAL(query_column(url,
                               "SELECT retry_history->0->>'http_status' FROM executions"
                               " WHERE region IN ('F1', 'F4', 'F5') ORDER BY region"),
                  (std::vector<std::string>{"429", "503", "303"}));
  CAF_CHECK_LESS(took, 5s);
  CAF_CHECK_EQUAL(counter_mismatch(url, "faults-1"), "");
}

CAF_TEST(a content filter stop is a refusal in the words of the provider with its usage stored) {
  fake_fleet fleet;
  fleet.add("CF", first_calls(1000, {fault::content_filtered}), "openai");
  fleet.add("OK", always({}), "openai");
  node n{config(fleet.entries)};
  n.start(false);
  run(n, "filter-1", job_json("filter-1", {"math_basic"}, {"m"}, {"CF", "OK"}, 2, 0.5));
  n.stop();
  // The filtered answers completed (the provider answered) as refusals, the provider's word as
  // the reason; its usage and finish reason are on the row. The other provider reports no usage:
  // its counts stay NULL, never an estimate.
  CAF_CHECK_EQUAL(
      query_column(
          url,
          "SELECT DISTINCT status || ' ' || response_classification || ' ' ||"
          " is_content_refusal || ' ' || finish_reason || ' ' || prompt_tokens || ' ' ||"
          " completion_tokens || ' ' || (output_data->'metadata'->>'classification_reason')"
          " FROM executions WHERE region = 'CF'"),
      std::vector<std::string>{"completed content_refusal true content_filter 12 4 the provider "
                               "stopped the answer (finish_reason content_filter)"});
  CAF_CHECK_EQUAL(query_column(url,
                               "SELECT DISTINCT coalesce(finish_reason, '-') || ' ' ||"
                               " (prompt_tokens IS NULL) || ' ' || (completion_tokens IS NULL)"
                               " FROM executions WHERE region = 'OK'"),
                  std::vector<std::string>{"stop true true"});
  CAF_CHECK_EQUAL(counter_mismatch(url, "filter-1"), "");
}

CAF_TEST(a persistent fault ends the cell with its class and reason in the row and the log) {
  struct fault_case {
    std::string region;
    fault_step step;
    std::string expected;  // status error_code attempts
    std::string in_message;
  };
  std::vector<fault_case> cases = {
      {"G1", {fault::rate_limited, 0ms, 0}, "failed rate_limited 3", "429"},
      {"G2", {fault::status_503}, "failed http_5xx 3", "503"},
      {"G3", {fault::see_other}, "failed redirect 3", "303"},
      {"G4", {fault::reset_mid_body}, "failed connect_error 3", "broke mid-response"},
      {"G5", {fault::hang}, "timeout timeout 3", "within"},
      {"G6", {fault::malformed_json}, "failed bad_response 1", "JSON"},
      {"G7", {fault::oversize, 0ms, 1, 200'000}, "failed bad_response 1", "exceeds 65536 bytes"},
      {"G8", {fault::trickle, 0ms, 1, 0, 100ms}, "timeout timeout 3", "within"},
      {"G9", {fault::status_400}, "failed http_4xx 1", "400"},
      {"GA", {fault::router_failure}, "failed provider_error 3", "MODEL_UNAVAILABLE"},
  };
  fake_fleet fleet;
  for (size_t i = 0; i < cases.size(); ++i) {
    auto& c = cases[i];
    fleet.add(c.region, always(c.step),
              c.step.kind == fault::router_failure ? "beacon_router" : kinds[i % kinds.size()],
              R"("max_body_bytes": 65536)");
  }
  auto& regions = fleet.regions;
  node n{config(fleet.entries)};
  n.start(false);
  auto took = run(n, "faults-2",
                  job_json("faults-2", {"math_basic"}, {"m"}, regions, 1, 0.5,
                           300'000'000 /* 300 ms per attempt */));
  n.stop();
  auto logged = log_text();
  for (auto& c : cases) {
    auto where = " FROM executions WHERE region = '" + c.region + "'";
    CAF_CHECK_EQUAL(query_column(url,
                                 "SELECT status || ' ' || error_code || ' ' || attempts ||"
                                 " ' ' || provider_region || ' ' ||"
                                 " jsonb_array_length(retry_history)" +
                                     where),
                    std::vector<std::string>{c.expected + " " + c.region + " " +
                                             c.expected.substr(c.expected.size() - 1)});
    auto message = query_column(url, "SELECT error_message" + where);
    CAF_REQUIRE_EQUAL(message.size(), 1u);
    CAF_CHECK(message[0].find(c.in_message) != std::string::npos);
    // The log line of the failed cell carries its ids, its class and the same message.
    CAF_CHECK(logged.find("cell_failed job_id=faults-2 question_id=math_basic model_id=m region=" +
                          c.region) != std::string::npos);
    CAF_CHECK(logged.find("error_message=" + message[0]) != std::string::npos);
  }
  // Attempts within the cap, and the job within its budget: 3 attempts of at most 300 ms each.
  CAF_CHECK_EQUAL(query_int(url, "SELECT max(attempts) FROM executions"), 3);
  CAF_CHECK_LESS(took, 4s);
  CAF_CHECK_EQUAL(query_column(url, "SELECT status FROM jobs"), std::vector<std::string>{"failed"});
  CAF_CHECK_EQUAL(counter_mismatch(url, "faults-2"), "");
}

CAF_TEST(a dead provider fails over to another of its region and never to another region) {
  fake_provider good_us{"US"}, good_eu{"EU"};
  node n{// The circuit stays open past the job (a slow machine must not see it half-open yet).
         config({entry("dead-us", "openai", "http://127.0.0.1:1", "US",
                       R"("failure_threshold": 2, "circuit_open_ms": 60000)"),
                 entry("good-us", "openai", good_us.url(), "US"),
                 entry("good-eu", "beacon_router", good_eu.url(), "EU")})};
  n.start(false);
  run(n, "failover",
      job_json("failover", {"math_basic", "greatest_invention", "taiwan_status"}, {"m"},
               {"US", "EU"}, 4));
  CAF_CHECK_EQUAL(word(status_of(n, "dead-us").circuit), "open");
  CAF_CHECK_EQUAL(word(status_of(n, "good-us").circuit), "closed");
  n.stop();
  CAF_CHECK_EQUAL(query_column(url, "SELECT status FROM jobs"),
                  std::vector<std::string>{"completed"});
  CAF_CHECK_EQUAL(
      query_column(url,
                   "SELECT region || ' ' || status || ' ' || provider_id || ' ' ||"
                   " count(*) FROM executions GROUP BY region, status, provider_id ORDER BY 1"),
      (std::vector<std::string>{"EU completed good-eu/fake-EU 12", "US completed good-us 12"}));
  // A cell met the dead provider at most once: the retry went to the other US provider.
  CAF_CHECK_LESS_OR_EQUAL(query_int(url, "SELECT max(attempts) FROM executions"), 2);
  CAF_CHECK_EQUAL(
      query_int(url, "SELECT count(*) FROM executions WHERE retry_history::text LIKE '%EU%'"), 0);
  CAF_CHECK_EQUAL(good_eu.requests("/inference"), 12u);
}

CAF_TEST(a hung provider costs no timeouts once its circuit is open and recovers after) {
  fake_provider hung{"US", always({fault::hang})};
  auto cfg = config({entry("hung", "openai", hung.url(), "US",
                           R"("health_interval_ms": 100, "circuit_open_ms": 200)")});
  cfg.max_retries = 1;
  cfg.cell_budget_ms = 1500;
  node n{cfg};
  n.start(false);
  // The health check times out: the circuit opens before any cell is sent.
  CAF_REQUIRE(eventually([&] { return status_of(n, "hung").circuit == circuit_state::open; }));
  auto took = run(n, "hung-1",
                  job_json("hung-1", {"math_basic"}, {"m"}, {"US"}, 10, 0.5,
                           5'000'000'000 /* 5 s per attempt */));
  // Ten cells wait for the circuit within their 1.5 s budget (no attempt spent, no 5 s
  // timeout paid), then end.
  CAF_CHECK_LESS(took, 3s);
  CAF_CHECK_EQUAL(hung.requests("/v1/chat"), 0u);
  CAF_CHECK_EQUAL(query_column(url,
                               "SELECT DISTINCT status || ' ' || error_code || ' ' || "
                               "attempts FROM executions"),
                  std::vector<std::string>{"failed circuit_open 0"});
  auto msg = query_column(url, "SELECT error_message FROM executions LIMIT 1");
  CAF_CHECK(msg[0].find("health check: timeout") != std::string::npos);
  CAF_CHECK(msg[0].find("within the cell's time budget of 1500 ms") != std::string::npos);
  // It recovers: a half-open health check passes and the circuit closes.
  hung.set_plan({});
  CAF_REQUIRE(eventually([&] { return status_of(n, "hung").circuit == circuit_state::closed; }));
  run(n, "hung-2", job_json("hung-2", {"math_basic"}, {"m"}, {"US"}, 10));
  CAF_CHECK_EQUAL(
      query_int(url,
                "SELECT count(*) FROM executions WHERE job_id = 'hung-2' AND status = 'completed'"),
      10);
  CAF_CHECK(log_text().find("circuit_open provider_id=hung region=US") != std::string::npos);
  n.stop();
}

CAF_TEST(a burst of 429s cuts concurrency and server errors do not ) {
  // A rate limiter in front of the model: more than 4 concurrent calls get 429.
  fake_provider limited{"US", [](const seen_request& r) {
                          fault_step s;
                          s.delay = 20ms;
                          if (!r.health() && r.concurrent > 4) s.kind = fault::rate_limited;
                          s.retry_after_s = 0;
                          return s;
                        }};
  fake_provider failing{"EU", always({fault::status_503})};
  auto cfg = config({entry("limited", "openai", limited.url(), "US",
                           R"("max_concurrency": 32, "rate_limit_debounce_ms": 50)"),
                     entry("failing", "openai", failing.url(), "EU",
                           R"("max_concurrency": 32, "failure_threshold": 1000)")});
  cfg.max_retries = 19;  // 48 cells x 20 attempts stay under the circuit's 1000 failures
  node n{cfg};
  n.start(false);
  run(n, "burst", job_json("burst", {"math_basic"}, {"m"}, {"US", "EU"}, 48, 0.4));
  auto us = status_of(n, "limited");
  auto eu = status_of(n, "failing");
  n.stop();
  CAF_CHECK_EQUAL(query_int(url,
                            "SELECT count(*) FROM executions WHERE region = 'US' AND"
                            " status = 'completed'"),
                  48);
  CAF_MESSAGE("limited: " << us.rate_limit_cuts << " cuts, limit now " << us.limit
                          << ", peak concurrent at the provider " << limited.peak_concurrent());
  CAF_CHECK_GREATER_OR_EQUAL(us.rate_limit_cuts, 1);
  CAF_CHECK_LESS(us.limit, 32);
  CAF_CHECK_EQUAL(eu.limit, 32);  // 503s say nothing about our rate
  CAF_CHECK_EQUAL(eu.rate_limit_cuts, 0);
  CAF_CHECK(log_text().find("concurrency_cut provider_id=limited") != std::string::npos);
  CAF_CHECK_EQUAL(eu.failures.at("http_5xx"), eu.calls);
  CAF_CHECK_GREATER(us.retry_calls, 0);
  CAF_CHECK_EQUAL(us.latency_buckets.size(), latency_bounds_ms().size() + 1);
}

CAF_TEST(the least loaded provider of a region gets the most cells) {
  fake_provider slow{"US", always({fault::none, 150ms})}, fast{"US"};
  auto cfg = config({entry("slow", "openai", slow.url(), "US", R"("max_concurrency": 8)"),
                     entry("fast", "openai", fast.url(), "US", R"("max_concurrency": 8)")});
  cfg.max_in_flight_per_job = 16;
  node n{cfg};
  n.start(false);
  run(n, "balance", job_json("balance", {"math_basic"}, {"m"}, {"US"}, 80));
  n.stop();
  auto served_by = [&](const std::string& id) {
    return query_int(url, "SELECT count(*) FROM executions WHERE provider_id = '" + id + "'");
  };
  CAF_MESSAGE("served: fast " << served_by("fast") << ", slow " << served_by("slow"));
  CAF_CHECK_EQUAL(served_by("slow") + served_by("fast"), 80);
  CAF_CHECK_GREATER(served_by("fast"), 2 * served_by("slow"));
}

CAF_TEST(a killed provider actor is respawned and its cells are retried) {
  fake_provider slow{"US", always({fault::none, 100ms})};
  auto cfg = config({entry("slow", "openai", slow.url(), "US")});
  node n{cfg};
  n.start(false);
  CAF_REQUIRE_EQUAL(n.submit(job_json("killed", {"math_basic"}, {"m"}, {"US"}, 12)).status, 202u);
  CAF_REQUIRE(eventually([&] { return slow.requests("/v1/chat") >= 12; }));
  provider_actor victim;
  {
    caf::scoped_actor self{n.system()};
    self->request(n.actors().registry, caf::infinite, atom::route::value, std::string("US"),
                  std::string("m"), std::string())
        .receive([&](provider_actor p, const std::string&, const std::string&) { victim = p; },
                 [&](caf::error& e) { CAF_FAIL(n.system().render(e)); });
    self->send_exit(victim, caf::exit_reason::kill);  // twelve calls in flight
  }
  CAF_REQUIRE(eventually([&] { return job_ended("killed"); }));
  n.stop();
  CAF_CHECK_EQUAL(query_column(url, "SELECT DISTINCT status || ' ' || attempts FROM executions"),
                  std::vector<std::string>{"completed 2"});
  CAF_CHECK_EQUAL(query_column(url, "SELECT DISTINCT retry_history->0->>'class' FROM executions"),
                  std::vector<std::string>{"provider_error"});
  CAF_CHECK(log_text().find("provider_restarted provider_id=slow") != std::string::npos);
}

CAF_TEST_FIXTURE_SCOPE_END()
