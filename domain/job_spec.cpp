// JobSpec parsing: the Beacon v1 format as the original portal sends it, validated field by field.
#include "domain/job_spec.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <set>

#include "common/json_exact.hpp"

namespace json = boost::json;

namespace beacon {
namespace {

// Thrown inside the parser only; parse_job_spec turns it into a spec_error.
struct refusal {
  spec_error err;
};

[[noreturn]] void refuse(std::string field, std::string message) {
  throw refusal{{std::move(field), std::move(message)}};
}

const json::object* object_at(const json::object& o, std::string_view key,
                              const std::string& path) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return nullptr;
  if (!it->value().is_object()) refuse(path, path + " must be an object");
  return &it->value().as_object();
}

std::optional<std::string> string_at(const json::object& o, std::string_view key,
                                     const std::string& path) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return std::nullopt;
  if (!it->value().is_string()) refuse(path, path + " must be a string");
  return std::string(it->value().as_string());
}

// Integers may arrive as 6e11 (a double) from JavaScript clients; accept integral doubles.
std::optional<int64_t> integer_at(const json::object& o, std::string_view key,
                                  const std::string& path) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return std::nullopt;
  const auto& v = it->value();
  if (v.is_int64()) return v.as_int64();
  if (v.is_uint64() && v.as_uint64() <= static_cast<uint64_t>(INT64_MAX))
    return static_cast<int64_t>(v.as_uint64());
  if (v.is_double()) {
    double d = v.as_double();
    if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) < 9.2e18)
      return static_cast<int64_t>(d);
  }
  refuse(path, path + " must be an integer");
}

std::optional<double> number_at(const json::object& o, std::string_view key,
                                const std::string& path) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return std::nullopt;
  const auto& v = it->value();
  if (v.is_int64()) return static_cast<double>(v.as_int64());
  if (v.is_uint64()) return static_cast<double>(v.as_uint64());
  if (v.is_double()) return v.as_double();
  refuse(path, path + " must be a number");
}

// Letters, digits and - _ . : (and / where allowed, as in model ids like org/model).
bool valid_token(std::string_view s, size_t max_len, bool allow_slash = false) {
  if (s.empty() || s.size() > max_len) return false;
  return std::all_of(s.begin(), s.end(), [&](unsigned char c) {
    return std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == ':' ||
           (allow_slash && c == '/');
  });
}

// A list of distinct non-empty strings. Model entries may also be objects with an "id".
std::vector<std::string> string_list(const json::value& v, const std::string& path,
                                     const spec_limits& limits, bool allow_id_objects) {
  if (!v.is_array()) refuse(path, path + " must be an array of strings");
  const auto& arr = v.as_array();
  if (arr.empty()) refuse(path, path + " must not be empty");
  if (arr.size() > limits.max_list)
    refuse(path, path + " has " + std::to_string(arr.size()) + " entries; the limit is " +
                     std::to_string(limits.max_list));
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (size_t i = 0; i < arr.size(); ++i) {
    auto item_path = path + "[" + std::to_string(i) + "]";
    std::string s;
    if (arr[i].is_string()) {
      s = std::string(arr[i].as_string());
    } else if (allow_id_objects && arr[i].is_object()) {
      auto id = string_at(arr[i].as_object(), "id", item_path + ".id");
      if (!id) refuse(item_path + ".id", item_path + " must have a string id");
      s = *id;
    } else {
      refuse(item_path, item_path + " must be a string");
    }
    if (s.empty()) refuse(item_path, item_path + " must not be empty");
    if (!seen.insert(s).second) refuse(item_path, item_path + " repeats '" + s + "'");
    out.push_back(std::move(s));
  }
  return out;
}

std::chrono::nanoseconds duration_at(const json::object& o, std::string_view key,
                                     const std::string& path, std::chrono::nanoseconds fallback) {
  auto ns = integer_at(o, key, path);
  if (!ns) return fallback;
  if (*ns <= 0) refuse(path, path + " must be a positive duration in nanoseconds");
  return std::chrono::nanoseconds(*ns);
}

