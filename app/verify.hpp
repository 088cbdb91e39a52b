// `beacon verify FILE`: checks receipts offline. FILE is one receipt (a JSON object, as GET
// /api/v1/executions/{id}/receipt returns it) or a JSON-lines export (beacon export --format
// jsonl), where each completed row's stored output must also be the output its receipt covers.
// A v1 receipt is checked through the node's transparency log: its leaf, its inclusion proof and
// the signed tree head that first included it; a v0 receipt by its own signature. With
// --public-key (base64, GET /api/v1/node/key) every head (or v0 receipt) must be signed by that
// key; without it the key in each receipt is used and the report says so.
// With --node the log is asked too: a v1 receipt without its transparency block gets it from the
// node, and every tree head the rows name must be a prefix of the log's latest head
// (consistency proofs). With --since HEAD.json (a head saved earlier, as GET
// /api/v1/transparency/root returned it) the saved head must be a prefix of the latest one:
// nothing the log held then was removed or rewritten since.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace beacon {

struct verify_options {
  std::string path;
  std::string public_key_base64;  // empty: the key in each receipt
  std::string node_url;           // empty: offline only
  std::string since_path;         // empty: no earlier head (needs node_url)
};

struct verify_row {
  int64_t line = 0;          // 1-based line of the file
  int64_t execution_id = 0;  // 0 when unknown
  std::string label;         // region, model, question of an export row
  std::vector<std::string> problems;
  bool has_receipt = true;
};

// A tree head checked against the log's latest (--node), with what was wrong.
struct verify_head {
  std::string name;  // e.g. "head 8812 of log 1854f43d86a5ae21" or "--since head ..."
  std::vector<std::string> problems;
};

struct verify_report {
  std::vector<verify_row> rows;
  std::vector<verify_head> heads;
  int64_t verified = 0, failed = 0, without_receipt = 0, heads_failed = 0;
};

// Throws std::runtime_error when a file cannot be read, the key is not base64, or --since is
// given without --node.
verify_report verify_file(const verify_options& o);

// Prints the failing rows and heads and a summary; 0 when nothing failed, 1 otherwise.
int run_verify(const verify_options& o, std::ostream& out);

}  // namespace beacon
