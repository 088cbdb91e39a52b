// Prometheus text.
#include "http/metrics.hpp"

#include <cstdio>

namespace beacon::http {
namespace {

std::string escape(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

void family(std::string& out, const char* name, const char* type, const char* help) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

void sample(std::string& out, const std::string& name, const std::string& labels, double v) {
  out += name + (labels.empty() ? "" : "{" + labels + "}") + " " + number(v) + "\n";
}

std::string provider_labels(const provider_status& p) {
  return "provider=\"" + escape(p.provider_id) + "\",region=\"" + escape(p.region) + "\"";
}

// The bucket, sum and count samples of one histogram (counts per bucket, the last unbounded).
void histogram(std::string& out, const std::string& name, const std::string& labels,
               const std::vector<double>& bounds, const std::vector<int64_t>& counts, double sum) {
  auto with = [&](const std::string& more) { return labels.empty() ? more : labels + "," + more; };
  double cumulative = 0;
  for (size_t b = 0; b <= bounds.size() && b < counts.size(); ++b) {
    cumulative += static_cast<double>(counts[b]);
    auto le = b < bounds.size() ? number(bounds[b]) : "+Inf";
    sample(out, name + "_bucket", with("le=\"" + le + "\""), cumulative);
  }
  sample(out, name + "_sum", labels, sum);
  sample(out, name + "_count", labels, cumulative);
}

// Token and cost counters of committed answers by provider and model.
void usage_families(std::string& out, const metrics_input& in) {
  family(out, "beacon_tokens_total", "counter",
         "Tokens of committed answers as their providers reported them, by provider and model.");
  for (auto& [key, u] : in.usage) {
    auto labels = "provider=\"" + escape(key.first) + "\",model=\"" + escape(key.second) + "\"";
    sample(out, "beacon_tokens_total", labels + ",kind=\"prompt\"",
           static_cast<double>(u.prompt_tokens));
    sample(out, "beacon_tokens_total", labels + ",kind=\"completion\"",
           static_cast<double>(u.completion_tokens));
  }
  family(out, "beacon_cost_total", "counter",
         "Cost of committed answers at the configured prices, by provider and model.");
  for (auto& [key, u] : in.usage)
    sample(out, "beacon_cost_total",
           "provider=\"" + escape(key.first) + "\",model=\"" + escape(key.second) +
               "\",currency=\"" + escape(in.currency) + "\"",
           u.cost);
}

}  // namespace

std::string prometheus_text(const metrics_input& in) {
  std::string out;
  usage_families(out, in);
  family(out, "beacon_jobs", "gauge", "Jobs by status.");
  for (auto& [st, n] : in.jobs_by_status)
    sample(out, "beacon_jobs", "status=\"" + escape(st) + "\"", static_cast<double>(n));
  family(out, "beacon_cells", "gauge", "Execution cells of all jobs by status.");
  for (auto& [st, n] : in.cells_by_status)
    sample(out, "beacon_cells", "status=\"" + escape(st) + "\"", static_cast<double>(n));
  family(out, "beacon_jobs_running_here", "gauge", "Jobs this node is running.");
  sample(out, "beacon_jobs_running_here", "", static_cast<double>(in.jobs_running_here));
  if (in.database_restarts) {
    family(out, "beacon_embedded_postgres_restarts_total", "counter",
           "Times the node restarted its embedded PostgreSQL server after it died.");
    sample(out, "beacon_embedded_postgres_restarts_total", "",
           static_cast<double>(*in.database_restarts));
  }

  family(out, "beacon_provider_queue_depth", "gauge", "Provider calls in flight or queued.");
  for (auto& p : in.providers)
    sample(out, "beacon_provider_queue_depth", provider_labels(p), p.load);
  family(out, "beacon_provider_concurrency_limit", "gauge",
         "Provider calls allowed in flight now (adaptive; 0 when not reported).");
  for (auto& p : in.providers)
    sample(out, "beacon_provider_concurrency_limit", provider_labels(p), p.limit);
  family(out, "beacon_provider_circuit_open", "gauge", "1 while the provider's circuit is open.");
  for (auto& p : in.providers)
    sample(out, "beacon_provider_circuit_open", provider_labels(p),
           p.circuit == circuit_state::open ? 1 : 0);
  family(out, "beacon_provider_calls_total", "counter", "Provider calls finished.");
  for (auto& p : in.providers)
    sample(out, "beacon_provider_calls_total", provider_labels(p), static_cast<double>(p.calls));
  family(out, "beacon_provider_retry_calls_total", "counter",
         "Provider calls that were a retry of a cell.");
  for (auto& p : in.providers)
    sample(out, "beacon_provider_retry_calls_total", provider_labels(p),
           static_cast<double>(p.retry_calls));
  family(out, "beacon_provider_failures_total", "counter", "Failed provider calls by class.");
  for (auto& p : in.providers)
    for (auto& [cls, n] : p.failures)
      sample(out, "beacon_provider_failures_total",
             provider_labels(p) + ",class=\"" + escape(cls) + "\"", static_cast<double>(n));
  family(out, "beacon_provider_rate_limit_cuts_total", "counter",
         "Times a burst of 429s halved the provider's concurrency.");
  for (auto& p : in.providers)
    sample(out, "beacon_provider_rate_limit_cuts_total", provider_labels(p),
           static_cast<double>(p.rate_limit_cuts));
  family(out, "beacon_provider_latency_ms", "histogram",
         "Latency of provider calls that got an HTTP response, in milliseconds.");
  for (auto& p : in.providers)
    if (p.latency_buckets.size() == latency_bounds_ms().size() + 1)
      histogram(out, "beacon_provider_latency_ms", provider_labels(p), latency_bounds_ms(),
                p.latency_buckets, p.latency_sum_ms);
  if (in.cell_overhead) {
    family(out, "beacon_cell_overhead_ms", "histogram",
           "Each committed cell's own time in the node, in milliseconds: from its dispatch to "
           "its committed outcome, minus its provider calls, backoffs and circuit waits.");
    histogram(out, "beacon_cell_overhead_ms", "", in.cell_overhead->bounds_ms,
              in.cell_overhead->counts, in.cell_overhead->sum_ms);
  }
  return out;
}

}  // namespace beacon::http
