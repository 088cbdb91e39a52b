// Provider endpoints from configuration: a JSON file with {"providers": [...]} (or a bare
// array). Each entry: name, kind (openai | ollama | beacon_router | modal), base_url, region,
// models, and optionally max_concurrency, connect_timeout_ms, timeout_ms, max_body_bytes,
// auth_env (the environment variable holding the secret; never a secret in the file),
// auth_scheme (default "Bearer") and auth_header (default "Authorization"), ca_file (PEM
// certificates for a private CA; TLS is always verified); resilience:
// health_interval_ms (0: no health checks), health_path (default: the protocol's),
// failure_threshold and circuit_open_ms (the circuit breaker), rate_limit_debounce_ms (how
// close together 429s count as one burst for adaptive concurrency); prices: {currency,
// input_per_million, output_per_million, models: {id: {input_per_million, output_per_million}}}
// (absent: what its answers cost is unknown; every priced provider uses the same currency).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "domain/pricing.hpp"
#include "providers/adapters.hpp"

namespace beacon {

struct http_provider_config {
  std::string id;
  providers::protocol protocol = providers::protocol::openai;
  std::string base_url;  // without a trailing slash
  std::string region;    // canonical
  std::vector<std::string> models;
  size_t max_concurrency = 16;
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds request_timeout{300'000};  // when the caller sets none
  size_t max_body = 4 << 20;
  std::string auth_header;  // the full header line, built from the environment; never logged
  std::string ca_file;      // PEM certificates to verify an https endpoint with (default: system)
  std::chrono::milliseconds health_interval{10'000};  // 0: no health checks
  std::string health_url;                             // default: the protocol's health endpoint
  int failure_threshold = 5;                          // consecutive failures that open the circuit
  std::chrono::milliseconds circuit_open{1'000};      // first cool-down (doubles, max 30 s)
  std::chrono::milliseconds rate_limit_debounce{1'000};
  price_list prices;
};

// Parses the providers of a JSON document. Throws std::invalid_argument naming the entry and
// field, or the unset environment variable.
std::vector<http_provider_config> parse_provider_config(const std::string& json_text);
std::vector<http_provider_config> load_provider_config(const std::string& path);

}  // namespace beacon
