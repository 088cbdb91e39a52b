// A small pool of libpqxx connections for threads that may block (REST workers, the CLI):
// lease one, use it, return it; a broken connection is dropped instead of returned. A read-only
// pool's sessions refuse every write in PostgreSQL itself (default_transaction_read_only).
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <pqxx/connection>
#include <string>
#include <vector>

namespace beacon::storage {

class connection_pool {
 public:
  connection_pool(std::string url, size_t max_size, bool read_only = false);

  class lease {
   public:
    lease(connection_pool& pool, std::unique_ptr<pqxx::connection> conn);
    lease(lease&&) = default;
    ~lease();
    pqxx::connection& operator*() { return *conn_; }
    pqxx::connection* operator->() { return conn_.get(); }

   private:
    connection_pool* pool_;
    std::unique_ptr<pqxx::connection> conn_;
  };

  // Waits for a free connection, opening one if the pool is below its size. Throws
  // pqxx::broken_connection when the server cannot be reached.
  lease acquire();
  const std::string& url() const { return url_; }

 private:
  void release(std::unique_ptr<pqxx::connection> conn);

  std::unique_ptr<pqxx::connection> open_connection() const;

  std::string url_;
  size_t max_size_;
  bool read_only_;
  size_t open_ = 0;
  std::vector<std::unique_ptr<pqxx::connection>> idle_;
  std::mutex mutex_;
  std::condition_variable available_;
};

}  // namespace beacon::storage
