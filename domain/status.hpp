// The status vocabularies written to PostgreSQL, as enums; migrations CHECK exactly these words.
// Words are converted only at the edges (SQL, JSON, logs) with to_string / parse_*.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "domain/vocabulary.hpp"

namespace beacon {

// An execution (cell) status, in counter order.
enum class cell_status : uint8_t { pending, running, completed, failed, timeout, cancelled };

inline constexpr size_t cell_status_count = 6;
inline constexpr std::array<cell_status, cell_status_count> all_cell_statuses = {
    cell_status::pending, cell_status::running, cell_status::completed,
    cell_status::failed,  cell_status::timeout, cell_status::cancelled};

// The word stored in executions.status.
constexpr std::string_view to_string(cell_status s) {
  switch (s) {
    case cell_status::pending:
      return "pending";
    case cell_status::running:
      return "running";
    case cell_status::completed:
      return "completed";
    case cell_status::failed:
      return "failed";
    case cell_status::timeout:
      return "timeout";
    case cell_status::cancelled:
      return "cancelled";
  }
  return "pending";  // unreachable: every enumerator is handled above
}

// The cell status a stored word names; nullopt for any other word.
constexpr std::optional<cell_status> parse_cell_status(std::string_view word) {
  return from_word(word, all_cell_statuses);
}

// Position of a status in counter arrays (all_cell_statuses order).
constexpr size_t index_of(cell_status s) {
  return static_cast<size_t>(s);
}

// A cell in this status is done: no provider call will change it (only a manual retry can).
constexpr bool is_terminal(cell_status s) {
  switch (s) {
    case cell_status::pending:
    case cell_status::running:
      return false;
    case cell_status::completed:
    case cell_status::failed:
    case cell_status::timeout:
    case cell_status::cancelled:
      return true;
  }
  return false;
}

// A job status (jobs.status and cross_region_executions.status).
enum class job_status : uint8_t { queued, running, completed, failed, cancelled };

inline constexpr std::array<job_status, 5> all_job_statuses = {
    job_status::queued, job_status::running, job_status::completed, job_status::failed,
    job_status::cancelled};

// The word stored in jobs.status.
constexpr std::string_view to_string(job_status s) {
  switch (s) {
    case job_status::queued:
      return "queued";
    case job_status::running:
      return "running";
    case job_status::completed:
      return "completed";
    case job_status::failed:
      return "failed";
    case job_status::cancelled:
      return "cancelled";
  }
  return "queued";  // unreachable: every enumerator is handled above
}

// The job status a stored word names; nullopt for any other word.
constexpr std::optional<job_status> parse_job_status(std::string_view word) {
  return from_word(word, all_job_statuses);
}

// A job in this status has its verdict.
constexpr bool is_terminal(job_status s) {
  switch (s) {
    case job_status::queued:
    case job_status::running:
      return false;
    case job_status::completed:
    case job_status::failed:
    case job_status::cancelled:
      return true;
  }
  return false;
}

// A provider's circuit breaker (providers/circuit_breaker.hpp).
enum class circuit_state : uint8_t { closed, open, half_open };

constexpr std::string_view to_string(circuit_state s) {
  switch (s) {
    case circuit_state::closed:
      return "closed";
    case circuit_state::open:
      return "open";
    case circuit_state::half_open:
      return "half_open";
  }
  return "closed";  // unreachable: every enumerator is handled above
}

}  // namespace beacon
