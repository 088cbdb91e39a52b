// The node.
#include "app/node.hpp"

#include <sys/resource.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <pqxx/pqxx>
#include <random>
#include <thread>

#include "actors/database_keeper.hpp"
#include "caf/all.hpp"
#include "common/logging.hpp"
#include "common/priority.hpp"
#include "http/routes.hpp"
#include "storage/migrations.hpp"

namespace beacon {

// Raises the soft limit of open files to the hard one; returns the limit now in force.
static size_t raise_fd_limit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return 1024;
  if (lim.rlim_cur < lim.rlim_max) {
    auto raised = lim;
    raised.rlim_cur = lim.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) lim = raised;
  }
  return lim.rlim_cur == RLIM_INFINITY ? size_t{1} << 20 : static_cast<size_t>(lim.rlim_cur);
}

// Runs every actor thread (scheduler workers, detached actors) at the background niceness.
class niceness_hook : public caf::thread_hook {
 public:
  explicit niceness_hook(int32_t nice) : nice_(nice) {}
  void init(caf::actor_system&) override {}
  void thread_started() override { set_thread_niceness(nice_); }
  void thread_terminates() override {}

 private:
  int32_t nice_;
};

namespace {

// The node id kept in `file`: a random one is written there on first start.
std::string load_or_create_node_id(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::string id;
  if (in >> id && !id.empty()) return id;
  std::random_device rd;
  char buf[32];
  std::snprintf(buf, sizeof buf, "node-%08x%04x", rd(), rd() & 0xffffu);
  id = buf;
  std::filesystem::create_directories(file.parent_path());
  std::ofstream out(file, std::ios::trunc);
  out << id << "\n";
  if (!out) throw std::runtime_error("cannot write the node id to " + file.string());
  return id;
}

}  // namespace

runtime_options runtime_options_from(const node_config& cfg) {
  runtime_options o;
  o.persistence_batch_max = static_cast<size_t>(cfg.persistence_batch_max);
  o.background_niceness = cfg.background_niceness;
  auto& sup = o.supervisor;
  sup.pipeline = cfg.pipeline_questions;
  sup.max_in_flight_per_job = cfg.max_in_flight_per_job;
  sup.batch_restarts = cfg.batch_restarts;
  sup.batch.execution.retry_base = std::chrono::milliseconds(cfg.retry_base_ms);
  sup.batch.execution.retry_cap = std::chrono::milliseconds(cfg.retry_cap_ms);
  sup.batch.execution.cell_budget = std::chrono::milliseconds(cfg.cell_budget_ms);
  o.sim.latency_ms = cfg.sim_latency_ms;
  o.sim.latency_sigma = cfg.sim_latency_sigma;
  o.sim.error_rate = cfg.sim_error_rate;
  o.sim.timeout_rate = cfg.sim_timeout_rate;
  o.sim.seed = static_cast<uint64_t>(cfg.sim_seed);
  o.sim.max_concurrency = static_cast<size_t>(cfg.sim_max_concurrency);
  o.sim.prices.priced = true;
  o.sim.prices.currency = "USD";
  o.sim.prices.all = {cfg.sim_price_input, cfg.sim_price_output};
  auto split = [](const std::string& list) {
    std::vector<std::string> out;
    std::string item;
    for (char c : list + ",") {
      if (c != ',') {
        if (!std::isspace(static_cast<unsigned char>(c))) item += c;
      } else if (!item.empty()) {
        out.push_back(std::move(item));
        item.clear();
      }
    }
    return out;
  };
  o.sim_deployments.clear();
  for (auto& region : split(cfg.sim_regions)) {
    auto id = "sim-" + region;
    for (auto& c : id) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    o.sim_deployments.push_back({id, canonical_region(region), split(cfg.sim_models)});
  }
  if (!cfg.providers_file.empty()) o.http_providers = load_provider_config(cfg.providers_file);
  for (auto& c : o.http_providers)  // the sim's prices are in the providers' currency
    if (c.prices.priced) {
      o.sim.prices.currency = c.prices.currency;
      break;
    }
  o.lease_keeper.ttl = std::chrono::milliseconds(cfg.lease_ttl_ms);
  o.lease_keeper.heartbeat = std::chrono::milliseconds(cfg.heartbeat_ms);
  return o;
}

node::node(node_config cfg, std::shared_ptr<sim_call_log> sim_log)
    : cfg_(std::move(cfg)),
      sim_log_(sim_log ? std::move(sim_log) : std::make_shared<sim_call_log>()) {}

