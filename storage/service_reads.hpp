// Read models of the node's own health and metrics routes: a round trip to the database and the
// job and cell totals by status (from the jobs' counters, not a scan of the executions).
#pragma once

#include <cstdint>
#include <map>
#include <pqxx/transaction_base>
#include <string>

namespace beacon::storage {

// Throws when the database does not answer a trivial query.
void check_database(pqxx::transaction_base& tx);

// Jobs by their status word.
std::map<std::string, int64_t> jobs_by_status(pqxx::transaction_base& tx);

// Cells of every job by their status word, each status present (0 when none).
std::map<std::string, int64_t> cells_by_status(pqxx::transaction_base& tx);

}  // namespace beacon::storage
