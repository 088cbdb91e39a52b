// The PROVIDER REGISTRY: routes a cell's (region, model) to a provider registered in that same
// region (region fidelity: never another region). Among several it prefers a closed circuit,
// then not the provider that just failed this cell (failover within the region), then the
// least loaded by expected wait (calls outstanding per slot times recent latency); ties rotate.
// It spawns and supervises the HTTP providers of the configuration (a crashed one is respawned
// with its configuration); in-process providers (sim, test doubles) are handed to it.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "messages/interfaces.hpp"
#include "providers/http_client.hpp"
#include "providers/provider_config.hpp"

namespace beacon {

// One provider deployment spawned by the caller.
struct provider_entry {
  std::string id;
  std::string region;
  std::vector<std::string> models;
  provider_actor handle;
};

struct provider_registry_state {
  struct provider {
    provider_entry entry;
    provider_status status;           // as last reported (or synthesised for silent providers)
    int32_t routed_since_report = 0;  // calls routed since that report
    bool reports = false;             // it has reported (HTTP providers do): load counts
    std::optional<http_provider_config> config;  // spawned here: respawned with this
  };
  std::vector<provider> providers;
  std::map<std::pair<std::string, std::string>, std::vector<size_t>> routes;  // -> providers
  std::map<std::pair<std::string, std::string>, size_t> next;
  std::shared_ptr<providers::http_client> http;
  static inline const char* name = "provider_registry";

  // The providers spawned here end with the registry (monitored, not linked: a `kill` would
  // travel over a link and take the registry with a crashed provider).
  ~provider_registry_state();
};

provider_registry_actor::behavior_type provider_registry(
    provider_registry_actor::stateful_pointer<provider_registry_state> self,
    std::vector<provider_entry> external, std::vector<http_provider_config> http_providers,
    std::shared_ptr<providers::http_client> http);

}  // namespace beacon
