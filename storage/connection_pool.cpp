// The connection pool.
#include "storage/connection_pool.hpp"

namespace beacon::storage {

connection_pool::connection_pool(std::string url, size_t max_size, bool read_only)
    : url_(std::move(url)), max_size_(max_size), read_only_(read_only) {}

std::unique_ptr<pqxx::connection> connection_pool::open_connection() const {
  auto conn = std::make_unique<pqxx::connection>(url_);
  // Kept by libpqxx and set again when it reconnects.
  if (read_only_) conn->set_variable("default_transaction_read_only", "on");
  return conn;
}

connection_pool::lease::lease(connection_pool& pool, std::unique_ptr<pqxx::connection> conn)
    : pool_(&pool), conn_(std::move(conn)) {}

connection_pool::lease::~lease() {
  if (conn_) pool_->release(std::move(conn_));
}

connection_pool::lease connection_pool::acquire() {
  std::unique_lock<std::mutex> guard{mutex_};
  available_.wait(guard, [&] { return !idle_.empty() || open_ < max_size_; });
  if (!idle_.empty()) {
    auto conn = std::move(idle_.back());
    idle_.pop_back();
    return lease{*this, std::move(conn)};
  }
  ++open_;
  guard.unlock();
  try {
    return lease{*this, open_connection()};
  } catch (...) {
    guard.lock();
    --open_;
    available_.notify_one();
    throw;
  }
}

void connection_pool::release(std::unique_ptr<pqxx::connection> conn) {
  std::lock_guard<std::mutex> guard{mutex_};
  if (conn->is_open())
    idle_.push_back(std::move(conn));
  else
    --open_;
  available_.notify_one();
}

}  // namespace beacon::storage
