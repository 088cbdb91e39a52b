// The circuit breaker.
#include "providers/circuit_breaker.hpp"

#include <algorithm>

namespace beacon::providers {

circuit_breaker::state circuit_breaker::current(clock::time_point now) const {
  if (!opened_) return state::closed;
  return now < open_until_ ? state::open : state::half_open;
}

bool circuit_breaker::try_acquire(clock::time_point now) {
  switch (current(now)) {
    case state::closed:
      return true;
    case state::open:
      return false;
    case state::half_open:
      if (trial_out_) return false;
      trial_out_ = true;
      return true;
  }
  return false;
}

void circuit_breaker::on_success() {
  failures_ = 0;
  opened_ = false;
  trial_out_ = false;
  cooldown_ = settings_.open_for;
}

void circuit_breaker::on_failure(clock::time_point now, std::string_view why) {
  last_failure_ = std::string(why);
  ++failures_;
  if (opened_) {
    // The half-open trial failed (or a call started before the breaker opened): open again,
    // each time for longer.
    if (trial_out_ || now >= open_until_) {
      cooldown_ = std::min(cooldown_ * 2, settings_.max_open);
      open_until_ = now + cooldown_;
    }
    trial_out_ = false;
    return;
  }
  if (failures_ >= settings_.failure_threshold) trip(now, why);
}

void circuit_breaker::trip(clock::time_point now, std::string_view why) {
  last_failure_ = std::string(why);
  if (opened_ && now < open_until_) return;
  if (opened_) cooldown_ = std::min(cooldown_ * 2, settings_.max_open);
  opened_ = true;
  trial_out_ = false;
  open_until_ = now + cooldown_;
}

void circuit_breaker::release_trial() {
  trial_out_ = false;
}

}  // namespace beacon::providers
