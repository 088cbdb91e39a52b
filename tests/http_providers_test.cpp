// HTTP providers end to end: a real node calls the sim over loopback HTTP through every protocol
// adapter; answers reported from another region are refused; transport failures are classified.
#define CAF_SUITE http_providers
#define FAIL CAF_FAIL
#include <boost/json.hpp>
#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "app/node.hpp"
#include "caf/all.hpp"
#include "caf/test/dsl.hpp"
#include "http/sim_http.hpp"
#include "providers/http_client.hpp"
#include "providers/provider_config.hpp"
#include "tests/harness.hpp"
#include "tests/http_client.hpp"
#include "tests/tls_provider.hpp"

using namespace beacon;
using namespace beacon::test;
namespace json = boost::json;

namespace {

struct fixture {
  std::string url = fresh_database();
  uint16_t sim_port = 0;
  std::unique_ptr<http::server> sim;

  fixture() {
    providers::sim_http_options o;
    o.sim.latency_ms = 1;
    sim = providers::start_sim_http(o, "127.0.0.1", 0, sim_port);
  }

  std::string base() { return "http://127.0.0.1:" + std::to_string(sim_port); }

  std::string providers_file(const std::string& json) {
    auto path = "/tmp/beacon-providers-" + std::to_string(getpid()) + "-" +
                std::to_string(std::rand()) + ".json";
    std::ofstream(path) << json;
    return path;
  }

  // Runs a job on a node whose only providers are those of `providers_json`.
  void run_job(const std::string& providers_json, const std::string& spec) {
    node_config cfg;
    cfg.database_url = url;
    cfg.sim_regions = "";
    cfg.providers_file = providers_file(providers_json);
    cfg.threads = 2;
    cfg.max_retries = 1;
    cfg.retry_base_ms = 5;
    cfg.retry_cap_ms = 20;
    node n{cfg};
    n.start(false);
    auto admitted = n.submit(spec);
    CAF_REQUIRE_EQUAL(admitted.status, 202u);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (query_int(url, "SELECT count(*) FROM jobs WHERE status IN ('completed','failed')") ==
               0 &&
           std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    n.stop();
  }
};

}  // namespace

CAF_TEST_FIXTURE_SCOPE(http_provider_tests, fixture)

CAF_TEST(a job runs over real HTTP through every protocol adapter) {
  auto b = base();
  run_job(
      R"({"providers": [
    {"name": "vllm-us", "kind": "openai", "base_url": ")" +
          b + R"(", "region": "US", "models": ["llama3.2-1b"]},
    {"name": "ollama-us", "kind": "ollama", "base_url": ")" +
          b + R"(/", "region": "us-east", "models": ["mistral-7b"]},
    {"name": "router-eu", "kind": "beacon_router", "base_url": ")" +
          b + R"(", "region": "EU", "models": ["llama3.2-1b", "mistral-7b"]},
    {"name": "modal-asia", "kind": "modal", "base_url": ")" +
          b +
          R"(/modal/asia-pacific", "region": "ASIA", "models": ["llama3.2-1b", "mistral-7b"]}]})",
      job_json("http-1", {"tiananmen_neutral", "math_basic"}, {"llama3.2-1b", "mistral-7b"},
               {"US", "EU", "ASIA"}));
  CAF_CHECK_EQUAL(query_column(url, "SELECT status FROM jobs"),
                  std::vector<std::string>{"completed"});
  CAF_CHECK_EQUAL(query_int(url, "SELECT count(*) FROM executions WHERE status = 'completed'"), 12);
  CAF_CHECK_EQUAL(
      query_column(url,
                   "SELECT DISTINCT region || ' ' || model_id || ' ' || provider_id"
                   " FROM executions ORDER BY 1"),
      (std::vector<std::string>{"ASIA llama3.2-1b modal-asia", "ASIA mistral-7b modal-asia",
                                "EU llama3.2-1b router-eu/sim-EU", "EU mistral-7b router-eu/sim-EU",
                                "US llama3.2-1b vllm-us", "US mistral-7b ollama-us"}));
  CAF_CHECK_EQUAL(query_int(url, "SELECT count(*) FROM executions WHERE provider_region <> region"),
                  0);
  // The regional behaviour survives the wire: ASIA llama refuses the Tiananmen question.
  CAF_CHECK_EQUAL(
      query_column(url,
                   "SELECT response_classification FROM executions WHERE region = 'ASIA'"
                   " AND model_id = 'llama3.2-1b' AND question_id = 'tiananmen_neutral'"),
      std::vector<std::string>{"content_refusal"});
  CAF_CHECK_EQUAL(query_column(url,
                               "SELECT output_data->>'response' FROM executions WHERE region = 'US'"
                               " AND model_id = 'llama3.2-1b' AND question_id = 'math_basic'"),
                  std::vector<std::string>{"2 + 2 = 4."});
  // Usage as each protocol carries it: OpenAI's usage and Ollama's counts (the sim counts the
  // words of its answer), Modal's tokens_generated only, the router none.
  CAF_CHECK_EQUAL(
      query_column(url,
                   "SELECT DISTINCT region || ' ' || coalesce(finish_reason, '-') || ' ' ||"
                   " (prompt_tokens IS NOT NULL) || ' ' || (completion_tokens IS NOT NULL)"
                   " FROM executions ORDER BY 1"),
      (std::vector<std::string>{"ASIA - false true", "EU - false false", "US stop true true"}));
  CAF_CHECK_EQUAL(query_int(url,
                            "SELECT count(*) FROM executions WHERE region IN ('US', 'ASIA')"
                            " AND completion_tokens = array_length(regexp_split_to_array("
                            "btrim(output_data->>'response'), '\\s+'), 1)"),
                  8);
  CAF_CHECK_EQUAL(counter_mismatch(url, "http-1"), "");
}

