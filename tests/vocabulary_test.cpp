// The typed vocabularies without a database: every status, circuit state and error class has one
// word that reads back as itself, no other word reads as any of them, and the policies over them
// (terminal statuses, transient classes) are the ones the runtime relies on.
#define CAF_SUITE vocabulary
#include <set>

#include "caf/test/dsl.hpp"
#include "domain/error_class.hpp"
#include "domain/status.hpp"
#include "tests/harness.hpp"

using namespace beacon;

namespace {

template <class Enum, size_t N, class Parse>
void check_round_trip(const std::array<Enum, N>& all, Parse parse) {
  std::set<std::string> seen;
  for (auto v : all) {
    CAF_CHECK(seen.insert(word(v)).second);  // one word per value
    auto back = parse(word(v));
    CAF_REQUIRE(back.has_value());
    CAF_CHECK(*back == v);
  }
  CAF_CHECK_EQUAL(seen.size(), N);
}

}  // namespace

CAF_TEST(every value has one word that reads back as itself) {
  check_round_trip(all_cell_statuses, [](std::string_view w) { return parse_cell_status(w); });
  check_round_trip(all_job_statuses, [](std::string_view w) { return parse_job_status(w); });
  check_round_trip(all_error_classes, [](std::string_view w) { return parse_error_class(w); });
  CAF_CHECK_EQUAL(word(cell_status::timeout), "timeout");
  CAF_CHECK_EQUAL(word(job_status::queued), "queued");
  CAF_CHECK_EQUAL(word(error_class::region_mismatch), "region_mismatch");
  CAF_CHECK_EQUAL(word(circuit_state::half_open), "half_open");
}

CAF_TEST(other words name nothing) {
  for (auto w : {"", "Completed", "processing", "done", "completed "})
    CAF_CHECK(!parse_cell_status(w).has_value());
  CAF_CHECK(!parse_job_status("pending").has_value());  // a cell word, not a job word
  CAF_CHECK(!parse_job_status("timeout").has_value());
  CAF_CHECK(!parse_cell_status("queued").has_value());
  CAF_CHECK(!parse_error_class("http_3xx").has_value());
}

CAF_TEST(terminal statuses and transient error classes) {
  std::set<std::string> terminal_cells, terminal_jobs, transient;
  for (auto s : all_cell_statuses)
    if (is_terminal(s)) terminal_cells.insert(word(s));
  for (auto s : all_job_statuses)
    if (is_terminal(s)) terminal_jobs.insert(word(s));
  for (auto c : all_error_classes)
    if (is_transient(c)) transient.insert(word(c));
  CAF_CHECK_EQUAL(terminal_cells,
                  (std::set<std::string>{"completed", "failed", "timeout", "cancelled"}));
  CAF_CHECK_EQUAL(terminal_jobs, (std::set<std::string>{"completed", "failed", "cancelled"}));
  // A refusal of the request (4xx), a broken answer and a cancellation are not retried.
  CAF_CHECK_EQUAL(transient,
                  (std::set<std::string>{"timeout", "connect_error", "rate_limited", "http_5xx",
                                         "redirect", "provider_error", "actor_crashed",
                                         "region_mismatch", "circuit_open"}));
}
