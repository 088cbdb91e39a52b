// A service node: its database (a URL, or the embedded cluster under the state directory), the
// migrations, the actor system with the runtime actors, and optionally the REST server.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "actors/runtime.hpp"
#include "app/config.hpp"
#include "http/admission.hpp"
#include "http/server.hpp"
#include "storage/connection_pool.hpp"
#include "storage/database_watch.hpp"
#include "storage/embedded_postgres.hpp"

namespace beacon {

// Runtime settings of the actor tree derived from the configuration.
runtime_options runtime_options_from(const node_config& cfg);

class node {
 public:
  // `sim_log` lets callers (tests, benchmarks) count sim provider calls across node restarts.
  explicit node(node_config cfg, std::shared_ptr<sim_call_log> sim_log = nullptr);
  ~node();
  node(const node&) = delete;
  node& operator=(const node&) = delete;

  // Starts the database, applies migrations, spawns the actors, resumes unfinished jobs and,
  // with `serve_http`, listens for REST. Throws with a message a person can act on.
  void start(bool serve_http);
  // Stops REST and every actor (work not yet committed is left for the next start), then the
  // embedded database. Idempotent.
  void stop();

  // Validates and stores a JobSpec, then starts it: the path of POST /api/v1/jobs.
  admission_result submit(std::string_view body);
  // Live progress of a job from the progress hub (empty status when unknown).
  job_progress progress(const std::string& job_id);
  // The job's counts as the hub last published them, shared, not copied (null while the hub
  // does not hold the job, or before start): for pollers, whose copies of a large job's groups
  // would be charged to the node.
  std::shared_ptr<const job_progress> published_progress(const std::string& job_id);

  const node_config& config() const { return cfg_; }
  const std::string& database_url() const { return db_url_; }
  // The embedded cluster's directory (empty with a database URL).
  std::string embedded_dir() const { return pg_ ? pg_->dir().string() : std::string(); }
  storage::connection_pool& pool() { return *pool_; }
  caf::actor_system& system() { return *sys_; }
  runtime& actors() { return rt_; }
  uint16_t http_port() const { return http_port_; }
  // Adjusts the runtime's options after they are built from the config, before the actors are
  // spawned (benchmarks compare settings the config does not expose).
  void set_runtime_hook(std::function<void(runtime_options&)> hook) { hook_ = std::move(hook); }
  // The receipt-signing key (null before start()).
  std::shared_ptr<const node_key> key() const { return key_; }

 private:
  // The steps of start, in order.
  void configure_admission();
  void open_database();   // embedded or given, migrated
  void start_actors();    // the actor system, the runtime's actors and the database keeper
  void resume_jobs();     // what a previous process left unfinished
  void choose_node_id();  // from the config or <state_dir>/node_id
  void lapse_leases();    // on a clean stop: other nodes take this node's jobs at once
  void serve_rest();
  http::server_options server_options() const;  // from cfg_

  node_config cfg_;
  admission_settings admission_;         // from cfg_, built by start()
  std::shared_ptr<const node_key> key_;  // signs receipts; loaded or created by start()
  std::shared_ptr<sim_call_log> sim_log_;
  std::function<void(runtime_options&)> hook_;
  std::shared_ptr<storage::embedded_postgres> pg_;
  std::shared_ptr<storage::database_watch> db_watch_ = std::make_shared<storage::database_watch>();
  database_keeper_actor keeper_;  // restarts the embedded server when it dies (null with a URL)
  std::string db_url_;
  std::string node_id_;
  std::unique_ptr<caf::actor_system_config> caf_cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  runtime rt_;
  std::unique_ptr<storage::connection_pool> pool_;
  std::unique_ptr<http::server> http_;
  uint16_t http_port_ = 0;
  bool running_ = false;
};

}  // namespace beacon
