// CPU time of this process and of the whole machine, for the benchmarks' per-cell CPU figures.
#pragma once

#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <string>

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

}  // namespace beacon::bench
