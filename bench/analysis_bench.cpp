// beacon-bench-analysis: what the cross-region analysis costs.
//  1. Per-answer work in the execution actor, as cell throughput of a 100,000-cell job on the sim
//     (zero latency, durable embedded PostgreSQL), three settings run alternately in one process:
//     "bare" (no per-answer analysis, no receipt: the baseline), "profile" (classification,
//     language, key terms) and "full" (profile + signed receipt, the default).
//  2. The analysis of a finished 100,000-cell job (read every row through a cursor, compare every
//     question x model across regions and runs, write cross_region_analyses), timed end to end.
// Medians of --repeat runs are printed with every run.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <pqxx/pqxx>
#include <thread>

#include "app/node.hpp"
#include "bench/bench_support.hpp"
#include "common/logging.hpp"
#include "storage/analysis_store.hpp"

using namespace beacon;
using clock_type = std::chrono::steady_clock;

namespace {

const std::vector<std::string> questions = {
    "tiananmen_neutral", "taiwan_status",      "hongkong_2019",   "math_basic",
    "geography_basic",   "greatest_invention", "greatest_leader", "identity_basic"};
const std::vector<std::string> models = {"llama3.2-1b", "mistral-7b", "qwen2.5-1.5b", "llama3.1-8b",
                                         "qwen2.5-7b"};
const std::vector<std::string> regions = {"US",  "EU",  "ASIA", "R04", "R05",
                                          "R06", "R07", "R08",  "R09", "R10"};

struct sample {
  double cells_per_s = 0, node_cpu_us = 0, machine_cpu_us = 0;  // CPU per cell
};

// Runs one job to its end.
sample run_job(node& n, const std::string& id, int runs, int64_t cells) {
  auto admitted = n.submit(bench::spec_json(id, questions, models, regions, runs));
  if (admitted.status != 202) throw std::runtime_error("refused: " + admitted.body);
  auto cpu0 = bench::process_cpu_seconds();
  auto machine0 = bench::machine_cpu_seconds();
  auto t0 = clock_type::now();
  std::string st;
  while (st != "completed" && st != "failed" && st != "cancelled") {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    auto p = n.published_progress(id);
    st = p ? word(p->status) : std::string();
  }
  double s = std::chrono::duration<double>(clock_type::now() - t0).count();
  if (st != "completed") throw std::runtime_error("job " + id + " ended " + st);
  auto per_cell = 1e6 / static_cast<double>(cells);
  return {static_cast<double>(cells) / s, (bench::process_cpu_seconds() - cpu0) * per_cell,
          (bench::machine_cpu_seconds() - machine0) * per_cell};
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

struct setting {
  const char* name;
  bool analyze;
  bool sign;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"beacon-bench-analysis: per-answer analysis cost and job analysis time"};
  int runs = 250, repeat = 5;
  std::string state_dir = "bench/out/analysis-state";
  std::vector<std::string> only;
  app.add_option("--runs", runs, "runs per cell (8 questions x 5 models x 10 regions x runs)")
      ->capture_default_str();
  app.add_option("--repeat", repeat, "runs of each measurement; medians are reported")
      ->capture_default_str();
  app.add_option("--state-dir", state_dir, "state directory of the embedded PostgreSQL")
      ->capture_default_str();
  app.add_option("--settings", only,
                 "measure only these settings (bare, profile, full); all by default")
      ->delimiter(',')
      ->check(CLI::IsMember({"bare", "profile", "full"}));
  CLI11_PARSE(app, argc, argv);
  logging::init(logging::format::human, spdlog::level::warn);
  const int64_t cells =
      static_cast<int64_t>(questions.size() * models.size() * regions.size()) * runs;
  std::printf(
      "beacon-bench-analysis: %zu questions x %zu models x %zu regions x %d runs = %lld "
      "cells per job, %u cores, %s malloc\n",
      questions.size(), models.size(), regions.size(), runs, static_cast<long long>(cells),
      std::thread::hardware_concurrency(), BEACON_ALLOCATOR);
  std::vector<setting> settings = {
      {"bare", false, false}, {"profile", true, false}, {"full", true, true}};
  if (!only.empty())
    settings.erase(std::remove_if(settings.begin(), settings.end(),
                                  [&](const setting& s) {
                                    return std::find(only.begin(), only.end(), s.name) ==
                                           only.end();
                                  }),
                   settings.end());
  std::vector<std::vector<sample>> samples(settings.size());
  std::string finished_job;
  auto stamp = std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
  try {
    // The order rotates every round, so no setting always runs first or after another.
    for (int i = 0; i < repeat; ++i)
      for (size_t j = 0; j < settings.size(); ++j) {
        auto k = (j + static_cast<size_t>(i)) % settings.size();
        node_config cfg;
        cfg.state_dir = state_dir;
        cfg.sim_latency_ms = 0;
        cfg.sim_regions = bench::join(regions);
        cfg.sim_models = bench::join(models);
        cfg.max_in_flight_per_job = 4096;
        cfg.max_cells_per_job = 100'000'000;
        cfg.log_level = "warn";
        node n{cfg};
        auto s = settings[k];
        n.set_runtime_hook([s](runtime_options& o) {
          o.supervisor.batch.execution.analyze_answers = s.analyze;
          if (!s.sign) o.supervisor.batch.execution.signer.reset();
          o.analyze_finished_jobs = false;  // measured on its own below
        });
        n.start(false);
        auto id = std::string("abench-") + s.name + "-" + stamp + "-" + std::to_string(i);
        samples[k].push_back(run_job(n, id, runs, cells));
        auto& r = samples[k].back();
        std::printf("  %-8s %9.0f cells/s  node CPU %5.1f us/cell  machine CPU %5.1f us/cell\n",
                    s.name, r.cells_per_s, r.node_cpu_us, r.machine_cpu_us);
        std::fflush(stdout);
        if (s.analyze && s.sign) finished_job = id;
        n.stop();
      }
    std::printf("\nper-answer work, median of %d jobs of %lld cells:\n", repeat,
                static_cast<long long>(cells));
    auto med = [&](size_t k, double sample::*field) {
      std::vector<double> v;
      for (auto& x : samples[k]) v.push_back(x.*field);
      return median(v);
    };
    double bare = med(0, &sample::cells_per_s), bare_cpu = med(0, &sample::machine_cpu_us);
    for (size_t k = 0; k < settings.size(); ++k) {
      double m = med(k, &sample::cells_per_s), cpu = med(k, &sample::machine_cpu_us);
      std::printf(
          "  %-8s %9.0f cells/s (%+.1f%% vs %s)  node CPU %5.1f us/cell  machine CPU "
          "%5.1f us/cell (%+.1f%% vs %s)\n",
          settings[k].name, m, 100.0 * (m - bare) / bare, settings[0].name,
          med(k, &sample::node_cpu_us), cpu, 100.0 * (cpu - bare_cpu) / bare_cpu, settings[0].name);
    }

    if (finished_job.empty()) return 0;  // the analysis reads a full job's rows
    node_config cfg;
    cfg.state_dir = state_dir;
    cfg.log_level = "warn";
    node n{cfg};
    n.start(false);
    std::vector<double> seconds;
    int64_t answers = 0, groups = 0;
    for (int i = 0; i < repeat; ++i) {
      pqxx::connection conn{n.pool().url()};  // it stores the analysis: not the read-only pool
      auto t0 = clock_type::now();
      auto stored = storage::analyze_job(conn, finished_job);
      seconds.push_back(std::chrono::duration<double>(clock_type::now() - t0).count());
      auto row = boost::json::parse(*stored).as_object();
      answers = row["answers_analyzed"].as_int64();
      groups = row["report"].as_object()["groups_analyzed"].as_int64();
      std::printf("  analysis %.2f s (%lld answers, %lld question x model groups)\n",
                  seconds.back(), static_cast<long long>(answers), static_cast<long long>(groups));
    }
    std::printf("\nanalysis of the finished %lld-cell job, median of %d: %.2f s\n",
                static_cast<long long>(cells), repeat, median(seconds));
    n.stop();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "beacon-bench-analysis: %s\n", e.what());
    return 1;
  }
  return 0;
}
