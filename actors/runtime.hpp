// Spawns the node's long-lived actors (persistence guard, progress hub, providers, provider
// registry, job manager) into an actor system; used by the node and by the actor tests.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "actors/admitter.hpp"
#include "actors/analyst.hpp"
#include "actors/http_provider.hpp"
#include "actors/job_manager.hpp"
#include "actors/lease_keeper.hpp"
#include "actors/persistence_guard.hpp"
#include "actors/progress_board.hpp"
#include "actors/provider_registry.hpp"
#include "actors/sim_provider.hpp"
#include "common/latency_histogram.hpp"

namespace beacon {

// One simulated deployment: a provider id in one region serving some models.
struct sim_deployment {
  std::string id;
  std::string region;
  std::vector<std::string> models;
};

// The embedded default: sim-us, sim-eu, sim-asia, each serving llama3.2-1b, mistral-7b and
// qwen2.5-1.5b.
std::vector<sim_deployment> default_sim_deployments();

struct runtime_options {
  std::string database_url;
  bool detached_persistence = true;
  size_t persistence_batch_max = 4096;
  int32_t background_niceness = 0;   // of the persistence backend (see node_config)
  size_t finished_jobs_kept = 1000;  // progress of finished jobs kept in memory
  supervisor_settings supervisor;    // its execution.registry is filled in by spawn_runtime
  sim::settings sim;
  std::vector<sim_deployment> sim_deployments = default_sim_deployments();
  std::shared_ptr<sim_call_log> sim_log = std::make_shared<sim_call_log>();
  std::vector<http_provider_config> http_providers;  // endpoints from the providers file
  std::vector<provider_entry> extra_providers;       // spawned by the caller (e.g. test doubles)
  bool analyze_finished_jobs = true;                 // spawn the analyst (needs database_url)
  // Set (with a database URL): jobs run under leases held in this book, so several nodes can
  // share one database; none: every job admitted or resumed here runs here (actor tests).
  std::shared_ptr<storage::lease_book> leases;
  lease_keeper_options lease_keeper;  // its database_url is filled in by spawn_runtime
};

struct runtime {
  caf::actor persistence_guard;
  progress_hub_actor hub;
  std::shared_ptr<progress_board> board;  // the hub's counts, readable from any thread
  provider_registry_actor registry;
  std::vector<provider_actor> sim_providers;     // in-process; the HTTP ones belong to the registry
  std::shared_ptr<providers::http_client> http;  // shared by the HTTP providers
  job_manager_actor manager;
  analyst_actor analyst;      // null without a database URL or with analyze_finished_jobs off
  admitter_actor admitter;    // stores submitted jobs; null without a database URL
  lease_keeper_actor keeper;  // null without leases
  std::shared_ptr<const price_book> prices;  // every provider's prices (budgets, /metrics)
  // Each committed cell's own time in the node (see execution_settings::overhead).
  std::shared_ptr<latency_histogram> cell_overhead;
  std::shared_ptr<live_count> executions;  // the live execution actors of every job

  // Stops the jobs' actors and waits (at most `limit`) for every execution to end: the first
  // step of a stop, so no cell sends to a stopped storage or provider, or writes after its
  // node let its leases lapse, and no failure is recorded that only the stop caused.
  void stop_jobs(std::chrono::milliseconds limit = std::chrono::seconds(10));
  // Asks every actor to stop (user_shutdown); the caller then awaits the system.
  void shutdown();
};

runtime spawn_runtime(caf::actor_system& sys, runtime_options opts);

// The prices of every provider the options configure (test doubles have none).
std::shared_ptr<const price_book> price_book_of(const runtime_options& opts);

}  // namespace beacon