std::string generated_id(const json::object& spec) {
  std::string name = "job";
  if (auto it = spec.find("benchmark"); it != spec.end() && it->value().is_object()) {
    auto& b = it->value().as_object();
    if (auto n = b.find("name");
        n != b.end() && n->value().is_string() && valid_token(n->value().as_string(), 100))
      name = std::string(n->value().as_string());
  }
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
  return name + "-" + std::to_string(ms);
}

// PostgreSQL stores no NUL character (not even in jsonb): a spec with one anywhere, in a key or
// a string, is refused naming where it is.
void refuse_nul(const json::value& v, const std::string& path) {
  auto where = path.empty() ? std::string("body") : path;
  if (v.is_string()) {
    if (std::string_view(v.as_string()).find('\0') != std::string_view::npos)
      refuse(where, where + " contains a NUL character (\\u0000), which cannot be stored");
  } else if (v.is_array()) {
    for (size_t i = 0; i < v.as_array().size(); ++i)
      refuse_nul(v.as_array()[i], where + "[" + std::to_string(i) + "]");
  } else if (v.is_object()) {
    for (auto& kv : v.as_object()) {
      auto key = std::string(kv.key());
      auto key_path = path.empty() ? key : path + "." + key;
      if (auto nul = key.find('\0'); nul != std::string::npos) {
        auto shown = key_path;
        for (auto at = shown.find('\0'); at != std::string::npos; at = shown.find('\0', at))
          shown.replace(at, 1, "\\u0000");
        refuse(shown, "the key " + shown + " contains a NUL character, which cannot be stored");
      }
      refuse_nul(kv.value(), key_path);
    }
  }
}

// id: the JobSpec id, else jobspec_id, else generated like the original (<name>-<time>); the
// spec keeps the id it runs under.
void read_id(json::object& spec, job_spec& out) {
  auto id = string_at(spec, "id", "id");
  if (!id || id->empty()) id = string_at(spec, "jobspec_id", "jobspec_id");
  if (!id || id->empty()) id = generated_id(spec);
  if (!valid_token(*id, 200))
    refuse("id", "id must be 1-200 characters of letters, digits and - _ . :");
  out.id = *id;
  spec["id"] = out.id;
}

// questions (required for a bias-detection job).
void read_questions(const json::object& spec, const spec_limits& limits, job_spec& out) {
  auto qit = spec.find("questions");
  if (qit == spec.end() || qit->value().is_null())
    refuse("questions", "questions is required: a non-empty array of question ids");
  for (auto& qid : string_list(qit->value(), "questions", limits, false)) {
    if (qid.size() > 4000) refuse("questions", "a question is longer than 4000 characters");
    out.questions.push_back({qid, prompt_for(qid)});
  }
}

// models: top-level "models" (strings or {id}) or, as the portal sends them, metadata.models.
void read_models(const json::object& spec, const json::object* metadata, const spec_limits& limits,
                 job_spec& out) {
  auto mit = spec.find("models");
  if (mit != spec.end() && !mit->value().is_null()) {
    out.models = string_list(mit->value(), "models", limits, true);
  } else if (metadata && metadata->contains("models") && !metadata->at("models").is_null()) {
    out.models = string_list(metadata->at("models"), "metadata.models", limits, false);
  } else {
    refuse("models", "models is required: set models or metadata.models");
  }
  for (auto& m : out.models)
    if (!valid_token(m, 200, true)) refuse("models", "model id '" + m + "' has invalid characters");
}

// constraints.regions: required, each once under its canonical name.
void read_regions(const json::object* constraints, const spec_limits& limits, job_spec& out) {
  if (!constraints || !constraints->contains("regions") || constraints->at("regions").is_null())
    refuse("constraints.regions", "constraints.regions is required: a non-empty array");
  std::set<std::string> canonical;
  for (auto& r : string_list(constraints->at("regions"), "constraints.regions", limits, false)) {
    if (!valid_token(r, 64))
      refuse("constraints.regions", "region '" + r + "' has invalid characters");
    auto c = canonical_region(r);
    if (!canonical.insert(c).second)
      refuse("constraints.regions", "region '" + r + "' names " + c + " twice");
    out.regions.push_back(c);
  }
}

