// Provider resilience as pure logic and one actor: the circuit breaker's states, adaptive
// concurrency (AIMD), health URLs per protocol, and the registry's choice among the providers of
// a region (circuit, failover, load; never another region).
#define CAF_SUITE resilience
#include <set>

#include "actors/provider_registry.hpp"
#include "caf/all.hpp"
#include "caf/test/dsl.hpp"
#include "providers/adapters.hpp"
#include "providers/circuit_breaker.hpp"
#include "providers/concurrency_limit.hpp"

using namespace beacon;
using namespace beacon::providers;
using namespace std::chrono_literals;
using state = circuit_breaker::state;

namespace {

const auto t0 = std::chrono::steady_clock::time_point{} + 1h;

}  // namespace

CAF_TEST(the breaker opens after consecutive failures and one success resets the count) {
  circuit_breaker b{{3, 1000ms, 8000ms}};
  b.on_failure(t0, "timeout: 1");
  b.on_failure(t0, "timeout: 2");
  b.on_success();
  b.on_failure(t0, "timeout: 3");
  b.on_failure(t0, "timeout: 4");
  CAF_CHECK(b.current(t0) == state::closed);
  CAF_CHECK(b.try_acquire(t0));
  b.on_failure(t0, "http_5xx: 503");
  CAF_CHECK(b.current(t0) == state::open);
  CAF_CHECK(!b.try_acquire(t0 + 999ms));
  CAF_CHECK_EQUAL(b.last_failure(), "http_5xx: 503");
  CAF_CHECK(b.reopens_at() == t0 + 1000ms);
}

CAF_TEST(half open lets one trial through and its verdict decides) {
  circuit_breaker b{{1, 1000ms, 3000ms}};
  b.on_failure(t0, "connect_error");
  auto t1 = t0 + 1000ms;
  CAF_CHECK(b.current(t1) == state::half_open);
  CAF_CHECK(b.try_acquire(t1));
  CAF_CHECK(!b.try_acquire(t1));  // one trial at a time
  b.on_failure(t1, "connect_error again");
  CAF_CHECK(b.current(t1) == state::open);
  CAF_CHECK(b.reopens_at() == t1 + 2000ms);  // the cool-down doubled
  auto t2 = t1 + 2000ms;
  CAF_CHECK(b.try_acquire(t2));
  b.on_failure(t2, "still down");
  CAF_CHECK(b.reopens_at() == t2 + 3000ms);  // capped at max_open
  auto t3 = t2 + 3000ms;
  CAF_CHECK(b.try_acquire(t3));
  b.release_trial();  // a cancelled trial says nothing
  CAF_CHECK(b.try_acquire(t3));
  b.on_success();
  CAF_CHECK(b.current(t3) == state::closed);
  CAF_CHECK_EQUAL(b.consecutive_failures(), 0);
  b.on_failure(t3, "x");
  CAF_CHECK(b.reopens_at() == t3 + 1000ms);  // a closed breaker starts from the first cool-down
}

CAF_TEST(a failed health probe trips the breaker at once) {
  circuit_breaker b{{5, 500ms, 5000ms}};
  b.trip(t0, "health check: connect_error");
  CAF_CHECK(b.current(t0) == state::open);
  b.trip(t0 + 100ms, "health check: again");  // still cooling down: no extension
  CAF_CHECK(b.reopens_at() == t0 + 500ms);
  CAF_CHECK_EQUAL(b.last_failure(), "health check: again");
  CAF_CHECK(b.current(t0 + 500ms) == state::half_open);
  b.trip(t0 + 600ms, "health check: down");
  CAF_CHECK(b.reopens_at() == t0 + 1600ms);
  CAF_CHECK_EQUAL(to_string(b.current(t0 + 600ms)), "open");
}

