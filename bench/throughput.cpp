// beacon-bench: end-to-end throughput of one large job on the sim provider (zero latency, or a
// fixed --latency-ms; in process, or over loopback HTTP with --http: to nginx answering a fixed
// completion, or with --http-server sim to the sim's own HTTP server) and persistence on (a durable
// embedded PostgreSQL, or --database-url), against a baseline measured in the same run: the same
// cell writes done the naive way (one autocommit UPDATE per claim and per outcome, no actors, no
// batching). Prints cells/s, CPU ms per cell, peak RSS and the node's own time per cell (p50, p99
// of the runtime's histogram: dispatch to committed outcome, minus provider calls); with a
// latency, also the ideal (concurrency / latency) and the fraction of it reached.
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <pqxx/pqxx>
#include <sstream>
#include <thread>

#include "app/node.hpp"
#include "bench/bench_support.hpp"
#include "bench/fixed_reply_server.hpp"
#include "common/logging.hpp"
#include "http/sim_http.hpp"
#include "storage/embedded_postgres.hpp"
#include "storage/migrations.hpp"

using namespace beacon;
using clock_type = std::chrono::steady_clock;
using bench::join;
using bench::machine_cpu_seconds;
using bench::names;
using bench::process_cpu_seconds;
using bench::spec_json;

namespace {

struct sample {
  double seconds = 0;
  double cells_per_s = 0;
  double node_cpu_ms_per_cell = 0;   // this process (actors, libpq, JSON)
  double total_cpu_ms_per_cell = 0;  // the whole machine, PostgreSQL included
  // The node's own time per cell (dispatch to committed outcome, minus provider calls and
  // waits), from the runtime's histogram: quantiles of the job's cells (-1: not kept).
  double own_p50_ms = -1, own_p99_ms = -1;
};

long peak_rss_mib() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024;
}

