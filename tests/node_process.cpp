// The node process.
#include "tests/node_process.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "tests/http_client.hpp"

namespace beacon::test {

uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

node_process::node_process(const std::string& name, const std::string& database_url,
                           std::vector<std::string> args, uint64_t fd_limit)
    : port_(free_port()) {
  auto dir = std::filesystem::path(BEACON_TEST_OUTPUT_DIR) / name;
  // An embedded server left running by an earlier run that aborted goes first.
  std::ifstream stale(dir / "postgres" / "data" / "postmaster.pid");
  if (pid_t old = 0; stale >> old && old > 0) {
    std::ifstream cmd("/proc/" + std::to_string(old) + "/cmdline");
    std::string line;
    std::getline(cmd, line);
    if (line.find("postgres") != std::string::npos) ::kill(old, SIGKILL);
  }
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  log_path_ = (dir / "node.log").string();
  // BEACON_NODE_BINARY runs the suites against another build (an earlier commit's, say).
  auto other = std::getenv("BEACON_NODE_BINARY");
  std::vector<std::string> argv{other && *other ? other : BEACON_BINARY,
                                "serve",
                                "--database-url",
                                database_url,
                                "--http-port",
                                std::to_string(port_),
                                "--state-dir",
                                dir.string(),
                                "--log-format",
                                "json"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> raw;  // built before fork: the child only opens, limits and execs
  for (auto& a : argv) raw.push_back(a.data());
  raw.push_back(nullptr);
  auto log_file = log_path_;
  // Its environment, with a small sanitizer quarantine (under ASan) so RSS shows live memory.
  // A node run out of descriptors on purpose cannot run UBSan's vptr check: on a cache miss the
  // check reads the vtable through the sanitizer's memory probe, which needs a pipe, so with no
  // descriptor left it reports "invalid vptr" and "<memory cannot be printed>" for any object
  // (its vptr_check suppressions do not apply to an object it could not read), and a stack
  // trace it cannot symbolize either. Such a node reports without a trace and carries on; its
  // test checks that this is all it reported (false_vptr_reports_only).
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string var(*e);
    if (var.rfind("ASAN_OPTIONS=", 0) != 0 && var.rfind("UBSAN_OPTIONS=", 0) != 0)
      env.push_back(var);
  }
  auto asan = std::getenv("ASAN_OPTIONS");
  env.push_back(std::string("ASAN_OPTIONS=") + (asan ? std::string(asan) + ":" : "") +
                "quarantine_size_mb=8");
  auto ubsan = std::getenv("UBSAN_OPTIONS");
  std::string ubsan_env = std::string("UBSAN_OPTIONS=") + (ubsan ? ubsan : "");
  if (fd_limit > 0)
    ubsan_env += std::string(ubsan ? ":" : "") + "halt_on_error=0:print_stacktrace=0";
  env.push_back(ubsan_env);
  std::vector<char*> raw_env;
  for (auto& e : env) raw_env.push_back(e.data());
  raw_env.push_back(nullptr);
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // a test that aborts takes its nodes with it
    int out = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(out, 1);
    ::dup2(out, 2);
    if (fd_limit > 0) {
      rlimit lim{fd_limit, fd_limit};
      ::setrlimit(RLIMIT_NOFILE, &lim);
    }
    ::execve(raw[0], raw.data(), raw_env.data());
    ::_exit(127);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    if (!running()) throw std::runtime_error("the node exited at start: " + log());
    try {
      if (http_call(port_, "GET", "/health/live").status == 200) return;
    } catch (const std::exception&) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  stop();
  throw std::runtime_error("the node did not answer /health/live within 60 s");
}

node_process::~node_process() {
  if (pid_ > 0) stop();
}

bool node_process::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

void node_process::print_log_tail(int code) const {
  auto text = log();
  constexpr size_t tail = 4000;
  std::fprintf(stderr, "node %s stopped with %d; the end of its log:\n%s\n", log_path_.c_str(),
               code, text.substr(text.size() > tail ? text.size() - tail : 0).c_str());
}

int node_process::stop() {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  int status = 0;
  for (int i = 0; i < 300; ++i) {  // 30 s, then SIGKILL
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      if (code != 0) print_log_tail(code);
      return code;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  return 137;
}

void node_process::kill_hard() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

int64_t node_process::rss_kb() const {
  std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
  return -1;
}

double node_process::cpu_seconds() const {
  std::ifstream in("/proc/" + std::to_string(pid_) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close = text.rfind(')');  // the name may hold spaces; fields 14 and 15 follow it
  if (close == std::string::npos) return -1;
  std::istringstream rest(text.substr(close + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i)
    if (i == 14 || i == 15) ticks += std::stod(field);
  return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

std::string node_process::log() const {
  std::ifstream in(log_path_);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

bool false_vptr_reports_only(const std::string& log) {
  std::istringstream in(log);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].find("runtime error:") == std::string::npos) continue;
    bool vptr = lines[i].find("which does not point to an object of type") != std::string::npos;
    bool unread = i + 2 < lines.size() && lines[i + 1].find("invalid vptr") != std::string::npos &&
                  lines[i + 2].find("<memory cannot be printed>") != std::string::npos;
    if (!vptr || !unread) return false;
  }
  return true;
}

}  // namespace beacon::test
