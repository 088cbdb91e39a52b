// Status words read back from PostgreSQL as enums. The schema's CHECK constraints allow no other
// word, so an unknown one is a broken invariant, not bad input.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

#include "domain/status.hpp"

namespace beacon::storage {

inline cell_status stored_cell_status(std::string_view word) {
  if (auto s = parse_cell_status(word)) return *s;
  throw std::logic_error("executions.status holds an unknown word: " + std::string(word));
}

inline job_status stored_job_status(std::string_view word) {
  if (auto s = parse_job_status(word)) return *s;
  throw std::logic_error("jobs.status holds an unknown word: " + std::string(word));
}

}  // namespace beacon::storage
