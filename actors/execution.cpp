// The execution actor.
#include "actors/execution.hpp"

#include <boost/json.hpp>

#include "actors/persistence.hpp"
#include "analysis/answer_profile.hpp"
#include "common/canonical_json.hpp"
#include "common/clock.hpp"
#include "common/hash.hpp"
#include "common/logging.hpp"
#include "common/receipt.hpp"
#include "common/text.hpp"
#include "domain/error_class.hpp"
#include "domain/status.hpp"
#include "messages/errors.hpp"

namespace beacon {
namespace {

using self_ptr = caf::stateful_actor<execution_state>*;

logging::cell_ids ids(const cell_task& t) {
  return {t.job_id, t.question_id, t.model_id, t.region};
}

void persist(self_ptr self);

// Fills in the terminal outcome (not yet persisted).
void record(self_ptr self, cell_status st, std::string code, std::string message,
            const provider_reply* reply) {
  auto& s = self->state;
  auto& o = s.outcome;
  o.cell_id = s.task.cell_id;
  o.status = st;
  o.attempts = s.attempts;
  o.retry_history = boost::json::serialize(s.unrecorded);
  o.started_us = s.started_us;
  o.completed_us = now_us();
  o.duration_ms =
      s.started_us > 0 ? std::max<int64_t>(0, (o.completed_us - s.started_us) / 1000) : 0;
  o.error_code = std::move(code);
  o.error_message = std::move(message);
  o.generation = s.task.generation;
  o.charged = s.task.attempt_bound >= 0 ? s.charged : -1;
  if (reply) {
    o.provider_id = reply->provider_id;
    o.provider_region = reply->provider_region;
    o.http_status = reply->http_status;
    o.prompt_tokens = reply->prompt_tokens;
    o.completion_tokens = reply->completion_tokens;
    o.finish_reason = reply->finish_reason;
    o.settings_unsent = reply->settings_unsent;
    if (reply->ok) o.cost = reply->cost;
  }
  if (o.status != cell_status::completed) {
    o.classification = "technical_failure";
    o.is_technical_error = true;
    logging::warn("cell_failed")
        .cell(ids(s.task))
        .field("status", to_string(o.status))
        .field("error_code", o.error_code)
        .field("error_message", o.error_message)
        .field("attempts", o.attempts)
        .field("provider_id", o.provider_id);
  }
}

void finish(self_ptr self, cell_status st, std::string code, std::string message,
            const provider_reply* reply) {
  record(self, st, std::move(code), std::move(message), reply);
  persist(self);
}

// The answer's profile (classification, language, key terms; the latter two in the output's
// metadata) and, with a node key, its receipt and the receipt's leaf for the node's transparency
// log, all stored with the outcome.
void succeed(self_ptr self, const provider_reply& r) {
  auto& s = self->state;
  analysis::answer_profile p;
  if (s.settings.analyze_answers)
    p = analysis::profile_answer(s.task.question_id, r.text);
  else
    p.cls = {"unknown", "per-answer analysis off", static_cast<int32_t>(r.text.size())};
  p.cls = analysis::with_provider_signal(std::move(p.cls), r.finish_reason);
  boost::json::object metadata{{"model", r.model_served},
                               {"region", r.provider_region},
                               {"latency_ms", r.latency_us / 1000.0},
                               {"classification_reason", p.cls.reason}};
  if (s.settings.analyze_answers) {
    metadata["language"] = p.language;
    if (p.has_key_terms) {
      boost::json::array terms;
      for (auto& t : p.key_terms) terms.emplace_back(t);
      metadata["key_terms"] = std::move(terms);
    }
  }
  boost::json::value out = boost::json::object{
      {"response", r.text}, {"provider", r.provider_id}, {"metadata", std::move(metadata)}};
  auto& o = s.outcome;
  // With a receipt the stored text is the output's canonical form, which its hash covers.
  o.output_json = s.settings.signer ? canonical_json(out) : boost::json::serialize(out);
  o.classification = p.cls.label;
  o.is_substantive = p.cls.substantive();
  o.is_content_refusal = p.cls.refusal();
  o.is_technical_error = p.cls.technical();
  o.response_length = p.cls.length;
  record(self, cell_status::completed, "", "", &r);
  if (s.settings.signer) {
    receipt_input in;
    in.execution_id = s.task.cell_id;
    in.job_id = s.task.job_id;
    in.question_id = s.task.question_id;
    in.model_id = s.task.model_id;
    in.region = s.task.region;
    in.run = s.task.run;
    in.provider_id = r.provider_id;
    in.provider_region = r.provider_region;
    in.model_served = r.model_served;
    in.http_status = r.http_status;
    in.attempts = o.attempts;
    in.started_us = o.started_us;
    in.completed_us = o.completed_us;
    in.prompt = s.task.prompt;
    in.system_prompt = s.task.system_prompt;
    in.classification = o.classification;
    in.language = p.language;
    in.output = &out;
    in.output_canonical = o.output_json;
    in.prompt_tokens = o.prompt_tokens;
    in.completion_tokens = o.completion_tokens;
    in.finish_reason = o.finish_reason;
    in.temperature = text::decimal_text(o.generation.temperature);
    in.top_p = o.generation.top_p > 0 ? text::decimal_text(o.generation.top_p) : "";
    in.max_tokens = o.generation.max_tokens;
    in.has_seed = o.generation.has_seed;
    in.seed = o.generation.seed;
    in.settings_unsent = o.settings_unsent;
    // The receipt is a view of the row it is stored with: its leaf data is hashed here, beside
    // the call, so the single writer only appends it to the log.
    auto logged = receipt_for_log(in, s.settings.signer->key_id);
    o.receipt_leaf = std::move(logged.leaf_data);
    o.output_hash = std::move(logged.output_hash);
    o.benchmark_hash = std::move(logged.benchmark_hash);
  }
  persist(self);
  logging::debug("cell_completed")
      .cell(ids(s.task))
      .field("provider_id", r.provider_id)
      .field("classification", o.classification)
      .field("attempts", s.attempts);
}

void attempt(self_ptr self);

// Time left in the cell's budget (max when it has none).
caf::timespan budget_left(self_ptr self) {
  auto& s = self->state;
  if (s.settings.cell_budget.count() <= 0) return caf::timespan::max();
  return s.settings.cell_budget - (self->clock().now() - s.budget_start);
}

// Milliseconds of a timespan, for messages.
int64_t ms(caf::timespan t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t).count();
}

// The log line of a call that will be made again after `delay`.
void log_retry(self_ptr self, const char* event, const provider_reply& r, caf::timespan delay) {
  auto& s = self->state;
  logging::info(event)
      .cell(ids(s.task))
      .field("error_code", to_string(r.failure))
      .field("error_message", r.error_message)
      .field("attempt", s.attempts)
      .field("retry_in_ms", ms(delay));
}

// A call refused before it was sent (the provider's circuit is open, or its slots stayed busy):
// no attempt. The cell waits until the provider may take calls again (plus jitter, so waiting
// cells do not arrive at once) and calls with the same attempt number, within its budget.
void wait_for_provider(self_ptr self, const provider_reply& r) {
  auto& s = self->state;
  auto jitter = backoff_delay(s.settings.retry_base, s.settings.retry_base, 1,
                              static_cast<uint64_t>(s.task.cell_id) + s.waits);
  auto delay = std::chrono::milliseconds(r.retry_after_ms) + s.settings.retry_base + jitter;
  if (delay < budget_left(self)) {
    if (s.waits++ == 0) log_retry(self, "cell_waiting", r, delay);
    s.outside += delay;
    self->delayed_send(self, delay, atom::retry::value);
    return;
  }
  --s.attempts;  // the open attempt made no call
  auto message = r.error_message + " (no provider of region " + s.task.region +
                 " could be called within the cell's time budget of " +
                 std::to_string(ms(s.settings.cell_budget)) + " ms)";
  finish(self, cell_status::failed, word(r.failure), message, &r);
}

void failed_attempt(self_ptr self, const provider_reply& r) {
  auto& s = self->state;
  if (!r.sent) return wait_for_provider(self, r);
  s.failed_provider = s.routed_provider;  // the next attempt prefers another one of the region
  s.unrecorded.push_back({{"attempt", s.attempts},
                          {"at", format_rfc3339(now_us())},
                          {"class", to_string(r.failure)},
                          {"message", r.error_message},
                          {"http_status", r.http_status},
                          {"provider_id", r.provider_id}});
  // Interrupted attempts (a stop cut them off) do not count against the budget.
  bool attempts_left = s.attempts - s.interrupted < 1 + s.task.max_retries;
  auto message = r.error_message;
  if (is_transient(r.failure) && attempts_left) {
    auto delay =
        std::max<caf::timespan>(backoff_delay(s.settings.retry_base, s.settings.retry_cap,
                                              s.attempts, static_cast<uint64_t>(s.task.cell_id)),
                                std::chrono::milliseconds(r.retry_after_ms));
    if (delay < budget_left(self)) {
      log_retry(self, "attempt_failed", r, delay);
      ++s.attempts;  // recorded when the backoff ends, before its call
      s.outside += delay;
      self->delayed_send(self, delay, atom::retry::value);
      return;
    }
    message += " (the cell's time budget of " + std::to_string(ms(s.settings.cell_budget)) +
               " ms leaves no room for attempt " + std::to_string(s.attempts + 1) + ")";
  } else if (!attempts_left) {
    message += " (after " + std::to_string(s.attempts) + " attempts";
    if (s.interrupted > 0)
      message += ", " + std::to_string(s.interrupted) + " of them interrupted by a stop";
    message += ")";
  }
  auto st = r.failure == error_class::timeout ? cell_status::timeout : cell_status::failed;
  finish(self, st, word(r.failure), message, &r);
}

// A provider's answer (or failure) to the current attempt; one that came before the claim was
// acknowledged waits for it, so no outcome or retry is stored before the claim.
void on_reply(self_ptr self, provider_reply r) {
  auto& s = self->state;
  if (s.claim_pending) {
    s.held_reply = r;
    // An answer goes to storage at once, to commit with its claim (or after it) at the
    // predicted attempt number; a failure waits, since its retry depends on the claimed numbers.
    if (r.ok && s.settings.answer_with_claim) {
      s.outcome.with_claim = true;
      succeed(self, r);
    }
    return;
  }
  if (r.ok)
    succeed(self, r);
  else
    failed_attempt(self, r);
}

// The open call's reply, unless the call was already timed out (then it is too late).
void on_call_reply(self_ptr self, uint32_t serial, provider_reply r) {
  auto& s = self->state;
  auto& call = s.call;
  if (!call.open || call.serial != serial) return;
  call.open = false;
  s.outside += self->clock().now() - call.sent;
  // A call that reached no provider costs nothing; a timeout or a lost provider may have.
  if (r.sent) s.charged += attempt_charge(r, s.task.attempt_bound);
  on_reply(self, std::move(r));
}

// The open call failed without a reply from its provider: a timeout or a provider gone.
provider_reply call_failure(const execution_state::open_call& call, error_class failure,
                            std::string message) {
  provider_reply r;
  r.provider_id = call.provider_id;
  r.provider_region = call.provider_region;
  r.failure = failure;
  r.error_message = std::move(message);
  return r;
}

// One provider call of the attempt, within what is left of the cell's budget. It waits without
// a CAF request timeout (a timer event per call on the clock thread): the providers answer within
// the request's timeout_ms, and the batch's deadline sweep (atom::deadline) times out a call whose
// provider did not.
void call_provider(self_ptr self, const provider_actor& provider, const std::string& provider_id,
                   const std::string& provider_region) {
  auto& s = self->state;
  // The last attempt may not run past the cell's budget.
  auto timeout = std::min(s.task.attempt_timeout,
                          std::max<caf::timespan>(budget_left(self), std::chrono::milliseconds(1)));
  provider_request req{s.task.job_id,    s.task.question_id,   s.task.model_id,
                       s.task.region,    s.task.run,           s.task.attempt_base + s.attempts,
                       s.task.prompt,    s.task.system_prompt, ms(timeout),
                       s.task.generation};
  auto& call = s.call;
  auto serial = ++call.serial;
  call.open = true;
  call.sent = self->clock().now();
  call.deadline = call.sent + timeout;
  call.provider_id = provider_id;
  call.provider_region = provider_region;
  self->request(provider, caf::infinite, atom::complete::value, std::move(req))
      .then([=](provider_reply& r) { on_call_reply(self, serial, std::move(r)); },
            [=](caf::error& err) {
              auto r = call_failure(self->state.call, error_class::provider_error,
                                    "provider unavailable: " + self->system().render(err));
              on_call_reply(self, serial, std::move(r));
            });
}

// The batch's deadline sweep: an open call past its deadline fails as a timeout (its late
// reply, if any, is dropped).
void time_out_overdue_call(self_ptr self) {
  auto& call = self->state.call;
  if (!call.open || self->clock().now() < call.deadline) return;
  auto r =
      call_failure(call, error_class::timeout,
                   "no answer within " + std::to_string(ms(call.deadline - call.sent)) + " ms");
  on_call_reply(self, call.serial, std::move(r));
}

// Calls the current attempt: routes it, then calls the provider the registry chose.
void attempt(self_ptr self) {
  auto& s = self->state;
  // The registry answers at once or is gone (then the request fails at once): no timer needed.
  self->request(s.settings.registry, caf::infinite, atom::route::value, s.task.region,
                s.task.model_id, s.failed_provider)
      .then(
          [=](provider_actor provider, std::string provider_id, std::string provider_region) {
            auto& s = self->state;
            s.routed_provider = provider_id;
            if (provider) return call_provider(self, provider, provider_id, provider_region);
            provider_reply r;
            r.failure = error_class::no_provider;
            r.error_message =
                "no provider serves model " + s.task.model_id + " in region " + s.task.region;
            --s.attempts;  // nothing was called
            finish(self, cell_status::failed, word(r.failure), r.error_message, &r);
          },
          [=](caf::error& err) {
            provider_reply r;
            r.failure = error_class::provider_error;
            r.error_message = "provider registry unavailable: " + self->system().render(err);
            r.sent = false;
            failed_attempt(self, r);
          });
}

// A storage request failed: log it and send `again` to ourselves after a backoff.
template <class Atom>
void retry_storage_later(self_ptr self, const char* event, const caf::error& err, Atom again) {
  auto& s = self->state;
  ++s.storage_failures;
  logging::warn(event).cell(ids(s.task)).field("error", self->system().render(err));
  self->delayed_send(self,
                     backoff_delay(s.settings.retry_base, s.settings.retry_cap, s.storage_failures,
                                   static_cast<uint64_t>(s.task.cell_id)),
                     again);
}

// Records the next attempt (and the failures before it) in storage, then calls it: the retry
// budget and history survive a crash of the node.
void record_attempt(self_ptr self) {
  auto& s = self->state;
  auto store = current_persistence(self->system());
  attempt_record rec{s.task.cell_id, s.attempts, boost::json::serialize(s.unrecorded)};
  self->request(store, caf::infinite, atom::attempt::value, std::move(rec))
      .then(
          [=](bool still_running) {
            auto& s = self->state;
            if (!still_running) {  // ended meanwhile (cancelled, timed out): durable already
              logging::debug("cell_ended_elsewhere").cell(ids(s.task));
              self->quit();
              return;
            }
            s.storage_failures = 0;
            s.recorded = s.attempts;
            s.unrecorded.clear();
            attempt(self);
          },
          [=](caf::error& err) {
            retry_storage_later(self, "attempt_record_failed", err, atom::retry::value);
          });
}

// A backoff or a wait ended: a new attempt is recorded first; a refused one is called again.
void retry(self_ptr self) {
  auto& s = self->state;
  if (s.attempts > s.recorded) return record_attempt(self);
  attempt(self);
}

// The claim's acknowledgement when the first call already went out: the stored attempt numbers
// replace the predicted ones, and a reply that came meanwhile is handled now.
void claim_acknowledged(self_ptr self, const claim_result& r) {
  auto& s = self->state;
  s.claim_pending = false;
  if (s.persist_after_claim) return persist(self);  // the outcome is already decided
  s.attempts = s.recorded = r.attempts;
  s.interrupted = r.interrupted;
  // An answer sent with the claim: its acknowledgement decides, unless it was already refused.
  if (s.outcome.with_claim && !s.outcome_refused) return;
  if (!s.held_reply) return;
  auto reply = std::move(*s.held_reply);
  s.held_reply.reset();
  s.outcome.with_claim = s.outcome_refused = false;
  on_reply(self, std::move(reply));
}

// An answer sent with its claim was not written: the claim opened another attempt number than
// the predicted one (the row changed since it was loaded), or did not grant the cell. Once the
// claim is acknowledged, the answer is stored at the claimed number (or the cell is left alone).
void outcome_refused_with_claim(self_ptr self) {
  auto& s = self->state;
  s.outcome_refused = true;
  if (s.claim_pending) return;  // claim_acknowledged continues
  auto reply = std::move(*s.held_reply);
  s.held_reply.reset();
  s.outcome.with_claim = s.outcome_refused = false;
  on_reply(self, std::move(reply));
}

// Whether the first call goes out now, before the claim commits: not with a budget (every call's
// attempt must be stored before it), and only once (a re-sent claim does not call again).
bool call_before_claim(self_ptr self) {
  auto& s = self->state;
  return s.settings.call_during_claim && s.task.attempt_bound < 0 && !s.called_early;
}

void claim(self_ptr self) {
  auto& s = self->state;
  auto store = current_persistence(self->system());
  if (!s.called_early) s.started_us = now_us();  // a re-sent claim keeps its first call's start
  if (call_before_claim(self)) {
    s.called_early = s.claim_pending = true;
    s.budget_start = self->clock().now();
    s.attempts = s.recorded = s.task.loaded_attempts + 1;  // what the claim will open
    attempt(self);
  }
  // No timer: a dead persistence answers with an error at once, and re-sending to a slow one
  // would not make it faster (the backlog is bounded by the in-flight limit).
  self->request(store, caf::infinite, atom::claim::value, cell_claim{s.task.cell_id, s.started_us})
      .then(
          [=](const claim_result& r) {
            auto& s = self->state;
            if (!r.granted) {
              logging::debug("cell_already_terminal").cell(ids(s.task));
              self->quit();
              return;
            }
            s.storage_failures = 0;
            if (s.called_early) return claim_acknowledged(self, r);
            s.budget_start = self->clock().now();
            s.attempts = s.recorded = r.attempts;  // the claim opened this attempt
            s.interrupted = r.interrupted;
            attempt(self);
          },
          [=](caf::error& err) {
            retry_storage_later(self, "claim_failed", err, atom::run::value);
          });
}

// The cell's own time in the node, now that its outcome is committed.
void record_overhead(self_ptr self) {
  auto& s = self->state;
  if (!s.settings.overhead) return;
  auto own = self->clock().now() - s.dispatched - s.outside;
  s.settings.overhead->add(std::chrono::duration<double, std::milli>(own).count());
}

// Tells the cell's runner, once, that it makes no more provider calls (a crash before its outcome
// commits still re-runs it).
void tell_answered(self_ptr self) {
  auto& s = self->state;
  if (s.told_answered || !s.runner) return;
  s.told_answered = true;
  self->send(s.runner, atom::answered_v);
}

void persist(self_ptr self) {
  auto& s = self->state;
  tell_answered(self);
  if (s.claim_pending && !s.outcome.with_claim) {  // e.g. no provider: stored once the claim is
    s.persist_after_claim = true;
    return;
  }
  auto store = current_persistence(self->system());
  self->request(store, caf::infinite, atom::record::value, s.outcome)
      .then(
          [=](bool written) {
            auto& s = self->state;
            if (!written && s.outcome.with_claim) return outcome_refused_with_claim(self);
            if (s.settings.budget) s.settings.budget->settle(s.task.cell_id, s.outcome.charged);
            record_overhead(self);
            self->quit();
          },
          [=](caf::error& err) {
            auto& s = self->state;
            ++s.storage_failures;
            logging::warn("persist_failed")
                .cell(ids(s.task))
                .field("error", self->system().render(err))
                .field("failures", s.storage_failures);
            // Storage refused this outcome's data: record why instead of the data.
            if (is_storage_rejection(err) && s.outcome.error_code != "storage_rejected") {
              s.outcome.status = cell_status::failed;
              s.outcome.error_code = "storage_rejected";
              s.outcome.error_message = self->system().render(err);
              s.outcome.output_json.clear();
              s.outcome.classification = "technical_failure";
              s.outcome.is_substantive = s.outcome.is_content_refusal = false;
              s.outcome.is_technical_error = true;
            }
            self->delayed_send(self,
                               backoff_delay(s.settings.retry_base, s.settings.retry_cap,
                                             s.storage_failures, s.task.cell_id),
                               atom::persist::value);
          });
}

}  // namespace

