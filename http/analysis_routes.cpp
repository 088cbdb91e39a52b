// Analysis routes: the job's cross-region analysis in the portal's v2 shape, and the node's
// receipt-signing public key.
#include <boost/json.hpp>
#include <pqxx/pqxx>

#include "common/canonical_json.hpp"
#include "http/handlers.hpp"
#include "http/portal_words.hpp"
#include "http/route_util.hpp"
#include "storage/analysis_store.hpp"
#include "storage/job_store.hpp"

namespace beacon::http {
namespace {

// job_metadata of the v2 shape, from the stored spec.
boost::json::object job_metadata(const storage::job_view& job) {
  auto spec = boost::json::parse(job.spec_json).as_object();
  boost::json::object meta{{"status", to_string(job.status)}};
  meta["questions"] = spec.contains("questions") ? spec["questions"] : boost::json::array();
  auto* bench = spec.if_contains("benchmark");
  meta["benchmark"] = bench && bench->is_object() && bench->as_object().contains("name")
                          ? bench->as_object().at("name")
                          : boost::json::value(nullptr);
  boost::json::array models;
  if (auto* m = spec.if_contains("models"); m && m->is_array())
    for (auto& x : m->as_array())
      models.push_back(x.is_object() && x.as_object().contains("id") ? x.as_object().at("id") : x);
  else if (auto* md = spec.if_contains("metadata"); md && md->is_object())
    if (auto* mm = md->as_object().if_contains("models"); mm && mm->is_array())
      models = mm->as_array();
  meta["models"] = std::move(models);
  meta["metadata"] = spec.contains("metadata") ? spec["metadata"] : boost::json::object();
  return meta;
}

// region_scores keyed as the portal's heat map looks them up (lower case), each still naming its
// region as stored.
boost::json::value portal_region_scores(const boost::json::value& scores) {
  if (!scores.is_object()) return scores;
  boost::json::object out;
  for (auto& kv : scores.as_object()) {
    auto v = kv.value();
    if (v.is_object()) v.as_object()["region"] = kv.key();
    out[portal_region_key(kv.key())] = std::move(v);
  }
  return out;
}

}  // namespace

// GET /api/v2/jobs/{id}/bias-analysis[?include=groups]: 404 while the job runs and no analysis
// exists (the portal polls on 404); for an ended job without a current analysis, computed now.
response bias_analysis(const route_context& ctx, const request& req, const path_params& p) {
  const auto& job_id = p[0];
  bool groups = false;
  if (auto it = req.query.find("include"); it != req.query.end()) {
    if (it->second != "groups") return error(400, "include must be groups", "invalid_parameter");
    groups = true;
  }
  auto conn = ctx.pool->acquire();
  std::optional<storage::job_view> job;
  {
    pqxx::read_transaction tx{*conn};
    job = storage::find_job(tx, job_id);
  }
  auto current = job ? current_analysis_of(ctx, *conn, job_id, groups) : std::nullopt;
  if (!current) return error(404, "job not found", "job_not_found");
  if (!current->row)
    return error(
        404,
        "no analysis yet: the job is " + word(current->status) + "; it is computed when it ends",
        "analysis_pending");
  auto row = boost::json::parse(*current->row).as_object();
  auto& report = row["report"].as_object();
  auto analysis = report["analysis"].as_object();
  analysis["id"] = row["id"];
  analysis["created_at"] = row["created_at"];
  boost::json::object out{{"job_id", job_id},
                          {"cross_region_execution_id", row["cross_region_execution_id"]},
                          {"region_scores", portal_region_scores(report["region_scores"])},
                          {"created_at", row["created_at"]},
                          {"job_metadata", job_metadata(*job)},
                          {"analysis", std::move(analysis)},
                          {"evidence", report["evidence"]},
                          {"cells_analyzed", row["cells_analyzed"]},
                          {"answers_analyzed", row["answers_analyzed"]},
                          {"duration_ms", row["duration_ms"]},
                          {"method",
                           {{"similarity", "TF-IDF cosine over word unigrams and bigrams"},
                            {"divergence",
                             "0.4*dissimilarity + 0.3*refusal_gap + "
                             "0.2*key_term_gap + 0.1*length_disparity"},
                            {"documentation", "docs/analysis.md"}}}};
  if (groups) out["groups"] = row["groups"];
  return json(200, json_text(out));
}

std::optional<storage::current_analysis> current_analysis_of(const route_context& ctx,
                                                             pqxx::connection& conn,
                                                             const std::string& job_id,
                                                             bool with_groups) {
  return storage::current_job_analysis(conn, job_id, with_groups, [&](const std::string& id) {
    if (!ctx.analyst) return false;
    // 100,000 cells take about 1.5 s; a minute bounds the wait for the largest jobs.
    return ask_within<bool>(ctx, std::chrono::seconds(60), ctx.analyst, atom::analyze::value, id);
  });
}

// GET /api/v1/node/key: the public half of the key that signs this node's receipts.
response node_public_key(const route_context& ctx, const request&, const path_params&) {
  if (!ctx.signing_key) return error(503, "this node has no signing key", "no_signing_key");
  boost::json::object out{{"algorithm", "ed25519"},
                          {"encoding", "base64"},
                          {"public_key", ctx.signing_key->public_key_base64()},
                          {"key_id", ctx.signing_key->key_id}};
  return json(200, json_text(out));
}

}  // namespace beacon::http
