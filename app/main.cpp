// beacon: the command line of the runner (serve, demo, migrate, config).
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <pqxx/pqxx>

#include "app/client.hpp"
#include "app/config.hpp"
#include "app/demo.hpp"
#include "app/node.hpp"
#include "app/signals.hpp"
#include "app/verify.hpp"
#include "common/logging.hpp"
#include "http/sim_http.hpp"
#include "storage/embedded_postgres.hpp"
#include "storage/migrations.hpp"

namespace {

int run_serve(const beacon::node_config& cfg) {
  beacon::node n{cfg};
  n.start(true);
  std::fprintf(stderr, "beacon node serving REST on http://%s:%u (Ctrl-C stops)\n",
               cfg.http_host.c_str(), n.http_port());
  beacon::signals::wait_for_termination();
  beacon::logging::info("node_stopping");
  n.stop();
  return 0;
}

int run_sim_provider(const beacon::node_config& cfg, uint16_t port, const std::string& region,
                     size_t threads) {
  beacon::providers::sim_http_options opts;
  opts.io_threads = std::max<size_t>(threads, 1);
  opts.sim = beacon::runtime_options_from(cfg).sim;
  opts.region = beacon::canonical_region(region);
  uint16_t bound = 0;
  auto srv = beacon::providers::start_sim_http(opts, cfg.http_host, port, bound);
  std::fprintf(stderr,
               "sim provider (%s) on http://%s:%u: /v1/chat/completions, /api/chat, /inference, "
               "/modal/<region>, /health (Ctrl-C stops)\n",
               opts.region.c_str(), cfg.http_host.c_str(), bound);
  beacon::signals::wait_for_termination();
  srv->stop();
  return 0;
}

int run_migrate(const beacon::node_config& cfg) {
  // With no URL: the embedded cluster, started for the migrations only (no actors, no resume).
  std::unique_ptr<beacon::storage::embedded_postgres> pg;
  auto url = cfg.database_url;
  if (url.empty()) {
    beacon::storage::embedded_postgres_options opts;
    opts.dir = std::filesystem::path(cfg.state_dir) / "postgres";
    pg = std::make_unique<beacon::storage::embedded_postgres>(opts);
    pg->start();
    url = pg->connection_string();
  }
  pqxx::connection conn{url};
  auto applied = beacon::storage::apply_migrations(conn, beacon::storage::embedded_migrations());
  for (auto& m : applied) std::printf("applied %s\n", m.c_str());
  if (applied.empty()) std::printf("the schema is up to date\n");
  return 0;
}

// The commands that talk to a running node over REST, and verify (offline), with what they were
// given on the command line.
struct client_commands {
  beacon::client_options client;
  std::string spec_path, job_id, export_format = "jsonl", export_output, report_output;
  beacon::verify_options verify;
  bool follow = false;
  int list_limit = 20;
  CLI::App *submit = nullptr, *follow_cmd = nullptr, *status_cmd = nullptr, *cancel_cmd = nullptr,
           *jobs_cmd = nullptr, *export_cmd = nullptr, *verify_cmd = nullptr, *report_cmd = nullptr;

  void add_to(CLI::App& app) {
    if (const char* env = std::getenv("BEACON_NODE")) client.node_url = env;
    if (const char* env = std::getenv("BEACON_API_TOKEN")) client.token = env;
    submit = app.add_subcommand("submit", "submit a JobSpec to a running node");
    submit->add_option("spec", spec_path, "JobSpec JSON file")->required();
    submit->add_flag("--follow,-f", follow, "show live progress until the job ends");
    follow_cmd = app.add_subcommand("follow", "show live progress of a job until it ends");
    status_cmd = app.add_subcommand("status", "a job's cell counts by status");
    cancel_cmd = app.add_subcommand("cancel", "cancel a running job");
    for (auto* c : {follow_cmd, status_cmd, cancel_cmd})
      c->add_option("id", job_id, "job id")->required();
    jobs_cmd = app.add_subcommand("jobs", "list the newest jobs");
    jobs_cmd->add_option("--limit", list_limit, "how many")->capture_default_str();
    export_cmd = app.add_subcommand("export", "download every execution of a job");
    export_cmd->add_option("id", job_id, "job id")->required();
    export_cmd->add_option("--format", export_format, "csv or jsonl")
        ->check(CLI::IsMember({"csv", "jsonl"}))
        ->capture_default_str();
    export_cmd->add_option("--output,-o", export_output, "file to write (default: stdout)");
    report_cmd = app.add_subcommand(
        "report",
        "write a job's self-contained HTML report (grid, answers side by side, analysis, "
        "tokens and cost, charts)");
    report_cmd->add_option("id", job_id, "job id")->required();
    report_cmd->add_option("--output,-o", report_output, "the HTML file to write")->required();
    for (auto* c : {submit, follow_cmd, status_cmd, cancel_cmd, jobs_cmd, export_cmd, report_cmd}) {
      c->add_option("--node", client.node_url, "URL of the node (env BEACON_NODE)")
          ->capture_default_str();
      c->add_option("--token", client.token,
                    "bearer token for submit and cancel when the node has one (env "
                    "BEACON_API_TOKEN)");
    }
    verify_cmd = app.add_subcommand(
        "verify",
        "check receipts: one receipt or a JSON-lines export (offline; with --node also the log's "
        "consistency)");
    verify_cmd->add_option("file", verify.path, "receipt JSON or export JSONL")->required();
    verify_cmd->add_option("--public-key", verify.public_key_base64,
                           "the node's public key, base64 (GET /api/v1/node/key)");
    verify_cmd->add_option("--node", verify.node_url,
                           "ask this node's log for missing proofs and check every tree head "
                           "against its latest (consistency)");
    verify_cmd->add_option("--since", verify.since_path,
                           "a tree head saved earlier (GET /api/v1/transparency/root): it must "
                           "be a prefix of the log's latest (needs --node)");
  }

