// The main job: starts a node on its embedded defaults, submits the 8 built-in questions x 3
// models x 3 regions (72 cells) on the sim provider, shows live progress per question, then prints
// what the job found per region and per question.
#pragma once

#include "app/config.hpp"

namespace beacon {

// Returns the process exit code: 0 when the job completed.
int run_demo(const node_config& cfg, bool keep_serving);

// The JobSpec the demo submits, shaped like the original portal's payload.
std::string demo_job_spec(const std::string& job_id);

}  // namespace beacon
