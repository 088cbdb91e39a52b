// A real `beacon serve` process for the hostile-client tests: its own pid, file descriptor
// limit and log file, REST on a loopback port, stopped with SIGTERM. RSS and CPU time are read
// from /proc.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace beacon::test {

class node_process {
 public:
  // Starts the node on `database_url` with extra `--key value` arguments; `fd_limit` > 0 sets
  // its open-file limit (soft and hard). Returns once /health/live answers (throws otherwise).
  node_process(const std::string& name, const std::string& database_url,
               std::vector<std::string> args, uint64_t fd_limit = 0);
  ~node_process();
  node_process(const node_process&) = delete;
  node_process& operator=(const node_process&) = delete;

  uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  int64_t rss_kb() const;      // resident memory now
  double cpu_seconds() const;  // user + system time so far
  std::string log() const;     // everything it wrote (JSON lines)
  bool running();              // not exited yet
  int stop();                  // SIGTERM, then the exit status
  void kill_hard();            // SIGKILL (no clean-up at all), and reaped

 private:
  void print_log_tail(int code) const;  // to stderr, when it exited with an error
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  std::string log_path_;
};

// A port nothing listens on now (bound and released).
uint16_t free_port();

// Whether every sanitizer report in a node's log is the "invalid vptr" a node without a free
// file descriptor makes up (the vtable could not be read: "<memory cannot be printed>").
bool false_vptr_reports_only(const std::string& log);

}  // namespace beacon::test
