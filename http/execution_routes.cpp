// Execution routes: the paged list, details, receipt, retry-question, and the side-by-side view of
// one model x question across regions.
#include <boost/json.hpp>
#include <pqxx/pqxx>

#include "analysis/job_report.hpp"
#include "common/canonical_json.hpp"
#include "common/clock.hpp"
#include "domain/status.hpp"
#include "http/handlers.hpp"
#include "http/route_util.hpp"
#include "http/transparency_json.hpp"
#include "storage/analysis_store.hpp"
#include "storage/cross_region_store.hpp"
#include "storage/job_store.hpp"
#include "storage/retry_store.hpp"
#include "storage/status_words.hpp"

namespace beacon::http {
namespace {

// Display names of the regions the portal knows (reference section 9); others show as given.
boost::json::object region_label(const std::string& region) {
  struct label {
    const char* region;
    const char* name;
    const char* flag;
  };
  static const label known[] = {
      {"US", "United States", "🇺🇸"}, {"EU", "Europe", "🇪🇺"}, {"ASIA", "Asia Pacific", "🌏"}};
  for (auto& k : known)
    if (region == k.region) return {{"region_name", k.name}, {"flag", k.flag}};
  return {{"region_name", region}, {"flag", nullptr}};
}

}  // namespace

response list_executions(const route_context& ctx, const request& req, const path_params&) {
  std::string problem;
  auto limit = int_param(req, "limit", 50, 100, problem);
  auto offset = int_param(req, "offset", 0, INT64_MAX / 2, problem);
  auto cursor = int_param(req, "cursor", 0, INT64_MAX, problem);
  if (!limit || !offset || !cursor) return error(400, problem, "invalid_parameter");
  auto conn = ctx.pool->acquire();
  pqxx::read_transaction tx{*conn};
  auto page = storage::list_executions_json(tx, *limit, *offset, *cursor);
  auto rows = boost::json::parse(page).as_array();
  boost::json::object out{{"executions", rows},
                          {"limit", *limit},
                          {"offset", *offset},
                          {"total", storage::executions_total(tx)}};
  // The next page of the keyset walk: pass it back as ?cursor=.
  if (static_cast<int64_t>(rows.size()) == *limit && !rows.empty())
    out["next_cursor"] = rows.back().as_object().at("id");
  return json(200, json_text(out));
}

response execution_details(const route_context& ctx, const request&, const path_params& p) {
  auto id = positive_id(p[0]);
  if (!id) return error(400, "an execution id is a positive integer", "invalid_parameter");
  auto conn = ctx.pool->acquire();
  pqxx::read_transaction tx{*conn};
  auto e = storage::execution_json(tx, *id);
  if (!e) return error(404, "execution not found", "execution_not_found");
  return json(200, *e);
}

// GET /api/v1/executions/{id}/receipt: the receipt with output.data and, for a v1 receipt, its
// transparency block (leaf, first signed head including it, inclusion proof): it verifies
// offline as it is.
response execution_receipt(const route_context& ctx, const request&, const path_params& p) {
  auto id = positive_id(p[0]);
  if (!id) return error(400, "an execution id is a positive integer", "invalid_parameter");
  auto conn = ctx.pool->acquire();
  pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx{*conn};
  auto receipt = storage::execution_receipt(tx, *id);
  if (!receipt) return error(404, "execution not found", "execution_not_found");
  if (receipt->empty()) return error(404, "this execution has no receipt", "receipt_not_found");
  auto pos = storage::receipt_position(tx, *id);
  if (!pos) return json(200, *receipt);  // a v0 receipt: signed on its own
  auto served = boost::json::parse(*receipt).as_object();
  storage::log_tree tree(pos->log.log_id);
  served["transparency"] = receipt_transparency(tx, tree, *pos);
  return json(200, json_text(served));
}

// POST /api/v1/executions/{id}/retry-question {region, question_index} (the portal's retry
// button): completed -> 200 with the result; pending or running -> 202 as it is; cancelled -> 400;
// manual_retry_limit retries used -> 429; else the cell runs again (202, status "retrying"),
// inside its running job or in its ended job, which is queued again.
response retry_question(const route_context& ctx, const request& req, const path_params& p) {
  auto id = positive_id(p[0]);
  if (!id) return error(400, "an execution id is a positive integer", "invalid_parameter");
  if (req.content_type.rfind("application/json", 0) != 0)
    return error(415, "retry-question needs Content-Type: application/json",
                 "unsupported_media_type");
  boost::json::error_code ec;
  auto body = boost::json::parse(req.body, ec);
  if (ec || !body.is_object()) return error(400, "the body is not a JSON object", "invalid_json");
  auto& o = body.as_object();
  auto* region = o.if_contains("region");
  auto* index = o.if_contains("question_index");
  if (!region || !region->is_string())
    return error(400, "region (the execution's region) is required", "invalid_parameter");
  if (!index || !index->is_int64())
    return error(400, "question_index (an integer) is required", "invalid_parameter");
  std::optional<storage::retry_target> target;
  {
    auto conn = ctx.pool->acquire();
    pqxx::read_transaction tx{*conn};
    target = storage::find_retry_target(tx, *id);
  }
  if (!target) return error(404, "execution not found", "execution_not_found");
  if (region->as_string() != target->region)
    return error(
        400,
        "this execution ran in " + target->region + ", not " + std::string(region->as_string()),
        "region_mismatch");
  if (index->as_int64() != target->question_index)
    return error(400, "this execution is question_index " + std::to_string(target->question_index),
                 "question_mismatch");
  boost::json::object out{{"execution_id", target->id},
                          {"region", target->region},
                          {"question_index", target->question_index},
                          {"status", to_string(target->status)},
                          {"retry_attempt", target->manual_retries},
                          {"updated_at", target->updated_at}};
  if (target->status == cell_status::completed) {
    out["result"] = boost::json::parse(target->output_json);
    return json(200, json_text(out));
  }
  if (!is_terminal(target->status)) return json(202, json_text(out));
  if (target->status != cell_status::failed && target->status != cell_status::timeout)
    return error(400,
                 "only a failed or timed-out execution can be retried (this one is " +
                     word(target->status) + ")",
                 "not_retryable");
  if (target->manual_retries >= target->manual_retry_limit)
    return error(429,
                 "this execution was already retried " + std::to_string(target->manual_retries) +
                     " time(s), the maximum",
                 "retry_limit_reached");
  auto r = ask_within<reopen_result>(ctx, write_deadline, ctx.manager, atom::reopen::value,
                                     target->job_id, target->id);
  if (r.cells == 0) return error(409, "the execution changed meanwhile; read it again", "conflict");
  out["status"] = "retrying";
  out["retry_attempt"] = target->manual_retries + 1;
  out["updated_at"] = format_rfc3339(now_us());
  if (!r.routed_to.empty()) out["routed_to"] = r.routed_to;
  return json(202, json_text(out));
}

namespace {

// The side-by-side rows, each with its region's scoring and label, and the totals over them.
struct side_by_side {
  boost::json::array regions;
  int64_t completed = 0, failed = 0, length_sum = 0, lengths = 0;
  std::optional<double> max_bias, min_bias;
};

side_by_side region_rows(boost::json::array& rows, const analysis::group_analysis& group) {
  side_by_side out;
  for (auto& row : rows) {
    auto r = row.as_object();
    auto region = std::string(r["region"].as_string());
    for (auto& f : group.regions)
      if (f.region == region && f.answers > 0) {
        r["scoring"] = analysis::region_scoring(f);
        if (f.similarity_to_others) {
          double b = analysis::round4(1 - *f.similarity_to_others);
          out.max_bias = std::max(out.max_bias.value_or(b), b);
          out.min_bias = std::min(out.min_bias.value_or(b), b);
        }
      }
    r["region_code"] = region;
    for (auto& kv : region_label(region)) r[kv.key()] = kv.value();
    auto st = storage::stored_cell_status(r["status"].as_string());
    out.completed += st == cell_status::completed;
    out.failed += st != cell_status::completed && is_terminal(st);
    if (r["response_length"].is_int64()) {
      out.length_sum += r["response_length"].as_int64();
      ++out.lengths;
    }
    out.regions.push_back(std::move(r));
  }
  return out;
}

// From the recommendation's first word: HIGH, MEDIUM, LOW, NO (divergence), NOT (enough data).
std::string_view risk_level(std::string_view recommendation) {
  auto first = recommendation.substr(0, recommendation.find(' '));
  return first == "HIGH"     ? "high"
         : first == "MEDIUM" ? "medium"
         : first == "LOW"    ? "low"
         : first == "NO"     ? "none"
                             : "unknown";
}

boost::json::value maybe(const std::optional<double>& x) {
  return x ? boost::json::value(*x) : boost::json::value(nullptr);
}

}  // namespace

// GET /api/v1/executions/{jobId}/cross-region?model_id=&question_id=: the newest run per region
// of one model x question, side by side, from the rows, with each region's `scoring` and the
// group's `analysis` computed from every run's answers (analysis/comparison.hpp); quantities
// without data (one region only, no key-term list) are null, never placeholders.
response cross_region_view(const route_context& ctx, const request& req, const path_params& p) {
  const auto& job_id = p[0];
  auto model = req.query.find("model_id");
  if (model == req.query.end() || model->second.empty())
    return error(400, "model_id is required", "invalid_parameter");
  auto conn = ctx.pool->acquire();
  pqxx::read_transaction tx{*conn};
  auto job = storage::find_job(tx, job_id);
  if (!job) return error(404, "job not found", "job_not_found");
  std::string question;
  if (auto q = req.query.find("question_id"); q != req.query.end()) question = q->second;
  if (question.empty()) question = storage::first_question_id(tx, job_id);
  auto rows =
      boost::json::parse(storage::cross_region_rows_json(tx, job_id, model->second, question))
          .as_array();
  if (rows.empty())
    return error(404, "no executions of model " + model->second + " for question " + question,
                 "executions_not_found");
  auto group = analysis::analyze_group(question, model->second,
                                       storage::answer_group(tx, job_id, model->second, question));
  auto sides = region_rows(rows, group);
  auto analysis = analysis::group_portal_analysis(group);
  boost::json::object summary{
      {"total_regions", sides.regions.size()},
      {"completed_regions", sides.completed},
      {"failed_regions", sides.failed},
      {"avg_response_length", sides.lengths
                                  ? boost::json::value(static_cast<double>(sides.length_sum) /
                                                       static_cast<double>(sides.lengths))
                                  : boost::json::value(nullptr)},
      {"max_bias_score", maybe(sides.max_bias)},
      {"min_bias_score", maybe(sides.min_bias)},
      {"risk_level", risk_level(analysis["recommendation"].as_string())}};
  boost::json::object out{{"cross_region_execution",
                           {{"job_id", job_id},
                            {"model_id", model->second},
                            {"question_id", question},
                            {"status", to_string(job->status)}}},
                          {"region_results", std::move(sides.regions)},
                          {"analysis", std::move(analysis)},
                          {"summary", std::move(summary)}};
  return json(200, json_text(out));
}

}  // namespace beacon::http
