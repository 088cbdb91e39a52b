// Runtime assembly.
#include "actors/runtime.hpp"

#include "actors/progress_hub.hpp"
#include "common/logging.hpp"

namespace beacon {

std::vector<sim_deployment> default_sim_deployments() {
  std::vector<std::string> models = {"llama3.2-1b", "mistral-7b", "qwen2.5-1.5b"};
  return {{"sim-us", "US", models}, {"sim-eu", "EU", models}, {"sim-asia", "ASIA", models}};
}

std::shared_ptr<const price_book> price_book_of(const runtime_options& opts) {
  auto book = std::make_shared<price_book>();
  for (auto& d : opts.sim_deployments) book->add(d.id, d.region, d.models, opts.sim.prices);
  for (auto& c : opts.http_providers) book->add(c.id, c.region, c.models, c.prices);
  for (auto& e : opts.extra_providers) book->add(e.id, e.region, e.models, {});
  return book;
}

runtime spawn_runtime(caf::actor_system& sys, runtime_options opts) {
  runtime rt;
  rt.board = std::make_shared<progress_board>();
  rt.hub = sys.spawn(progress_hub, opts.finished_jobs_kept, rt.board);
  persistence_guard_options guard;
  guard.persistence.database_url = opts.database_url;
  guard.persistence.batch_max = opts.persistence_batch_max;
  guard.persistence.backend_niceness = opts.background_niceness;
  guard.persistence.hub = rt.hub;
  // Receipts are made with the signer's key id, so its log is the one they are appended to.
  guard.persistence.log_key = opts.supervisor.batch.execution.signer;
  bool leased = opts.leases && !opts.database_url.empty();
  if (leased) guard.persistence.leases = opts.leases;
  guard.detached = opts.detached_persistence;
  rt.persistence_guard = sys.spawn(persistence_guard, guard, spawn_first_persistence(sys, guard));
  std::vector<provider_entry> entries;
  for (auto& d : opts.sim_deployments) {
    auto p = sys.spawn(sim_provider, d.id, d.region, opts.sim, opts.sim_log);
    rt.sim_providers.push_back(p);
    entries.push_back({d.id, d.region, d.models, p});
  }
  if (!opts.http_providers.empty()) rt.http = std::make_shared<providers::http_client>();
  for (auto& p : opts.extra_providers) entries.push_back(p);
  rt.prices = price_book_of(opts);
  // The registry spawns (and supervises) the HTTP providers.
  rt.registry = sys.spawn(provider_registry, entries, opts.http_providers, rt.http);
  auto settings = opts.supervisor;
  settings.batch.execution.registry = rt.registry;
  if (!settings.batch.execution.overhead)
    settings.batch.execution.overhead = std::make_shared<latency_histogram>();
  rt.cell_overhead = settings.batch.execution.overhead;
  if (!settings.batch.execution.live)
    settings.batch.execution.live = std::make_shared<live_count>();
  rt.executions = settings.batch.execution.live;
  settings.prices = rt.prices;
  if (!opts.database_url.empty())
    rt.admitter = sys.spawn<caf::detached>(admitter, opts.database_url);
  if (opts.analyze_finished_jobs && !opts.database_url.empty()) {
    rt.analyst = sys.spawn<caf::detached>(analyst, opts.database_url);
    settings.analyst = rt.analyst;
  }
  if (leased) {
    auto keeper_opts = opts.lease_keeper;
    keeper_opts.database_url = opts.database_url;
    rt.keeper = sys.spawn<caf::detached>(lease_keeper, keeper_opts, opts.leases);
  }
  rt.manager = sys.spawn(job_manager, settings, rt.keeper);
  if (rt.keeper) caf::anon_send(rt.keeper, atom::run::value, rt.manager);
  return rt;
}

void runtime::stop_jobs(std::chrono::milliseconds limit) {
  // Its supervisors, batches and executions are killed in turn as each one's state goes.
  if (manager) caf::anon_send_exit(manager, caf::exit_reason::user_shutdown);
  if (executions && !executions->wait_for_none(limit))
    logging::warn("cells_still_running").field("executions", executions->now());
}

void runtime::shutdown() {
  auto reason = caf::exit_reason::user_shutdown;
  if (manager) caf::anon_send_exit(manager, reason);
  if (keeper) caf::anon_send_exit(keeper, reason);
  if (registry) caf::anon_send_exit(registry, reason);
  for (auto& p : sim_providers) caf::anon_send_exit(p, reason);
  if (hub) caf::anon_send_exit(hub, reason);
  if (analyst) caf::anon_send_exit(analyst, reason);
  if (admitter) caf::anon_send_exit(admitter, reason);
  if (persistence_guard) caf::anon_send_exit(persistence_guard, reason);
}

}  // namespace beacon