CAF_TEST(a 429 burst halves concurrency once per debounce window and successes grow it back) {
  concurrency_limit l{64, 1000ms};
  CAF_CHECK_EQUAL(l.current(), 64u);
  CAF_CHECK(l.on_rate_limited(t0));
  for (int i = 0; i < 20; ++i) CAF_CHECK(!l.on_rate_limited(t0 + 10ms * i));  // the same burst
  CAF_CHECK_EQUAL(l.current(), 32u);
  CAF_CHECK(l.on_rate_limited(t0 + 1000ms));
  CAF_CHECK_EQUAL(l.current(), 16u);
  for (int i = 0; i < 16; ++i) l.on_success();  // one round of calls: about +1
  CAF_CHECK_EQUAL(l.current(), 16u);
  for (int i = 0; i < 20; ++i) l.on_success();
  CAF_CHECK_EQUAL(l.current(), 18u);
  for (int i = 0; i < 100'000; ++i) l.on_success();
  CAF_CHECK_EQUAL(l.current(), 64u);  // never above the maximum
  concurrency_limit one{1, 0ms};
  for (int i = 0; i < 5; ++i) one.on_rate_limited(t0 + 1ms * i);
  CAF_CHECK_EQUAL(one.current(), 1u);  // never below one
}

CAF_TEST(health checks use the endpoint of each protocol) {
  CAF_CHECK_EQUAL(health_url(protocol::openai, "http://h:8000"), "http://h:8000/v1/models");
  CAF_CHECK_EQUAL(health_url(protocol::ollama, "http://h:11434"), "http://h:11434/api/tags");
  CAF_CHECK_EQUAL(health_url(protocol::beacon_router, "https://r"), "https://r/health");
  CAF_CHECK_EQUAL(health_url(protocol::modal, "https://a--beacon-hf-us-inference.modal.run"),
                  "https://a--beacon-hf-us-health.modal.run");
  CAF_CHECK_EQUAL(health_url(protocol::modal, "http://h/modal/us"), "http://h/modal/us/health");
  CAF_CHECK(health_body_ok(R"({"status":"healthy"})"));
  CAF_CHECK(health_body_ok(R"({"object":"list","data":[]})"));
  CAF_CHECK(health_body_ok("OK"));
  CAF_CHECK(!health_body_ok(R"({"status":"unhealthy"})"));
  CAF_CHECK(!health_body_ok(R"({"status":"degraded"})"));
}

namespace {

// A provider that is never called: the registry test only routes. (It takes an argument: a CAF
// 0.17 function actor without one binds a reference to a null pointer, which UBSan reports.)
provider_actor::behavior_type idle_provider(provider_actor::pointer, std::string) {
  return {[](atom::complete, const provider_request&) { return provider_reply{}; }};
}

provider_status reported(const std::string& id, circuit_state circuit, int32_t load,
                         int32_t limit) {
  provider_status s;
  s.provider_id = id;
  s.circuit = circuit;
  s.load = load;
  s.limit = limit;
  return s;
}

}  // namespace

CAF_TEST(the registry prefers a closed circuit then failover then the least loaded) {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  auto p = [&] { return sys.spawn(idle_provider, std::string("idle")); };
  std::vector<provider_entry> entries = {
      {"us-a", "US", {"m"}, p()}, {"us-b", "US", {"m"}, p()}, {"eu-a", "EU", {"m", "n"}, p()}};
  auto reg = sys.spawn(provider_registry, entries, std::vector<http_provider_config>{},
                       std::shared_ptr<http_client>{});
  auto route = [&](const std::string& region, const std::string& model,
                   const std::string& avoid = "") {
    std::string chosen = "?";
    self->request(reg, caf::infinite, atom::route::value, region, model, avoid)
        .receive(
            [&](provider_actor, std::string id, std::string provider_region) {
              CAF_CHECK(id.empty() || provider_region == region);
              chosen = id;
            },
            [&](caf::error&) { chosen = "error"; });
    return chosen;
  };
  // Silent providers: rotation.
  std::set<std::string> seen{route("US", "m"), route("US", "m")};
  CAF_CHECK_EQUAL(seen, (std::set<std::string>{"us-a", "us-b"}));
  // Failover: the provider that just failed is avoided while another exists.
  for (int i = 0; i < 4; ++i) CAF_CHECK_EQUAL(route("US", "m", "us-a"), "us-b");
  CAF_CHECK_EQUAL(route("EU", "m", "eu-a"), "eu-a");  // the only one of its region
  // Never another region, and no provider is an answer of its own.
  CAF_CHECK_EQUAL(route("ASIA", "m"), "");
  CAF_CHECK_EQUAL(route("US", "n"), "");
  // Reporting providers: least loaded per slot, and never an open circuit while another is up.
  self->send(reg, atom::update::value, reported("us-a", circuit_state::closed, 30, 32));
  self->send(reg, atom::update::value, reported("us-b", circuit_state::closed, 2, 32));
  for (int i = 0; i < 5; ++i) CAF_CHECK_EQUAL(route("US", "m"), "us-b");
  self->send(reg, atom::update::value, reported("us-b", circuit_state::open, 0, 32));
  for (int i = 0; i < 3; ++i) CAF_CHECK_EQUAL(route("US", "m"), "us-a");
  self->send(reg, atom::update::value, reported("us-a", circuit_state::open, 0, 32));
  CAF_CHECK_NOT_EQUAL(route("US", "m"), "");  // all open: still routed, the provider refuses
  self->request(reg, caf::infinite, atom::get::value)
      .receive(
          [&](const std::vector<provider_status>& all) {
            CAF_REQUIRE_EQUAL(all.size(), 3u);
            CAF_CHECK_EQUAL(to_string(all[0].circuit), "open");
            CAF_CHECK_EQUAL(all[2].provider_id, "eu-a");
          },
          [&](caf::error& e) { CAF_FAIL(sys.render(e)); });
  self->send_exit(reg, caf::exit_reason::user_shutdown);
  for (auto& e : entries) self->send_exit(e.handle, caf::exit_reason::user_shutdown);
}