node::~node() {
  try {
    stop();
  } catch (const std::exception& e) {
    logging::error("node_stop_failed").field("error", e.what());
  }
}

void node::configure_admission() {
  admission_.limits.max_cells = cfg_.max_cells_per_job;
  admission_.max_retries = cfg_.max_retries;
  admission_.manual_retry_limit = cfg_.manual_retry_limit;
  admission_.signatures.require = cfg_.require_signed_jobs != 0;
  admission_.signatures.timestamp_window_s = cfg_.signature_window_s;
  if (!cfg_.trusted_keys_file.empty())
    admission_.signatures.trusted = load_trusted_keys(cfg_.trusted_keys_file);
}

void node::open_database() {
  if (cfg_.database_url.empty()) {
    storage::embedded_postgres_options pg;
    pg.dir = std::filesystem::path(cfg_.state_dir) / "postgres";
    pg_ = std::make_shared<storage::embedded_postgres>(pg);
    pg_->start();
    db_url_ = pg_->connection_string();
    if (!pg_->relocated_from().empty())
      logging::warn("database_relocated")
          .field("requested", pg_->relocated_from().string())
          .field("dir", pg_->dir().string())
          .field("why", "the postgres user cannot reach the requested directory");
    logging::info("database_started").field("mode", "embedded").field("dir", pg_->dir().string());
  } else {
    db_url_ = cfg_.database_url;
  }
  pqxx::connection conn{db_url_};
  auto applied = storage::apply_migrations(conn, storage::embedded_migrations());
  for (auto& m : applied) logging::info("migration_applied").field("name", m);
}

void node::start_actors() {
  caf_cfg_ = std::make_unique<caf::actor_system_config>();
  auto threads = cfg_.threads > 0 ? static_cast<size_t>(cfg_.threads)
                                  : std::max(2u, std::thread::hardware_concurrency());
  caf_cfg_->set("scheduler.max-threads", threads);
  if (cfg_.scheduler_policy != "stealing" && cfg_.scheduler_policy != "sharing")
    throw std::invalid_argument("scheduler-policy must be stealing or sharing");
  caf_cfg_->set("scheduler.policy", caf::atom_from_string(cfg_.scheduler_policy));
  if (cfg_.background_niceness > 0)
    caf_cfg_->add_thread_hook<niceness_hook>(cfg_.background_niceness);
  sys_ = std::make_unique<caf::actor_system>(*caf_cfg_);
  auto opts = runtime_options_from(cfg_);
  opts.database_url = db_url_;
  opts.sim_log = sim_log_;
  opts.supervisor.batch.execution.signer = key_;
  if (cfg_.leases) opts.leases = std::make_shared<storage::lease_book>(node_id_);
  if (hook_) hook_(opts);
  rt_ = spawn_runtime(*sys_, opts);
  if (pg_)
    keeper_ = sys_->spawn<caf::detached>(database_keeper, pg_, db_watch_,
                                         caf::timespan{std::chrono::seconds(1)});
}

void node::choose_node_id() {
  if (cfg_.heartbeat_ms * 3 > cfg_.lease_ttl_ms)
    throw std::invalid_argument("heartbeat-ms must be at most a third of lease-ttl-ms");
  node_id_ = cfg_.node_id.empty()
                 ? load_or_create_node_id(std::filesystem::path(cfg_.state_dir) / "node_id")
                 : cfg_.node_id;
  logging::info("node_id").field("node", node_id_).field("lease_ttl_ms", cfg_.lease_ttl_ms);
}

void node::resume_jobs() {
  caf::scoped_actor self{*sys_};
  self->request(rt_.manager, std::chrono::seconds(30), atom::resume::value)
      .receive(
          [](int32_t) {},
          [&](caf::error& e) { logging::error("resume_failed").field("error", sys_->render(e)); });
}

