// CORS as browsers enforce it: the allow-list (exact origins, https://*.domain wildcards, *, the
// node's own origin), a preflight (OPTIONS) answered on every route of the route table with the
// route's methods, the headers the portal sends and a day's max-age, not rate-limited and without
// a token; Access-Control-Allow-Origin and Vary on every actual answer (success, 404, 401, 413,
// 429, the event stream, the download); nothing for an origin that is not allowed.
#define CAF_SUITE cors
#include "http/cors.hpp"

#include <boost/json.hpp>

#include "caf/test/dsl.hpp"
#include "http/routes.hpp"
#include "tests/harness.hpp"
#include "tests/http_client.hpp"
#include "tests/rest_node.hpp"
#include "tests/sse_client.hpp"

using namespace beacon;
using namespace beacon::test;

namespace {

const std::string portal = "http://127.0.0.1:3000";

// A route's pattern with its placeholders filled.
std::string concrete(std::string pattern, const std::string& job, const std::string& execution) {
  auto fill = [&](const std::string& name, const std::string& value) {
    for (auto at = pattern.find(name); at != std::string::npos; at = pattern.find(name))
      pattern.replace(at, name.size(), value);
  };
  fill("/jobs/{id}", "/jobs/" + job);
  fill("/executions/{jobId}", "/executions/" + job);
  fill("/executions/{id}", "/executions/" + execution);
  fill("{file}", "app.js");
  return pattern;
}

struct fixture : rest_node {
  std::string token = "s3cret";

  void start_with(int64_t rate_limit) {
    node_config cfg;
    cfg.api_token = token;
    cfg.rate_limit_per_minute = rate_limit;
    cfg.max_body_bytes = 4096;
    start(cfg);
  }

  http_reply call(const std::string& method, const std::string& target, const std::string& origin,
                  std::map<std::string, std::string> headers = {}, const std::string& body = "") {
    if (!origin.empty()) headers["Origin"] = origin;
    return http_call(port, method, target, body, "application/json", headers);
  }

