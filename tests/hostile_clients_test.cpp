// Hostile clients against a real node process on loopback: downloads nobody reads (more than
// the workers), 1,000 slowloris connections, and the file descriptor limit reached. In each case
// a 10-cell job submitted meanwhile completes, and /health/live keeps answering (its p99 is
// printed and bounded); node RSS stays under a stated bound.
#define CAF_SUITE hostile_clients
#include <unistd.h>

#include <cstdio>

#include "caf/test/dsl.hpp"
#include "tests/hostile.hpp"
#include "tests/node_process.hpp"
#include "tests/raw_socket.hpp"

using namespace beacon;
using namespace beacon::test;
using namespace std::chrono_literals;

namespace {

void report(const char* name, health_probe& probe, int64_t rss_before_kb, int64_t rss_peak_kb) {
  std::printf("%s: /health/live p50 %.1f ms p99 %.1f ms over %zu probes; RSS %lld -> %lld kB\n",
              name, probe.quantile(0.5), probe.quantile(0.99), probe.probes(),
              static_cast<long long>(rss_before_kb), static_cast<long long>(rss_peak_kb));
}

void close_all(std::vector<int>& fds) {
  for (int fd : fds)
    if (fd >= 0) ::close(fd);
  fds.clear();
}

}  // namespace

CAF_TEST(downloads nobody reads hold no worker) {
  auto url = fresh_database();
  node_process node{"hostile-exports", url, {"--http-workers", "2", "--sim-latency-ms", "0"}};
  auto port = node.port();
  // 3,024 cells: each export is about 9 MB, more than the sockets hold.
  auto big = job_json("big-export", builtin_question_ids(8),
                      {"llama3.2-1b", "mistral-7b", "qwen2.5-1.5b"}, {"US", "EU", "ASIA"}, 42);
  CAF_REQUIRE_EQUAL(http_call(port, "POST", "/api/v1/jobs", big).status, 202u);
  CAF_REQUIRE_EQUAL(wait_ended(port, "big-export", 120s), "completed");
  auto rss_before = node.rss_kb();
  health_probe probe{port};
  std::vector<int> readers;  // three times the workers, never reading
  for (int i = 0; i < 6; ++i) {
    readers.push_back(connect_raw(port, 4096));
    auto target = i % 3 == 2 ? "/api/v1/jobs/big-export/executions/all"
                             : "/api/v1/jobs/big-export/export?format=jsonl";
    CAF_REQUIRE(send_all(readers.back(), get_request(target)));
  }
  std::this_thread::sleep_for(1s);
  CAF_CHECK_EQUAL(http_call(port, "GET", "/api/v1/jobs").status, 200u);
  CAF_REQUIRE_EQUAL(http_call(port, "POST", "/api/v1/jobs", small_job("small-1")).status, 202u);
  CAF_CHECK_EQUAL(wait_ended(port, "small-1", 30s), "completed");
  std::this_thread::sleep_for(1s);
  auto rss_peak = node.rss_kb();
  probe.finish();
  report("unread exports", probe, rss_before, rss_peak);
  CAF_CHECK_LESS(probe.quantile(0.99), 100.0);
  CAF_CHECK_LESS(rss_peak - rss_before, 200 * 1024);  // six stalled downloads: under 200 MB
  close_all(readers);
}

CAF_TEST(a thousand slowloris connections starve nobody) {
  auto url = fresh_database();
  node_process node{"hostile-slowloris", url, {"--sim-latency-ms", "1"}};
  auto port = node.port();
  auto rss_before = node.rss_kb();
  std::vector<int> slow;
  for (int i = 0; i < 1000; ++i) {
    slow.push_back(connect_raw(port));
    CAF_REQUIRE(slow.back() >= 0);
    send_all(slow.back(), "GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n");
  }
  health_probe probe{port};
  CAF_REQUIRE_EQUAL(http_call(port, "POST", "/api/v1/jobs", small_job("small-2")).status, 202u);
  for (int round = 0; round < 6; ++round) {  // a header line per connection every 500 ms
    for (int fd : slow) send_all(fd, "X-Slow: " + std::to_string(round) + "\r\n");
    std::this_thread::sleep_for(500ms);
  }
  CAF_CHECK_EQUAL(wait_ended(port, "small-2", 30s), "completed");
  auto rss_peak = node.rss_kb();
  probe.finish();
  report("1000 slowloris", probe, rss_before, rss_peak);
  CAF_CHECK_LESS(probe.quantile(0.99), 100.0);
  CAF_CHECK_LESS(rss_peak - rss_before, 200 * 1024);
  close_all(slow);
}

CAF_TEST(the file descriptor limit reached backs off instead of spinning) {
  auto url = fresh_database();
  // 256 descriptors: the node caps itself at 128 connections, the flood takes the rest.
  node_process node{"hostile-fds", url, {"--sim-latency-ms", "1"}, 256};
  auto port = node.port();
  std::vector<int> flood;
  for (int i = 0; i < 600; ++i) flood.push_back(connect_raw(port));
  std::this_thread::sleep_for(500ms);
  auto cpu0 = node.cpu_seconds();
  std::this_thread::sleep_for(2s);
  auto cpu = node.cpu_seconds() - cpu0;
  std::printf("fd limit: %.2f s of CPU in 2 s of flood\n", cpu);
  CAF_CHECK_LESS(cpu, 0.5);  // it spun at 94% of a core before
  auto log = node.log();
  CAF_CHECK(log.find("http_connections_capped") != std::string::npos);
  CAF_CHECK(log.find("\"max_connections_lowered\"") != std::string::npos);
  CAF_CHECK(log.find("\"http_accept_backoff\"") != std::string::npos);
  close_all(flood);
  // Once the flood is gone, everything is served again, at once.
  health_probe probe{port};
  CAF_REQUIRE_EQUAL(http_call(port, "POST", "/api/v1/jobs", small_job("small-3")).status, 202u);
  CAF_CHECK_EQUAL(wait_ended(port, "small-3", 30s), "completed");
  probe.finish();
  report("after the fd flood", probe, 0, node.rss_kb());
  CAF_CHECK_LESS(probe.quantile(0.99), 100.0);
}
