// The provider registry actor.
#include "actors/provider_registry.hpp"

#include <tuple>

#include "caf/all.hpp"

namespace beacon {

provider_registry_actor::behavior_type provider_registry(
    provider_registry_actor::stateful_pointer<provider_registry_state> self,
    std::vector<provider_entry> providers) {
  for (auto& p : providers)
    for (auto& m : p.models) self->state.routes[{p.region, m}].push_back(p);
  return {
      [=](atom::route, const std::string& region,
          const std::string& model) -> std::tuple<provider_actor, std::string, std::string> {
        auto& st = self->state;
        auto it = st.routes.find({region, model});
        if (it == st.routes.end() || it->second.empty()) return {provider_actor{}, "", ""};
        auto& i = st.next[{region, model}];
        auto& p = it->second[i++ % it->second.size()];
        return {p.handle, p.id, p.region};
      },
  };
}

}  // namespace beacon