  // The job every route is tried on, finished.
  std::pair<std::string, std::string> finished_job() {
    auto r = call("POST", "/api/v1/jobs", portal, {{"Authorization", "Bearer " + token}},
                  job_json("cors-1", {"math_basic"}, {"llama3.2-1b"}, {"US", "EU"}));
    CAF_REQUIRE_EQUAL(r.status, 202u);
    CAF_CHECK_EQUAL(r.headers["access-control-allow-origin"], portal);
    for (int i = 0; i < 500; ++i) {
      if (query_int(url, "SELECT count(*) FROM jobs WHERE id = 'cors-1' AND status = 'completed'"))
        break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    auto id = query_int(url, "SELECT min(id) FROM executions WHERE job_id = 'cors-1'");
    return {"cors-1", std::to_string(id)};
  }
};

void check_allowed(http_reply& r, const std::string& origin) {
  CAF_CHECK_EQUAL(r.headers["access-control-allow-origin"], origin);
  CAF_CHECK_EQUAL(r.headers["vary"], "Origin");
  CAF_CHECK_NOT_EQUAL(r.headers["access-control-expose-headers"].find("Retry-After"),
                      std::string::npos);
}

}  // namespace

CAF_TEST(the allow list takes exact origins wildcards and star) {
  auto p = http::parse_cors_origins(http::default_cors_origins);
  CAF_CHECK(http::origin_allowed(p, "http://localhost:3000", ""));
  CAF_CHECK(http::origin_allowed(p, "http://127.0.0.1:5173", ""));
  CAF_CHECK(http::origin_allowed(p, "https://beacon-portal.netlify.app", ""));
  CAF_CHECK(http::origin_allowed(p, "https://a.b.netlify.app", ""));
  CAF_CHECK(!http::origin_allowed(p, "https://netlify.app", ""));
  CAF_CHECK(!http::origin_allowed(p, "http://beacon.netlify.app", ""));  // another scheme
  CAF_CHECK(!http::origin_allowed(p, "https://x.netlify.app.evil.com", ""));
  CAF_CHECK(!http::origin_allowed(p, "https://evilnetlify.app", ""));
  CAF_CHECK(!http::origin_allowed(p, "http://localhost:3001", ""));
  CAF_CHECK(!http::origin_allowed(p, "null", ""));
  CAF_CHECK(!http::origin_allowed(p, "", ""));
  // The node's own origin, from the request's Host.
  CAF_CHECK(http::origin_allowed(p, "http://127.0.0.1:8787", "127.0.0.1:8787"));
  CAF_CHECK(!http::origin_allowed(p, "http://127.0.0.1:8787", "127.0.0.1:8788"));
  auto any = http::parse_cors_origins("*");
  CAF_CHECK(http::origin_allowed(any, "https://anything.example", ""));
  auto none = http::parse_cors_origins("");
  CAF_CHECK(!http::origin_allowed(none, "http://localhost:3000", ""));
  BEACON_CHECK_THROWS(http::parse_cors_origins("localhost:3000"), std::invalid_argument);
  BEACON_CHECK_THROWS(http::parse_cors_origins("http://a.example/path"), std::invalid_argument);
  BEACON_CHECK_THROWS(http::parse_cors_origins("https://*"), std::invalid_argument);
  BEACON_CHECK_THROWS(http::parse_cors_origins("https://a.*.example"), std::invalid_argument);
}

CAF_TEST_FIXTURE_SCOPE(cors_tests, fixture)

CAF_TEST(every route answers a preflight without token or rate limit) {
  start_with(20);  // fewer requests per minute than routes: preflights must not count
  auto [job, execution] = finished_job();
  size_t preflights = 0;
  for (auto& route : http::route_table()) {
    auto target = concrete(route.pattern, job, execution);
    auto r = call("OPTIONS", target, portal,
                  {{"Access-Control-Request-Method", route.method},
                   {"Access-Control-Request-Headers", "content-type,idempotency-key"}});
    ++preflights;
    CAF_CHECK_EQUAL(r.status, 204u);
    if (r.status != 204u) CAF_MESSAGE("OPTIONS " << target << ": " << r.status << " " << r.body);
    check_allowed(r, portal);
    auto methods = r.headers["access-control-allow-methods"];
    CAF_CHECK_NOT_EQUAL(methods.find(route.method), std::string::npos);
    auto allowed = r.headers["access-control-allow-headers"];
    for (auto h : {"Content-Type", "Authorization", "Idempotency-Key", "Last-Event-ID"})
      CAF_CHECK_NOT_EQUAL(allowed.find(h), std::string::npos);
    CAF_CHECK_EQUAL(r.headers["access-control-max-age"], "86400");
    CAF_CHECK(r.body.empty());
    // An origin that is not allowed gets the answer, without any CORS header.
    auto other = call("OPTIONS", target, "http://evil.example",
                      {{"Access-Control-Request-Method", route.method}});
    CAF_CHECK_EQUAL(other.status, 204u);
    CAF_CHECK_EQUAL(other.headers.count("access-control-allow-origin"), 0u);
    CAF_CHECK_EQUAL(other.headers.count("access-control-allow-methods"), 0u);
    CAF_CHECK_EQUAL(other.headers["vary"], "Origin");
    ++preflights;
  }
  CAF_CHECK(preflights > 40u);
  // A path no route has: a JSON 404, readable by the allowed origin.
  auto missing = call("OPTIONS", "/api/v1/nothing", portal);
  CAF_CHECK_EQUAL(missing.status, 404u);
  check_allowed(missing, portal);
}

CAF_TEST(every actual answer carries the origin) {
  start_with(1200);
  auto [job, execution] = finished_job();
  auto ok = call("GET", "/api/v1/jobs/" + job + "?include=executions", portal,
                 {{"Content-Type", "application/json; charset=utf-8"}});
  CAF_CHECK_EQUAL(ok.status, 200u);
  check_allowed(ok, portal);
  auto netlify = call("GET", "/api/v1/jobs?limit=50", "https://beacon.netlify.app");
  CAF_CHECK_EQUAL(netlify.headers["access-control-allow-origin"], "https://beacon.netlify.app");
  auto not_found = call("GET", "/api/v1/jobs/nope", portal);
  CAF_CHECK_EQUAL(not_found.status, 404u);
  check_allowed(not_found, portal);
  auto no_token = call("POST", "/api/v1/jobs/" + job + "/cancel", portal, {}, "{}");
  CAF_CHECK_EQUAL(no_token.status, 401u);
  check_allowed(no_token, portal);
  CAF_CHECK_EQUAL(no_token.headers["www-authenticate"], "Bearer");
  auto too_big = call("POST", "/api/v1/jobs", portal, {{"Authorization", "Bearer " + token}},
                      std::string(8192, ' '));
  CAF_CHECK_EQUAL(too_big.status, 413u);
  check_allowed(too_big, portal);
  auto download = call("GET", "/api/v1/jobs/" + job + "/export?format=csv", portal);
  CAF_CHECK_EQUAL(download.status, 200u);
  check_allowed(download, portal);
  auto stream = sse_read(
      port, "/api/v1/jobs/" + job + "/events", "",
      [](const std::vector<sse_event>& e) { return !e.empty(); }, std::chrono::seconds(5),
      "Origin: " + portal + "\r\n");
  CAF_CHECK_NOT_EQUAL(stream.head.find("Access-Control-Allow-Origin: " + portal),
                      std::string::npos);
  CAF_CHECK_NOT_EQUAL(stream.head.find("Vary: Origin"), std::string::npos);
  CAF_CHECK(!stream.events.empty());
  // Not allowed: the same answers, with no CORS header (the browser withholds them).
  auto other = call("GET", "/api/v1/jobs/" + job, "http://evil.example");
  CAF_CHECK_EQUAL(other.status, 200u);
  CAF_CHECK_EQUAL(other.headers.count("access-control-allow-origin"), 0u);
  auto other_stream = sse_read(
      port, "/api/v1/jobs/" + job + "/events", "",
      [](const std::vector<sse_event>& e) { return !e.empty(); }, std::chrono::seconds(5),
      "Origin: http://evil.example\r\n");
  CAF_CHECK_EQUAL(other_stream.head.find("Access-Control-Allow-Origin"), std::string::npos);
}

CAF_TEST(a rate limited answer is readable by the browser) {
  start_with(3);
  http_reply r;
  for (int i = 0; i < 10 && r.status != 429u; ++i) r = call("GET", "/api/v1/jobs", portal);
  CAF_REQUIRE_EQUAL(r.status, 429u);
  check_allowed(r, portal);
  CAF_CHECK(!r.headers["retry-after"].empty());
  // Preflights still pass while the client is limited.
  auto pre = call("OPTIONS", "/api/v1/jobs", portal, {{"Access-Control-Request-Method", "GET"}});
  CAF_CHECK_EQUAL(pre.status, 204u);
}

CAF_TEST_FIXTURE_SCOPE_END()