sample run_job(node& n, const std::string& id, const std::string& spec, int64_t cells) {
  auto admitted = n.submit(spec);
  if (admitted.status != 202) throw std::runtime_error("refused: " + admitted.body);
  auto cpu0 = process_cpu_seconds();
  auto mcpu0 = machine_cpu_seconds();
  auto own0 = n.actors().cell_overhead->snapshot();
  auto t0 = clock_type::now();
  std::string st;
  auto last_print = t0;
  while (true) {
    auto p = n.published_progress(id);
    st = p ? word(p->status) : std::string();
    if (st == "completed" || st == "failed" || st == "cancelled") break;
    if (p && clock_type::now() - last_print > std::chrono::seconds(2)) {
      int64_t done = 0;
      for (auto& q : p->questions) done += q.total() - q.counts[0] - q.counts[1];
      std::fprintf(stderr, "  ... %lld / %lld cells\n", static_cast<long long>(done),
                   static_cast<long long>(cells));
      last_print = clock_type::now();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  sample s;
  s.seconds = std::chrono::duration<double>(clock_type::now() - t0).count();
  s.cells_per_s = cells / s.seconds;
  s.node_cpu_ms_per_cell = (process_cpu_seconds() - cpu0) * 1000 / cells;
  s.total_cpu_ms_per_cell = (machine_cpu_seconds() - mcpu0) * 1000 / cells;
  auto own = n.actors().cell_overhead->snapshot().since(own0);
  s.own_p50_ms = own.quantile(0.5);
  s.own_p99_ms = own.quantile(0.99);
  auto conn = n.pool().acquire();
  pqxx::nontransaction tx{*conn};
  auto done =
      tx.exec_params1("SELECT count(*) FROM executions WHERE job_id = $1 AND status = 'completed'",
                      id)[0]
          .as<int64_t>();
  if (st != "completed" || done != cells)
    throw std::runtime_error("job " + id + " ended " + st + " with " + std::to_string(done) +
                             " completed cells");
  return s;
}

// The naive baseline: every claim and every outcome its own autocommit UPDATE.
sample run_baseline(node& n, const std::string& id, const std::string& spec, int64_t cells) {
  pqxx::connection conn{n.pool().url()};  // it writes: not the read-only pool
  admission_settings settings;
  settings.limits.max_cells = cells;
  settings.limits.max_runs = static_cast<int32_t>(cells);
  if (admit(conn, spec, settings).status != 202)
    throw std::runtime_error("baseline admission failed");
  pqxx::nontransaction tx{conn};
  std::vector<int64_t> ids;
  for (auto row : tx.exec_params("SELECT id FROM executions WHERE job_id = $1 ORDER BY id", id))
    ids.push_back(row[0].as<int64_t>());
  auto cpu0 = process_cpu_seconds();
  auto mcpu0 = machine_cpu_seconds();
  auto t0 = clock_type::now();
  for (auto cell : ids) {
    tx.exec_params(
        "UPDATE executions SET status = 'running', started_at = now() WHERE id = $1 AND status IN "
        "('pending', 'running')",
        cell);
    tx.exec_params(
        "UPDATE executions SET status = 'completed', completed_at = now(), provider_id = 'sim', "
        "output_data = $2::jsonb, attempts = 1 WHERE id = $1 AND status IN ('pending', 'running')",
        cell, R"({"response":"2 + 2 = 4.","provider":"sim"})");
  }
  sample s;
  s.seconds = std::chrono::duration<double>(clock_type::now() - t0).count();
  s.cells_per_s = ids.size() / s.seconds;
  s.node_cpu_ms_per_cell = (process_cpu_seconds() - cpu0) * 1000 / ids.size();
  s.total_cpu_ms_per_cell = (machine_cpu_seconds() - mcpu0) * 1000 / ids.size();
  return s;
}

sample median(std::vector<sample> v) {
  std::sort(v.begin(), v.end(), [](auto& a, auto& b) { return a.cells_per_s < b.cells_per_s; });
  return v[v.size() / 2];
}

void print(const char* what, const std::vector<sample>& runs) {
  for (auto& s : runs) {
    std::printf("  %-10s %8.2f s  %9.0f cells/s  node CPU %.4f ms/cell  machine CPU %.4f ms/cell",
                what, s.seconds, s.cells_per_s, s.node_cpu_ms_per_cell, s.total_cpu_ms_per_cell);
    if (s.own_p50_ms >= 0)
      std::printf("  own time per cell p50 %.2f ms p99 %.2f ms", s.own_p50_ms, s.own_p99_ms);
    std::printf("\n");
  }
}

// The median of one field over the runs.
double median_of(const std::vector<sample>& runs, double sample::*field) {
  std::vector<double> v;
  for (auto& s : runs) v.push_back(s.*field);
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// A job shape of the matrix: its matrix and how many questions run at once.
struct shape {
  const char* name;
  int questions, models, regions, runs, pipeline, in_flight;
};

const std::vector<shape>& shapes() {
  static const std::vector<shape> all = {
      {"big", 20, 10, 10, 50, 1, 4096},      // the README's: 5,000 cells per question
      {"many", 5000, 3, 1, 1, 512, 1024},    // many small questions, one region
      {"beacon", 1000, 3, 3, 1, 512, 1024},  // a Beacon study: 9 cells per question
      {"demo", 8, 3, 3, 1, 1, 64},           // the portal's default job
  };
  return all;
}

std::string quoted(const std::string& arg) {
  std::string out = "'";
  for (char c : arg) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// Runs each shape in a process of its own (so its peak RSS is its own) and prints one table.
int run_matrix(const std::string& self, const std::vector<std::string>& wanted,
               const std::vector<std::string>& passed_on) {
  struct row {
    const shape* s;
    boost::json::object result;
  };
  std::vector<row> rows;
  for (auto& name : wanted) {
    auto it = std::find_if(shapes().begin(), shapes().end(),
                           [&](const shape& s) { return name == s.name; });
    if (it == shapes().end()) {
      std::fprintf(stderr, "beacon-bench: no shape %s (big, many, beacon, demo)\n", name.c_str());
      return 2;
    }
    std::string cmd = quoted(self);
    for (auto& [flag, value] :
         std::vector<std::pair<const char*, int>>{{"--questions", it->questions},
                                                  {"--models", it->models},
                                                  {"--regions", it->regions},
                                                  {"--runs", it->runs},
                                                  {"--pipeline", it->pipeline},
                                                  {"--in-flight", it->in_flight}})
      cmd += std::string(" ") + flag + " " + std::to_string(value);
    for (auto& a : passed_on) cmd += " " + quoted(a);
    cmd += " --result-line";
    std::fprintf(stderr, "== shape %s: %s\n", it->name, cmd.c_str());
    auto* pipe = popen(cmd.c_str(), "r");
    if (!pipe) return 1;
    char line[4096];
    boost::json::object result;
    while (std::fgets(line, sizeof line, pipe)) {
      std::string text(line);
      if (text.rfind("RESULT ", 0) == 0)
        result = boost::json::parse(text.substr(7)).as_object();
      else
        std::fputs(line, stdout);
    }
    if (pclose(pipe) != 0 || result.empty()) {
      std::fprintf(stderr, "beacon-bench: shape %s failed\n", it->name);
      return 1;
    }
    rows.push_back({&*it, std::move(result)});
  }
  std::printf(
      "\n| shape (questions x models x regions x runs) | cells/s | x baseline | node CPU / cell "
      "| peak RSS | own time per cell p50 / p99 |\n| --- | ---: | ---: | ---: | ---: | ---: |\n");
  for (auto& r : rows) {
    auto num = [&](const char* k) { return r.result.at(k).to_number<double>(); };
    char ratio[32] = "-";
    if (num("baseline_cells_per_s") > 0)
      std::snprintf(ratio, sizeof ratio, "%.1fx", num("cells_per_s") / num("baseline_cells_per_s"));
    std::printf("| %s %d x %d x %d x %d | %.0f | %s | %.3f ms | %.0f MiB | %.1f / %.1f ms |\n",
                r.s->name, r.s->questions, r.s->models, r.s->regions, r.s->runs, num("cells_per_s"),
                ratio, num("node_cpu_ms_per_cell"), num("peak_rss_mib"), num("own_p50_ms"),
                num("own_p99_ms"));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"beacon-bench: throughput of a large job on sim (zero latency, persistence on)"};
  int questions = 20, models = 10, regions = 10, runs = 50, repeat = 3, in_flight = 4096,
      pipeline = 1, baseline_cells = 4000, threads = 0, leases = 1;
  std::string database_url, state_dir = "bench/out/state", policy = "sharing";
  bool over_http = false;
  std::string http_server = "nginx";
  int http_concurrency = 16;
  double latency_ms = 0;
  app.add_option("--questions", questions, "questions per job")->capture_default_str();
  app.add_option("--models", models, "models per region")->capture_default_str();
  app.add_option("--regions", regions, "regions (one sim deployment each)")->capture_default_str();
  app.add_option("--runs", runs, "runs per cell")->capture_default_str();
  app.add_option("--repeat", repeat, "jobs to run; the median is reported")->capture_default_str();
  app.add_option("--in-flight", in_flight, "max cells in flight per job")->capture_default_str();
  app.add_option("--pipeline", pipeline, "questions run at once")->capture_default_str();
  app.add_option("--threads", threads, "actor scheduler threads (0: one per core)")
      ->capture_default_str();
  app.add_option("--scheduler-policy", policy, "stealing or sharing")->capture_default_str();
  app.add_flag(
      "--http", over_http,
      "call the providers over loopback HTTP (one provider per region; see --http-server)");
  app.add_option("--http-server", http_server,
                 "with --http: nginx (a fixed OpenAI completion, so only the transport is "
                 "measured) or sim (the sim's HTTP server, Beacon router protocol)")
      ->check(CLI::IsMember({"nginx", "sim"}))
      ->capture_default_str();
  app.add_option("--http-concurrency", http_concurrency,
                 "max_concurrency of each provider (HTTP, or the in-process sim)")
      ->capture_default_str();
  app.add_option("--latency-ms", latency_ms,
                 "fixed answer latency of the sim (0: instant); the ideal throughput is "
                 "concurrency / latency")
      ->capture_default_str();
  app.add_option("--baseline-cells", baseline_cells, "cells of the naive baseline (0 skips it)")
      ->capture_default_str();
  int answer_with_claim = 1;
  app.add_option("--answer-with-claim", answer_with_claim,
                 "an answer that comes before its claim commits is stored with it (1) or waits "
                 "for the claim (0)")
      ->capture_default_str();
  int receipts = 1;
  app.add_option("--receipts", receipts,
                 "each answer's receipt made and appended to the node's transparency log (1), or "
                 "no receipts (0)")
      ->capture_default_str();
  app.add_option("--leases", leases, "job leases and fenced writes (1) or none (0)")
      ->capture_default_str();
  int niceness = node_config{}.background_niceness;
  app.add_option("--background-niceness", niceness,
                 "niceness of the actor threads and the persistence backend (0: off)")
      ->capture_default_str();
  app.add_option("--database-url", database_url, "use this PostgreSQL instead of the embedded one");
  app.add_option("--state-dir", state_dir, "state directory of the embedded PostgreSQL")
      ->capture_default_str();
  std::string shape_list;
  bool result_line = false;
  app.add_option("--shape", shape_list,
                 "measure these job shapes, each in a process of its own, and print one table: "
                 "big (20x10x10x50), many (5000x3x1x1, pipeline 512, in-flight 1024), beacon "
                 "(1000x3x3x1, same), demo (8x3x3x1); a comma-separated list, or all");
  app.add_flag("--result-line", result_line, "end with one JSON line of the results (RESULT ...)");
  CLI11_PARSE(app, argc, argv);
  if (!shape_list.empty()) {
    std::vector<std::string> wanted, passed_on;
    for (auto& s : shapes())
      if (shape_list == "all") wanted.push_back(s.name);
    if (shape_list != "all") {
      std::stringstream list(shape_list);
      for (std::string item; std::getline(list, item, ',');) wanted.push_back(item);
    }
    // Everything else given is passed on to every shape's run.
    for (int i = 1; i < argc; ++i) {
      std::string a = argv[i];
      if (a == "--shape") {
        ++i;
        continue;
      }
      if (a.rfind("--shape=", 0) == 0) continue;
      passed_on.push_back(a);
    }
    return run_matrix(std::filesystem::read_symlink("/proc/self/exe").string(), wanted, passed_on);
  }
  logging::init(logging::format::human, spdlog::level::warn);
  if (std::getenv("BEACON_BENCH_INFO")) logging::init(logging::format::human, spdlog::level::info);

  node_config cfg;
  cfg.database_url = database_url;
  cfg.state_dir = state_dir;
  cfg.sim_latency_ms = latency_ms;
  cfg.sim_latency_sigma = 0;
  cfg.sim_max_concurrency = http_concurrency;
  cfg.sim_regions = join(names("R", regions));
  cfg.sim_models = join(names("m", models));
  cfg.max_in_flight_per_job = in_flight;
  cfg.pipeline_questions = pipeline;
  cfg.threads = threads;
  cfg.scheduler_policy = policy;
  cfg.max_cells_per_job = 100'000'000;
  cfg.log_level = "warn";
  cfg.leases = leases;
  cfg.background_niceness = niceness;
  const int64_t cells = static_cast<int64_t>(questions) * models * regions * runs;
  // With --http the node reaches its providers through the libcurl transport, one provider per
  // region: nginx answering a fixed OpenAI completion (the transport alone), or the sim's HTTP
  // server in this process (Beacon router protocol, the sim's answers and latency).
  std::unique_ptr<http::server> sim_server;
  std::unique_ptr<bench::fixed_reply_server> fixed_server;
  if (over_http) {
    uint16_t port = 0;
    const char* kind = "openai";
    if (http_server == "nginx") {
      if (latency_ms > 0) {
        std::fprintf(stderr,
                     "beacon-bench: nginx answers at once; --latency-ms needs --http-server sim\n");
        return 2;
      }
      fixed_server = std::make_unique<bench::fixed_reply_server>("bench/out/nginx");
      port = fixed_server->port();
    } else {
      providers::sim_http_options sim;
      sim.sim.latency_ms = latency_ms;
      sim.sim.latency_sigma = 0;
      sim.sim.max_concurrency = 1 << 20;  // the provider's max_concurrency is the limit under test
      sim_server = providers::start_sim_http(sim, "127.0.0.1", 0, port);
      kind = "beacon_router";
    }
    boost::json::array list;
    boost::json::array model_list;
    for (auto& m : names("m", models)) model_list.push_back(boost::json::value(m));
    for (auto& r : names("R", regions))
      list.push_back(boost::json::object{{"name", http_server + "-" + r},
                                         {"kind", kind},
                                         {"base_url", "http://127.0.0.1:" + std::to_string(port)},
                                         {"region", r},
                                         {"models", model_list},
                                         {"max_concurrency", http_concurrency}});
    std::filesystem::create_directories("bench/out");
    std::ofstream("bench/out/providers.json") << boost::json::serialize(list);
    cfg.providers_file = "bench/out/providers.json";
    cfg.sim_regions = "";
  }
  std::printf(
      "beacon-bench: %d questions x %d models x %d regions x %d runs = %lld cells per job, "
      "in-flight %d, pipeline %d, %u cores, %s malloc, sim %s, latency %.0f ms\n",
      questions, models, regions, runs, static_cast<long long>(cells), in_flight, pipeline,
      std::thread::hardware_concurrency(), BEACON_ALLOCATOR,
      over_http ? ("over HTTP to " + http_server + ", " + std::to_string(http_concurrency) +
                   " connections per provider")
                      .c_str()
                : "in-process",
      latency_ms);
  try {
    node n{cfg};
    n.set_runtime_hook([answer_with_claim, receipts](runtime_options& o) {
      o.supervisor.batch.execution.answer_with_claim = answer_with_claim != 0;
      if (receipts == 0) o.supervisor.batch.execution.signer.reset();
    });
    n.start(false);
    auto stamp = std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
    std::vector<sample> jobs, baselines;
    for (int i = 0; i < repeat; ++i) {
      auto id = "bench-" + stamp + "-" + std::to_string(i);
      jobs.push_back(run_job(
          n, id,
          spec_json(id, names("q", questions), names("m", models), names("R", regions), runs),
          cells));
      print("job", {jobs.back()});
      if (baseline_cells > 0) {
        auto bid = "baseline-" + stamp + "-" + std::to_string(i);
        baselines.push_back(run_baseline(
            n, bid, spec_json(bid, {"q"}, {"m01"}, {"R01"}, baseline_cells), baseline_cells));
        print("baseline", {baselines.back()});
      }
    }
    auto m = median(jobs);
    std::printf(
        "\nmedian of %d jobs: %.0f cells/s, node CPU %.4f ms/cell, machine CPU %.4f ms/cell, "
        "%.2f s per job\n",
        repeat, m.cells_per_s, m.node_cpu_ms_per_cell, m.total_cpu_ms_per_cell, m.seconds);
    std::printf(
        "the node's own time per cell (dispatch to committed outcome, minus provider calls and "
        "waits), medians over the jobs: p50 %.2f ms, p99 %.2f ms\n",
        median_of(jobs, &sample::own_p50_ms), median_of(jobs, &sample::own_p99_ms));
    if (!baselines.empty()) {
      auto b = median(baselines);
      std::printf(
          "median baseline (per-cell autocommit, no actors): %.0f cells/s (runtime is %.1fx)\n",
          b.cells_per_s, m.cells_per_s / b.cells_per_s);
    }
    if (latency_ms > 0) {
      // Every provider serves at most http_concurrency calls at once, each taking latency_ms.
      double ideal = std::min<double>(in_flight, static_cast<double>(regions) * http_concurrency) /
                     (latency_ms / 1000.0);
      std::printf("ideal (concurrency / latency): %.0f cells/s; reached %.1f%%\n", ideal,
                  100.0 * m.cells_per_s / ideal);
    }
    std::printf("peak RSS of the node process: %ld MiB\n", peak_rss_mib());
    if (result_line) {
      boost::json::object r{
          {"cells_per_s", m.cells_per_s},
          {"node_cpu_ms_per_cell", m.node_cpu_ms_per_cell},
          {"machine_cpu_ms_per_cell", m.total_cpu_ms_per_cell},
          {"peak_rss_mib", peak_rss_mib()},
          {"own_p50_ms", median_of(jobs, &sample::own_p50_ms)},
          {"own_p99_ms", median_of(jobs, &sample::own_p99_ms)},
          {"baseline_cells_per_s", baselines.empty() ? 0.0 : median(baselines).cells_per_s}};
      std::printf("RESULT %s\n", boost::json::serialize(r).c_str());
    }
    n.stop();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "beacon-bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
