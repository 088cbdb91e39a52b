// The job manager actor.
#include "actors/job_manager.hpp"

#include "actors/persistence.hpp"
#include "common/logging.hpp"
#include "messages/errors.hpp"

namespace beacon {
namespace {

using self_ptr = job_manager_actor::stateful_pointer<job_manager_state>;

bool start_job(self_ptr self, const std::string& job_id) {
  auto& s = self->state;
  if (s.jobs.count(job_id)) return false;
  auto sup = self->spawn<caf::monitored>(job_supervisor, job_id, s.settings);
  s.jobs.emplace(job_id, sup);
  s.job_of.emplace(sup.address(), job_id);
  caf::anon_send(sup, atom::run::value);
  return true;
}

// Takes the job's lease (without a keeper: at once) and then `then(bool held)`.
template <class Then>
void with_lease(self_ptr self, const std::string& job_id, Then then) {
  auto& s = self->state;
  if (!s.keeper) return then(true);
  self->request(s.keeper, s.settings.batch.execution.storage_timeout, atom::lease::value, job_id)
      .then(
          [=](int64_t token) mutable { then(token > 0); },
          [=](caf::error& err) mutable {
            logging::warn("lease_not_taken").job(job_id).field("error", self->system().render(err));
            then(false);
          });
}

// Starts a job that is not running here once this node holds its lease.
caf::result<bool> start_leased(self_ptr self, const std::string& job_id) {
  if (self->state.jobs.count(job_id)) return false;
  auto rp = self->make_response_promise<bool>();
  with_lease(self, job_id, [=](bool held) mutable { rp.deliver(held && start_job(self, job_id)); });
  return rp;
}

// Starts the job now, or once its previous supervisor has ended.
void start_or_defer(self_ptr self, const std::string& job_id) {
  if (self->state.jobs.count(job_id)) {
    self->state.start_when_down.insert(job_id);
    return;
  }
  with_lease(self, job_id, [=](bool held) {
    if (held && !start_job(self, job_id)) self->state.start_when_down.insert(job_id);
  });
}

// Gives the job's lease up: nothing runs it here any more.
void release(self_ptr self, const std::string& job_id) {
  if (self->state.keeper) caf::anon_send(self->state.keeper, atom::release::value, job_id);
}

// A cancel of a job no supervisor runs here: with the lease, a supervisor that only ends it
// cancelled; without (another node runs the job), the cancel is recorded for that node.
void cancel_elsewhere(self_ptr self, const std::string& job_id,
                      caf::typed_response_promise<bool> rp) {
  with_lease(self, job_id, [=](bool held) mutable {
    auto& s = self->state;
    if (held && (s.jobs.count(job_id) || start_job(self, job_id))) {
      caf::anon_send(s.jobs.at(job_id), atom::cancel::value);
      s.cancel_waiters.emplace(job_id, rp);
      return;
    }
    self->request(current_persistence(self->system()), s.settings.batch.execution.storage_timeout,
                  atom::cancel::value, job_id)
        .then([=](bool recorded) mutable { rp.deliver(recorded); },
              [=](caf::error& err) mutable { rp.deliver(std::move(err)); });
  });
}

// Reopens the cells of a job that no supervisor runs here, and starts the job if it had ended.
void reopen_in_storage(self_ptr self, const std::string& job_id, int64_t execution_id,
                       caf::typed_response_promise<reopen_result> rp) {
  auto store = current_persistence(self->system());
  self->request(store, self->state.settings.batch.execution.storage_timeout, atom::reopen::value,
                job_id, execution_id)
      .then(
          [=](const reopen_result& r) mutable {
            if (r.cells > 0 && r.job_was_ended) start_or_defer(self, job_id);
            rp.deliver(r);
          },
          [=](caf::error& err) mutable { rp.deliver(std::move(err)); });
}

// A person's retry: the running supervisor reopens and runs the cells itself; if it is ending,
// the retry waits for it to end and then goes through storage like one for an ended job.
caf::result<reopen_result> reopen(self_ptr self, const std::string& job_id, int64_t execution_id) {
  auto rp = self->make_response_promise<reopen_result>();
  auto it = self->state.jobs.find(job_id);
  if (it == self->state.jobs.end()) {
    reopen_in_storage(self, job_id, execution_id, rp);
    return rp;
  }
  auto timeout = self->state.settings.batch.execution.storage_timeout;
  self->request(it->second, timeout, atom::reopen::value, execution_id)
      .then(
          [=](const reopen_result& r) mutable {
            if (!r.deferred) {
              rp.deliver(r);
              return;
            }
            if (self->state.jobs.count(job_id)) {
              self->state.deferred.emplace(job_id,
                                           job_manager_state::deferred_retry{execution_id, rp});
              return;
            }
            reopen_in_storage(self, job_id, execution_id, rp);
          },
          [=](caf::error& err) mutable { rp.deliver(std::move(err)); });
  return rp;
}

// What waited for the job's supervisor to end: cancels, deferred retries, a start.
void after_supervisor(self_ptr self, const std::string& job_id) {
  auto& s = self->state;
  auto cancels = s.cancel_waiters.equal_range(job_id);
  for (auto i = cancels.first; i != cancels.second; ++i) i->second.deliver(true);
  s.cancel_waiters.erase(cancels.first, cancels.second);
  auto range = s.deferred.equal_range(job_id);
  std::vector<job_manager_state::deferred_retry> waiting;
  for (auto i = range.first; i != range.second; ++i) waiting.push_back(i->second);
  s.deferred.erase(range.first, range.second);
  for (auto& w : waiting) reopen_in_storage(self, job_id, w.execution_id, w.reply);
  if (s.start_when_down.erase(job_id) > 0)
    start_job(self, job_id);  // still under its lease
  else
    release(self, job_id);
}

// The supervisor of a job whose lease moved ended: no verdict and no restart here.
void after_lost(self_ptr self, const std::string& job_id) {
  auto& s = self->state;
  s.lost.erase(job_id);
  s.restarts.erase(job_id);
  s.start_when_down.erase(job_id);
  auto cancels = s.cancel_waiters.equal_range(job_id);
  for (auto i = cancels.first; i != cancels.second; ++i) i->second.deliver(false);
  s.cancel_waiters.erase(cancels.first, cancels.second);
  auto range = s.deferred.equal_range(job_id);
  for (auto i = range.first; i != range.second; ++i)
    i->second.reply.deliver(
        make_storage_error(storage_errc::lease_lost, "another node runs the job now"));
  s.deferred.erase(range.first, range.second);
}

}  // namespace

job_manager_state::~job_manager_state() {
  for (auto& kv : jobs) caf::anon_send_exit(kv.second, caf::exit_reason::kill);
}

job_manager_actor::behavior_type job_manager(
    job_manager_actor::stateful_pointer<job_manager_state> self, supervisor_settings settings,
    lease_keeper_actor keeper) {
  self->state.settings = std::move(settings);
  self->state.keeper = std::move(keeper);
  self->set_down_handler([=](caf::down_msg& dm) {
    auto& s = self->state;
    auto it = s.job_of.find(dm.source);
    if (it == s.job_of.end()) return;
    auto job_id = it->second;
    s.job_of.erase(it);
    s.jobs.erase(job_id);
    if (s.lost.count(job_id) || is_lease_lost(dm.reason)) {
      after_lost(self, job_id);
      return;
    }
    if (!dm.reason) {
      s.restarts.erase(job_id);
      after_supervisor(self, job_id);
      return;
    }
    after_supervisor(self, job_id);  // a restart below finds the job running again
    auto n = ++s.restarts[job_id];
    auto reason = self->system().render(dm.reason);
    if (n > s.max_restarts) {
      // Left as it is in storage, its lease given up: a node that takes it over (or the next
      // start of this one) resumes it.
      logging::error("supervisor_gave_up").job(job_id).field("reason", reason).field("restarts", n);
      release(self, job_id);
      return;
    }
    logging::warn("supervisor_restart").job(job_id).field("reason", reason).field("restarts", n);
    self->delayed_send(self, s.settings.restart_backoff * (1 << std::min(n, 6)),
                       atom::restart::value, job_id);
  });
  return {
      [=](atom::start, const std::string& job_id) { return start_leased(self, job_id); },
      [=](atom::cancel, const std::string& job_id) -> caf::result<bool> {
        auto rp = self->make_response_promise<bool>();
        auto it = self->state.jobs.find(job_id);
        if (it == self->state.jobs.end()) {
          // Its first message is the start; the cancel follows it.
          cancel_elsewhere(self, job_id, rp);
          return rp;
        }
        caf::anon_send(it->second, atom::cancel::value);
        self->state.cancel_waiters.emplace(job_id, rp);
        return rp;
      },
      [=](atom::resume) -> caf::result<int32_t> {
        // With leases, the keeper's first heartbeat hands over what this node resumes.
        if (self->state.keeper) return int32_t{0};
        auto rp = self->make_response_promise<int32_t>();
        auto store = current_persistence(self->system());
        self->request(store, self->state.settings.batch.execution.storage_timeout,
                      atom::resumable::value)
            .then(
                [=](const std::vector<std::string>& ids) mutable {
                  int32_t n = 0;
                  for (auto& id : ids) n += start_job(self, id) ? 1 : 0;
                  if (n > 0) logging::info("jobs_resumed").field("jobs", n);
                  rp.deliver(n);
                },
                [=](caf::error& err) mutable {
                  // Storage restarting: retry in the background; the caller learns of it.
                  logging::warn("resume_failed").field("error", self->system().render(err));
                  caf::delayed_anon_send(caf::actor_cast<caf::actor>(self),
                                         self->state.settings.restart_backoff * 5,
                                         atom::resume::value);
                  rp.deliver(std::move(err));
                });
        return rp;
      },
      [=](atom::get) {
        std::vector<std::string> ids;
        for (auto& kv : self->state.jobs) ids.push_back(kv.first);
        return ids;
      },
      [=](atom::restart, const std::string& job_id) { start_job(self, job_id); },
      [=](atom::reopen, const std::string& job_id, int64_t execution_id) {
        return reopen(self, job_id, execution_id);
      },
      [=](atom::lease, const std::string& job_id) {
        if (!start_job(self, job_id)) self->state.start_when_down.insert(job_id);
      },
      [=](atom::lost, const std::string& job_id) {
        auto it = self->state.jobs.find(job_id);
        if (it == self->state.jobs.end()) return;
        self->state.lost.insert(job_id);
        self->send_exit(it->second, caf::exit_reason::kill);
      },
  };
}

}  // namespace beacon
