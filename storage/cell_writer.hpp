// Batched cell writes for the persistence actor: claims, terminal outcomes and bulk aborts, each
// guarded so a terminal cell is never overwritten, plus the counters they move, all on one
// transaction supplied by the caller.
#pragma once

#include <pqxx/transaction>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "messages/types.hpp"

namespace beacon::storage {

// One cell's committed status change (messages/types.hpp).
using cell_transition = cell_event;

// The jobs a write may touch: every job (`on` false: no leases, e.g. actor tests), or only those
// whose lease token the writer still holds (storage/lease_store.hpp fenced_jobs).
struct write_fence {
  bool on = false;
  std::vector<std::string> jobs;
};

// Marks the claimable cells running and opens their next attempt; returns the granted cells.
std::unordered_map<int64_t, claim_result> claim_cells(pqxx::work& tx,
                                                      const std::vector<cell_claim>& claims,
                                                      std::vector<cell_transition>& out,
                                                      const write_fence& fence = {});

// Records retries before their calls; returns the cells still running (the others ended).
std::unordered_set<int64_t> record_attempts(pqxx::work& tx,
                                            const std::vector<attempt_record>& records,
                                            const write_fence& fence = {});

// Where the receipts of a batch's outcomes go in the transparency log: the outcomes that carry a
// leaf take indexes first, first + 1, ... in batch order (log_id 0: no log, no place).
struct receipt_placement {
  int32_t log_id = 0;
  uint64_t first = 0;
};

// Writes terminal outcomes of cells that are not terminal yet, appending their retry_history
// entries to those recorded with the attempts, and each receipt's place in the log (an outcome
// sent with its claim only if the cell is running at its attempt number); returns the ids
// written.
std::unordered_set<int64_t> record_outcomes(pqxx::work& tx,
                                            const std::vector<cell_outcome>& outcomes,
                                            std::vector<cell_transition>& out,
                                            const write_fence& fence = {},
                                            const receipt_placement& placement = {});

// Moves receipts to other leaf indexes of the same log (cell id, index): when some outcomes of a
// batch were not written, the leaves of those that were close up so the log has no gap.
void move_receipts(pqxx::work& tx, int32_t log_id,
                   const std::vector<std::pair<int64_t, uint64_t>>& places);

// Ends the first `limit` pending or running cells of a job with an id above `after_id` (in id
// order) with `status`, `error_code` and `message`: one page. The next page starts after its
// last_id (a keyset, so no page reads the cells an earlier one ended); fewer than `limit` ended
// means none is left open.
abort_page abort_open_cells(pqxx::work& tx, const std::string& job_id, cell_status status,
                            const std::string& error_code, const std::string& message,
                            std::vector<cell_transition>& out, int32_t limit, int64_t after_id = 0);

// Moves the jobs, cross_region_executions and region_results counters by the transitions.
void apply_counters(pqxx::work& tx, const std::vector<cell_transition>& transitions);

// Runs the group commit's statements once on a connection, on no row (a cell id and a job no
// row has), and rolls back: its backend loads their tables and prepares them now, not in the
// first commits of the first job, whose cells would wait for it. Their generic plans are left to
// the first real commit, which sees the tables as they are. `fenced`: with the lease fence.
void warm_up_writes(pqxx::connection& conn, bool fenced);

}  // namespace beacon::storage
