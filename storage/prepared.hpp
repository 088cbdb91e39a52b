// Statements prepared once per connection and run by name: PostgreSQL parses and plans a hot
// statement (the writes of every group commit) at its first use on a connection, not each time.
#pragma once

#include <pqxx/pqxx>
#include <utility>

namespace beacon::storage {

// A statement's name on the connection and its SQL text.
struct prepared_statement {
  const char* name;
  const char* sql;
};

// Runs `s` with `args` as a prepared statement of tx's connection (defined there on first use).
template <class... Args>
pqxx::result exec_prepared(pqxx::transaction_base& tx, const prepared_statement& s,
                           Args&&... args) {
  tx.conn().prepare(s.name, s.sql);  // nothing to do once defined with the same text
  return tx.exec_prepared(s.name, std::forward<Args>(args)...);
}

// Makes the transaction's prepared statements run their generic plan, planned once per
// connection: PostgreSQL would otherwise keep re-planning the group commit's writes for the
// sizes of their array arguments (a custom plan looks cheaper for a few rows than the generic
// plan's estimate, so it is chosen every time, at the cost of planning every time).
inline void use_generic_plans(pqxx::transaction_base& tx) {
  tx.exec("SET LOCAL plan_cache_mode = force_generic_plan");
}

// Makes the transaction's prepared statements plan for their arguments only, caching no plan:
// for a first run on tables that may still be empty, whose generic plan would be kept.
inline void use_custom_plans(pqxx::transaction_base& tx) {
  tx.exec("SET LOCAL plan_cache_mode = force_custom_plan");
}

}  // namespace beacon::storage
