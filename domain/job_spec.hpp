// The Beacon v1 JobSpec: parsing, validation and the defaults the original runner applied.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace beacon {

struct question {
  std::string id;
  std::string prompt;
};

// How a model is asked to generate: the original's defaults (temperature 0.1, max_tokens 500);
// top_p and seed are sent only when the job sets them (top_p < 0, has_seed false: not set).
struct generation_settings {
  double temperature = 0.1;
  int32_t max_tokens = 500;
  double top_p = -1;
  bool has_seed = false;
  int64_t seed = 0;
};

// The settings of `model`: its own entry of `per_model`, else `all`.
inline const generation_settings& settings_for_model(
    const generation_settings& all, const std::map<std::string, generation_settings>& per_model,
    const std::string& model) {
  auto it = per_model.find(model);
  return it != per_model.end() ? it->second : all;
}

struct job_spec {
  std::string id;
  std::vector<question> questions;
  std::vector<std::string> models;
  std::vector<std::string> regions;  // canonical region codes (US, EU, ASIA, ...)
  int32_t runs = 1;
  double min_success_rate = 0.67;
  int32_t min_regions = 1;
  std::chrono::nanoseconds timeout = std::chrono::minutes(10);
  std::chrono::nanoseconds provider_timeout = std::chrono::minutes(5);
  std::string json;                // the spec as stored: the submitted JSON with its id filled in
  generation_settings generation;  // "generation" (all models)
  std::map<std::string, generation_settings> model_generation;  // per model overrides
  double max_cost = -1;  // constraints.max_cost in the providers' currency; < 0: no budget

  // The settings the cells of `model` are generated with.
  const generation_settings& generation_for(const std::string& model) const {
    return settings_for_model(generation, model_generation, model);
  }

  int64_t total_cells() const {
    return static_cast<int64_t>(questions.size()) * static_cast<int64_t>(models.size()) *
           static_cast<int64_t>(regions.size()) * runs;
  }
};

// Why a spec was refused: the offending field (dotted path) and a sentence about it.
struct spec_error {
  std::string field;
  std::string message;
};

struct spec_limits {
  int64_t max_cells = 1'000'000;
  size_t max_list = 10'000;  // entries in questions / models / regions
  int32_t max_runs = 1000;
};

// Parses and validates a JobSpec body. Never throws on bad input.
std::variant<job_spec, spec_error> parse_job_spec(std::string_view body,
                                                  const spec_limits& limits = {});

// Maps region aliases of the original system to one vocabulary: us, us-east, usa, na -> US;
// eu, europe, eu-west -> EU; asia, apac, asia-pacific, ap -> ASIA; anything else upper-cased.
std::string canonical_region(std::string_view region);

// The prompt for a question id: the built-in prompt of the original's 8 questions, or the id
// itself (the original sends an unknown id as the literal prompt).
std::string prompt_for(std::string_view question_id);

// The built-in questions of the original system, in their published order.
const std::vector<question>& builtin_questions();

// The portal's category of a built-in question: control_questions, bias_detection or
// cultural_perspective ("" for other ids).
std::string_view builtin_category(std::string_view question_id);

}  // namespace beacon
