// Admission of a submitted JobSpec: validate, have the job and all its cells stored in one
// transaction (by the runtime's persistence actor in a node), and answer with the status code
// and JSON body the REST API returns.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <pqxx/connection>
#include <string>
#include <string_view>

#include "caf/actor_system.hpp"
#include "caf/expected.hpp"
#include "domain/job_spec.hpp"
#include "domain/pricing.hpp"
#include "domain/spec_signature.hpp"
#include "messages/interfaces.hpp"
#include "messages/types.hpp"

namespace beacon {

struct admission_settings {
  spec_limits limits;
  int32_t max_retries = 3;         // automatic retries per cell
  int32_t manual_retry_limit = 3;  // retries a person may ask for per cell
  signature_policy signatures;
  // Every provider's prices: a job with constraints.max_cost is refused (400) when a provider
  // that may serve it has none (null: not checked; the job's cells then cannot run).
  std::shared_ptr<const price_book> prices;
};

// What a submission carries besides its body.
struct admission_options {
  std::string idempotency_key;  // the Idempotency-Key header, or empty
};

struct admission_result {
  // 202 accepted, 200 idempotent repeat, 400 invalid, 401/403 signature policy, 409 duplicate
  // or replay, 422 Idempotency-Key reused with another body, 503 storage down
  unsigned status = 0;
  std::string body;    // JSON
  std::string job_id;  // set when accepted
};

// Stores a validated job: through the runtime's admitter actor (job_writer_of), or, where no
// actors run (actor tests, benchmarks that admit before starting a node), straight to storage
// (an empty writer).
using job_writer = std::function<caf::expected<admission_reply>(admission_request)>;
job_writer job_writer_of(caf::actor_system& sys, admitter_actor admitter);

// Nothing is stored unless the spec is valid, its signature (if any, or required) verifies, the
// job id is new and its nonce unused. `conn` reads (and, without a writer, writes).
admission_result admit(pqxx::connection& conn, std::string_view body,
                       const admission_settings& settings, const admission_options& options = {},
                       const job_writer& writer = {});

// The portal's wrapper (POST /api/v1/jobs/cross-region): {jobspec, target_regions, min_regions
// (default 3, at most the regions), min_success_rate (0.67), enable_analysis}; the wrapper's
// values replace the spec's constraints. 202 body: {id, job_id, jobspec_id,
// cross_region_execution_id, total_regions, min_regions, min_success_rate, status:"submitted",
// submitted_at, estimated_duration: null (no estimate is made)}.
// The signature is checked on the inner spec as the portal signed it, before the wrapper's values
// are applied.
admission_result admit_cross_region(pqxx::connection& conn, std::string_view body,
                                    const admission_settings& settings,
                                    const admission_options& options = {},
                                    const job_writer& writer = {});

}  // namespace beacon
