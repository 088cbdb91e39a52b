// Offline receipt verification.
#include "app/verify.hpp"

#include <boost/json.hpp>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "common/crypto.hpp"
#include "common/receipt.hpp"

namespace beacon {
namespace {

std::string text_of(const boost::json::object& o, const char* key) {
  auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

verify_row check_export_row(const boost::json::object& row, const std::string& key) {
  verify_row r;
  if (auto* id = row.if_contains("id"); id && id->is_int64()) r.execution_id = id->as_int64();
  r.label =
      text_of(row, "region") + " " + text_of(row, "model_id") + " " + text_of(row, "question_id");
  auto* receipt = row.if_contains("receipt");
  if (!receipt || receipt->is_null()) {
    r.has_receipt = false;
    if (text_of(row, "status") == "completed") r.problems.push_back("completed but has no receipt");
    return r;
  }
  auto* output = row.if_contains("output");
  r.problems = verify_receipt(*receipt, key, output && !output->is_null() ? output : nullptr);
  if (!output || output->is_null()) r.problems.push_back("the row has no stored output");
  return r;
}

}  // namespace

verify_report verify_file(const std::string& path, const std::string& public_key_base64) {
  std::string key;
  if (!public_key_base64.empty()) {
    auto raw = crypto::base64_decode(public_key_base64);
    if (!raw || raw->size() != crypto::ed25519_public_key_bytes)
      throw std::runtime_error("--public-key is not a base64 Ed25519 public key");
    key = *raw;
  }
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream all;
  all << in.rdbuf();
  auto text = all.str();
  verify_report report;
  // One receipt (possibly pretty-printed), or one JSON object per line.
  boost::json::error_code ec;
  auto whole = boost::json::parse(text, ec);
  if (!ec && whole.is_object() && whole.as_object().contains("schema_version")) {
    verify_row r;
    r.line = 1;
    r.problems = verify_receipt(whole, key);
    report.rows.push_back(std::move(r));
  } else {
    std::istringstream lines(text);
    std::string line;
    for (int64_t n = 1; std::getline(lines, line); ++n) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      auto v = boost::json::parse(line, ec);
      verify_row r;
      if (ec || !v.is_object())
        r.problems.push_back("not a JSON object");
      else
        r = check_export_row(v.as_object(), key);
      r.line = n;
      report.rows.push_back(std::move(r));
    }
  }
  for (auto& r : report.rows) {
    if (!r.problems.empty())
      ++report.failed;
    else if (!r.has_receipt)
      ++report.without_receipt;
    else
      ++report.verified;
  }
  return report;
}

int run_verify(const std::string& path, const std::string& public_key_base64, std::ostream& out) {
  auto report = verify_file(path, public_key_base64);
  for (auto& r : report.rows) {
    if (r.problems.empty()) continue;
    out << "FAIL line " << r.line;
    if (r.execution_id) out << " (execution " << r.execution_id;
    if (!r.label.empty()) out << ", " << r.label;
    if (r.execution_id) out << ")";
    out << ":";
    for (auto& p : r.problems) out << "\n  - " << p;
    out << "\n";
  }
  out << report.rows.size() << " row(s): " << report.verified << " verified, " << report.failed
      << " failed, " << report.without_receipt << " without a receipt (not completed)\n";
  if (public_key_base64.empty())
    out << "note: checked against the key inside each receipt; pass --public-key (from GET "
           "/api/v1/node/key) to check who signed\n";
  return report.failed == 0 && report.verified > 0 ? 0 : 1;
}

}  // namespace beacon
