// GET /api/v1/jobs/{id}/export?format=csv|jsonl: every execution of a job, streamed in pages of
// 250 rows in id order. Each page is read in its own short transaction when the client has
// taken the previous one, so a slow reader holds neither a worker nor a database connection; a
// row appears once, as it was when its page was read. A JSONL row's v1 receipt carries its
// transparency block, so `beacon verify` checks the export offline.
#include <boost/json.hpp>
#include <map>
#include <pqxx/pqxx>

#include "common/canonical_json.hpp"
#include "http/handlers.hpp"
#include "http/route_util.hpp"
#include "http/transparency_json.hpp"
#include "storage/export_store.hpp"
#include "storage/job_store.hpp"

namespace beacon::http {
namespace {

// RFC 4180: quoted when it holds a comma, quote or line break; quotes doubled.
void append_csv_field(std::string& out, const std::string& field) {
  if (field.find_first_of(",\"\r\n") == std::string::npos) {
    out += field;
    return;
  }
  out += '"';
  for (char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

void append_csv_row(std::string& out, const std::vector<std::string>& fields) {
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i) out += ',';
    append_csv_field(out, fields[i]);
  }
  out += "\r\n";
}

// The logs' trees an export reads proofs from (kept across its pages: the logs only grow).
using export_trees = std::map<int32_t, storage::log_tree>;

// Adds each v1 receipt's transparency block (leaf, first head, inclusion proof) to its line.
void add_transparency(pqxx::transaction_base& tx, export_trees& trees, storage::export_page& page) {
  auto positions = storage::receipt_positions(tx, page.ids);
  if (positions.empty()) return;
  for (size_t i = 0; i < page.ids.size(); ++i) {
    auto pos = positions.find(page.ids[i]);
    if (pos == positions.end()) continue;
    auto row = boost::json::parse(page.json_lines[i]).as_object();
    auto* receipt = row.if_contains("receipt");
    if (!receipt || !receipt->is_object()) continue;
    auto& tree = trees.try_emplace(pos->second.log.log_id, pos->second.log.log_id).first->second;
    receipt->as_object()["transparency"] = receipt_transparency(tx, tree, pos->second);
    page.json_lines[i] = json_text(row);
  }
}

}  // namespace

response export_job(const route_context& ctx, const request& req, const path_params& p) {
  const auto job_id = p[0];
  std::string format = "jsonl";
  if (auto f = req.query.find("format"); f != req.query.end() && !f->second.empty())
    format = f->second;
  if (format != "csv" && format != "jsonl")
    return error(400, "format must be csv or jsonl", "invalid_parameter");
  {
    auto conn = ctx.pool->acquire();
    pqxx::read_transaction tx{*conn};
    if (!storage::find_job(tx, job_id)) return error(404, "job not found", "job_not_found");
  }
  bool csv = format == "csv";
  response r;
  r.content_type = csv ? "text/csv; charset=utf-8" : "application/x-ndjson";
  r.headers.emplace_back("Content-Disposition",
                         "attachment; filename=\"" + job_id + "." + format + "\"");
  auto* pool = ctx.pool;
  auto after = std::make_shared<int64_t>(0);  // the last id sent; -1 once the body has ended
  auto header_due = std::make_shared<bool>(csv);
  auto trees = std::make_shared<export_trees>();
  r.next_piece = [pool, job_id, csv, after, header_due, trees]() -> std::optional<std::string> {
    std::string chunk;
    if (*header_due) {
      append_csv_row(chunk, storage::export_csv_columns());
      *header_due = false;
    }
    if (*after < 0) return std::nullopt;
    auto conn = pool->acquire();
    pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx{*conn};
    auto page = storage::read_export_page(tx, job_id, *after, 250, csv);
    if (!csv) add_transparency(tx, *trees, page);
    if (page.last_id == 0) {
      *after = -1;
      if (chunk.empty()) return std::nullopt;
      return chunk;
    }
    *after = page.last_id;
    for (auto& line : page.json_lines) chunk += line + "\n";
    for (auto& row : page.rows) append_csv_row(chunk, row);
    return chunk;
  };
  return r;
}

}  // namespace beacon::http
