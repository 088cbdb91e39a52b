// The embedded PostgreSQL cluster: process management with fork/exec, dropping root privileges.
#include "storage/embedded_postgres.hpp"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <optional>
#include <pqxx/connection>
#include <pqxx/nontransaction>
#include <sstream>
#include <stdexcept>

#include "common/crypto.hpp"
#include "common/hash.hpp"

namespace fs = std::filesystem;

namespace beacon::storage {
namespace {

// The unprivileged account that owns the cluster when we run as root.
struct owner {
  uid_t uid;
  gid_t gid;
};

std::optional<owner> unprivileged_owner() {
  if (geteuid() != 0) return std::nullopt;
  for (const char* name : {"postgres", "nobody"}) {
    if (auto* pw = getpwnam(name)) return owner{pw->pw_uid, pw->pw_gid};
  }
  throw std::runtime_error(
      "running as root, and neither a 'postgres' nor a 'nobody' account exists to run PostgreSQL");
}

void chown_tree(const fs::path& p, const owner& o) {
  if (::chown(p.c_str(), o.uid, o.gid) != 0) throw std::runtime_error("cannot chown " + p.string());
  if (fs::is_directory(p))
    for (auto& e : fs::recursive_directory_iterator(p))
      if (::lchown(e.path().c_str(), o.uid, o.gid) != 0)
        throw std::runtime_error("cannot chown " + e.path().string());
}

}  // namespace

fs::path find_postgres_bin_dir() {
  fs::path best;
  int best_version = -1;
  std::error_code ec;
  for (auto& e : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    int v = std::atoi(e.path().filename().c_str());
    if (v > best_version && fs::exists(e.path() / "bin" / "pg_ctl")) {
      best_version = v;
      best = e.path() / "bin";
    }
  }
  if (best.empty())
    throw std::runtime_error(
        "PostgreSQL server binaries not found under /usr/lib/postgresql (install the "
        "'postgresql' package, e.g. with scripts/install-deps.sh, or pass --database-url)");
  return best;
}

embedded_postgres::embedded_postgres(embedded_postgres_options opts) : opts_(std::move(opts)) {
  bin_dir_ = find_postgres_bin_dir();
  use_dir(fs::absolute(opts_.dir));
}

void embedded_postgres::use_dir(const fs::path& dir) {
  opts_.dir = dir;
  socket_dir_ = opts_.dir / "run";
  // Unix socket paths are limited to 107 bytes; fall back to a short directory under /tmp.
  if ((socket_dir_ / ".s.PGSQL.5432.lock").string().size() > 100) {
    auto tag = std::to_string(fnv1a(opts_.dir.string()) % 1000000007ull);
    socket_dir_ = fs::path("/tmp") / ("beacon-pg-" + tag);
  }
}

embedded_postgres::~embedded_postgres() {
  try {
    stop();
  } catch (...) {
  }
}

int embedded_postgres::run_as_owner(const std::vector<std::string>& argv,
                                    const fs::path& log) const {
  auto who = unprivileged_owner();
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    if (who) {
      if (setgroups(0, nullptr) != 0 || setgid(who->gid) != 0 || setuid(who->uid) != 0) _exit(126);
    }
    if (chdir(opts_.dir.c_str()) != 0) _exit(126);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw std::runtime_error("waitpid failed");
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string embedded_postgres::log_tail() const {
  std::ifstream in(opts_.dir / "postgres.log");
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  std::string out;
  for (size_t i = lines.size() > 15 ? lines.size() - 15 : 0; i < lines.size(); ++i)
    out += "\n  " + lines[i];
  return out;
}

namespace {

// Writes a file only its owner may read (0600 from its creation on).
void write_private(const fs::path& path, const std::string& text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) throw std::runtime_error("cannot write " + path.string());
  ::fchmod(fd, 0600);
  auto written = ::write(fd, text.data(), text.size());
  ::close(fd);
  if (written != static_cast<ssize_t>(text.size()))
    throw std::runtime_error("cannot write " + path.string());
}

}  // namespace

void embedded_postgres::start() {
  if (running_) return;
  auto who = unprivileged_owner();
  fs::create_directories(opts_.dir);
  // As root the cluster runs as another user, who must be able to reach the directory (a clone
  // under /root is not reachable): then keep the cluster under /var/lib/beacon instead.
  if (who && run_as_owner({"/bin/true"}, "/dev/null") != 0) {
    auto tag = std::to_string(fnv1a(opts_.dir.string()) % 1000000007ull);
    auto moved = fs::path("/var/lib/beacon") / ("cluster-" + tag);
    relocated_from_ = opts_.dir;
    use_dir(moved);
    fs::create_directories(opts_.dir);
    ::chmod("/var/lib/beacon", 0755);
  }
  fs::create_directories(socket_dir_);
  auto data = opts_.dir / "data";
  auto log = opts_.dir / "postgres.log";
  // PostgreSQL must be able to reach its directory and write its log and socket.
  ::chmod(opts_.dir.c_str(), 0755);
  ::chmod(socket_dir_.c_str(), 0700);  // only the server's user (and root) reach the socket
  { std::ofstream touch(log, std::ios::app); }
  if (who) {
    ::chown(opts_.dir.c_str(), who->uid, who->gid);
    ::chown(socket_dir_.c_str(), who->uid, who->gid);
    ::chown(log.c_str(), who->uid, who->gid);
    if (fs::exists(data)) chown_tree(data, *who);
  }
  if (!fs::exists(data / "PG_VERSION")) {
    // No local account but ours gets in: the cluster asks for a password (SCRAM), which only
    // the node knows (a libpq password file, 0600, in the state directory).
    auto secret = crypto::random_hex(24);
    write_private(passfile(), "*:*:*:beacon:" + secret + "\n");
    auto pwfile = opts_.dir / "initdb.pw";
    write_private(pwfile, secret + "\n");
    if (who) ::chown(pwfile.c_str(), who->uid, who->gid);
    std::vector<std::string> initdb = {(bin_dir_ / "initdb").string(),
                                       "-D",
                                       data.string(),
                                       "-U",
                                       "beacon",
                                       "--auth-local=scram-sha-256",
                                       "--auth-host=scram-sha-256",
                                       "--pwfile=" + pwfile.string(),
                                       "-E",
                                       "UTF8",
                                       "--locale=C"};
    if (!opts_.durable) initdb.push_back("--no-sync");
    int initdb_status = run_as_owner(initdb, log);
    fs::remove(pwfile);
    if (initdb_status != 0)
      throw std::runtime_error("initdb failed for " + data.string() +
                               (who ? " (as an unprivileged user: every parent directory must "
                                      "be searchable by it)"
                                    : "") +
                               ":" + log_tail());
  }
  std::string server_opts =
      "-c listen_addresses='' -c unix_socket_permissions=0700 -p 5432 -k " + socket_dir_.string();
  if (!opts_.durable)
    server_opts += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off";
  for (auto& s : opts_.settings) server_opts += " -c " + s;
  auto pg_ctl = (bin_dir_ / "pg_ctl").string();
  // Adopt a server still running on this directory (e.g. after a crash of the node).
  if (run_as_owner({pg_ctl, "status", "-D", data.string()}, log) != 0) {
    if (run_as_owner({pg_ctl, "start", "-D", data.string(), "-w", "-t", "60", "-l", log.string(),
                      "-o", server_opts},
                     log) != 0)
      throw std::runtime_error("could not start PostgreSQL in " + data.string() + ":" + log_tail());
  }
  running_ = true;
  pqxx::connection admin{connection_string("postgres")};
  pqxx::nontransaction tx{admin};
  auto exists = tx.exec_params("SELECT 1 FROM pg_database WHERE datname = $1", opts_.database);
  if (exists.empty()) tx.exec("CREATE DATABASE " + tx.quote_name(opts_.database));
}

void embedded_postgres::stop() {
  if (!running_) return;
  running_ = false;
  auto data = opts_.dir / "data";
  run_as_owner({(bin_dir_ / "pg_ctl").string(), "stop", "-D", data.string(), "-m", "fast", "-w"},
               opts_.dir / "postgres.log");
}

int embedded_postgres::postmaster_pid() const {
  std::ifstream in(opts_.dir / "data" / "postmaster.pid");
  int pid = 0;
  in >> pid;
  return in ? pid : 0;
}

bool embedded_postgres::alive() const {
  auto pid = postmaster_pid();
  // EPERM: it runs as the unprivileged cluster owner, and exists.
  return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM);
}

void embedded_postgres::restart() {
  running_ = false;
  start();
}

std::string embedded_postgres::connection_string(const std::string& database) const {
  auto out = "host=" + socket_dir_.string() +
             " port=5432 user=beacon dbname=" + (database.empty() ? opts_.database : database);
  // A cluster made before passwords (trust) has no password file and needs none.
  if (fs::exists(passfile())) out += " passfile=" + passfile().string();
  return out;
}

std::filesystem::path embedded_postgres::passfile() const {
  return opts_.dir / "pgpass";
}

}  // namespace beacon::storage
