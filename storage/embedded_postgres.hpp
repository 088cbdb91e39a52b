// A private PostgreSQL cluster under a state directory (initdb + pg_ctl from Debian's package),
// listening only on a unix socket; run as an unprivileged user when we are root.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace beacon::storage {

struct embedded_postgres_options {
  std::filesystem::path dir;          // holds data/, run/ (socket), postgres.log and pgpass
  bool durable = true;                // false: fsync off (tests and throw-away clusters)
  std::string database = "beacon";    // created on first start
  std::vector<std::string> settings;  // extra "-c name=value" server settings
};

class embedded_postgres {
 public:
  explicit embedded_postgres(embedded_postgres_options opts);
  ~embedded_postgres();
  embedded_postgres(const embedded_postgres&) = delete;
  embedded_postgres& operator=(const embedded_postgres&) = delete;

  // Initialises the cluster if needed, starts it (or adopts one already running on the
  // directory) and creates the database. Throws std::runtime_error with the server's log tail.
  void start();
  // Stops the server (fast shutdown). Idempotent.
  void stop();
  // The postmaster's pid from its pid file; 0 when there is none.
  int postmaster_pid() const;
  // Whether the postmaster is alive (a killed one leaves its pid file behind).
  bool alive() const;
  // Starts the server again after it died; its start runs crash recovery. Throws as start().
  void restart();

  // A libpq connection string for `database` (or the configured one).
  std::string connection_string(const std::string& database = "") const;
  const std::filesystem::path& socket_dir() const { return socket_dir_; }
  // Where the cluster lives, and the requested directory when it could not be used (empty if it
  // was): as root, a directory the unprivileged server user cannot reach moves to /var/lib/beacon.
  const std::filesystem::path& dir() const { return opts_.dir; }
  const std::filesystem::path& relocated_from() const { return relocated_from_; }

 private:
  void use_dir(const std::filesystem::path& dir);
  // The libpq password file of the cluster's user (0600; absent for an old trust cluster).
  std::filesystem::path passfile() const;
  int run_as_owner(const std::vector<std::string>& argv, const std::filesystem::path& log) const;
  std::string log_tail() const;

  embedded_postgres_options opts_;
  std::filesystem::path bin_dir_;
  std::filesystem::path socket_dir_;
  std::filesystem::path relocated_from_;
  bool running_ = false;
};

// The directory holding initdb, pg_ctl and postgres (the newest /usr/lib/postgresql/N/bin).
std::filesystem::path find_postgres_bin_dir();

}  // namespace beacon::storage
