// The job verdict.
#include "domain/verdict.hpp"

#include <cstdio>
#include <string>

namespace beacon {
namespace {

std::string three_decimals(double x) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3f", x);
  return text;
}

}  // namespace

job_verdict decide_verdict(const verdict_counts& c) {
  double rate = c.total > 0 ? static_cast<double>(c.completed) / static_cast<double>(c.total) : 0.0;
  auto summary = std::to_string(c.completed) + " of " + std::to_string(c.total) +
                 " cells completed (success rate " + three_decimals(rate) + "), " +
                 std::to_string(c.regions_with_success) + " region(s) with a success";
  if (c.cancelled) return {job_status::cancelled, "cancelled by request; " + summary};
  if (c.budget_exhausted)
    return {job_status::failed,
            "budget_exhausted: the job's max_cost could not hold its remaining cells; " + summary};
  // A rate equal to the minimum passes, whatever rounding the division did.
  if (rate + 1e-9 < c.min_success_rate)
    return {job_status::failed,
            summary + "; below the required success rate " + three_decimals(c.min_success_rate)};
  if (c.regions_with_success < c.min_regions)
    return {job_status::failed,
            summary + "; " + std::to_string(c.min_regions) + " region(s) required"};
  return {job_status::completed, summary};
}

}  // namespace beacon
