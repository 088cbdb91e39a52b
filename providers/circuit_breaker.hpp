// A CIRCUIT BREAKER for one provider: after `failure_threshold` consecutive provider-level
// failures (or one failed health probe that could not reach it) it opens, and calls are refused
// at once instead of each waiting for its own timeout. After a cool-down it is half-open: one
// trial (a health probe or a call) decides: success closes it, failure opens it again with a
// doubled cool-down (capped). Pure logic: the caller passes the time, so tests need no clock.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "domain/status.hpp"

namespace beacon::providers {

struct circuit_settings {
  int failure_threshold = 5;
  std::chrono::milliseconds open_for{1'000};  // first cool-down
  std::chrono::milliseconds max_open{30'000};
};

class circuit_breaker {
 public:
  using clock = std::chrono::steady_clock;
  using settings = circuit_settings;
  using state = circuit_state;

  explicit circuit_breaker(settings s = {}) : settings_(s), cooldown_(s.open_for) {}

  // The state at `now` (an open breaker whose cool-down has passed reads as half-open).
  state current(clock::time_point now) const;
  // Whether a call may start now; in half-open at most one trial is out at a time.
  bool try_acquire(clock::time_point now);
  // The outcome of a call or probe that was let through.
  void on_success();
  void on_failure(clock::time_point now, std::string_view why);
  // Opens at once (a health probe could not reach the provider).
  void trip(clock::time_point now, std::string_view why);
  // A trial that ended without a verdict (cancelled): let another one through.
  void release_trial();

  // When an open breaker turns half-open.
  clock::time_point reopens_at() const { return open_until_; }
  int consecutive_failures() const { return failures_; }
  const std::string& last_failure() const { return last_failure_; }
  bool trial_out() const { return trial_out_; }

 private:
  settings settings_;
  std::chrono::milliseconds cooldown_;
  int failures_ = 0;
  bool opened_ = false;
  bool trial_out_ = false;
  clock::time_point open_until_{};
  std::string last_failure_;
};

}  // namespace beacon::providers
