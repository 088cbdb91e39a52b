// The PROVIDER REGISTRY: routes a cell's (region, model) to a provider registered in that same
// region (region fidelity: never another region), round-robin among several.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "messages/interfaces.hpp"

namespace beacon {

// One provider deployment as configured.
struct provider_entry {
  std::string id;
  std::string region;
  std::vector<std::string> models;
  provider_actor handle;
};

struct provider_registry_state {
  std::map<std::pair<std::string, std::string>, std::vector<provider_entry>> routes;
  std::map<std::pair<std::string, std::string>, size_t> next;
  static inline const char* name = "provider_registry";
};

provider_registry_actor::behavior_type provider_registry(
    provider_registry_actor::stateful_pointer<provider_registry_state> self,
    std::vector<provider_entry> providers);

}  // namespace beacon
