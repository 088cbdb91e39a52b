// Offline receipt verification, and the log's consistency when a node is given.
#include "app/verify.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "app/client.hpp"
#include "common/crypto.hpp"
#include "common/merkle.hpp"
#include "common/receipt.hpp"
#include "common/tree_head.hpp"

namespace beacon {
namespace {

std::string text_of(const boost::json::object& o, const char* key) {
  auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream all;
  all << in.rdbuf();
  return all.str();
}

// What the checks share: the options, the trusted key, the node, and the heads the rows named.
struct verifier {
  const verify_options& opts;
  std::string key;  // raw trusted public key, or empty
  std::optional<client_options> node;
  // key id -> tree size -> the head a row named; key id -> the log's public key (raw)
  std::map<std::string, std::map<uint64_t, tree_head>> heads;
  std::map<std::string, std::string> log_keys;
};

// The receipt with the transparency block the node has for it, when the row lacks one (v1 only,
// with --node); nullopt when the receipt is to be checked as it is.
std::optional<boost::json::value> with_transparency(verifier& v, const boost::json::value& receipt,
                                                    int64_t execution_id,
                                                    std::vector<std::string>& problems) {
  auto& o = receipt.as_object();
  if (text_of(o, "schema_version").rfind("v0.", 0) == 0 || o.contains("transparency") || !v.node ||
      execution_id <= 0)
    return std::nullopt;
  auto [status, body] =
      node_get(*v.node, "/api/v1/executions/" + std::to_string(execution_id) + "/receipt");
  if (status != 200 || !body.is_object() || !body.as_object().contains("transparency")) {
    problems.push_back("the node has no transparency block for this receipt (HTTP " +
                       std::to_string(status) + ")");
    return std::nullopt;
  }
  if (receipt_leaf_data(body) != receipt_leaf_data(receipt)) {
    problems.push_back("the node's receipt for this execution differs from the exported one");
    return std::nullopt;
  }
  auto copy = receipt;
  copy.as_object()["transparency"] = body.as_object()["transparency"];
  return copy;
}

// Notes the head a verified v1 receipt names, to check it against the log's latest.
void remember_head(verifier& v, const boost::json::value& receipt) {
  auto* t = receipt.as_object().if_contains("transparency");
  if (!t || !t->is_object() || !t->as_object().contains("tree_head")) return;
  std::string problem;
  auto head = tree_head_from_json(t->as_object().at("tree_head"), problem);
  if (!head) return;
  if (auto pub = crypto::base64_decode(text_of(t->as_object(), "public_key")))
    v.log_keys.emplace(head->key_id, *pub);
  v.heads[head->key_id].emplace(head->tree_size, *head);
}

verify_row check_receipt(verifier& v, const boost::json::value& receipt, int64_t execution_id,
                         const boost::json::value* output) {
  verify_row r;
  r.execution_id = execution_id;
  auto fetched = with_transparency(v, receipt, execution_id, r.problems);
  const auto& full = fetched ? *fetched : receipt;
  auto found = verify_receipt(full, v.key, output);
  r.problems.insert(r.problems.end(), found.begin(), found.end());
  if (r.problems.empty()) remember_head(v, full);
  return r;
}

verify_row check_export_row(verifier& v, const boost::json::object& row) {
  int64_t id = 0;
  if (auto* f = row.if_contains("id"); f && f->is_int64()) id = f->as_int64();
  auto label =
      text_of(row, "region") + " " + text_of(row, "model_id") + " " + text_of(row, "question_id");
  auto* receipt = row.if_contains("receipt");
  if (!receipt || !receipt->is_object()) {
    verify_row r;
    r.execution_id = id;
    r.label = label;
    r.has_receipt = false;
    if (text_of(row, "status") == "completed") r.problems.push_back("completed but has no receipt");
    return r;
  }
  auto* output = row.if_contains("output");
  auto r = check_receipt(v, *receipt, id, output && !output->is_null() ? output : nullptr);
  r.label = label;
  if (!output || output->is_null()) r.problems.push_back("the row has no stored output");
  return r;
}

// The hashes of a JSON array of base64 strings; nullopt when one is not.
std::optional<std::vector<std::string>> hashes_of(const boost::json::value* v) {
  if (!v || !v->is_array()) return std::nullopt;
  std::vector<std::string> out;
  for (auto& h : v->as_array()) {
    auto raw = h.is_string() ? crypto::base64_decode(h.as_string()) : std::nullopt;
    if (!raw) return std::nullopt;
    out.push_back(std::move(*raw));
  }
  return out;
}

// Whether the log holds `earlier` as a prefix of `latest` (the node's consistency proof).
void check_prefix(verifier& v, const tree_head& earlier, const tree_head& latest,
                  verify_head& out) {
  if (earlier.tree_size > latest.tree_size) {
    out.problems.push_back("the log's latest head has " + std::to_string(latest.tree_size) +
                           " leaves, fewer than this one: leaves were removed");
    return;
  }
  std::vector<std::string> path;
  if (earlier.tree_size < latest.tree_size && earlier.tree_size > 0) {
    auto [status, body] =
        node_get(*v.node, "/api/v1/transparency/consistency?key_id=" + earlier.key_id +
                              "&first=" + std::to_string(earlier.tree_size) +
                              "&second=" + std::to_string(latest.tree_size));
    auto hashes = status == 200 && body.is_object()
                      ? hashes_of(body.as_object().if_contains("consistency_path"))
                      : std::nullopt;
    if (!hashes) {
      out.problems.push_back("the node gave no consistency proof (HTTP " + std::to_string(status) +
                             ")");
      return;
    }
    path = std::move(*hashes);
  }
  if (!merkle::verify_consistency(earlier.tree_size, latest.tree_size, path, earlier.root_hash,
                                  latest.root_hash))
    out.problems.push_back("not a prefix of the log's latest head of " +
                           std::to_string(latest.tree_size) +
                           " leaves: the log was rewritten since");
}

// The log's latest signed head, from the node, checked against the log's key.
std::optional<tree_head> latest_head(verifier& v, const std::string& key_id, verify_head& report) {
  auto [status, body] = node_get(*v.node, "/api/v1/transparency/root?key_id=" + key_id);
  std::string problem = "HTTP " + std::to_string(status);
  auto head = status == 200 ? tree_head_from_json(body, problem) : std::nullopt;
  if (!head) {
    report.problems.push_back("the node gave no latest head (" + problem + ")");
    return std::nullopt;
  }
  auto served_key = crypto::base64_decode(text_of(body.as_object(), "public_key"));
  auto& known = v.log_keys[key_id];
  if (known.empty() && served_key) known = *served_key;
  auto& trusted = v.key.empty() ? known : v.key;
  if (!tree_head_signed_by(*head, trusted)) {
    report.problems.push_back("the latest head's signature does not verify");
    return std::nullopt;
  }
  return head;
}

// Every head the rows named, and the saved one, against the log's latest: one entry each.
std::vector<verify_head> check_heads(verifier& v, const std::optional<tree_head>& since) {
  std::vector<verify_head> out;
  std::map<std::string, bool> keys;
  for (auto& kv : v.heads) keys[kv.first] = true;
  if (since) keys[since->key_id] = true;
  for (auto& [key_id, _] : keys) {
    verify_head latest_report{"the latest head of log " + key_id, {}};
    auto latest = latest_head(v, key_id, latest_report);
    out.push_back(latest_report);
    if (!latest) continue;
    for (auto& [size, head] : v.heads[key_id]) {
      verify_head h{"head " + std::to_string(size) + " of log " + key_id, {}};
      check_prefix(v, head, *latest, h);
      out.push_back(std::move(h));
    }
    if (since && since->key_id == key_id) {
      verify_head s{"--since head " + std::to_string(since->tree_size) + " of log " + key_id, {}};
      auto& key = v.key.empty() ? v.log_keys[key_id] : v.key;
      if (!tree_head_signed_by(*since, key))
        s.problems.push_back("its signature does not verify with the log's key");
      else
        check_prefix(v, *since, *latest, s);
      out.push_back(std::move(s));
    }
  }
  return out;
}

// One line of an export, numbered from 1.
struct numbered_line {
  int64_t n = 0;
  std::string text;
};
constexpr size_t lines_per_batch = 8192;

verify_row check_line(verifier& v, const numbered_line& line) {
  // The row's JSON in one bump-allocated buffer (a row is a few kB): parsing is most of the work.
  alignas(16) unsigned char buffer[64 * 1024];
  boost::json::monotonic_resource arena(buffer, sizeof buffer);
  boost::json::error_code ec;
  auto row = boost::json::parse(line.text, ec, &arena);
  verify_row r;
  if (ec || !row.is_object())
    r.problems.push_back("not a JSON object");
  else
    r = check_export_row(v, row.as_object());
  r.line = line.n;
  return r;
}

// Checks a batch of lines on every core, each thread with a verifier of its own whose heads and
// keys join `v`'s; the rows are added in line order.
void check_lines(verifier& v, const std::vector<numbered_line>& lines,
                 std::vector<verify_row>& rows) {
  size_t threads = std::max(1u, std::thread::hardware_concurrency());
  std::vector<verifier> parts(threads, verifier{v.opts, v.key, v.node, {}, {}});
  std::vector<verify_row> checked(lines.size());
  std::vector<std::thread> pool;
  for (size_t t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      for (size_t i = t; i < lines.size(); i += threads)
        checked[i] = check_line(parts[t], lines[i]);
    });
  for (auto& th : pool) th.join();
  for (auto& part : parts) {
    for (auto& [key_id, heads] : part.heads) v.heads[key_id].insert(heads.begin(), heads.end());
    v.log_keys.insert(part.log_keys.begin(), part.log_keys.end());
  }
  for (auto& r : checked) rows.push_back(std::move(r));
}

std::optional<tree_head> saved_head(const std::string& path) {
  if (path.empty()) return std::nullopt;
  boost::json::error_code ec;
  auto v = boost::json::parse(read_file(path), ec);
  std::string problem = "not JSON";
  auto head = ec ? std::nullopt : tree_head_from_json(v, problem);
  if (!head) throw std::runtime_error("--since " + path + ": " + problem);
  return head;
}

}  // namespace

