// GET /metrics in the Prometheus text format (0.0.4): jobs and cells by status (from the job
// counters in PostgreSQL), jobs running on this node, and per provider: queue depth (calls in
// flight or queued), concurrency limit, circuit state, calls, retry calls, failures by class,
// 429 cuts and a latency histogram; restarts of the embedded PostgreSQL server; tokens and cost
// of the answers committed since start by provider and model (beacon_tokens_total{kind=prompt|
// completion}, beacon_cost_total{currency}); each committed cell's own time in the node
// (beacon_cell_overhead_ms, a histogram).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/latency_histogram.hpp"
#include "messages/types.hpp"

namespace beacon::http {

struct metrics_input {
  std::map<std::string, int64_t> jobs_by_status;
  std::map<std::string, int64_t> cells_by_status;
  int64_t jobs_running_here = 0;
  std::vector<provider_status> providers;
  std::optional<int64_t> database_restarts;  // of the embedded server (none with a URL)
  // Usage of the answers committed since the node started, by (provider, model).
  std::map<std::pair<std::string, std::string>, usage_totals> usage;
  std::string currency;  // of the costs ("" when no provider has a price)
  // Committed cells' own time in the node since it started (none: not kept).
  std::optional<latency_snapshot> cell_overhead;
};

std::string prometheus_text(const metrics_input& in);

}  // namespace beacon::http
