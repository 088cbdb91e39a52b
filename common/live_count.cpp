// A count of live objects that a thread can wait to see fall to zero.
#include "common/live_count.hpp"

namespace beacon {

live_count::token::token(std::shared_ptr<live_count> count) : count_(std::move(count)) {
  if (count_) count_->add(1);
}

live_count::token& live_count::token::operator=(token&& other) noexcept {
  if (this != &other) {
    if (count_) count_->add(-1);
    count_ = std::move(other.count_);
  }
  return *this;
}

live_count::token::~token() {
  if (count_) count_->add(-1);
}

int64_t live_count::now() const {
  return live_.load();
}

bool live_count::wait_for_none(std::chrono::milliseconds limit) {
  std::unique_lock<std::mutex> lock(mutex_);
  return none_.wait_for(lock, limit, [this] { return live_.load() == 0; });
}

void live_count::add(int64_t delta) {
  if (live_.fetch_add(delta) + delta != 0) return;
  std::lock_guard<std::mutex> lock(mutex_);  // a waiter between its check and its wait hears it
  none_.notify_all();
}

}  // namespace beacon