void node::serve_rest() {
  http::route_context ctx;
  ctx.pool = pool_.get();
  ctx.system = sys_.get();
  ctx.manager = rt_.manager;
  ctx.hub = rt_.hub;
  ctx.board = rt_.board;
  ctx.registry = rt_.registry;
  ctx.analyst = rt_.analyst;
  ctx.admitter = rt_.admitter;
  ctx.signing_key = key_;
  ctx.admission = admission_;
  ctx.api_token = cfg_.api_token;
  if (pg_) ctx.database_watch = db_watch_;
  ctx.node_id = node_id_;
  ctx.cell_overhead = rt_.cell_overhead;
  if (cfg_.rate_limit_per_minute > 0)
    ctx.limiter = std::make_shared<http::rate_limiter>(cfg_.rate_limit_per_minute);
  http_ = std::make_unique<http::server>(http::make_routes(ctx), server_options());
  http_->decorate(http::cors_decorator(
      std::make_shared<const http::cors_policy>(http::parse_cors_origins(cfg_.cors_origins))));
  http_port_ = http_->listen(cfg_.http_host, static_cast<uint16_t>(cfg_.http_port));
  logging::info("http_listening").field("host", cfg_.http_host).field("port", http_port_);
}

// The REST server's limits. The connection cap leaves room under the file descriptor limit
// (raised to its hard maximum first) for PostgreSQL, providers and logs, so a flood of clients
// meets the cap's 503 before the process runs out of descriptors.
http::server_options node::server_options() const {
  http::server_options o;
  o.workers = static_cast<size_t>(cfg_.http_workers);
  o.max_body_bytes = static_cast<size_t>(cfg_.max_body_bytes);
  o.write_timeout = std::chrono::milliseconds(cfg_.write_timeout_ms);
  constexpr size_t reserved_fds = 256;
  auto fds = raise_fd_limit();
  auto fit = fds > 2 * reserved_fds ? fds - reserved_fds : fds / 2;
  o.max_connections = std::min(static_cast<size_t>(cfg_.max_connections), fit);
  if (o.max_connections < static_cast<size_t>(cfg_.max_connections))
    logging::warn("max_connections_lowered")
        .field("configured", cfg_.max_connections)
        .field("fd_limit", fds)
        .field("max_connections", o.max_connections);
  return o;
}

void node::start(bool serve_http) {
  if (running_) return;
  configure_admission();
  open_database();
  auto key_file = cfg_.node_key_file.empty()
                      ? std::filesystem::path(cfg_.state_dir) / "node_ed25519.key"
                      : std::filesystem::path(cfg_.node_key_file);
  key_ = std::make_shared<const node_key>(load_or_create_node_key(key_file));
  logging::info("node_key").field("file", key_file.string()).field("key_id", key_->key_id);
  choose_node_id();
  start_actors();
  admission_.prices = rt_.prices;
  // Read-only sessions: REST handlers (and admission's checks, the demo's summary) only read;
  // every write goes through the actors.
  pool_ = std::make_unique<storage::connection_pool>(db_url_, cfg_.http_workers + 2, true);
  running_ = true;
  resume_jobs();
  if (serve_http) serve_rest();
}

// A clean stop lets this node's leases lapse, so other nodes take its jobs over at once.
void node::lapse_leases() {
  if (!rt_.keeper) return;
  caf::scoped_actor self{*sys_};
  self->request(rt_.keeper, std::chrono::seconds(2), atom::lapse::value)
      .receive([](bool) {},
               [&](caf::error& e) {
                 logging::warn("lease_lapse_failed").field("error", sys_->render(e));
               });
}

void node::stop() {
  if (http_) {
    http_->stop();
    http_.reset();
  }
  if (sys_) {
    if (keeper_) caf::anon_send_exit(keeper_, caf::exit_reason::user_shutdown);
    keeper_ = nullptr;
    // The cells first, then the leases: no cell of ours writes after another node takes over.
    rt_.stop_jobs();
    lapse_leases();
    rt_.shutdown();
    rt_ = runtime{};
    sys_->await_all_actors_done();
    sys_.reset();
    caf_cfg_.reset();
  }
  pool_.reset();
  if (pg_) {
    pg_->stop();
    pg_.reset();
  }
  running_ = false;
}

admission_result node::submit(std::string_view body) {
  auto conn = pool_->acquire();
  auto result = admit(*conn, body, admission_, {}, job_writer_of(*sys_, rt_.admitter));
  if (result.status == 202) caf::anon_send(rt_.manager, atom::start::value, result.job_id);
  return result;
}

job_progress node::progress(const std::string& job_id) {
  job_progress out;
  caf::scoped_actor self{*sys_};
  self->request(rt_.hub, std::chrono::seconds(5), atom::get::value, job_id)
      .receive([&](job_progress& p) { out = std::move(p); }, [](caf::error&) {});
  return out;
}

std::shared_ptr<const job_progress> node::published_progress(const std::string& job_id) {
  return rt_.board ? rt_.board->read(job_id) : nullptr;  // the runtime always has a board
}

}  // namespace beacon
