// Admission.
#include "http/admission.hpp"

#include <boost/json.hpp>
#include <pqxx/pqxx>

#include "caf/scoped_actor.hpp"
#include "common/canonical_json.hpp"
#include "common/clock.hpp"
#include "common/crypto.hpp"
#include "common/json_exact.hpp"
#include "common/logging.hpp"
#include "http/error_json.hpp"
#include "messages/errors.hpp"
#include "providers/system_prompt.hpp"
#include "storage/job_store.hpp"
#include "storage/portal_reads.hpp"

namespace beacon {

using http::error_json;

namespace {

admission_result rejected(unsigned status, const std::string& message, const std::string& code,
                          const std::string& field) {
  logging::info("job_rejected").field("field", field).field("error", message).field("code", code);
  std::map<std::string, std::string> extra;
  if (!field.empty()) extra["field"] = field;
  return {status, error_json(message, code, extra), ""};
}

// The signature of the raw inner spec (before any default or wrapper value is applied).
std::optional<admission_result> refused_signature(const boost::json::object& spec,
                                                  const admission_settings& settings,
                                                  storage::admit_guards& guards) {
  auto check = check_signature(spec, settings.signatures, now_us());
  if (check.status != 0) {
    auto& code = check.error_code;
    auto field = code.rfind("missing_field:", 0) == 0       ? code.substr(14)
                 : code.rfind("invalid_encoding:", 0) == 0  ? code.substr(17)
                 : code.rfind("invalid_field:", 0) == 0     ? code.substr(14)
                 : code == "trust_violation:timestamp_skew" ? std::string("metadata.timestamp")
                                                            : "signature";
    return rejected(check.status, check.message, check.error_code, field);
  }
  if (check.is_signed) {
    guards.signer_public_key = check.public_key;
    guards.nonce = check.nonce;
  }
  return std::nullopt;
}

// The request persistence stores for a parsed, verified spec.
admission_request request_for(job_spec spec, const admission_settings& settings,
                              const storage::admit_guards& guards) {
  admission_request r;
  for (auto& region : spec.regions) r.system_prompts[region] = regional_system_prompt(region);
  r.spec = std::move(spec);
  r.max_retries = settings.max_retries;
  r.manual_retry_limit = settings.manual_retry_limit;
  r.idempotency_key = guards.idempotency_key;
  r.request_sha256 = guards.request_sha256;
  r.signer_public_key = guards.signer_public_key;
  r.nonce = guards.nonce;
  return r;
}

// Why a budgeted job cannot be held to its budget: a provider that may serve one of its cells has
// no price, so what the cell costs could not be known ("" when every one has a price).
std::string unpriced_for_budget(const job_spec& spec, const price_book* prices) {
  if (spec.max_cost < 0 || !prices) return "";
  for (auto& m : spec.models)
    for (auto& r : spec.regions)
      if (auto p = prices->unpriced_provider(m, r); !p.empty())
        return "constraints.max_cost needs a price for every provider that may serve the job; "
               "provider " +
               p + " (model " + m + ", region " + r + ") has none in the providers file";
  return "";
}

// Stores a parsed, verified spec and answers as POST /api/v1/jobs does.
admission_result store(pqxx::connection& conn, std::string_view body,
                       const admission_settings& settings, storage::admit_guards guards,
                       const job_writer& writer) {
  auto parsed = parse_job_spec(body, settings.limits);
  if (auto* err = std::get_if<spec_error>(&parsed))
    return rejected(400, err->message, err->field == "body" ? "invalid_json" : "invalid_spec",
                    err->field);
  auto& spec = std::get<job_spec>(parsed);
  if (auto unpriced = unpriced_for_budget(spec, settings.prices.get()); !unpriced.empty())
    return rejected(400, unpriced, "invalid_spec", "constraints.max_cost");
  auto request = request_for(spec, settings, guards);
  caf::expected<admission_reply> stored = caf::error{};
  try {
    stored = writer ? writer(std::move(request))
                    : caf::expected<admission_reply>(storage::store_admission(conn, request));
  } catch (const pqxx::broken_connection& e) {
    stored = make_storage_error(storage_errc::unavailable, e.what());
  }
  if (!stored) {
    if (is_storage_rejection(stored.error()))  // the detail is in the log, not in the answer
      return {500, error_json("storage refused the job", "storage_rejected"), ""};
    return {503, error_json("storage unavailable; nothing was stored", "storage_unavailable"), ""};
  }
  storage::admit_outcome outcome{static_cast<storage::admit_result>(stored->result),
                                 stored->existing_job_id};
  using storage::admit_result;
  switch (outcome.result) {
    case admit_result::duplicate:
      return {409,
              error_json("job " + spec.id + " already exists", "duplicate_job", {{"id", spec.id}}),
              ""};
    case admit_result::idempotent_repeat:
      return {200,
              json_text(boost::json::object{{"id", outcome.existing_job_id}, {"idempotent", true}}),
              ""};
    case admit_result::idempotency_conflict:
      return rejected(422,
                      "Idempotency-Key was already used for job " + outcome.existing_job_id +
                          " with a different body",
                      "idempotency_key_reused", "Idempotency-Key");
    case admit_result::replay:
      return rejected(
          409, "this signed JobSpec's nonce was already used (job " + outcome.existing_job_id + ")",
          "replay_detected", "metadata.nonce");
    case admit_result::created:
      break;
  }
  logging::info("job_admitted")
      .job(spec.id)
      .field("cells", spec.total_cells())
      .field("questions", spec.questions.size())
      .field("models", spec.models.size())
      .field("regions", spec.regions.size())
      .field("runs", spec.runs)
      .field("signed", !guards.signer_public_key.empty());
  boost::json::object ok{
      {"id", spec.id}, {"status", "enqueued"}, {"total_cells", spec.total_cells()}};
  return {202, json_text(ok), spec.id};
}

storage::admit_guards guards_for(std::string_view body, const admission_options& options) {
  storage::admit_guards g;
  g.idempotency_key = options.idempotency_key;
  if (!g.idempotency_key.empty()) g.request_sha256 = crypto::sha256_hex(body);
  return g;
}

}  // namespace

job_writer job_writer_of(caf::actor_system& sys, admitter_actor admitter) {
  return [&sys, admitter](admission_request r) -> caf::expected<admission_reply> {
    caf::scoped_actor self{sys};
    caf::expected<admission_reply> out = caf::error{};
    // A million-cell insert takes seconds; the deadline only catches a runtime that is gone.
    self->request(admitter, std::chrono::seconds(120), atom::admit::value, std::move(r))
        .receive([&](admission_reply& reply) { out = std::move(reply); },
                 [&](caf::error& e) {
                   out = is_storage_rejection(e)
                             ? e
                             : make_storage_error(storage_errc::unavailable, sys.render(e));
                 });
    return out;
  };
}

namespace {

// An Idempotency-Key is at most 255 printable ASCII characters; nullopt when this one is.
std::optional<admission_result> refused_idempotency_key(const admission_options& options) {
  auto& key = options.idempotency_key;
  if (key.size() > 255)
    return rejected(400, "Idempotency-Key is longer than 255 characters", "invalid_header",
                    "Idempotency-Key");
  for (unsigned char c : key)
    if (c < 0x20 || c > 0x7E)
      return rejected(400, "Idempotency-Key must be printable ASCII", "invalid_header",
                      "Idempotency-Key");
  return std::nullopt;
}

}  // namespace

admission_result admit(pqxx::connection& conn, std::string_view body,
                       const admission_settings& settings, const admission_options& options,
                       const job_writer& writer) {
  if (auto refused = refused_idempotency_key(options)) return *refused;
  auto guards = guards_for(body, options);
  // Numbers exactly as written: the signature covers them as JavaScript would print them.
  auto doc = parse_json_exact(body);
  if (doc && doc->is_object()) {
    if (auto refused = refused_signature(doc->as_object(), settings, guards)) return *refused;
    // No signature covers a zero min_success_rate, so on a signed spec anyone may have added
    // it: it reads as absent (the default), never as the loosest rule.
    if (!guards.signer_public_key.empty() && erase_zero_success_rate(doc->as_object()))
      return store(conn, json_text(*doc), settings, std::move(guards), writer);
  }
  return store(conn, body, settings, std::move(guards), writer);
}

admission_result admit_cross_region(pqxx::connection& conn, std::string_view body,
                                    const admission_settings& settings,
                                    const admission_options& options, const job_writer& writer) {
  if (auto refused = refused_idempotency_key(options)) return *refused;
  std::string problem;
  auto doc = parse_json_exact(body, &problem);
  if (!doc || !doc->is_object())
    return rejected(400, doc ? "the body is not a JSON object" : "the body is not JSON: " + problem,
                    "invalid_json", "body");
  auto& wrapper = doc->as_object();
  auto* inner = wrapper.if_contains("jobspec");
  if (!inner || !inner->is_object())
    return rejected(400, "jobspec must be the JobSpec object", "invalid_spec", "jobspec");
  auto guards = guards_for(body, options);
  if (auto refused = refused_signature(inner->as_object(), settings, guards)) return *refused;
  auto spec = inner->as_object();
  auto& constraints = spec["constraints"];
  if (!constraints.is_object()) constraints = boost::json::object{};
  auto& c = constraints.as_object();
  size_t regions = 0;
  if (auto* t = wrapper.if_contains("target_regions")) {
    if (!t->is_array() || t->as_array().empty())
      return rejected(400, "target_regions must be a non-empty array of region names",
                      "invalid_spec", "target_regions");
    for (auto& r : t->as_array())
      if (!r.is_string() || r.as_string().empty())
        return rejected(400, "target_regions must hold region names", "invalid_spec",
                        "target_regions");
    c["regions"] = *t;
  }
  if (auto* r = c.if_contains("regions"); r && r->is_array()) regions = r->as_array().size();
  // The portal's defaults: min_regions 3 (at most the regions asked for), success rate 0.67.
  int64_t min_regions = std::min<int64_t>(3, static_cast<int64_t>(std::max<size_t>(regions, 1)));
  if (auto* m = wrapper.if_contains("min_regions"); m && !m->is_null()) {
    if (!m->is_int64() || m->as_int64() < 1 || m->as_int64() > static_cast<int64_t>(regions))
      return rejected(400, "min_regions must be an integer between 1 and the number of regions",
                      "invalid_spec", "min_regions");
    min_regions = m->as_int64();
  }
  c["min_regions"] = min_regions;
  double rate = 0.67;
  if (auto* m = wrapper.if_contains("min_success_rate"); m && !m->is_null()) {
    if (!m->is_number() || m->to_number<double>() < 0 || m->to_number<double>() > 1)
      return rejected(400, "min_success_rate must be a number between 0 and 1", "invalid_spec",
                      "min_success_rate");
    rate = m->to_number<double>();
  }
  c["min_success_rate"] = rate;
  auto result = store(conn, boost::json::serialize(spec), settings, std::move(guards), writer);
  if (result.status != 202) return result;
  pqxx::read_transaction tx{conn};
  auto cross_region_id = storage::cross_region_execution_id(tx, result.job_id);
  boost::json::object ok{{"id", result.job_id},
                         {"job_id", result.job_id},
                         {"jobspec_id", result.job_id},
                         {"cross_region_execution_id", cross_region_id},
                         {"total_regions", regions},
                         {"min_regions", min_regions},
                         {"min_success_rate", rate},
                         {"status", "submitted"},
                         {"submitted_at", format_rfc3339(now_us())},
                         {"estimated_duration", nullptr}};
  result.body = json_text(ok);
  return result;
}

}  // namespace beacon