CAF_TEST(generation settings reach the provider exactly and its prices cost each answer) {
  // A loopback peer that records every body it is sent, then answers as the sim.
  std::mutex mutex;
  std::vector<std::pair<std::string, std::string>> seen;  // path, body
  providers::sim_http_options o;
  auto sim_handler = providers::sim_http_handler(o);
  http::server recorder(
      [&](const http::request& req, http::responder reply) {
        if (req.method == "POST") {  // not the health checks
          std::lock_guard<std::mutex> lock(mutex);
          seen.emplace_back(req.path, req.body);
        }
        sim_handler(req, std::move(reply));
      },
      http::server_options{});
  auto b = "http://127.0.0.1:" + std::to_string(recorder.listen("127.0.0.1", 0));
  run_job(
      R"({"providers": [
    {"name": "vllm-us", "kind": "openai", "base_url": ")" +
          b + R"(", "region": "US", "models": ["llama3.2-1b", "mistral-7b"],
     "prices": {"currency": "USD", "input_per_million": 1000000, "output_per_million": 2000000,
                "models": {"mistral-7b": {"input_per_million": 3000000, "output_per_million": 0}}}},
    {"name": "ollama-eu", "kind": "ollama", "base_url": ")" +
          b + R"(", "region": "EU", "models": ["llama3.2-1b", "mistral-7b"]},
    {"name": "modal-asia", "kind": "modal", "base_url": ")" +
          b + R"(/modal/asia", "region": "ASIA", "models": ["llama3.2-1b", "mistral-7b"]}]})",
      R"({"id": "gen-1", "questions": ["greatest_leader"], "models": ["llama3.2-1b", "mistral-7b"],
      "generation": {"temperature": 0.3, "max_tokens": 7, "top_p": 0.5, "seed": 11,
                     "models": {"mistral-7b": {"temperature": 0, "max_tokens": 300}}},
      "constraints": {"regions": ["US", "EU", "ASIA"]}})");
  std::lock_guard<std::mutex> lock(mutex);
  CAF_REQUIRE_EQUAL(seen.size(), 6u);
  for (auto& [path, text] : seen) {
    auto body = json::parse(text).as_object();
    bool mistral = body["model"].as_string() == "mistral-7b";
    double temperature = mistral ? 0 : 0.3;
    int64_t max_tokens = mistral ? 300 : 7;
    if (path == "/v1/chat/completions") {
      CAF_CHECK_EQUAL(body["temperature"].as_double(), temperature);
      CAF_CHECK_EQUAL(body["max_tokens"].as_int64(), max_tokens);
      CAF_CHECK_EQUAL(body["top_p"].as_double(), 0.5);
      CAF_CHECK_EQUAL(body["seed"].as_int64(), 11);
    } else if (path == "/api/chat") {
      auto& opt = body["options"].as_object();
      CAF_CHECK_EQUAL(opt["temperature"].as_double(), temperature);
      CAF_CHECK_EQUAL(opt["num_predict"].as_int64(), max_tokens);
      CAF_CHECK_EQUAL(opt["top_p"].as_double(), 0.5);
      CAF_CHECK_EQUAL(opt["seed"].as_int64(), 11);
    } else {
      CAF_CHECK_EQUAL(path, "/modal/asia");
      CAF_CHECK_EQUAL(body["temperature"].as_double(), temperature);
      CAF_CHECK_EQUAL(body["max_tokens"].as_int64(), max_tokens);
      CAF_CHECK(!body.contains("top_p") && !body.contains("seed"));
    }
  }
  // The row says how each cell was generated and what the protocol could not carry.
  CAF_CHECK_EQUAL(
      query_column(url,
                   "SELECT region || ' ' || model_id || ' ' || temperature || ' ' || max_tokens ||"
                   " ' ' || top_p || ' ' || seed || ' ' || coalesce(settings_unsent, '-') || ' ' ||"
                   " finish_reason FROM executions WHERE region <> 'ASIA' ORDER BY 1"),
      (std::vector<std::string>{
          "EU llama3.2-1b 0.3 7 0.5 11 - length", "EU mistral-7b 0 300 0.5 11 - stop",
          "US llama3.2-1b 0.3 7 0.5 11 - length", "US mistral-7b 0 300 0.5 11 - stop"}));
  CAF_CHECK_EQUAL(query_column(url,
                               "SELECT DISTINCT settings_unsent FROM executions"
                               " WHERE region = 'ASIA'"),
                  std::vector<std::string>{"top_p,seed"});
  CAF_CHECK_EQUAL(query_int(url,
                            "SELECT count(*) FROM executions WHERE region = 'ASIA'"
                            " AND completion_tokens = 7 AND status = 'completed'"),
                  1);  // Modal reports tokens_generated; the llama answer was cut at 7
  // Cost: the priced provider's answers at its prices (a token costs 1 and 2, mistral 3 and 0);
  // the unpriced ones stay unknown.
  CAF_CHECK_EQUAL(query_int(url,
                            "SELECT count(*) FROM executions WHERE region = 'US' AND cost ="
                            " CASE model_id WHEN 'mistral-7b' THEN 3 * prompt_tokens"
                            " ELSE prompt_tokens + 2 * completion_tokens END"),
                  2);
  CAF_CHECK_EQUAL(query_int(url, "SELECT count(*) FROM executions WHERE cost IS NOT NULL"), 2);
  CAF_CHECK_EQUAL(query_int(url, "SELECT count(*) FROM executions WHERE charged IS NOT NULL"), 0);
  CAF_CHECK_EQUAL(counter_mismatch(url, "gen-1"), "");
}

