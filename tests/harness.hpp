// Test harness: one throw-away PostgreSQL cluster per test process (the node's own embedded
// mechanism, fsync off), a fresh migrated database per test, SQL helpers and job specs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "domain/error_class.hpp"
#include "domain/status.hpp"
#include "storage/migrations.hpp"

namespace beacon::test {

// A new, migrated database on the process's cluster; returns its connection string.
std::string fresh_database();
// The same with only the given migrations applied (a database as an older node left it).
std::string fresh_database(const std::vector<storage::migration>& migrations);

// Runs a query returning one integer (or -1 when it returns no row / NULL).
int64_t query_int(const std::string& url, const std::string& sql);
// Runs a query and returns the first column of every row as text.
std::vector<std::string> query_column(const std::string& url, const std::string& sql);
void exec(const std::string& url, const std::string& sql);

// The ids of the built-in questions, in their order.
std::vector<std::string> builtin_question_ids();

// A JobSpec with the given dimensions, in the original portal's shape.
std::string job_json(const std::string& id, const std::vector<std::string>& questions,
                     const std::vector<std::string>& models,
                     const std::vector<std::string>& regions, int runs = 1,
                     double min_success_rate = 0.67, int64_t provider_timeout_ns = 5'000'000'000,
                     int64_t timeout_ns = 600'000'000'000);

// Admits a spec directly through storage (the REST path without HTTP); returns the job id.
std::string admit_spec(const std::string& url, const std::string& json, int32_t max_retries = 3);

// Every status counter of jobs, cross_region_executions and region_results equals the COUNT
// over executions (invariant 3). Returns a description of the first mismatch, or "".
std::string counter_mismatch(const std::string& url, const std::string& job_id);

}  // namespace beacon::test

// CAF 0.17 has no CHECK_THROWS: passes when `expr` throws `type`.
#define BEACON_CHECK_THROWS(expr, type) \
  do {                                  \
    bool thrown_ = false;               \
    try {                               \
      expr;                             \
    } catch (const type&) {             \
      thrown_ = true;                   \
    }                                   \
    CAF_CHECK(thrown_);                 \
  } while (false)
