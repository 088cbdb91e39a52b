// Admission.
#include "app/admission.hpp"

#include <boost/json.hpp>
#include <pqxx/pqxx>

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

}  // namespace beacon
