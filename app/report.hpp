// The shareable report of one job (`beacon report ID -o report.html`): one self-contained HTML
// file (inline CSS and SVG, no script, nothing fetched) with the job's status, tokens and cost,
// a chart of divergence per question and one of refusals per region, the job analysis, the
// question x model x region grid and, per question x model, the answers side by side with their
// flags and divergence. Built from the node's API answers; rendering is a pure function.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace beacon {

// Question x model groups shown side by side (and in the grid); the rest are counted only.
inline constexpr size_t report_max_groups = 300;
// Characters of one answer shown; longer ones are cut and say so.
inline constexpr size_t report_max_answer = 4000;
// Answers shown per region of a group (runs beyond it are counted only).
inline constexpr size_t report_max_runs = 5;

// One execution as the report shows it.
struct report_cell {
  std::string region;
  int64_t run = 0;
  std::string status;
  std::string classification;
  std::string response;  // at most report_max_answer characters
  bool response_cut = false;
  std::string error;  // "code: message" of a cell without an answer
  std::string provider_id;
  std::string finish_reason;
  int64_t prompt_tokens = -1, completion_tokens = -1;
  double cost = -1;
};

// One question x model: its cells, and its stored divergence and flags (after the analysis).
struct report_group {
  int64_t question_index = 0;
  std::string question_id;
  std::string model_id;
  std::vector<report_cell> cells;
  int64_t more_runs = 0;  // answers beyond report_max_runs per region, not kept
  std::optional<double> divergence;
  std::vector<std::string> flags;
};

// Answers and refusals (content_refusal or deflection) of one region over the job.
struct region_answers {
  int64_t answers = 0;
  int64_t avoided = 0;
};

struct report_data {
  boost::json::object job;       // GET /api/v1/jobs/{id}
  boost::json::object progress;  // GET /api/v1/jobs/{id}/progress
  boost::json::object analysis;  // GET /api/v2/jobs/{id}/bias-analysis (empty: none yet)
  std::map<std::pair<int64_t, std::string>, report_group> groups;  // (question index, model)
  std::map<std::string, region_answers> regions;
  int64_t rows = 0;
  bool groups_capped = false;  // more groups than report_max_groups: the rest only counted
};

// Adds one row of the job's JSON-lines export.
void add_export_row(report_data& data, const boost::json::object& row);

// The report's HTML; `generated_at` is printed as when it was made.
std::string report_html(const report_data& data, const std::string& generated_at);

// `text` with & < > " ' escaped for HTML text and attribute values.
std::string html_escape(const std::string& text);

}  // namespace beacon
