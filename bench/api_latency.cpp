// beacon-bench-api: latency of the live interfaces on a real node (release build, durable
// embedded PostgreSQL, REST on loopback):
//  1. event stream: for every cell of a job, the time from the cell's completed_at (stamped by
//     the execution before the outcome is written, so this bounds commit -> subscriber from
//     above) to the arrival of its `cell` event at a subscriber over HTTP;
//  2. REST under load: GET /api/v1/jobs/{id}/progress and a 50-row executions page of a
//     1,000,000-cell job while that job and a second one run; p50 / p99 / max.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <map>
#include <pqxx/pqxx>
#include <thread>

#include "app/node.hpp"
#include "bench/bench_support.hpp"
#include "common/clock.hpp"
#include "common/logging.hpp"
#include "http/sse.hpp"
#include "storage/job_store.hpp"

using namespace beacon;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using clock_type = std::chrono::steady_clock;

namespace {

// The first `questions` of the 8 original questions (then q09, q10, ...), models m01.., regions
// R01.. (as the sim deployments are named).
std::string spec(const std::string& id, int questions, int models, int regions, int runs) {
  std::vector<std::string> qs = {"math_basic",         "geography_basic", "identity_basic",
                                 "tiananmen_neutral",  "taiwan_status",   "hongkong_2019",
                                 "greatest_invention", "greatest_leader"};
  auto extra = bench::names("q", questions);
  qs.resize(static_cast<size_t>(questions));
  for (size_t i = 8; i < qs.size(); ++i) qs[i] = extra[i];
  return bench::spec_json(id, qs, bench::names("m", models), bench::names("R", regions), runs);
}

struct stats {
  double p50 = 0, p99 = 0, max = 0;
  size_t n = 0;
};

stats summarize(std::vector<double> v) {
  stats s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  s.n = v.size();
  s.p50 = v[v.size() / 2];
  s.p99 = v[std::min(v.size() - 1, v.size() * 99 / 100)];
  s.max = v.back();
  return s;
}

std::string stored_job_status(node& n, const std::string& id) {
  auto conn = n.pool().acquire();
  pqxx::nontransaction tx{*conn};
  auto r = tx.exec_params("SELECT status FROM jobs WHERE id = $1", id);
  return r.empty() ? "" : r[0][0].as<std::string>();
}

bool terminal(const std::string& s) {
  return s == "completed" || s == "failed" || s == "cancelled";
}

// The page's statement (the job and its 50 newest cells) on a pooled connection, timed, in a
// read-only transaction (BEGIN and COMMIT: two round trips more than the node's page).
double page_sql(node& n, const std::string& id) {
  auto t0 = clock_type::now();
  auto conn = n.pool().acquire();
  pqxx::read_transaction tx{*conn};
  storage::find_job(tx, id, storage::cells_page{50, 0, false});
  tx.commit();
  return std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
}

// Phase 1: cell event latency.
stats event_latency(node& n, uint16_t port, const std::string& id, const std::string& body) {
  asio::io_context io;
  asio::ip::tcp::socket sock{io};
  if (n.submit(body).status != 202) throw std::runtime_error("job refused");
  sock.connect({asio::ip::make_address("127.0.0.1"), port});
  asio::write(sock,
              asio::buffer("GET /api/v1/jobs/" + id +
                           "/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n"));
  std::map<int64_t, int64_t> arrived;  // cell id -> arrival (us, wall clock)
  http::sse_parser parser;
  char chunk[65536];
  bool done = false;
  while (!done) {
    auto got = sock.read_some(asio::buffer(chunk));
    auto at = now_us();
    for (auto& e : parser.feed({chunk, got})) {
      if (e.type != "cell" && e.type != "job") continue;  // the HTTP head has no event fields
      auto d = boost::json::parse(e.data).as_object();
      if (e.type == "cell" && d["status"].as_string() != "running")
        arrived[d["cell_id"].as_int64()] = at;
      if (e.type == "job" && terminal(std::string(d["status"].as_string()))) done = true;
    }
  }
  std::vector<double> ms;
  auto conn = n.pool().acquire();
  pqxx::nontransaction tx{*conn};
  for (auto row :
       tx.exec_params("SELECT id, (extract(epoch FROM completed_at) * 1e6)::bigint FROM executions"
                      " WHERE job_id = $1",
                      id)) {
    auto it = arrived.find(row[0].as<int64_t>());
    if (it != arrived.end()) ms.push_back((it->second - row[1].as<int64_t>()) / 1000.0);
  }
  return summarize(ms);
}

// Phase 2: one keep-alive connection, GETs timed end to end.
struct rest_client {
  asio::io_context io;
  beast::tcp_stream stream{io};
  beast::flat_buffer buf;
  explicit rest_client(uint16_t port) {
    stream.connect(asio::ip::tcp::endpoint{asio::ip::make_address("127.0.0.1"), port});
  }
  double get_ms(const std::string& target) {
    auto t0 = clock_type::now();
    bhttp::request<bhttp::empty_body> req{bhttp::verb::get, target, 11};
    req.set(bhttp::field::host, "x");
    bhttp::write(stream, req);
    bhttp::response<bhttp::string_body> res;
    bhttp::read(stream, buf, res);
    if (res.result_int() != 200) throw std::runtime_error(target + ": " + res.body());
    return std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
  }
};

void print(const char* what, const stats& s) {
  std::printf("  %-44s n=%-6zu p50 %7.2f ms  p99 %7.2f ms  max %7.2f ms\n", what, s.n, s.p50, s.p99,
              s.max);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"beacon-bench-api: event stream and REST latency on a real node"};
  int runs_big = 1000, stream_runs = 10;
  double stream_latency = 20;
  std::string state_dir = "bench/out/api-state";
  app.add_option("--big-runs", runs_big, "runs of the 10x10x10 job (1000: 1,000,000 cells)")
      ->capture_default_str();
  app.add_option("--stream-runs", stream_runs, "runs of the 4x10x5 event stream job")
      ->capture_default_str();
  app.add_option("--sim-latency-ms", stream_latency, "sim latency during the event stream phase")
      ->capture_default_str();
  app.add_option("--state-dir", state_dir, "state directory of the embedded PostgreSQL")
      ->capture_default_str();
  int64_t batch_max = node_config{}.persistence_batch_max;
  app.add_option("--persistence-batch-max", batch_max, "largest number of cell writes per commit")
      ->capture_default_str();
  int niceness = node_config{}.background_niceness;
  app.add_option("--background-niceness", niceness,
                 "niceness of the actor threads and the persistence backend (0: off)")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  logging::init(logging::format::human, spdlog::level::warn);
  node_config cfg;
  cfg.state_dir = state_dir;
  cfg.http_port = 0;
  cfg.sim_regions = bench::join(bench::names("R", 10));
  cfg.sim_models = bench::join(bench::names("m", 10));
  cfg.sim_latency_ms = stream_latency;
  cfg.sim_max_concurrency = 100'000;
  cfg.max_cells_per_job = 10'000'000;
  cfg.max_in_flight_per_job = 4096;
  cfg.log_level = "warn";
  cfg.background_niceness = niceness;
  cfg.persistence_batch_max = batch_max;
  cfg.rate_limit_per_minute = 0;  // one client asking as fast as it can
  try {
    node n{cfg};
    n.start(true);
    auto port = n.http_port();
    auto stamp = std::to_string(now_us());
    std::printf("beacon-bench-api: %u cores, %s malloc, REST on 127.0.0.1:%u\n",
                std::thread::hardware_concurrency(), BEACON_ALLOCATOR, port);
    auto sid = "stream-" + stamp;
    auto s = event_latency(n, port, sid, spec(sid, 4, 10, 5, stream_runs));
    std::printf("event stream (%d cells, sim latency %.0f ms):\n", 4 * 10 * 5 * stream_runs,
                stream_latency);
    print("completed_at -> cell event at the subscriber", s);

    // Phase 2: a 1M-cell job and a second job running; the sim answers at once.
    auto a = "big-" + stamp, b = "other-" + stamp;
    auto t0 = clock_type::now();
    if (n.submit(spec(a, 10, 10, 10, runs_big)).status != 202) throw std::runtime_error("refused");
    std::printf("admitted %d cells in %.1f s\n", 1000 * runs_big,
                std::chrono::duration<double>(clock_type::now() - t0).count());
    if (n.submit(spec(b, 8, 10, 10, runs_big / 4)).status != 202)
      throw std::runtime_error("refused");
    rest_client c{port};
    std::vector<double> progress_ms, page_ms, page_sql_ms;
    while (!terminal(stored_job_status(n, a)) && progress_ms.size() < 5000) {
      progress_ms.push_back(c.get_ms("/api/v1/jobs/" + a + "/progress"));
      page_ms.push_back(c.get_ms("/api/v1/jobs/" + a + "?include=executions&exec_limit=50"));
      page_sql_ms.push_back(page_sql(n, a));
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    std::printf("REST while the %d-cell job and another run (one keep-alive client):\n",
                1000 * runs_big);
    print("GET /api/v1/jobs/{id}/progress", summarize(progress_ms));
    print("GET /api/v1/jobs/{id}?include=executions&exec_limit=50", summarize(page_ms));
    print("  the same page's SQL, from this process", summarize(page_sql_ms));
    n.stop();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "beacon-bench-api: %s\n", e.what());
    return 1;
  }
  return 0;
}