CAF_TEST(an answer reported from another region is refused) {
  run_job(R"([{"name": "modal-eu", "kind": "modal", "base_url": ")" + base() +
              R"(/modal/us-east", "region": "EU", "models": ["m"]}])",
          job_json("http-2", {"math_basic"}, {"m"}, {"EU"}));
  CAF_CHECK_EQUAL(
      query_column(url, "SELECT status || ' ' || error_code || ' ' || attempts FROM executions"),
      std::vector<std::string>{"failed region_mismatch 2"});
  auto msg = query_column(url, "SELECT error_message FROM executions");
  CAF_CHECK(msg[0].find("reports region US for a call to region EU") != std::string::npos);
  CAF_CHECK_EQUAL(query_column(url, "SELECT status FROM jobs"), std::vector<std::string>{"failed"});
}

CAF_TEST(refused connections timeouts and oversized bodies are classified) {
  providers::sim_http_options slow;
  slow.sim.latency_ms = 3000;
  slow.sim.latency_sigma = 0;
  uint16_t slow_port = 0;
  auto slow_sim = providers::start_sim_http(slow, "127.0.0.1", 0, slow_port);
  std::string long_question(1500, 'q');
  run_job(R"([
    {"name": "closed", "kind": "openai", "base_url": "http://127.0.0.1:1", "region": "XA", "models": ["m"],
     "health_interval_ms": 0},
    {"name": "slow", "kind": "openai", "base_url": "http://127.0.0.1:)" +
              std::to_string(slow_port) +
              R"(", "region": "XB", "models": ["m"]},
    {"name": "small", "kind": "openai", "base_url": ")" +
              base() + R"(", "region": "XC", "models": ["m"], "max_body_bytes": 1024}])",
          job_json("http-3", {long_question}, {"m"}, {"XA", "XB", "XC"}, 1, 0.67,
                   300'000'000 /* 300 ms per attempt */));
  CAF_CHECK_EQUAL(
      query_column(url,
                   "SELECT region || ' ' || status || ' ' || error_code || ' ' || attempts"
                   " FROM executions ORDER BY region"),
      (std::vector<std::string>{"XA failed connect_error 2", "XB timeout timeout 2",
                                "XC failed bad_response 1"}));
  auto msgs = query_column(url, "SELECT error_message FROM executions ORDER BY region");
  CAF_CHECK(msgs[2].find("exceeds 1024 bytes") != std::string::npos);
  for (auto& m : msgs) CAF_CHECK(!m.empty());
  slow_sim->stop();
}

