// The transparency log's routes: the latest signed tree head, a receipt's inclusion proof, the
// consistency proof between two heads, the heads in order and the logs (one per node key).
// Reads in a REPEATABLE READ transaction, so a head and the leaves under it agree.
#include <boost/json.hpp>
#include <pqxx/pqxx>

#include "common/canonical_json.hpp"
#include "common/crypto.hpp"
#include "http/handlers.hpp"
#include "http/route_util.hpp"
#include "http/transparency_json.hpp"
#include "storage/job_store.hpp"
#include "storage/transparency_store.hpp"

namespace beacon::http {
namespace {

using snapshot_tx = pqxx::transaction<pqxx::repeatable_read, pqxx::read_only>;

// The log a request names with key_id (this node's by default).
std::optional<storage::log_info> requested_log(const route_context& ctx, const request& req,
                                               pqxx::transaction_base& tx) {
  std::string key_id = ctx.signing_key ? ctx.signing_key->key_id : "";
  if (auto it = req.query.find("key_id"); it != req.query.end() && !it->second.empty())
    key_id = it->second;
  return storage::find_log(tx, key_id);
}

response no_log() {
  return error(404, "no transparency log of that key_id here (GET /api/v1/transparency/logs)",
               "log_not_found");
}

boost::json::array base64_all(const std::vector<std::string>& hashes) {
  boost::json::array out;
  for (auto& h : hashes) out.emplace_back(crypto::base64_encode(h));
  return out;
}

}  // namespace

// GET /api/v1/transparency/root[?key_id=]: the latest signed tree head of a log.
response transparency_root(const route_context& ctx, const request& req, const path_params&) {
  auto conn = ctx.pool->acquire();
  snapshot_tx tx{*conn};
  auto log = requested_log(ctx, req, tx);
  if (!log) return no_log();
  auto head = storage::latest_head(tx, *log);
  if (!head) return error(404, "the log has no tree head yet", "log_empty");
  auto out = tree_head_json(*head);
  out["public_key"] = crypto::base64_encode(log->public_key);
  out["rules"] = transparency_rules();
  return json(200, json_text(out));
}

// GET /api/v1/transparency/proof?execution_id=[&tree_size=]: the inclusion proof of one
// receipt against a signed head of its log (the latest, or the one of tree_size leaves).
response transparency_proof(const route_context& ctx, const request& req, const path_params&) {
  std::string problem;
  auto id = int_param(req, "execution_id", 0, INT64_MAX, problem);
  auto size = int_param(req, "tree_size", 0, INT64_MAX, problem);
  if (!id || !size) return error(400, problem, "invalid_parameter");
  if (*id <= 0)
    return error(400, "execution_id (a positive integer) is required", "invalid_parameter");
  auto conn = ctx.pool->acquire();
  snapshot_tx tx{*conn};
  auto pos = storage::receipt_position(tx, *id);
  if (!pos)
    return error(404, "execution " + std::to_string(*id) + " has no receipt in a log",
                 "receipt_not_found");
  auto head = *size > 0 ? storage::head_of_size(tx, pos->log, static_cast<uint64_t>(*size))
                        : storage::latest_head(tx, pos->log);
  if (!head)
    return error(400, "no signed tree head of " + std::to_string(*size) + " leaves",
                 "invalid_parameter");
  if (head->tree_size <= pos->index)
    return error(400,
                 "the receipt of execution " + std::to_string(*id) + " is leaf " +
                     std::to_string(pos->index) + ", not in a tree of " +
                     std::to_string(head->tree_size) + " leaves",
                 "invalid_parameter");
  storage::log_tree tree(pos->log.log_id);
  boost::json::object out{
      {"execution_id", *id},
      {"key_id", pos->log.key_id},
      {"leaf_index", pos->index},
      {"leaf_hash", crypto::base64_encode(merkle::leaf_hash(pos->leaf_data))},
      {"tree_size", head->tree_size},
      {"audit_path", base64_all(tree.inclusion_proof(tx, pos->index, head->tree_size))},
      {"tree_head", tree_head_json(*head)},
      {"rules", transparency_rules()}};
  return json(200, json_text(out));
}

// GET /api/v1/transparency/consistency?first=&second=[&key_id=]: the RFC 9162 consistency proof
// that the signed tree of `first` leaves is a prefix of the one of `second` (latest by default).
response transparency_consistency(const route_context& ctx, const request& req,
                                  const path_params&) {
  std::string problem;
  auto first = int_param(req, "first", -1, INT64_MAX, problem);
  auto second = int_param(req, "second", 0, INT64_MAX, problem);
  if (!first || !second) return error(400, problem, "invalid_parameter");
  if (*first < 0) return error(400, "first (a tree size) is required", "invalid_parameter");
  auto conn = ctx.pool->acquire();
  snapshot_tx tx{*conn};
  auto log = requested_log(ctx, req, tx);
  if (!log) return no_log();
  auto to = *second > 0 ? storage::head_of_size(tx, *log, static_cast<uint64_t>(*second))
                        : storage::latest_head(tx, *log);
  auto from =
      *first > 0 ? storage::head_of_size(tx, *log, static_cast<uint64_t>(*first)) : std::nullopt;
  if (!to || (*first > 0 && !from))
    return error(400, "no signed tree head of that size (GET /api/v1/transparency/heads)",
                 "invalid_parameter");
  if (static_cast<uint64_t>(*first) > to->tree_size)
    return error(400, "first must not be larger than second", "invalid_parameter");
  storage::log_tree tree(log->log_id);
  boost::json::object out{
      {"key_id", log->key_id},
      {"first", *first},
      {"second", to->tree_size},
      {"consistency_path",
       base64_all(tree.consistency_proof(tx, static_cast<uint64_t>(*first), to->tree_size))},
      {"second_head", tree_head_json(*to)}};
  if (from) out["first_head"] = tree_head_json(*from);
  return json(200, json_text(out));
}

// GET /api/v1/transparency/heads?after=&limit=[&key_id=]: signed heads larger than `after`
// leaves, smallest first; next_after pages on.
response transparency_heads(const route_context& ctx, const request& req, const path_params&) {
  std::string problem;
  auto after = int_param(req, "after", 0, INT64_MAX, problem);
  auto limit = int_param(req, "limit", 100, 1000, problem);
  if (!after || !limit) return error(400, problem, "invalid_parameter");
  auto conn = ctx.pool->acquire();
  snapshot_tx tx{*conn};
  auto log = requested_log(ctx, req, tx);
  if (!log) return no_log();
  boost::json::array heads;
  uint64_t last = static_cast<uint64_t>(*after);
  for (auto& h : storage::heads_after(tx, *log, last, static_cast<int32_t>(*limit))) {
    heads.push_back(tree_head_json(h));
    last = h.tree_size;
  }
  boost::json::object out{{"log", log_json(*log)}, {"heads", std::move(heads)}};
  if (last < log->size) out["next_after"] = last;
  return json(200, json_text(out));
}

// GET /api/v1/transparency/logs: every log in this database (one per node key).
response transparency_logs(const route_context& ctx, const request&, const path_params&) {
  auto conn = ctx.pool->acquire();
  snapshot_tx tx{*conn};
  boost::json::array logs;
  for (auto& l : storage::all_logs(tx)) logs.push_back(log_json(l));
  boost::json::object out{{"logs", std::move(logs)},
                          {"this_node", ctx.signing_key ? ctx.signing_key->key_id : ""},
                          {"rules", transparency_rules()}};
  return json(200, json_text(out));
}

// GET /api/v1/jobs/{id}/transparency: where the job's receipts are logged: per log, how many
// leaves, the first and last, and the log's latest signed head (every one of the job's leaves is
// in it).
response job_transparency(const route_context& ctx, const request&, const path_params& p) {
  auto conn = ctx.pool->acquire();
  snapshot_tx tx{*conn};
  if (!storage::find_job(tx, p[0])) return error(404, "job not found", "job_not_found");
  boost::json::array logs;
  for (auto& span : storage::job_log_spans(tx, p[0])) {
    auto entry = log_json(span.log);
    entry["leaves"] = span.leaves;
    entry["first_leaf"] = span.first;
    entry["last_leaf"] = span.last;
    if (auto head = storage::latest_head(tx, span.log)) entry["tree_head"] = tree_head_json(*head);
    logs.push_back(std::move(entry));
  }
  boost::json::object out{{"job_id", p[0]}, {"logs", std::move(logs)}};
  return json(200, json_text(out));
}

}  // namespace beacon::http