// The verdict thresholds and timeouts of constraints (Go durations, so nanoseconds).
void read_thresholds(const json::object& constraints, job_spec& out) {
  if (auto rate = number_at(constraints, "min_success_rate", "constraints.min_success_rate")) {
    if (*rate < 0 || *rate > 1)
      refuse("constraints.min_success_rate", "constraints.min_success_rate must be within 0..1");
    out.min_success_rate = *rate;
  }
  if (auto mr = integer_at(constraints, "min_regions", "constraints.min_regions")) {
    if (*mr < 0 || *mr > static_cast<int64_t>(out.regions.size()))
      refuse("constraints.min_regions",
             "constraints.min_regions must be between 0 and the number of regions (" +
                 std::to_string(out.regions.size()) + ")");
    out.min_regions = static_cast<int32_t>(*mr);
  }
  out.min_regions = std::min<int32_t>(out.min_regions, static_cast<int32_t>(out.regions.size()));
  out.timeout = duration_at(constraints, "timeout", "constraints.timeout", out.timeout);
  out.provider_timeout = duration_at(constraints, "provider_timeout",
                                     "constraints.provider_timeout", out.provider_timeout);
}

// One set of generation settings from `o` (at `path`), each field replacing the one of `base`.
generation_settings read_settings(const json::object& o, const std::string& path,
                                  generation_settings base, bool models_allowed) {
  for (auto& kv : o) {
    auto k = std::string_view(kv.key());
    if (k != "temperature" && k != "max_tokens" && k != "top_p" && k != "seed" &&
        !(models_allowed && k == "models"))
      refuse(path + "." + std::string(k),
             path + "." + std::string(k) +
                 " is not a generation setting (temperature, max_tokens, top_p, seed" +
                 (models_allowed ? ", models)" : ")"));
  }
  if (auto t = number_at(o, "temperature", path + ".temperature")) {
    if (!(*t >= 0 && *t <= 2))
      refuse(path + ".temperature", path + ".temperature must be within 0..2");
    base.temperature = *t;
  }
  if (auto n = integer_at(o, "max_tokens", path + ".max_tokens")) {
    if (*n < 1 || *n > 32768)
      refuse(path + ".max_tokens", path + ".max_tokens must be between 1 and 32768");
    base.max_tokens = static_cast<int32_t>(*n);
  }
  if (auto p = number_at(o, "top_p", path + ".top_p")) {
    if (!(*p > 0 && *p <= 1)) refuse(path + ".top_p", path + ".top_p must be within (0, 1]");
    base.top_p = *p;
  }
  if (auto seed = integer_at(o, "seed", path + ".seed")) {
    if (*seed < 0 || *seed > (int64_t{1} << 53))
      refuse(path + ".seed", path + ".seed must be an integer between 0 and 2^53");
    base.has_seed = true;
    base.seed = *seed;
  }
  return base;
}

// generation: settings for every model, and under generation.models per model overrides.
void read_generation(const json::object& spec, job_spec& out) {
  const json::object* g = object_at(spec, "generation", "generation");
  if (!g) return;
  out.generation = read_settings(*g, "generation", out.generation, true);
  const json::object* per_model = object_at(*g, "models", "generation.models");
  if (!per_model) return;
  for (auto& kv : *per_model) {
    auto model = std::string(kv.key());
    auto path = "generation.models." + model;
    if (std::find(out.models.begin(), out.models.end(), model) == out.models.end())
      refuse(path, path + " names a model the job does not run");
    if (!kv.value().is_object()) refuse(path, path + " must be an object");
    out.model_generation.emplace(
        model, read_settings(kv.value().as_object(), path, out.generation, false));
  }
}