CAF_TEST(a job runs over verified TLS and an untrusted certificate is refused) {
  tls_provider tls{"/tmp/beacon-tls-" + std::to_string(getpid())};
  run_job(R"([{"name": "tls-us", "kind": "openai", "base_url": ")" + tls.url() +
              R"(", "region": "US", "models": ["m"], "ca_file": ")" + tls.ca_file() + R"("},
    {"name": "untrusted-eu", "kind": "openai", "base_url": ")" +
              tls.url() + R"(", "region": "EU", "models": ["m"], "health_interval_ms": 0}])",
          job_json("tls-1", {"math_basic"}, {"m"}, {"US", "EU"}, 2, 0.5));
  CAF_CHECK_EQUAL(
      query_column(url,
                   "SELECT DISTINCT region || ' ' || status || ' ' ||"
                   " coalesce(output_data->>'response', error_code) FROM executions"
                   " ORDER BY 1"),
      (std::vector<std::string>{"EU failed connect_error", "US completed answered over TLS"}));
  auto msg = query_column(url, "SELECT DISTINCT error_message FROM executions WHERE region = 'EU'");
  CAF_REQUIRE_EQUAL(msg.size(), 1u);
  CAF_CHECK(msg[0].find("certificate") != std::string::npos);
  CAF_CHECK_GREATER_OR_EQUAL(tls.handshakes(), 1u);
}

CAF_TEST_FIXTURE_SCOPE_END()

CAF_TEST(the http client cancels and classifies transfers) {
  providers::sim_http_options slow;
  slow.sim.latency_ms = 5000;
  slow.sim.latency_sigma = 0;
  uint16_t port = 0;
  auto srv = providers::start_sim_http(slow, "127.0.0.1", 0, port);
  providers::http_client client;
  std::mutex m;
  std::condition_variable cv;
  std::vector<providers::http_outcome> outcomes;
  auto collect = [&](providers::http_outcome o) {
    std::lock_guard<std::mutex> g{m};
    outcomes.push_back(std::move(o));
    cv.notify_all();
  };
  auto wait_for = [&](size_t n) {
    std::unique_lock<std::mutex> g{m};
    return cv.wait_for(g, std::chrono::seconds(10), [&] { return outcomes.size() >= n; });
  };
  providers::http_call call;
  call.url = "http://127.0.0.1:" + std::to_string(port) + "/v1/chat/completions";
  call.body = R"({"model":"m","messages":[{"role":"user","content":"What is 2+2?"}]})";
  auto t0 = std::chrono::steady_clock::now();
  auto id = client.submit(call, collect);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CAF_CHECK_EQUAL(client.active(), 1u);
  client.cancel(id);
  CAF_REQUIRE(wait_for(1));
  CAF_CHECK_EQUAL(word(outcomes[0].failure), "cancelled");
  CAF_CHECK_LESS(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
  CAF_CHECK_EQUAL(client.active(), 0u);
  call.total_timeout = std::chrono::milliseconds(100);
  client.submit(call, collect);
  call.url = "http://127.0.0.1:1/";
  client.submit(call, collect);
  CAF_REQUIRE(wait_for(3));
  std::set<std::string> classes{word(outcomes[1].failure), word(outcomes[2].failure)};
  CAF_CHECK_EQUAL(classes, (std::set<std::string>{"timeout", "connect_error"}));
  srv->stop();
}

CAF_TEST(cancelling a job aborts its transfers) {
  providers::sim_http_options slow;
  slow.sim.latency_ms = 5000;
  slow.sim.latency_sigma = 0;
  uint16_t port = 0;
  auto srv = providers::start_sim_http(slow, "127.0.0.1", 0, port);
  auto url = fresh_database();
  node_config cfg;
  cfg.database_url = url;
  cfg.sim_regions = "";
  cfg.threads = 2;
  auto path = "/tmp/beacon-providers-cancel-" + std::to_string(getpid()) + ".json";
  std::ofstream(path) << R"([{"name": "slow", "kind": "openai", "base_url": "http://127.0.0.1:)" +
                             std::to_string(port) + R"(", "region": "US", "models": ["m"]}])";
  cfg.providers_file = path;
  node n{cfg};
  n.start(false);
  CAF_REQUIRE_EQUAL(n.submit(job_json("cancel-http", {"q"}, {"m"}, {"US"}, 2)).status, 202u);
  auto& client = *n.actors().http;
  auto until = [](auto pred) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(4);
    while (!pred() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return pred();
  };
  CAF_REQUIRE(until([&] { return client.active() == 2; }));
  caf::anon_send(n.actors().manager, atom::cancel::value, std::string("cancel-http"));
  CAF_CHECK(until([&] { return client.active() == 0; }));  // long before the 5 s answers
  CAF_CHECK(until(
      [&] { return query_int(url, "SELECT count(*) FROM jobs WHERE status = 'cancelled'") == 1; }));
  CAF_CHECK_EQUAL(query_int(url, "SELECT count(*) FROM executions WHERE status = 'cancelled'"), 2);
  n.stop();
  srv->stop();
}