verify_report verify_file(const verify_options& o) {
  verifier v{o, {}, {}, {}, {}};
  if (!o.public_key_base64.empty()) {
    auto raw = crypto::base64_decode(o.public_key_base64);
    if (!raw || raw->size() != crypto::ed25519_public_key_bytes)
      throw std::runtime_error("--public-key is not a base64 Ed25519 public key");
    v.key = *raw;
  }
  if (!o.since_path.empty() && o.node_url.empty())
    throw std::runtime_error("--since needs --node: the consistency proofs come from the log");
  if (!o.node_url.empty()) v.node = client_options{o.node_url, ""};
  auto since = saved_head(o.since_path);
  std::ifstream in(o.path);
  if (!in) throw std::runtime_error("cannot read " + o.path);
  verify_report report;
  // One receipt (possibly pretty-printed), or one JSON object per line, read as it streams.
  std::string line;
  std::getline(in, line);
  boost::json::error_code ec;
  auto first = boost::json::parse(line, ec);
  bool one_receipt = !ec && first.is_object() && first.as_object().contains("schema_version");
  if (ec && line.find_first_not_of(" \t\r") != std::string::npos) {
    // Not a line of its own: a pretty-printed receipt.
    first = boost::json::parse(read_file(o.path), ec);
    one_receipt = !ec && first.is_object() && first.as_object().contains("schema_version");
    if (!one_receipt) {
      verify_row r;
      r.line = 1;
      r.problems.push_back("neither a receipt nor JSON lines");
      report.rows.push_back(std::move(r));
    }
  }
  if (one_receipt) {
    int64_t id = 0;
    if (auto* e = first.as_object().if_contains("execution_details"); e && e->is_object())
      if (auto* x = e->as_object().if_contains("execution_id"); x && x->is_int64())
        id = x->as_int64();
    auto r = check_receipt(v, first, id, nullptr);
    r.line = 1;
    report.rows.push_back(std::move(r));
  } else if (!ec) {
    std::vector<numbered_line> batch;
    for (int64_t n = 1;; ++n) {
      if (line.find_first_not_of(" \t\r") != std::string::npos)
        batch.push_back({n, std::move(line)});
      bool more = static_cast<bool>(std::getline(in, line));
      if (batch.size() == lines_per_batch || (!more && !batch.empty())) {
        check_lines(v, batch, report.rows);
        batch.clear();
      }
      if (!more) break;
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
  if (v.node) report.heads = check_heads(v, since);
  for (auto& h : report.heads) report.heads_failed += h.problems.empty() ? 0 : 1;
  return report;
}

int run_verify(const verify_options& o, std::ostream& out) {
  auto report = verify_file(o);
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
  for (auto& h : report.heads) {
    if (h.problems.empty()) continue;
    out << "FAIL " << h.name << ":";
    for (auto& p : h.problems) out << "\n  - " << p;
    out << "\n";
  }
  out << report.rows.size() << " row(s): " << report.verified << " verified, " << report.failed
      << " failed, " << report.without_receipt << " without a receipt (not completed)\n";
  if (!report.heads.empty())
    out << report.heads.size() << " tree head(s) checked against the log: "
        << report.heads.size() - static_cast<size_t>(report.heads_failed) << " consistent, "
        << report.heads_failed << " failed\n";
  if (o.public_key_base64.empty())
    out << "note: checked against the key inside each receipt; pass --public-key (from GET "
           "/api/v1/node/key) to check who signed\n";
  return report.failed == 0 && report.heads_failed == 0 && report.verified > 0 ? 0 : 1;
}

}  // namespace beacon
