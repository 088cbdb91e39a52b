// The PERSISTENCE GUARD: spawns the persistence actor, publishes it in the actor registry
// (persistence_key) and, when it dies abnormally, restarts it after a growing backoff. Clients
// look persistence up in the registry for every request, so they reach the new one.
#pragma once

#include "actors/persistence.hpp"

namespace beacon {

struct persistence_guard_options {
  persistence_options persistence;
  bool detached = true;  // tests run persistence on the deterministic scheduler instead
  caf::timespan backoff_min = std::chrono::milliseconds(100);
  caf::timespan backoff_max = std::chrono::seconds(5);
};

struct persistence_guard_state {
  persistence_guard_options opts;
  persistence_actor current;
  int32_t restarts = 0;
  caf::timespan backoff{};
  ~persistence_guard_state();
  static inline const char* name = "persistence_guard";
};

// `first` is the persistence actor spawned (and registered) by spawn_first_persistence, so that
// the registry holds it before any other actor runs.
caf::behavior persistence_guard(caf::stateful_actor<persistence_guard_state>* self,
                                persistence_guard_options opts, persistence_actor first);

// Spawns a persistence actor as configured and publishes it in the registry.
persistence_actor spawn_first_persistence(caf::actor_system& sys,
                                          const persistence_guard_options& opts);

}  // namespace beacon
