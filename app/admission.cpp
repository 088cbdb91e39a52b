// Admission.
#include "app/admission.hpp"

#include <boost/json.hpp>
#include <pqxx/pqxx>

#include "common/clock.hpp"
#include "common/logging.hpp"
#include "http/error_json.hpp"
#include "providers/system_prompt.hpp"
#include "storage/job_store.hpp"

namespace beacon {

using http::error_json;

admission_result admit(pqxx::connection& conn, std::string_view body,
                       const admission_settings& settings) {
  auto parsed = parse_job_spec(body, settings.limits);
  if (auto* err = std::get_if<spec_error>(&parsed)) {
    logging::info("job_rejected").field("field", err->field).field("error", err->message);
    auto code = err->field == "body" ? "invalid_json" : "invalid_spec";
    return {400, error_json(err->message, code, {{"field", err->field}}), ""};
  }
  auto& spec = std::get<job_spec>(parsed);
  std::map<std::string, std::string> prompts;
  for (auto& r : spec.regions) prompts[r] = regional_system_prompt(r);
  try {
    if (storage::admit_job(conn, spec, settings.max_retries, prompts) ==
        storage::admit_result::duplicate)
      return {409,
              error_json("job " + spec.id + " already exists", "duplicate_job", {{"id", spec.id}}),
              ""};
  } catch (const pqxx::broken_connection& e) {
    return {503, error_json(std::string("storage unavailable: ") + e.what(), "storage_unavailable"),
            ""};
  }
  logging::info("job_admitted")
      .job(spec.id)
      .field("cells", spec.total_cells())
      .field("questions", spec.questions.size())
      .field("models", spec.models.size())
      .field("regions", spec.regions.size())
      .field("runs", spec.runs);
  boost::json::object ok{
      {"id", spec.id}, {"status", "enqueued"}, {"total_cells", spec.total_cells()}};
  return {202, boost::json::serialize(ok), spec.id};
}

namespace {

admission_result wrapper_error(const std::string& message, const std::string& field) {
  logging::info("job_rejected").field("field", field).field("error", message);
  return {400, error_json(message, "invalid_spec", {{"field", field}}), ""};
}

}  // namespace

admission_result admit_cross_region(pqxx::connection& conn, std::string_view body,
                                    const admission_settings& settings) {
  boost::json::error_code ec;
  auto doc = boost::json::parse(body, ec);
  if (ec || !doc.is_object())
    return {400, error_json("the body is not a JSON object", "invalid_json", {{"field", "body"}}),
            ""};
  auto& wrapper = doc.as_object();
  auto* inner = wrapper.if_contains("jobspec");
  if (!inner || !inner->is_object())
    return wrapper_error("jobspec must be the JobSpec object", "jobspec");
  auto spec = inner->as_object();
  auto& constraints = spec["constraints"];
  if (!constraints.is_object()) constraints = boost::json::object{};
  auto& c = constraints.as_object();
  size_t regions = 0;
  if (auto* t = wrapper.if_contains("target_regions")) {
    if (!t->is_array() || t->as_array().empty())
      return wrapper_error("target_regions must be a non-empty array of region names",
                           "target_regions");
    for (auto& r : t->as_array())
      if (!r.is_string() || r.as_string().empty())
        return wrapper_error("target_regions must hold region names", "target_regions");
    c["regions"] = *t;
  }
  if (auto* r = c.if_contains("regions"); r && r->is_array()) regions = r->as_array().size();
  // The portal's defaults: min_regions 3 (at most the regions asked for), success rate 0.67.
  int64_t min_regions = std::min<int64_t>(3, static_cast<int64_t>(std::max<size_t>(regions, 1)));
  if (auto* m = wrapper.if_contains("min_regions"); m && !m->is_null()) {
    if (!m->is_int64() || m->as_int64() < 1 || m->as_int64() > static_cast<int64_t>(regions))
      return wrapper_error("min_regions must be an integer between 1 and the number of regions",
                           "min_regions");
    min_regions = m->as_int64();
  }
  c["min_regions"] = min_regions;
  double rate = 0.67;
  if (auto* m = wrapper.if_contains("min_success_rate"); m && !m->is_null()) {
    if (!m->is_number() || m->to_number<double>() < 0 || m->to_number<double>() > 1)
      return wrapper_error("min_success_rate must be a number between 0 and 1", "min_success_rate");
    rate = m->to_number<double>();
  }
  c["min_success_rate"] = rate;
  auto result = admit(conn, boost::json::serialize(spec), settings);
  if (result.status != 202) return result;
  pqxx::work tx{conn};
  auto cre =
      tx.exec_params1("SELECT id FROM cross_region_executions WHERE job_id = $1", result.job_id);
  boost::json::object ok{{"id", result.job_id},
                         {"job_id", result.job_id},
                         {"jobspec_id", result.job_id},
                         {"cross_region_execution_id", cre[0].as<std::string>()},
                         {"total_regions", regions},
                         {"min_regions", min_regions},
                         {"min_success_rate", rate},
                         {"status", "submitted"},
                         {"submitted_at", format_rfc3339(now_us())},
                         {"estimated_duration", nullptr}};
  result.body = boost::json::serialize(ok);
  return result;
}

}  // namespace beacon
