// Health and metrics reads.
#include "storage/service_reads.hpp"

#include <pqxx/pqxx>

#include "domain/status.hpp"

namespace beacon::storage {

void check_database(pqxx::transaction_base& tx) {
  tx.exec("SELECT 1");
}

std::map<std::string, int64_t> jobs_by_status(pqxx::transaction_base& tx) {
  std::map<std::string, int64_t> out;
  for (auto row : tx.exec("SELECT status, count(*) FROM jobs GROUP BY status"))
    out[row[0].as<std::string>()] = row[1].as<int64_t>();
  return out;
}

std::map<std::string, int64_t> cells_by_status(pqxx::transaction_base& tx) {
  // The columns in all_cell_statuses order.
  auto cells = tx.exec1(
      "SELECT coalesce(sum(pending_cells), 0), coalesce(sum(running_cells), 0),"
      " coalesce(sum(completed_cells), 0), coalesce(sum(failed_cells), 0),"
      " coalesce(sum(timeout_cells), 0), coalesce(sum(cancelled_cells), 0) FROM jobs");
  std::map<std::string, int64_t> out;
  for (auto s : all_cell_statuses)
    out[word(s)] = cells[static_cast<int>(index_of(s))].as<int64_t>();
  return out;
}

}  // namespace beacon::storage
