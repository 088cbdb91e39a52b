// Configuration keys and their sources.
#include "app/config.hpp"

#include <boost/json.hpp>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "http/cors.hpp"

namespace beacon {

node_config::node_config() : cors_origins(http::default_cors_origins) {}
namespace {

template <class T>
T parse_number(const std::string& name, const std::string& text) {
  std::istringstream in(text);
  T value{};
  in >> value;
  if (in.fail() || !in.eof())
    throw std::invalid_argument(name + ": '" + text + "' is not a valid number");
  return value;
}

// "http-port" -> "BEACON_HTTP_PORT".
std::string env_name(const std::string& key) {
  std::string env = "BEACON_";
  for (char c : key) env += c == '-' ? '_' : static_cast<char>(std::toupper(c));
  return env;
}

template <class T>
config_key number_key(std::string name, std::string help, T node_config::*member, T min, T max) {
  auto env = env_name(name);
  return {name, env, std::move(help),
          [name, member, min, max](node_config& cfg, const std::string& text) {
            auto v = parse_number<T>(name, text);
            if (v < min || v > max)
              throw std::invalid_argument(name + ": " + text + " is outside " +
                                          std::to_string(min) + ".." + std::to_string(max));
            cfg.*member = v;
          },
          [member](const node_config& cfg) { return std::to_string(cfg.*member); }};
}

config_key string_key(std::string name, std::string help, std::string node_config::*member) {
  auto env = env_name(name);
  return {name, env, std::move(help),
          [member](node_config& cfg, const std::string& text) { cfg.*member = text; },
          [member](const node_config& cfg) { return cfg.*member; }};
}

}  // namespace

const std::vector<config_key>& config_keys() {
  static const std::vector<config_key> keys = {
      string_key("database-url",
                 "PostgreSQL connection string or URL; empty runs a private cluster under "
                 "state-dir (also read from DATABASE_URL)",
                 &node_config::database_url),
      string_key("state-dir", "directory for the embedded PostgreSQL cluster and node state",
                 &node_config::state_dir),
      string_key("http-host", "address the REST API listens on", &node_config::http_host),
      number_key<int32_t>("http-port", "port of the REST API (0 picks a free one)",
                          &node_config::http_port, 0, 65535),
      string_key("log-format", "json (one JSON object per line) or human",
                 &node_config::log_format),
      string_key("log-level", "trace, debug, info, warn, error or off", &node_config::log_level),
      number_key<int32_t>("threads", "actor scheduler threads (0: one per core)",
                          &node_config::threads, 0, 256),
      string_key(
          "scheduler-policy",
          "stealing (work stealing, polls when idle) or sharing (one queue, sleeps when idle)",
          &node_config::scheduler_policy),
      number_key<int32_t>("http-workers", "threads serving REST handlers (they may block on SQL)",
                          &node_config::http_workers, 1, 256),
      number_key<int64_t>("max-body-bytes", "largest accepted request body",
                          &node_config::max_body_bytes, 1024, 1ll << 30),
      number_key<int64_t>("write-timeout-ms",
                          "a connection whose client reads nothing for this long is closed",
                          &node_config::write_timeout_ms, 100, 3'600'000),
      number_key<int32_t>("max-connections",
                          "open connections served at once; above, 503 with Retry-After "
                          "(lowered to fit the process's file descriptor limit)",
                          &node_config::max_connections, 1, 1'000'000),
      number_key<int64_t>("max-cells-per-job",
                          "largest accepted job (questions x models x "
                          "regions x runs)",
                          &node_config::max_cells_per_job, 1, 100'000'000),
      number_key<int32_t>("pipeline-questions",
                          "questions of a job with calls out at once (1: one at a time, as "
                          "the original did to protect serverless providers)",
                          &node_config::pipeline_questions, 1, 10'000),
      number_key<int32_t>("max-in-flight-per-job", "cells of one job running at once",
                          &node_config::max_in_flight_per_job, 1, 1'000'000),
      number_key<int32_t>("max-retries", "extra attempts per cell after a transient failure",
                          &node_config::max_retries, 0, 100),
      number_key<int32_t>("retry-base-ms", "first backoff ceiling (full jitter, doubling)",
                          &node_config::retry_base_ms, 0, 3'600'000),
      number_key<int32_t>("retry-cap-ms", "largest backoff ceiling", &node_config::retry_cap_ms, 0,
                          3'600'000),
      number_key<int64_t>("cell-budget-ms",
                          "time one cell may spend on attempts and backoffs (0: attempts only)",
                          &node_config::cell_budget_ms, 0, 86'400'000),
      number_key<int32_t>("batch-restarts",
                          "restarts of a crashed question batch before the "
                          "job fails",
                          &node_config::batch_restarts, 0, 1000),
      number_key<int64_t>("persistence-batch-max", "largest number of cell writes per transaction",
                          &node_config::persistence_batch_max, 1, 1'000'000),
      number_key<double>("sim-latency-ms", "median latency of the sim provider (0: instant)",
                         &node_config::sim_latency_ms, 0, 3'600'000),
      number_key<double>("sim-latency-sigma", "log-normal spread of the sim latency",
                         &node_config::sim_latency_sigma, 0, 5),
      number_key<double>("sim-error-rate", "share of sim attempts failing with a transient 503",
                         &node_config::sim_error_rate, 0, 1),
      number_key<double>("sim-timeout-rate", "share of sim attempts that never answer",
                         &node_config::sim_timeout_rate, 0, 1),
      number_key<double>("sim-price-input",
                         "price of the sim's prompt tokens per million (USD; 0: free)",
                         &node_config::sim_price_input, 0, 1e6),
      number_key<double>("sim-price-output",
                         "price of the sim's completion tokens per million (USD; 0: free)",
                         &node_config::sim_price_output, 0, 1e6),
      number_key<int64_t>("sim-seed", "seed of the sim's latency and faults",
                          &node_config::sim_seed, 0, INT64_MAX),
      number_key<int32_t>("sim-max-concurrency",
                          "calls one sim deployment serves at once (the rest queue)",
                          &node_config::sim_max_concurrency, 1, 1'000'000),
      string_key("providers-file",
                 "JSON file of HTTP provider endpoints (name, kind, base_url, region, models, ...)",
                 &node_config::providers_file),
      string_key("sim-regions",
                 "comma-separated regions with an in-process sim deployment (sim-<region>); "
                 "empty for none",
                 &node_config::sim_regions),
      string_key("sim-models", "comma-separated models every sim deployment serves",
                 &node_config::sim_models),
      string_key("api-token",
                 "bearer token required on write routes (submit, cancel, retries); empty: none",
                 &node_config::api_token),
      number_key<int64_t>("rate-limit-per-minute",
                          "requests per minute allowed per client address (0: no limit)",
                          &node_config::rate_limit_per_minute, 0, 10'000'000),
      string_key("node-id",
                 "this node's name among nodes sharing one database (default: kept in "
                 "<state-dir>/node_id, created on first start)",
                 &node_config::node_id),
      number_key<int64_t>("lease-ttl-ms",
                          "a job lease not renewed for this long is taken over by another node",
                          &node_config::lease_ttl_ms, 200, 3'600'000),
      number_key<int64_t>("heartbeat-ms",
                          "how often the node renews its job leases and looks for lapsed ones "
                          "(at most a third of lease-ttl-ms)",
                          &node_config::heartbeat_ms, 50, 1'200'000),
      number_key<int32_t>(
          "leases",
          "1: jobs run under leases with fencing tokens, so several nodes can share "
          "the database; 0 only for a node alone on its database (no fencing)",
          &node_config::leases, 0, 1),
      string_key("node-key-file",
                 "the node's Ed25519 receipt-signing key (created 0600 on first start; default "
                 "<state-dir>/node_ed25519.key)",
                 &node_config::node_key_file),
      string_key("trusted-keys-file",
                 "JSON file of trusted JobSpec signing keys [{kid, public_key, status, "
                 "not_before, not_after}]; set: only specs signed by an active key are accepted",
                 &node_config::trusted_keys_file),
      number_key<int32_t>("require-signed-jobs",
                          "1: refuse unsigned JobSpecs even without a trusted-keys file",
                          &node_config::require_signed_jobs, 0, 1),
      number_key<int32_t>(
          "background-niceness",
          "niceness of the actor threads and the persistence PostgreSQL backend, so "
          "REST reads get a core under load (0: leave them alone)",
          &node_config::background_niceness, 0, 19),
      {"cors-origins", env_name("cors-origins"),
       "comma-separated origins allowed to call the API from a browser: exact "
       "(http://127.0.0.1:3000), suffix wildcards (https://*.netlify.app) or *; the node's own "
       "origin is always allowed",
       [](node_config& cfg, const std::string& text) {
         http::parse_cors_origins(text);  // throws naming a malformed entry
         cfg.cors_origins = text;
       },
       [](const node_config& cfg) { return cfg.cors_origins; }},
      number_key<int32_t>("manual-retry-limit",
                          "retries a person may ask for per cell (retry-question, "
                          "retry-all-failed), apart from the automatic max-retries",
                          &node_config::manual_retry_limit, 0, 1000),
      number_key<int64_t>("signature-window-s",
                          "how far metadata.timestamp of a signed JobSpec may be from now",
                          &node_config::signature_window_s, 1, 86'400 * 365),
  };
  return keys;
}

void config_loader::add_options(CLI::App& app) {
  app.add_option("--config", config_file_, "JSON file of configuration keys")
      ->check(CLI::ExistingFile);
  for (auto& k : config_keys()) {
    auto* opt = app.add_option_function<std::string>(
        "--" + k.name, [this, name = k.name](const std::string& v) { flags_[name] = v; },
        k.help + " [env " + k.env + "]");
    opt->type_name("VALUE");
  }
}

node_config config_loader::load() {
  node_config cfg;
  set_.clear();
  auto find = [](const std::string& name) -> const config_key& {
    for (auto& k : config_keys())
      if (k.name == name) return k;
    throw std::invalid_argument("unknown configuration key '" + name + "'");
  };
  if (!config_file_.empty()) {
    std::ifstream in(config_file_);
    std::stringstream text;
    text << in.rdbuf();
    boost::json::error_code ec;
    auto doc = boost::json::parse(text.str(), ec);
    if (ec || !doc.is_object())
      throw std::invalid_argument(config_file_ + ": not a JSON object of configuration keys");
    for (auto& kv : doc.as_object()) {
      std::string name(kv.key());
      auto& v = kv.value();
      std::string value = v.is_string() ? std::string(v.as_string()) : boost::json::serialize(v);
      try {
        find(name).set(cfg, value);
        set_.insert(name);
      } catch (const std::invalid_argument& e) {
        throw std::invalid_argument(config_file_ + ": " + e.what());
      }
    }
  }
  if (const char* url = std::getenv("DATABASE_URL"); url && *url) {
    cfg.database_url = url;
    set_.insert("database-url");
  }
  for (auto& k : config_keys())
    if (const char* v = std::getenv(k.env.c_str()); v && *v) {
      try {
        k.set(cfg, v);
        set_.insert(k.name);
      } catch (const std::invalid_argument& e) {
        throw std::invalid_argument(k.env + ": " + e.what());
      }
    }
  for (auto& [name, value] : flags_) {
    find(name).set(cfg, value);
    set_.insert(name);
  }
  return cfg;
}

std::string config_json(const node_config& cfg) {
  boost::json::object out;
  for (auto& k : config_keys()) out[k.name] = k.get(cfg);
  // Never print a password: user:secret@host and password=secret become ***.
  auto url = cfg.database_url;
  if (auto at = url.find('@'), scheme = url.find("://");
      at != std::string::npos && scheme != std::string::npos)
    if (auto colon = url.find(':', scheme + 3); colon != std::string::npos && colon < at)
      url.replace(colon + 1, at - colon - 1, "***");
  if (auto pw = url.find("password="); pw != std::string::npos)
    url.replace(
        pw + 9,
        url.find(' ', pw) == std::string::npos ? std::string::npos : url.find(' ', pw) - pw - 9,
        "***");
  out["database-url"] = url;
  if (!cfg.api_token.empty()) out["api-token"] = "***";
  return boost::json::serialize(out);
}

}  // namespace beacon