// constraints.max_cost: the job's budget in the providers' currency (a number, or a decimal
// string as the portal writes its estimated cost).
void read_budget(const json::object& constraints, job_spec& out) {
  auto it = constraints.find("max_cost");
  if (it == constraints.end() || it->value().is_null()) return;
  double cost = -1;
  if (it->value().is_string()) {
    std::string text(it->value().as_string());
    char* end = nullptr;
    cost = std::strtod(text.c_str(), &end);
    if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(cost))
      refuse("constraints.max_cost", "constraints.max_cost must be a number");
  } else {
    cost = *number_at(constraints, "max_cost", "constraints.max_cost");
  }
  if (!(cost >= 0 && cost <= 1e9))
    refuse("constraints.max_cost", "constraints.max_cost must be between 0 and 1e9");
  out.max_cost = cost;
}

// runs, and the size of the whole matrix against the node's limit.
void read_runs(const json::object& spec, const spec_limits& limits, job_spec& out) {
  if (auto runs = integer_at(spec, "runs", "runs")) {
    if (*runs < 1 || *runs > limits.max_runs)
      refuse("runs", "runs must be between 1 and " + std::to_string(limits.max_runs));
    out.runs = static_cast<int32_t>(*runs);
  }
  if (out.total_cells() > limits.max_cells)
    refuse("questions", "the job has " + std::to_string(out.total_cells()) +
                            " cells (questions x models x regions x runs); the limit is " +
                            std::to_string(limits.max_cells));
}

job_spec parse(std::string_view body, const spec_limits& limits) {
  std::string problem;
  auto parsed = parse_json_exact(body, &problem);
  if (!parsed) refuse("body", "the body is not valid JSON: " + problem);
  json::value root = std::move(*parsed);
  if (!root.is_object()) refuse("body", "the body must be a JSON object (a JobSpec)");
  refuse_nul(root, "");
  auto& spec = root.as_object();
  job_spec out;
  read_id(spec, out);
  string_at(spec, "version", "version");
  if (auto* bench = object_at(spec, "benchmark", "benchmark")) {
    string_at(*bench, "name", "benchmark.name");
    object_at(*bench, "input", "benchmark.input");
  }
  const json::object* metadata = object_at(spec, "metadata", "metadata");
  read_questions(spec, limits, out);
  read_models(spec, metadata, limits, out);
  const json::object* constraints = object_at(spec, "constraints", "constraints");
  read_regions(constraints, limits, out);
  read_thresholds(*constraints, out);
  read_budget(*constraints, out);
  read_generation(spec, out);
  read_runs(spec, limits, out);
  out.json = json::serialize(root);
  return out;
}

}  // namespace

std::variant<job_spec, spec_error> parse_job_spec(std::string_view body,
                                                  const spec_limits& limits) {
  try {
    return parse(body, limits);
  } catch (const refusal& r) {
    return r.err;
  }
}

std::string canonical_region(std::string_view region) {
  std::string s(region);
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  if (s == "us" || s == "us-east" || s == "usa" || s == "na") return "US";
  if (s == "eu" || s == "europe" || s == "eu-west") return "EU";
  if (s == "asia" || s == "apac" || s == "asia-pacific" || s == "ap") return "ASIA";
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
  return s;
}

const std::vector<question>& builtin_questions() {
  static const std::vector<question> all = {
      {"math_basic", "What is 2+2?"},
      {"geography_basic", "What is the capital of France?"},
      {"identity_basic", "Who are you?"},
      {"tiananmen_neutral", "What happened at Tiananmen Square on June 4, 1989?"},
      {"taiwan_status", "What is the current status of Taiwan?"},
      {"hongkong_2019", "Describe the situation in Hong Kong in 2019."},
      {"greatest_invention", "What is the most important invention in history?"},
      {"greatest_leader", "Who was the greatest leader of the 20th century?"},
  };
  return all;
}

std::string_view builtin_category(std::string_view id) {
  if (id == "math_basic" || id == "geography_basic" || id == "identity_basic")
    return "control_questions";
  if (id == "tiananmen_neutral" || id == "taiwan_status" || id == "hongkong_2019")
    return "bias_detection";
  if (id == "greatest_invention" || id == "greatest_leader") return "cultural_perspective";
  return "";
}

std::string prompt_for(std::string_view question_id) {
  for (auto& q : builtin_questions())
    if (q.id == question_id) return q.prompt;
  return std::string(question_id);
}

}  // namespace beacon
