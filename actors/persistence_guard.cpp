// The persistence guard actor.
#include "actors/persistence_guard.hpp"

#include "caf/all.hpp"
#include "common/logging.hpp"

namespace beacon {
namespace {

void spawn_persistence(caf::stateful_actor<persistence_guard_state>* self) {
  auto& st = self->state;
  st.current = st.opts.detached
                   ? self->spawn<caf::detached + caf::monitored>(persistence, st.opts.persistence)
                   : self->spawn<caf::monitored>(persistence, st.opts.persistence);
  self->system().registry().put(persistence_key, st.current);
}

}  // namespace

persistence_guard_state::~persistence_guard_state() {
  if (current) caf::anon_send_exit(current, caf::exit_reason::user_shutdown);
}

persistence_actor spawn_first_persistence(caf::actor_system& sys,
                                          const persistence_guard_options& opts) {
  auto p = opts.detached ? sys.spawn<caf::detached>(persistence, opts.persistence)
                         : sys.spawn(persistence, opts.persistence);
  sys.registry().put(persistence_key, p);
  return p;
}

caf::behavior persistence_guard(caf::stateful_actor<persistence_guard_state>* self,
                                persistence_guard_options opts, persistence_actor first) {
  self->state.opts = std::move(opts);
  self->state.backoff = self->state.opts.backoff_min;
  self->state.current = first;
  self->monitor(first);
  self->set_down_handler([=](caf::down_msg& dm) {
    auto& st = self->state;
    if (dm.source != st.current.address()) return;
    self->system().registry().erase(persistence_key);
    st.current = nullptr;
    if (!dm.reason) return;
    ++st.restarts;
    logging::warn("persistence_restart")
        .field("reason", self->system().render(dm.reason))
        .field("restarts", st.restarts)
        .field("backoff_ms",
               std::chrono::duration_cast<std::chrono::milliseconds>(st.backoff).count());
    self->delayed_send(self, st.backoff, atom::restart::value);
    st.backoff = std::min(st.backoff * 2, st.opts.backoff_max);
  });
  self->attach_functor([sys = &self->system()] { sys->registry().erase(persistence_key); });
  return {
      [=](atom::restart) {
        if (!self->state.current) spawn_persistence(self);
      },
  };
}

}  // namespace beacon
