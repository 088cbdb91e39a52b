// Writer connections that cannot hold their locks while their process is paused.
#include "storage/writer_connection.hpp"

#include <pqxx/nontransaction>

namespace beacon::storage {

std::unique_ptr<pqxx::connection> open_writer_connection(const std::string& url,
                                                         std::chrono::milliseconds stuck_after) {
  auto conn = std::make_unique<pqxx::connection>(url);
  pqxx::nontransaction{*conn}.exec("SET idle_in_transaction_session_timeout = " +
                                   std::to_string(stuck_after.count()));
  return conn;
}

}  // namespace beacon::storage