  // The exit code of the command that was given; nullopt when it was none of these.
  std::optional<int> run() const {
    if (submit->parsed()) return beacon::run_submit(client, spec_path, follow);
    if (follow_cmd->parsed()) return beacon::run_follow(client, job_id);
    if (status_cmd->parsed()) return beacon::run_status(client, job_id);
    if (cancel_cmd->parsed()) return beacon::run_cancel(client, job_id);
    if (jobs_cmd->parsed()) return beacon::run_jobs(client, list_limit);
    if (export_cmd->parsed())
      return beacon::run_export(client, job_id, export_format, export_output);
    if (verify_cmd->parsed()) return beacon::run_verify(verify, std::cout);
    if (report_cmd->parsed()) return beacon::run_report(client, job_id, report_output);
    return std::nullopt;
  }
};

// The commands that run a node (or a part of one) in this process.
struct node_commands {
  bool keep_serving = false;
  uint16_t sim_port = 8788;
  std::string sim_region = "US";
  size_t sim_threads = 1;
  CLI::App *serve = nullptr, *demo = nullptr, *migrate = nullptr, *config = nullptr, *sim = nullptr;

  void add_to(CLI::App& app) {
    serve = app.add_subcommand(
        "serve", "run the long-lived node: REST API, job runtime, resume of unfinished jobs");
    demo = app.add_subcommand("demo",
                              "run the main job (72 cells on the sim provider) with live progress");
    demo->add_flag("--serve", keep_serving, "keep the node serving REST after the job");
    migrate = app.add_subcommand("migrate", "apply the database migrations and exit");
    config = app.add_subcommand("config", "print the effective configuration as JSON");
    sim = app.add_subcommand(
        "sim-provider",
        "serve the sim provider over HTTP (OpenAI, Ollama, router and Modal paths)");
    sim->add_option("--port", sim_port, "port to listen on (0 picks one)")->capture_default_str();
    sim->add_option("--region", sim_region, "region of the OpenAI/Ollama paths")
        ->capture_default_str();
    sim->add_option("--threads", sim_threads,
                    "I/O threads (on two cores one beats two: its client needs the other)")
        ->capture_default_str();
  }

  int run(const beacon::node_config& cfg) const {
    if (serve->parsed()) return run_serve(cfg);
    if (demo->parsed()) return beacon::run_demo(cfg, keep_serving);
    if (migrate->parsed()) return run_migrate(cfg);
    if (sim->parsed()) return run_sim_provider(cfg, sim_port, sim_region, sim_threads);
    if (config->parsed()) std::printf("%s\n", beacon::config_json(cfg).c_str());
    return 0;
  }
};

}  // namespace

int main(int argc, char** argv) {
  beacon::signals::block_termination();
  CLI::App app{
      "beacon: runs LLM bias-detection jobs (questions x models x regions) on an actor runtime"};
  app.require_subcommand(1);
  app.fallthrough();
  beacon::config_loader loader;
  loader.add_options(app);
  node_commands nodes;
  nodes.add_to(app);
  client_commands clients;
  clients.add_to(app);
  CLI11_PARSE(app, argc, argv);
  try {
    if (auto code = clients.run()) return *code;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "beacon: %s\n", e.what());
    return 1;
  }
  try {
    auto cfg = loader.load();
    auto level = beacon::logging::parse_level(cfg.log_level);
    // The demo talks to a person on stdout; its logs stay quiet unless asked for.
    if (nodes.demo->parsed() && !loader.is_set("log-level")) level = spdlog::level::warn;
    beacon::logging::init(beacon::logging::parse_format(cfg.log_format), level);
    return nodes.run(cfg);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "beacon: %s\n", e.what());
    return 1;
  }
}
