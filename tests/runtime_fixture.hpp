// The deterministic runtime fixture: the node's actors on CAF's test coordinator (persistence on
// the same scheduler, writing to a fresh real database), plus a scriptable provider double.
// Include after `#define CAF_SUITE` / `#define FAIL CAF_FAIL` and "caf/test/dsl.hpp".
#pragma once

#include <functional>
#include <map>
#include <pqxx/pqxx>

#include "actors/runtime.hpp"
#include "domain/status.hpp"
#include "tests/harness.hpp"

namespace beacon::test {

// What a scripted provider does with one call: "ok", "5xx", "4xx", "429" (or "429:<ms>" with a
// Retry-After), "hold" (answer on release) or "never" (no answer at all).
using provider_script = std::function<std::string(const provider_request&)>;

struct scripted_provider_state {
  std::string id;
  std::string region;
  provider_script script;
  std::vector<provider_request> calls;
  std::vector<std::pair<caf::typed_response_promise<provider_reply>, provider_reply>> held;
  std::vector<caf::typed_response_promise<provider_reply>> never;  // kept so they stay silent
  static inline const char* name = "scripted_provider";
};

// A provider double that also takes (deliver, token): release every held answer.
using scripted_actor = provider_actor::extend<caf::reacts_to<atom::deliver, uint64_t>>;
using scripted_provider_actor = scripted_actor::stateful_base<scripted_provider_state>;

inline scripted_actor::behavior_type scripted_provider(
    scripted_actor::stateful_pointer<scripted_provider_state> self, std::string id,
    std::string region, provider_script script) {
  self->state.id = std::move(id);
  self->state.region = std::move(region);
  self->state.script = std::move(script);
  return {
      [=](atom::complete, const provider_request& req) -> caf::result<provider_reply> {
        auto& st = self->state;
        st.calls.push_back(req);
        auto action = st.script ? st.script(req) : "ok";
        provider_reply r;
        r.provider_id = st.id;
        r.provider_region = st.region;
        r.model_served = req.model_id;
        if (action == "ok" || action == "hold") {
          r.ok = true;
          r.http_status = 200;
          r.text = sim::answer(st.region, req.model_id, req.question_id, req.prompt, req.run);
        } else if (action == "5xx") {
          r.failure = error_class::http_5xx;
          r.error_message = "HTTP 503 from the scripted provider";
          r.http_status = 503;
        } else if (action == "4xx") {
          r.failure = error_class::http_4xx;
          r.error_message = "HTTP 400 from the scripted provider";
          r.http_status = 400;
        } else if (action.rfind("429", 0) == 0) {  // "429" or "429:<retry-after ms>"
          r.failure = error_class::rate_limited;
          r.error_message = "HTTP 429 from the scripted provider";
          r.http_status = 429;
          if (action.size() > 4) r.retry_after_ms = std::stoll(action.substr(4));
        }
        if (action == "hold" || action == "never") {
          auto rp = self->make_response_promise<provider_reply>();
          if (action == "hold")
            st.held.emplace_back(rp, std::move(r));
          else
            st.never.push_back(rp);
          return rp;
        }
        return r;
      },
      // Releases every held answer.
      [=](atom::deliver, uint64_t) {
        auto held = std::move(self->state.held);
        self->state.held.clear();
        for (auto& h : held) h.first.deliver(std::move(h.second));
      },
  };
}

struct runtime_fixture : test_coordinator_fixture<> {
  std::string url = fresh_database();
  std::shared_ptr<sim_call_log> log = std::make_shared<sim_call_log>(true);
  runtime rt;

  // Options for deterministic runs: sim answers at once, small backoffs.
  runtime_options options() {
    runtime_options o;
    o.sim.latency_ms = 0;
    o.supervisor.batch.execution.retry_base = std::chrono::milliseconds(100);
    o.supervisor.batch.execution.retry_cap = std::chrono::seconds(1);
    o.supervisor.batch.execution.storage_timeout = std::chrono::seconds(10);
    o.supervisor.restart_backoff = std::chrono::milliseconds(50);
    return o;
  }

  void boot(runtime_options o) {
    o.database_url = url;
    o.detached_persistence = false;
    o.sim_log = log;
    rt = spawn_runtime(sys, std::move(o));
    sched.run();
  }

  std::vector<scripted_actor> doubles;

  ~runtime_fixture() override {
    rt.shutdown();
    for (auto& d : doubles) caf::anon_send_exit(d, caf::exit_reason::user_shutdown);
    sched.run();
  }

  // A scripted provider serving `models` in `region`, registered through `o`.
  scripted_actor add_scripted(runtime_options& o, const std::string& id, const std::string& region,
                              std::vector<std::string> models, provider_script script) {
    auto p = sys.spawn(scripted_provider, id, region, std::move(script));
    sched.run();
    doubles.push_back(p);
    o.extra_providers.push_back({id, region, std::move(models), p});
    return p;
  }

  void release(const scripted_actor& p) {
    caf::anon_send(p, atom::deliver::value, uint64_t{0});
    sched.run();
  }

  scripted_provider_state& scripted(const scripted_actor& p) {
    return deref<scripted_provider_actor>(p).state;
  }

  void start(const std::string& job_id) {
    caf::anon_send(rt.manager, atom::start::value, job_id);
    sched.run();
  }

  // Processes messages and advances the clock in steps until `done` holds.
  template <class Pred>
  bool run_until(Pred done, caf::timespan step = std::chrono::milliseconds(10),
                 int max_steps = 20000) {
    for (int i = 0; i < max_steps; ++i) {
      sched.run();
      if (done()) return true;
      advance_time(step);
    }
    sched.run();
    return done();
  }

  std::string job_status(const std::string& job_id) {
    auto v = query_column(url, "SELECT status FROM jobs WHERE id = '" + job_id + "'");
    return v.empty() ? "" : v[0];
  }

  bool job_terminal(const std::string& job_id) {
    auto s = parse_job_status(job_status(job_id));
    return s && is_terminal(*s);
  }

  int64_t cells(const std::string& job_id, const std::string& where = "true") {
    return query_int(
        url, "SELECT count(*) FROM executions WHERE job_id = '" + job_id + "' AND (" + where + ")");
  }

  job_manager_state& manager_state() {
    return deref<job_manager_actor::stateful_base<job_manager_state>>(rt.manager).state;
  }

  caf::actor supervisor_of(const std::string& job_id) {
    auto& jobs = manager_state().jobs;
    auto it = jobs.find(job_id);
    return it == jobs.end() ? caf::actor{} : it->second;
  }

  std::vector<caf::actor> batches_of(const std::string& job_id) {
    std::vector<caf::actor> out;
    auto sup = supervisor_of(job_id);
    if (!sup) return out;
    for (auto& kv : deref<caf::stateful_actor<job_supervisor_state>>(sup).state.batches)
      out.push_back(kv.second.first);
    return out;
  }

  std::vector<caf::actor> executions_of(const std::string& job_id) {
    std::vector<caf::actor> out;
    for (auto& b : batches_of(job_id))
      for (auto& kv : deref<caf::stateful_actor<question_batch_state>>(b).state.in_flight)
        out.push_back(kv.second.actor);
    return out;
  }
};

}  // namespace beacon::test
