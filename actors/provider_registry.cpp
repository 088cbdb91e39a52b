// The provider registry actor.
#include "actors/provider_registry.hpp"

#include <tuple>

#include "actors/http_provider.hpp"
#include "caf/all.hpp"
#include "common/logging.hpp"

namespace beacon {
namespace {

using self_ptr = provider_registry_actor::stateful_pointer<provider_registry_state>;

provider_actor spawn_http(self_ptr self, const http_provider_config& c) {
  auto p = self->spawn(http_provider, c, self->state.http,
                       caf::actor_cast<provider_registry_actor>(self));
  self->monitor(p);
  return p;
}

void add(self_ptr self, provider_registry_state::provider p) {
  auto& st = self->state;
  for (auto& m : p.entry.models) st.routes[{p.entry.region, m}].push_back(st.providers.size());
  st.providers.push_back(std::move(p));
}

// Lower is better: an open circuit, then the provider to avoid, then the expected wait: calls
// outstanding per slot (as last reported, plus those routed since, plus this one) times the
// provider's recent latency (at least 1 ms, so providers without a measurement share by load).
std::tuple<bool, bool, double> rank(const provider_registry_state::provider& p,
                                    const std::string& avoid) {
  double wait = 0;
  if (p.reports)
    wait = static_cast<double>(p.status.load + p.routed_since_report + 1) /
           std::max<int32_t>(1, p.status.limit) * std::max(1.0, p.status.latency_ms);
  return {p.status.circuit == circuit_state::open, !avoid.empty() && p.entry.id == avoid, wait};
}

}  // namespace

provider_registry_state::~provider_registry_state() {
  for (auto& p : providers)
    if (p.config) caf::anon_send_exit(p.entry.handle, caf::exit_reason::user_shutdown);
}

provider_registry_actor::behavior_type provider_registry(
    provider_registry_actor::stateful_pointer<provider_registry_state> self,
    std::vector<provider_entry> external, std::vector<http_provider_config> http_providers,
    std::shared_ptr<providers::http_client> http) {
  self->state.http = std::move(http);
  for (auto& e : external) {
    provider_registry_state::provider p;
    p.status.provider_id = e.id;
    p.status.region = e.region;
    p.status.kind = "in_process";
    p.entry = std::move(e);
    add(self, std::move(p));
  }
  for (auto& c : http_providers) {
    provider_registry_state::provider p;
    p.entry = {c.id, c.region, c.models, spawn_http(self, c)};
    p.status.provider_id = c.id;
    p.status.region = c.region;
    p.status.kind = std::string(providers::to_string(c.protocol));
    p.status.limit = p.status.max_concurrency = static_cast<int32_t>(c.max_concurrency);
    p.reports = true;
    p.config = std::move(c);
    add(self, std::move(p));
  }
  // A crashed HTTP provider is respawned; its callers' requests fail and are retried.
  self->set_down_handler([=](caf::down_msg& dm) {
    for (auto& p : self->state.providers) {
      if (!p.config || p.entry.handle.address() != dm.source) continue;
      logging::warn("provider_restarted")
          .field("provider_id", p.entry.id)
          .field("region", p.entry.region)
          .field("reason", self->system().render(dm.reason));
      p.entry.handle = spawn_http(self, *p.config);
      p.routed_since_report = 0;
    }
  });
  return {
      [=](atom::route, const std::string& region, const std::string& model,
          const std::string& avoid) -> std::tuple<provider_actor, std::string, std::string> {
        auto& st = self->state;
        auto it = st.routes.find({region, model});
        if (it == st.routes.end() || it->second.empty()) return {provider_actor{}, "", ""};
        auto& candidates = it->second;
        auto first = st.next[{region, model}]++;
        size_t best = candidates[first % candidates.size()];
        auto best_rank = rank(st.providers[best], avoid);
        for (size_t k = 1; k < candidates.size(); ++k) {
          auto i = candidates[(first + k) % candidates.size()];
          auto r = rank(st.providers[i], avoid);
          if (r < best_rank) {
            best = i;
            best_rank = r;
          }
        }
        auto& p = st.providers[best];
        ++p.routed_since_report;
        return {p.entry.handle, p.entry.id, p.entry.region};
      },
      [=](atom::update, provider_status& s) {
        for (auto& p : self->state.providers) {
          if (p.entry.id != s.provider_id) continue;
          p.status = std::move(s);
          p.routed_since_report = 0;
          p.reports = true;
          return;
        }
      },
      [=](atom::get) {
        std::vector<provider_status> out;
        for (auto& p : self->state.providers) out.push_back(p.status);
        return out;
      },
  };
}

}  // namespace beacon
