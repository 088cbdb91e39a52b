// Transparency reads over the receipts that exist (storage/receipt_log.hpp): the tree head,
// signed by the node's key, and one receipt's inclusion proof. Thin on purpose: the transparency
// log issue replaces the tree read, not these shapes.
#include <boost/json.hpp>
#include <pqxx/pqxx>

#include "common/canonical_json.hpp"
#include "common/clock.hpp"
#include "common/crypto.hpp"
#include "http/handlers.hpp"
#include "http/route_util.hpp"
#include "storage/receipt_log.hpp"

namespace beacon::http {
namespace {

// {tree_size, root_hash, timestamp, key_id, signature}: the signature (Ed25519, base64) covers
// the canonical JSON of the other four fields.
boost::json::object tree_head(const route_context& ctx, const storage::receipt_tree& t) {
  boost::json::object head{{"tree_size", t.size},
                           {"root_hash", crypto::base64_encode(t.root)},
                           {"timestamp", format_rfc3339(now_us())},
                           {"key_id", ctx.signing_key ? ctx.signing_key->key_id : ""}};
  if (ctx.signing_key)
    head["signature"] = crypto::base64_encode(
        crypto::ed25519_sign(canonical_json(head), ctx.signing_key->secret_key));
  return head;
}

boost::json::object tree_rules() {
  return {
      {"hashing", "RFC 9162 section 2.1 (SHA-256; leaf 0x00, node 0x01)"},
      {"leaves", "receipts in execution id order"},
      {"leaf_data", "the receipt's Ed25519 signature, base64-decoded"},
      {"head_signature", "Ed25519 over canonical JSON of tree_size, root_hash, timestamp, key_id"}};
}

}  // namespace

// GET /api/v1/transparency/root: the signed head of the tree over every receipt.
response transparency_root(const route_context& ctx, const request&, const path_params&) {
  auto conn = ctx.pool->acquire();
  pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx{*conn};
  auto tree = storage::read_receipt_tree(tx, 0, 0);
  boost::json::object out = tree_head(ctx, tree);
  out["rules"] = tree_rules();
  return json(200, json_text(out));
}

// GET /api/v1/transparency/proof?execution_id=&tree_size=: the inclusion proof of one receipt in
// the current tree (or the tree of its first tree_size receipts).
response transparency_proof(const route_context& ctx, const request& req, const path_params&) {
  std::string problem;
  auto id = int_param(req, "execution_id", 0, INT64_MAX, problem);
  auto size = int_param(req, "tree_size", 0, INT64_MAX, problem);
  if (!id || !size) return error(400, problem, "invalid_parameter");
  if (*id <= 0)
    return error(400, "execution_id (a positive integer) is required", "invalid_parameter");
  auto conn = ctx.pool->acquire();
  pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx{*conn};
  auto tree = storage::read_receipt_tree(tx, static_cast<uint64_t>(*size), *id);
  if (!tree.leaf_index) {
    if (!storage::receipt_leaf_index(tx, *id))
      return error(404, "execution " + std::to_string(*id) + " has no receipt",
                   "receipt_not_found");
    return error(400,
                 "the receipt of execution " + std::to_string(*id) + " is not in a tree of " +
                     std::to_string(tree.size) + " leaves",
                 "invalid_parameter");
  }
  boost::json::array path;
  for (auto& h : tree.proof) path.emplace_back(crypto::base64_encode(h));
  boost::json::object out{{"execution_id", *id},
                          {"leaf_index", *tree.leaf_index},
                          {"leaf_hash", crypto::base64_encode(tree.leaf_hash)},
                          {"tree_size", tree.size},
                          {"audit_path", std::move(path)},
                          {"tree_head", tree_head(ctx, tree)},
                          {"rules", tree_rules()}};
  return json(200, json_text(out));
}

}  // namespace beacon::http