CAF_TEST(provider configuration is validated entry by entry) {
  auto refused = [](const std::string& json, const std::string& fragment) {
    try {
      parse_provider_config(json);
      CAF_FAIL("accepted: " << json);
    } catch (const std::invalid_argument& e) {
      CAF_CHECK(std::string(e.what()).find(fragment) != std::string::npos);
    }
  };
  refused("[{]", "not valid JSON");
  refused(R"({"x": 1})", "expected");
  refused(R"([{"kind": "openai"}])", "name is required");
  refused(
      R"([{"name": "a", "kind": "grpc", "base_url": "http://h", "region": "US", "models": ["m"]}])",
      "kind 'grpc'");
  refused(
      R"([{"name": "a", "kind": "openai", "base_url": "ftp://h", "region": "US", "models": ["m"]}])",
      "not an http(s) URL");
  refused(
      R"([{"name": "a", "kind": "openai", "base_url": "http://h", "region": "US", "models": []}])",
      "models");
  refused(
      R"([{"name": "a", "kind": "openai", "base_url": "http://h", "region": "US", "models": ["m"]},
              {"name": "a", "kind": "openai", "base_url": "http://h", "region": "EU", "models": ["m"]}])",
      "used twice");
  refused(
      R"([{"name": "a", "kind": "openai", "base_url": "http://h", "region": "US", "models": ["m"],
               "auth_env": "BEACON_TEST_UNSET_SECRET"}])",
      "BEACON_TEST_UNSET_SECRET, which is not set");
  setenv("BEACON_TEST_SECRET", "s3cret", 1);
  auto ok = parse_provider_config(
      R"({"providers": [{"name": "a", "kind": "router", "base_url": "https://h/x/",
    "region": "asia-pacific", "models": ["m"], "auth_env": "BEACON_TEST_SECRET", "max_concurrency": 8}]})");
  CAF_REQUIRE_EQUAL(ok.size(), 1u);
  CAF_CHECK_EQUAL(ok[0].base_url, "https://h/x");
  CAF_CHECK_EQUAL(ok[0].region, "ASIA");
  CAF_CHECK_EQUAL(ok[0].auth_header, "Authorization: Bearer s3cret");
  CAF_CHECK_EQUAL(ok[0].max_concurrency, 8u);
  CAF_CHECK(ok[0].protocol == providers::protocol::beacon_router);
}

CAF_TEST(the sim http server answers its health check and rejects bad bodies) {
  providers::sim_http_options o;
  uint16_t port = 0;
  auto srv = providers::start_sim_http(o, "127.0.0.1", 0, port);
  CAF_CHECK_EQUAL(http_call(port, "GET", "/health").status, 200u);
  CAF_CHECK_EQUAL(http_call(port, "POST", "/v1/chat/completions", "nope").status, 400u);
  CAF_CHECK_EQUAL(http_call(port, "POST", "/nowhere", "{}").status, 404u);
  auto r = http_call(port, "POST", "/v1/chat/completions",
                     R"({"model":"m","messages":[{"role":"user","content":"What is 2+2?"}]})");
  CAF_CHECK_EQUAL(r.status, 200u);
  CAF_CHECK(r.body.find("2 + 2 = 4.") != std::string::npos);
  srv->stop();
}
