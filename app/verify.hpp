// `beacon verify FILE`: checks receipts offline. FILE is one receipt (a JSON object, as GET
// /api/v1/executions/{id}/receipt returns it) or a JSON-lines export (beacon export --format
// jsonl), where each completed row's stored output must also be the output its receipt signed.
// With --public-key (base64, from GET /api/v1/node/key) every receipt must be signed by that key;
// without it the key inside each receipt is used and the report says so.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace beacon {

struct verify_row {
  int64_t line = 0;          // 1-based line of the file
  int64_t execution_id = 0;  // 0 when unknown
  std::string label;         // region, model, question of an export row
  std::vector<std::string> problems;
  bool has_receipt = true;
};

struct verify_report {
  std::vector<verify_row> rows;
  int64_t verified = 0, failed = 0, without_receipt = 0;
};

// Throws std::runtime_error when the file cannot be read or the key is not base64.
verify_report verify_file(const std::string& path, const std::string& public_key_base64);

// Prints the failing rows and a summary; 0 when nothing failed, 1 otherwise.
int run_verify(const std::string& path, const std::string& public_key_base64, std::ostream& out);

}  // namespace beacon
