// What the benchmarks share: CPU time of this process and of the whole machine (the per-cell CPU
// figures), and the JobSpecs they submit.
#pragma once

#include <sys/resource.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

namespace beacon::bench {

// User + system CPU seconds of this process.
inline double process_cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
         (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// Busy CPU seconds of the whole machine (PostgreSQL included) from /proc/stat.
inline double machine_cpu_seconds() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  long long user, nice, system, idle, iowait, irq, softirq, steal;
  in >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
  return static_cast<double>(user + nice + system + irq + softirq + steal) / sysconf(_SC_CLK_TCK);
}

// prefix01, prefix02, ... prefixNN.
inline std::vector<std::string> names(const std::string& prefix, int n) {
  std::vector<std::string> out;
  for (int i = 1; i <= n; ++i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%s%02d", prefix.c_str(), i);
    out.push_back(buf);
  }
  return out;
}

// "a,b,c": the comma lists of node_config's sim-regions and sim-models.
inline std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

// A JobSpec of questions x models x regions x runs with a one-hour job timeout.
inline std::string spec_json(const std::string& id, const std::vector<std::string>& questions,
                             const std::vector<std::string>& models,
                             const std::vector<std::string>& regions, int runs) {
  boost::json::array q, m, r;
  for (auto& x : questions) q.emplace_back(x);
  for (auto& x : models) m.emplace_back(x);
  for (auto& x : regions) r.emplace_back(x);
  return boost::json::serialize(
      boost::json::object{{"id", id},
                          {"questions", q},
                          {"models", m},
                          {"runs", runs},
                          {"constraints", {{"regions", r}, {"timeout", 3'600'000'000'000LL}}}});
}

}  // namespace beacon::bench
