// GET /api/v1/jobs/{id}/export?format=csv|jsonl: every execution of a job, streamed in pages of
// 250 rows in id order. Each page is read in its own short transaction when the client has
// taken the previous one, so a slow reader holds neither a worker nor a database connection; a
// row appears once, as it was when its page was read.
#include <pqxx/pqxx>

#include "http/handlers.hpp"
#include "http/route_util.hpp"
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
  r.next_piece = [pool, job_id, csv, after, header_due]() -> std::optional<std::string> {
    std::string chunk;
    if (*header_due) {
      append_csv_row(chunk, storage::export_csv_columns());
      *header_due = false;
    }
    if (*after < 0) return std::nullopt;
    auto conn = pool->acquire();
    pqxx::read_transaction tx{*conn};
    auto page = storage::read_export_page(tx, job_id, *after, 250, csv);
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
