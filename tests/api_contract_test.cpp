// The API contract: docs/openapi.yaml lists exactly the routes the server registers, and every
// portal-facing response matches its golden JSON in tests/golden/ (field names, nesting, types
// and the deterministic values; times, uuids and measured durations are normalised). To refresh
// the goldens after an intended change: BEACON_UPDATE_GOLDEN=1 beacon-tests -s api_contract,
// then review the diff.
#define CAF_SUITE api_contract
#include <boost/json.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "app/node.hpp"
#include "caf/test/dsl.hpp"
#include "common/clock.hpp"
#include "http/routes.hpp"
#include "tests/harness.hpp"
#include "tests/http_client.hpp"
#include "tests/rest_node.hpp"

using namespace beacon;
using namespace beacon::test;

namespace {

const std::string source_dir = BEACON_SOURCE_DIR;

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// "METHOD /path" of every operation under `paths:` in the OpenAPI document.
std::set<std::string> openapi_operations(const std::string& yaml) {
  std::set<std::string> out;
  std::istringstream in(yaml);
  std::string line, path;
  bool in_paths = false;
  static const std::regex path_line(R"(^  (/\S*):\s*$)");
  static const std::regex method_line(R"(^    (get|post|put|patch|delete):\s*$)");
  std::smatch m;
  while (std::getline(in, line)) {
    if (line.rfind("paths:", 0) == 0) {
      in_paths = true;
      continue;
    }
    if (!in_paths) continue;
    if (!line.empty() && line[0] != ' ') break;  // the next top-level key
    if (std::regex_match(line, m, path_line)) {
      path = m[1];
    } else if (std::regex_match(line, m, method_line)) {
      std::string method = m[1];
      for (auto& c : method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      out.insert(method + " " + path);
    }
  }
  return out;
}

// Values that differ from run to run become placeholders; everything else is compared.
void normalise(boost::json::value& v, const std::string& key = "") {
  static const std::set<std::string> measured = {"duration_ms",
                                                 "response_time_ms",
                                                 "latency_ms",
                                                 "id",
                                                 "execution_id",
                                                 "next_cursor",
                                                 "cross_region_execution_id",
                                                 "load",
                                                 "limit_now",
                                                 "executions_cancelled",
                                                 "duration",
                                                 "leaf_index",
                                                 "first_leaf",
                                                 "last_leaf"};
  // Signatures, keys and the output hash (its output holds a measured latency) differ per run.
  static const std::set<std::string> per_key = {"signature",  "public_key", "key_id",
                                                "hash",       "root_hash",  "leaf_hash",
                                                "audit_path", "this_node"};
  // Proof paths, and the head that first included a receipt: they follow the batches the leaves
  // were committed in.
  if (v.is_array() && (key == "audit_path" || key == "consistency_path")) {
    v = "<" + key + ">";
    return;
  }
  if (key == "transparency" && v.is_object())
    if (auto* head = v.as_object().if_contains("tree_head"); head && head->is_object())
      head->as_object()["tree_size"] = "<number>";
  static const std::regex uuid("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");
  if (v.is_object()) {
    for (auto& kv : v.as_object()) normalise(kv.value(), std::string(kv.key()));
  } else if (v.is_array()) {
    for (auto& x : v.as_array()) normalise(x, key);
  } else if (v.is_string()) {
    std::string s(v.as_string());
    if (per_key.count(key))
      v = "<" + key + ">";
    else if (parse_rfc3339(s))
      v = "<time>";
    else if (std::regex_match(s, uuid))
      v = "<uuid>";
    else if (key == "id" && s.rfind("bias-detection-", 0) == 0)
      v = "<job-id>";
  } else if (v.is_number() && measured.count(key)) {
    v = "<number>";
  }
}

// The first difference between two JSON values, as a path and both sides ("" when equal).
std::string first_difference(const boost::json::value& want, const boost::json::value& got,
                             const std::string& at = "$") {
  if (want.is_number() && got.is_number())  // 202 read back as int64 or uint64
    return want.to_number<double>() == got.to_number<double>()
               ? ""
               : at + ": expected " + boost::json::serialize(want) + ", got " +
                     boost::json::serialize(got);
  if (want.kind() != got.kind())
    return at + ": expected " + boost::json::serialize(want) + ", got " +
           boost::json::serialize(got);
  if (want.is_object()) {
    auto& w = want.as_object();
    auto& g = got.as_object();
    for (auto& kv : w) {
      if (!g.contains(kv.key())) return at + "." + std::string(kv.key()) + ": missing";
      auto d = first_difference(kv.value(), g.at(kv.key()), at + "." + std::string(kv.key()));
      if (!d.empty()) return d;
    }
    for (auto& kv : g)
      if (!w.contains(kv.key())) return at + "." + std::string(kv.key()) + ": not in the golden";
    return "";
  }
  if (want.is_array()) {
    auto& w = want.as_array();
    auto& g = got.as_array();
    if (w.size() != g.size())
      return at + ": " + std::to_string(w.size()) + " items expected, " + std::to_string(g.size()) +
             " got";
    for (size_t i = 0; i < w.size(); ++i) {
      auto d = first_difference(w[i], g[i], at + "[" + std::to_string(i) + "]");
      if (!d.empty()) return d;
    }
    return "";
  }
  return want == got ? ""
                     : at + ": expected " + boost::json::serialize(want) + ", got " +
                           boost::json::serialize(got);
}

struct fixture : rest_node {
  bool update = std::getenv("BEACON_UPDATE_GOLDEN") != nullptr;

  fixture() {
    node_config cfg;
    cfg.sim_models = "llama3.2-1b,mistral-7b";
    start(cfg);
  }

  // Calls the route and compares status and normalised body with tests/golden/<name>.json.
  void golden(const std::string& name, const std::string& method, const std::string& target,
              const std::string& body = "") {
    auto r = http_call(port, method, target, body);
    boost::json::object got{{"status", static_cast<int64_t>(r.status)},
                            {"body", boost::json::parse(r.body)}};
    boost::json::value v = got;
    normalise(v);
    auto file = source_dir + "/tests/golden/" + name + ".json";
    if (update) {
      std::filesystem::create_directories(source_dir + "/tests/golden");
      std::ofstream(file) << boost::json::serialize(v) << "\n";
      return;
    }
    auto text = read_text(file);
    CAF_REQUIRE(!text.empty());
    auto diff = first_difference(boost::json::parse(text), v);
    if (!diff.empty()) CAF_MESSAGE(name << ": " << diff);
    CAF_CHECK_EQUAL(diff, "");
  }

  std::string wait_terminal(const std::string& id) {
    std::string st;
    for (int i = 0; i < 1000; ++i) {
      auto r = http_call(port, "GET", "/api/v1/jobs/" + id);
      st = std::string(boost::json::parse(r.body).as_object()["status"].as_string());
      if (st == "completed" || st == "failed" || st == "cancelled") break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return st;
  }
};

}  // namespace

CAF_TEST(the openapi document lists exactly the registered routes) {
  auto documented = openapi_operations(read_text(source_dir + "/docs/openapi.yaml"));
  std::set<std::string> registered;
  for (auto& r : http::route_table()) registered.insert(std::string(r.method) + " " + r.pattern);
  for (auto& op : registered)
    if (!documented.count(op)) CAF_MESSAGE("not in docs/openapi.yaml: " << op);
  for (auto& op : documented)
    if (!registered.count(op)) CAF_MESSAGE("documented but not served: " << op);
  CAF_CHECK_EQUAL(registered.size(), http::route_table().size());  // no route twice
  CAF_CHECK(documented == registered);
}

CAF_TEST_FIXTURE_SCOPE(api_contract_tests, fixture)

CAF_TEST(portal facing responses match their golden json) {
  auto spec = job_json("golden-1", {"tiananmen_neutral", "math_basic"}, {"llama3.2-1b"},
                       {"US", "EU", "ASIA"});
  golden("submit_job", "POST", "/api/v1/jobs", spec);
  CAF_REQUIRE_EQUAL(wait_terminal("golden-1"), "completed");
  golden("job_with_executions", "GET", "/api/v1/jobs/golden-1?include=executions&exec_limit=2");
  golden("job_latest", "GET", "/api/v1/jobs/golden-1?include=latest");
  golden("job_executions_all", "GET", "/api/v1/jobs/golden-1/executions/all");
  golden("job_progress", "GET", "/api/v1/jobs/golden-1/progress");
  golden("jobs_list", "GET", "/api/v1/jobs?limit=5");
  golden("cancel_finished_job", "POST", "/api/v1/jobs/golden-1/cancel", "{}");
  golden("executions_page", "GET", "/api/v1/executions?limit=2");
  auto first = query_int(url, "SELECT min(id) FROM executions WHERE job_id = 'golden-1'");
  golden("execution_details", "GET", "/api/v1/executions/" + std::to_string(first) + "/details");
  golden("retry_question_completed", "POST",
         "/api/v1/executions/" + std::to_string(first) + "/retry-question",
         R"({"region":"US","question_index":0})");
  golden("cross_region_view", "GET",
         "/api/v1/executions/golden-1/cross-region?model_id=llama3.2-1b&question_id="
         "tiananmen_neutral");
  golden("execution_receipt", "GET", "/api/v1/executions/" + std::to_string(first) + "/receipt");
  golden("bias_analysis", "GET", "/api/v2/jobs/golden-1/bias-analysis");
  golden("node_key", "GET", "/api/v1/node/key");
  golden("cross_region_diff", "GET", "/api/v1/executions/golden-1/cross-region-diff");
  golden("job_regions", "GET", "/api/v1/executions/golden-1/regions");
  golden("diffs", "GET", "/api/v1/diffs?limit=5");
  golden("execution_bias_score", "GET",
         "/api/v1/executions/" + std::to_string(first) + "/bias-score");
  golden("transparency_root", "GET", "/api/v1/transparency/root");
  golden("transparency_proof", "GET",
         "/api/v1/transparency/proof?execution_id=" + std::to_string(first));
  auto log_size = boost::json::parse(http_call(port, "GET", "/api/v1/transparency/root").body)
                      .as_object()["tree_size"]
                      .as_int64();
  golden("transparency_heads", "GET",
         "/api/v1/transparency/heads?after=" + std::to_string(log_size - 1));
  golden("transparency_consistency", "GET", "/api/v1/transparency/consistency?first=0");
  golden("transparency_logs", "GET", "/api/v1/transparency/logs");
  golden("job_transparency", "GET", "/api/v1/jobs/golden-1/transparency");
  golden("retry_all_failed_none", "POST", "/api/v1/executions/golden-1/retry-all-failed", "{}");
  golden("error_diff_unknown_job", "GET", "/api/v1/executions/no-such-job/cross-region-diff");
  auto wrapper = R"({"jobspec":)" +
                 job_json("golden-2", {"math_basic"}, {"mistral-7b"}, {"US", "EU"}) +
                 R"(,"target_regions":["US","EU"],"min_regions":1,"enable_analysis":true})";
  golden("submit_cross_region", "POST", "/api/v1/jobs/cross-region", wrapper);
  wait_terminal("golden-2");
  golden("questions", "GET", "/api/v1/questions");
  golden("health_live", "GET", "/health/live");
  golden("error_job_not_found", "GET", "/api/v1/jobs/no-such-job");
  golden("error_invalid_spec", "POST", "/api/v1/jobs", R"({"id":"x","questions":[]})");
  golden("error_method_not_allowed", "DELETE", "/api/v1/jobs");
  golden("error_no_route", "GET", "/api/v2/nothing");
}

CAF_TEST_FIXTURE_SCOPE_END()