double attempt_charge(const provider_reply& r, double attempt_bound) {
  if (attempt_bound < 0) return 0;
  if (r.ok && r.cost >= 0) return r.cost;
  switch (r.failure) {
    case error_class::connect_error:
    case error_class::http_4xx:
    case error_class::http_5xx:
    case error_class::rate_limited:
    case error_class::redirect:
      return 0;
    default:
      return attempt_bound;
  }
}

caf::timespan backoff_delay(caf::timespan base, caf::timespan cap, int32_t attempt, uint64_t seed) {
  auto ceiling = base;
  for (int32_t i = 1; i < attempt && ceiling < cap; ++i) ceiling *= 2;
  ceiling = std::min(ceiling, cap);
  double u = unit_interval(mix64(seed * 0x9e3779b97f4a7c15ull + static_cast<uint64_t>(attempt)));
  return caf::timespan{static_cast<caf::timespan::rep>(u * static_cast<double>(ceiling.count()))};
}

caf::behavior execution(caf::stateful_actor<execution_state>* self, cell_task task,
                        execution_settings settings, std::optional<cell_outcome> preset) {
  auto& s = self->state;
  s.task = std::move(task);
  s.settings = std::move(settings);
  s.preset = std::move(preset);
  s.alive = live_count::token{s.settings.live};
  self->set_exception_handler([](std::exception_ptr& ep) -> caf::error {
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      return caf::make_error(caf::sec::runtime_error, e.what());
    } catch (...) {
      return caf::make_error(caf::sec::runtime_error, "unknown exception");
    }
  });
  return {
      [=](atom::run) {
        auto& s = self->state;
        if (s.dispatched == caf::actor_clock::time_point{}) s.dispatched = self->clock().now();
        if (!s.runner) s.runner = caf::actor_cast<caf::actor>(self->current_sender());
        if (s.preset) {
          s.outcome = *s.preset;
          persist(self);
        } else {
          claim(self);
        }
      },
      [=](atom::retry) { retry(self); },
      [=](atom::persist) { persist(self); },
      [=](atom::deadline) { time_out_overdue_call(self); },
  };
}

}  // namespace beacon
