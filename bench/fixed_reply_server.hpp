// A fixed-JSON HTTP server from Debian (nginx) for the benchmarks: every request gets the same
// OpenAI chat completion at once, so a job over HTTP measures the node's transport and nothing
// of a provider's own cost. Started on a free loopback port, stopped with the object.
#pragma once

#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>

extern char** environ;

namespace beacon::bench {

// The reply: a complete OpenAI chat completion with usage, as a real deployment sends it.
inline const char* fixed_completion() {
  return R"({"id":"fixed","object":"chat.completion","model":"m","choices":[{"index":0,)"
         R"("message":{"role":"assistant","content":"A fixed answer from the fixed-reply )"
         R"(server: the transport is under test, not the model."},"finish_reason":"stop"}],)"
         R"("usage":{"prompt_tokens":12,"completion_tokens":16,"total_tokens":28}})";
}

// A loopback port nobody listens on now (the kernel's pick for a socket bound to port 0).
inline uint16_t free_loopback_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    throw std::runtime_error("no free loopback port");
  ::close(fd);
  return ntohs(a.sin_port);
}

// Whether something accepts connections on the loopback port.
inline bool listening(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  bool ok = fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  if (fd >= 0) ::close(fd);
  return ok;
}

// nginx with one worker answering every request with fixed_completion(), keep-alive unbounded.
class fixed_reply_server {
 public:
  explicit fixed_reply_server(const std::filesystem::path& dir, int workers = 1) {
    std::filesystem::create_directories(dir / "tmp");
    port_ = free_loopback_port();
    auto conf = dir / "nginx.conf";
    std::ofstream(conf) << "worker_processes " << workers
                        << ";\ndaemon off;\npid nginx.pid;\nerror_log error.log warn;\n"
                           "events { worker_connections 8192; }\n"
                           "http {\n  access_log off;\n  keepalive_requests 100000000;\n"
                           "  keepalive_timeout 600s;\n  client_body_buffer_size 64k;\n"
                           "  client_body_temp_path tmp/body;\n  proxy_temp_path tmp/proxy;\n"
                           "  fastcgi_temp_path tmp/fastcgi;\n  uwsgi_temp_path tmp/uwsgi;\n"
                           "  scgi_temp_path tmp/scgi;\n"
                           "  server {\n    listen 127.0.0.1:"
                        << port_
                        << ";\n    location / {\n      default_type application/json;\n"
                           "      return 200 '"
                        << fixed_completion() << "';\n    }\n  }\n}\n";
    std::string prefix = std::filesystem::absolute(dir).string() + "/";
    std::string conf_path = std::filesystem::absolute(conf).string();
    const char* argv[] = {"nginx",     "-p", prefix.c_str(),    "-e",
                          "error.log", "-c", conf_path.c_str(), nullptr};
    const char* binary = std::filesystem::exists("/usr/sbin/nginx") ? "/usr/sbin/nginx" : "nginx";
    if (posix_spawnp(&pid_, binary, nullptr, nullptr, const_cast<char**>(argv), environ) != 0)
      throw std::runtime_error("cannot start nginx (scripts/install-deps.sh --bench installs it)");
    for (int i = 0; i < 200 && !listening(port_); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    if (!listening(port_)) {
      stop();
      throw std::runtime_error("nginx did not listen on port " + std::to_string(port_) + " (see " +
                               prefix + "error.log)");
    }
  }
  ~fixed_reply_server() { stop(); }
  fixed_reply_server(const fixed_reply_server&) = delete;
  fixed_reply_server& operator=(const fixed_reply_server&) = delete;

  uint16_t port() const { return port_; }

  // Graceful stop (SIGQUIT), and the process reaped.
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGQUIT);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

}  // namespace beacon::bench
