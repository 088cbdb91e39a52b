// The sim provider over HTTP (`beacon sim-provider`): the same deterministic, regional answers,
// latency and faults as the in-process sim, served on loopback so the HTTP transport, the
// protocol adapters and benchmarks meet a real peer.
//   POST /v1/chat/completions   OpenAI-compatible; answers as a deployment in `region`
//   POST /api/chat              Ollama native; same
//   POST /inference             Beacon router; the region comes from region_preference
//   POST /modal/<region>        Beacon Modal endpoint of that region (reported in the reply)
//   GET  /health
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "http/server.hpp"
#include "providers/sim_model.hpp"

namespace beacon::providers {

struct sim_http_options {
  sim::settings sim;
  std::string region = "US";  // of the OpenAI/Ollama paths
  size_t max_body = 1 << 20;
  size_t io_threads = 1;  // threads parsing, answering and writing
};

// Builds the request handler (exposed for tests).
http::async_handler sim_http_handler(sim_http_options opts);

// Starts a server; returns it listening (its port via the out parameter).
std::unique_ptr<http::server> start_sim_http(const sim_http_options& opts, const std::string& host,
                                             uint16_t port, uint16_t& bound);

}  // namespace beacon::providers
