// Node configuration: defaults, then a JSON config file, then BEACON_* environment variables,
// then command-line flags (later sources win). Every key is listed by `beacon config --help`.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace beacon {

struct node_config {
  std::string database_url;  // empty: the embedded PostgreSQL under state_dir
  std::string state_dir = ".beacon";
  std::string http_host = "127.0.0.1";
  int32_t http_port = 8787;
  std::string log_format = "json";
  std::string log_level = "info";
  int32_t threads = 0;  // CAF scheduler threads; 0 = one per core
  // CAF scheduler: sharing (one queue, workers sleep when it is empty) costs a fifth less CPU per
  // cell than work stealing, whose idle workers poll, and is as fast at low load (bench/README).
  std::string scheduler_policy = "sharing";
  int32_t http_workers = 4;
  int64_t max_body_bytes = 1 << 20;
  int64_t write_timeout_ms = 30'000;  // a connection with no write progress this long is closed
  int32_t max_connections = 4096;     // above: 503 + Retry-After (capped by the fd limit)
  int64_t max_cells_per_job = 1'000'000;
  int32_t pipeline_questions = 1;
  int32_t max_in_flight_per_job = 64;
  int32_t max_retries = 3;
  int32_t retry_base_ms = 250;
  int32_t retry_cap_ms = 5000;
  int64_t cell_budget_ms = 900'000;
  int32_t batch_restarts = 3;
  int64_t persistence_batch_max = 4096;
  double sim_latency_ms = 40;
  double sim_latency_sigma = 0.5;
  double sim_error_rate = 0;
  double sim_timeout_rate = 0;
  int64_t sim_seed = 42;
  double sim_price_input = 0;  // per million tokens, USD: the in-process sim runs for free
  double sim_price_output = 0;
  int32_t sim_max_concurrency = 64;
  std::string
      providers_file;  // JSON list of HTTP provider endpoints (providers/provider_config.hpp)
  std::string sim_regions = "US,EU,ASIA";  // one sim deployment per region ...
  std::string sim_models = "llama3.2-1b,mistral-7b,qwen2.5-1.5b";  // ... serving these models
  std::string api_token;                 // non-empty: write routes need "Authorization: Bearer"
  int64_t rate_limit_per_minute = 1200;  // per client address; 0 turns it off
  std::string trusted_keys_file;         // JSON [{kid, public_key, status, not_before, not_after}]
  std::string node_key_file;         // receipts' signing key; empty: <state_dir>/node_ed25519.key
  int32_t require_signed_jobs = 0;   // 1: unsigned JobSpecs are refused
  int64_t signature_window_s = 300;  // allowed |now - metadata.timestamp| of signed specs
  int32_t background_niceness = 10;  // actor threads and the persistence backend; 0: unchanged
  // Origins whose pages may call the API (exact, https://*.domain, or *); the node's own origin
  // is always allowed. Default: the original runner's portal origins.
  std::string cors_origins;
  int32_t manual_retry_limit = 3;  // retries a person may ask for per cell (retry-question)
  // This node's name among the nodes sharing the database; empty: kept in <state_dir>/node_id
  // (created on first start), so a restarted node takes its own jobs back at once.
  std::string node_id;
  int64_t lease_ttl_ms = 10'000;  // a job whose owner's lease is this old is taken over
  int64_t heartbeat_ms = 2'000;   // lease renewals and take-over scans
  int32_t leases = 1;             // 0: no job leases or fencing (one node alone on its database)
  node_config();
};

// One configuration key: its flag/JSON name, environment variable, help and how to set it.
struct config_key {
  std::string name;  // e.g. "http-port"; JSON key and --flag
  std::string env;   // e.g. "BEACON_HTTP_PORT"
  std::string help;
  std::function<void(node_config&, const std::string&)> set;  // throws std::invalid_argument
  std::function<std::string(const node_config&)> get;
};

const std::vector<config_key>& config_keys();

// Collects flag values during CLI parsing and applies file, environment and flags in order.
class config_loader {
 public:
  // Registers --config and one flag per key on `app`.
  void add_options(CLI::App& app);
  // Builds the effective configuration; throws std::invalid_argument naming the bad source.
  node_config load();
  // Whether the last load() took `key` from the file, the environment or a flag.
  bool is_set(const std::string& key) const { return set_.count(key) > 0; }

 private:
  std::set<std::string> set_;
  std::string config_file_;
  std::map<std::string, std::string> flags_;
};

// The effective configuration as a JSON object (for `beacon config`).
std::string config_json(const node_config& cfg);

}  // namespace beacon
