// The job verdict: where a job's final status is decided, from its counts alone (no storage), so
// it is unit-tested without a database. Completed when the success rate reaches min_success_rate
// and at least min_regions regions have a success; else failed, with the reason; cancelled jobs
// end cancelled; a job its budget stopped ends failed with reason budget_exhausted. The reason
// states the counts either way.
#pragma once

#include <cstdint>
#include <string>

#include "domain/status.hpp"

namespace beacon {

// A job's final status and why.
struct job_verdict {
  job_status status = job_status::failed;
  std::string reason;
};

struct verdict_counts {
  int64_t total = 0;                 // cells of the job
  int64_t completed = 0;             // cells completed
  int64_t regions_with_success = 0;  // regions with at least one completed cell
  double min_success_rate = 0.67;
  int64_t min_regions = 1;
  bool cancelled = false;         // the job was cancelled by request
  bool budget_exhausted = false;  // its budget stopped it before every cell ran
};

job_verdict decide_verdict(const verdict_counts& c);

}  // namespace beacon
