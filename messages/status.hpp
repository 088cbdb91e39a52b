// The status vocabularies written to PostgreSQL; migrations CHECK exactly these values.
#pragma once

#include <array>
#include <string_view>

namespace beacon::status {

// Execution (cell) statuses, in counter order.
inline constexpr std::string_view pending = "pending";
inline constexpr std::string_view running = "running";
inline constexpr std::string_view completed = "completed";
inline constexpr std::string_view failed = "failed";
inline constexpr std::string_view timeout = "timeout";
inline constexpr std::string_view cancelled = "cancelled";
inline constexpr std::array<std::string_view, 6> cell_all = {pending, running, completed,
                                                             failed,  timeout, cancelled};
inline constexpr size_t cell_count = cell_all.size();

// Index of a cell status in cell_all; cell_count when unknown.
constexpr size_t cell_index(std::string_view s) {
  for (size_t i = 0; i < cell_all.size(); ++i)
    if (cell_all[i] == s) return i;
  return cell_count;
}

constexpr bool is_terminal(std::string_view s) {
  return s == completed || s == failed || s == timeout || s == cancelled;
}

// Job statuses (jobs.status and cross_region_executions.status).
inline constexpr std::string_view job_queued = "queued";
inline constexpr std::string_view job_running = "running";
inline constexpr std::string_view job_completed = "completed";
inline constexpr std::string_view job_failed = "failed";
inline constexpr std::string_view job_cancelled = "cancelled";

constexpr bool is_terminal_job(std::string_view s) {
  return s == job_completed || s == job_failed || s == job_cancelled;
}

}  // namespace beacon::status
