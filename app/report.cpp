// The job report: rows of the export gathered per question x model, then written as HTML.
#include "app/report.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cstdio>
#include <tuple>

namespace json = boost::json;

namespace beacon {
namespace {

std::string str_at(const json::object& o, const char* key) {
  auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : "";
}

int64_t int_at(const json::object& o, const char* key, int64_t fallback = -1) {
  auto* v = o.if_contains(key);
  if (v && v->is_int64()) return v->as_int64();
  if (v && v->is_uint64()) return static_cast<int64_t>(v->as_uint64());
  return fallback;
}

std::optional<double> number_at(const json::object& o, const char* key) {
  auto* v = o.if_contains(key);
  if (v && v->is_number()) return v->to_number<double>();
  return std::nullopt;
}

const json::object& object_at(const json::object& o, const char* key) {
  static const json::object none;
  auto* v = o.if_contains(key);
  return v && v->is_object() ? v->as_object() : none;
}

const json::array& array_at(const json::object& o, const char* key) {
  static const json::array none;
  auto* v = o.if_contains(key);
  return v && v->is_array() ? v->as_array() : none;
}

// A number for people: up to 6 significant digits, no exponent for everyday sizes.
std::string num(double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", x);
  return buf;
}

bool avoided(const std::string& classification) {
  return classification == "content_refusal" || classification == "deflection";
}

report_cell cell_of(const json::object& row) {
  report_cell c;
  c.region = str_at(row, "region");
  c.run = int_at(row, "run", 0);
  c.status = str_at(row, "status");
  c.classification = str_at(row, "response_classification");
  c.response = str_at(object_at(row, "output"), "response");
  if (c.response.size() > report_max_answer) {
    auto cut = report_max_answer;
    while (cut > 0 && (static_cast<unsigned char>(c.response[cut]) & 0xC0) == 0x80) --cut;
    c.response.resize(cut);  // at a character boundary
    c.response_cut = true;
  }
  auto code = str_at(row, "error_code");
  if (!code.empty()) c.error = code + ": " + str_at(row, "error_message");
  c.provider_id = str_at(row, "provider_id");
  c.finish_reason = str_at(row, "finish_reason");
  c.prompt_tokens = int_at(row, "prompt_tokens");
  c.completion_tokens = int_at(row, "completion_tokens");
  c.cost = number_at(row, "cost").value_or(-1);
  return c;
}

// ---- HTML pieces ----------------------------------------------------------------------------

const char* style = R"css(
body{font:15px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1100px;padding:24px;color:#1d2330}
h1{font-size:24px;margin:0 0 4px}h2{font-size:19px;margin:32px 0 10px;border-bottom:1px solid #dde}
h3{font-size:16px;margin:18px 0 6px}.muted{color:#667}.status{font-weight:600}
.cards{display:flex;flex-wrap:wrap;gap:10px}.card{border:1px solid #dde;border-radius:8px;padding:8px 14px}
.card b{display:block;font-size:20px}table{border-collapse:collapse;margin:6px 0}
td,th{border:1px solid #dde;padding:4px 8px;text-align:left;vertical-align:top}th{background:#f3f4f8}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.substantive{background:#e7f6ec}.content_refusal{background:#fde8e8}.deflection{background:#fff4dc}
.technical_failure,.failed,.timeout,.cancelled{background:#eee}
.side{display:grid;grid-template-columns:repeat(auto-fit,minmax(240px,1fr));gap:10px}
.answer{border:1px solid #dde;border-radius:8px;padding:8px 10px}.answer h4{margin:0 0 4px;font-size:14px}
.answer p{margin:4px 0;white-space:pre-wrap}.meta{font-size:12px;color:#667}
.tag{font-size:12px;border-radius:4px;padding:0 5px;margin-left:6px;background:#f3f4f8}
.flags{margin:4px 0 8px;padding-left:18px;color:#8a3b12}.divergence{font-weight:400;color:#667}
svg text{font:12px system-ui,sans-serif;fill:#1d2330}
)css";

// A horizontal bar chart: one bar per (label, value in [0, 1]) with its value printed.
std::string bar_chart(const std::string& id,
                      const std::vector<std::pair<std::string, double>>& bars,
                      const std::string& fill) {
  const int label_w = 200, bar_w = 380, row_h = 24;
  int height = static_cast<int>(bars.size()) * row_h + 8;
  std::string svg = "<svg id=\"" + id + "\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" +
                    std::to_string(label_w + bar_w + 60) + "\" height=\"" + std::to_string(height) +
                    "\" role=\"img\">";
  for (size_t i = 0; i < bars.size(); ++i) {
    auto y = static_cast<int>(i) * row_h + 4;
    auto w = static_cast<int>(std::clamp(bars[i].second, 0.0, 1.0) * bar_w + 0.5);
    svg += "<text x=\"0\" y=\"" + std::to_string(y + 15) + "\">" + html_escape(bars[i].first) +
           "</text><rect class=\"bar\" x=\"" + std::to_string(label_w) + "\" y=\"" +
           std::to_string(y + 2) + "\" width=\"" + std::to_string(w) + "\" height=\"16\" fill=\"" +
           fill + "\" data-value=\"" + num(bars[i].second) + "\"/><text x=\"" +
           std::to_string(label_w + w + 6) + "\" y=\"" + std::to_string(y + 15) + "\">" +
           num(bars[i].second) + "</text>";
  }
  return svg + "</svg>";
}

// Mean divergence per question over its models (questions without one are left out).
std::vector<std::pair<std::string, double>> divergence_bars(const report_data& d) {
  std::map<int64_t, std::pair<std::string, std::pair<double, int>>> by_question;
  for (auto& [key, g] : d.groups) {
    if (!g.divergence) continue;
    auto& q = by_question[key.first];
    q.first = g.question_id;
    q.second.first += *g.divergence;
    ++q.second.second;
  }
  std::vector<std::pair<std::string, double>> bars;
  for (auto& [qi, q] : by_question) bars.emplace_back(q.first, q.second.first / q.second.second);
  return bars;
}

std::vector<std::pair<std::string, double>> refusal_bars(const report_data& d) {
  std::vector<std::pair<std::string, double>> bars;
  for (auto& [region, r] : d.regions)
    bars.emplace_back(region, r.answers ? static_cast<double>(r.avoided) / r.answers : 0.0);
  return bars;
}

std::string usage_cells(const json::object& usage) {
  auto cost = number_at(usage, "cost").value_or(0);
  return "<td class=\"num\">" + std::to_string(int_at(usage, "prompt_tokens", 0)) +
         "</td><td class=\"num\">" + std::to_string(int_at(usage, "completion_tokens", 0)) +
         "</td><td class=\"num\">" + num(cost) + "</td><td class=\"num\">" +
         std::to_string(int_at(usage, "uncosted_cells", 0)) + "</td>";
}

std::string header(const report_data& d, const std::string& generated_at) {
  auto id = str_at(d.job, "id").empty() ? str_at(d.progress, "job_id") : str_at(d.job, "id");
  auto status = str_at(d.progress, "status");
  auto reason = str_at(d.progress, "reason");
  return "<header><h1 id=\"job-id\">" + html_escape(id) +
         "</h1><p class=\"status\" id=\"status\">" + html_escape(status) + "</p>" +
         (reason.empty() ? "" : "<p id=\"reason\">" + html_escape(reason) + "</p>") +
         "<p class=\"muted\">Report generated " + html_escape(generated_at) +
         " from the node's API. Tokens are as each provider reported them; a cost is shown only "
         "where the provider has a price and reported its usage.</p></header>";
}

std::string summary(const report_data& d) {
  auto& cells = object_at(d.progress, "cells");
  auto& usage = object_at(d.progress, "usage");
  auto card = [](const std::string& id, const std::string& value, const std::string& label) {
    return "<div class=\"card\"><b id=\"" + id + "\">" + value + "</b>" + label + "</div>";
  };
  return "<section id=\"summary\"><div class=\"cards\">" +
         card("cells-completed",
              std::to_string(int_at(cells, "completed", 0)) + " / " +
                  std::to_string(int_at(cells, "total", 0)),
              "cells completed") +
         card("cells-failed",
              std::to_string(int_at(cells, "failed", 0) + int_at(cells, "timeout", 0) +
                             int_at(cells, "cancelled", 0)),
              "failed, timed out or cancelled") +
         card("tokens",
              std::to_string(int_at(usage, "prompt_tokens", 0)) + " / " +
                  std::to_string(int_at(usage, "completion_tokens", 0)),
              "tokens in / out") +
         card("cost", num(number_at(usage, "cost").value_or(0)),
              "cost" + std::string(int_at(usage, "uncosted_cells", 0) > 0
                                       ? " (" + std::to_string(int_at(usage, "uncosted_cells")) +
                                             " answers without a known cost)"
                                       : "")) +
         "</div></section>";
}

std::string charts(const report_data& d) {
  auto divergence = divergence_bars(d);
  std::string out = "<section id=\"charts\"><h2>At a glance</h2>";
  out +=
      "<figure><figcaption>Divergence per question (mean over its models; 0 = the same "
      "answer everywhere, 1 = nothing in common)</figcaption>";
  out += divergence.empty() ? "<p class=\"muted\">No divergence yet (the analysis runs when the "
                              "job ends, and needs two regions that answered).</p>"
                            : bar_chart("divergence-chart", divergence, "#4c6ef5");
  out +=
      "</figure><figure><figcaption>Share of answers refused or deflected, per "
      "region</figcaption>" +
      bar_chart("refusal-chart", refusal_bars(d), "#e8590c") + "</figure></section>";
  return out;
}

std::string analysis_section(const report_data& d) {
  auto& a = object_at(d.analysis, "analysis");
  std::string out = "<section id=\"analysis\"><h2>Analysis</h2>";
  if (a.empty())
    return out + "<p class=\"muted\">No analysis is stored for this job yet.</p></section>";
  out += "<p id=\"analysis-summary\">" + html_escape(str_at(a, "summary")) + "</p><p><b>" +
         html_escape(str_at(a, "recommendation")) + "</b></p>";
  out +=
      "<table id=\"region-scores\"><tr><th>region</th><th>answers</th><th>refusals</th>"
      "<th>deflections</th><th>failures</th><th>truncated</th><th>bias score</th><th>factual "
      "accuracy</th></tr>";
  for (auto& [region, v] : object_at(d.analysis, "region_scores")) {
    if (!v.is_object()) continue;
    auto& s = v.as_object();
    auto opt = [&](const char* k) {
      auto x = number_at(s, k);
      return x ? num(*x) : std::string("–");
    };
    out += "<tr><td>" +
           html_escape(str_at(s, "region").empty() ? std::string(region) : str_at(s, "region")) +
           "</td><td class=\"num\">" + std::to_string(int_at(s, "answers", 0)) +
           "</td><td class=\"num\">" + std::to_string(int_at(s, "refusals", 0)) +
           "</td><td class=\"num\">" + std::to_string(int_at(s, "deflections", 0)) +
           "</td><td class=\"num\">" + std::to_string(int_at(s, "failures", 0)) +
           "</td><td class=\"num\">" + std::to_string(int_at(s, "truncated", 0)) +
           "</td><td class=\"num\">" + opt("bias_score") + "</td><td class=\"num\">" +
           opt("factual_accuracy") + "</td></tr>";
  }
  out += "</table><ul id=\"risks\">";
  for (auto& r : array_at(a, "risk_assessment"))
    if (r.is_object())
      out += "<li>" + html_escape(str_at(r.as_object(), "severity")) + ": " +
             html_escape(str_at(r.as_object(), "description")) + "</li>";
  return out + "</ul></section>";
}

std::string cost_section(const report_data& d) {
  std::string out =
      "<section id=\"cost-section\"><h2>Tokens and cost</h2><table id=\"cost-table\"><tr>"
      "<th></th><th>prompt tokens</th><th>completion tokens</th><th>cost</th><th>answers "
      "without a cost</th></tr>";
  for (auto part : {"models", "regions"})
    for (auto& x : array_at(d.progress, part)) {
      if (!x.is_object()) continue;
      auto& o = x.as_object();
      auto name = str_at(o, part[0] == 'm' ? "model_id" : "region");
      out += "<tr><th>" + std::string(part[0] == 'm' ? "model " : "region ") + html_escape(name) +
             "</th>" + usage_cells(object_at(o, "usage")) + "</tr>";
    }
  return out + "<tr><th>job</th>" + usage_cells(object_at(d.progress, "usage")) +
         "</tr></table></section>";
}

// What one grid cell says: its answer's classification, or its status; with runs, the counts.
std::string grid_cell(const report_group& g, const std::string& region) {
  std::map<std::string, int> kinds;
  for (auto& c : g.cells)
    if (c.region == region) ++kinds[c.status == "completed" ? c.classification : c.status];
  if (kinds.empty()) return "<td></td>";
  auto top = std::max_element(kinds.begin(), kinds.end(),
                              [](auto& a, auto& b) { return a.second < b.second; });
  std::string text;
  for (auto& [k, n] : kinds)
    text += (text.empty() ? "" : ", ") + k + (n > 1 ? " ×" + std::to_string(n) : "");
  return "<td class=\"" + html_escape(top->first) + "\">" + html_escape(text) + "</td>";
}

std::string grid(const report_data& d, const std::vector<std::string>& regions) {
  std::string out =
      "<section id=\"grid-section\"><h2>Grid</h2><table id=\"grid\"><tr>"
      "<th>question</th><th>model</th>";
  for (auto& r : regions) out += "<th>" + html_escape(r) + "</th>";
  out += "<th>divergence</th></tr>";
  for (auto& [key, g] : d.groups) {
    out +=
        "<tr><td>" + html_escape(g.question_id) + "</td><td>" + html_escape(g.model_id) + "</td>";
    for (auto& r : regions) out += grid_cell(g, r);
    out += "<td class=\"num\">" + (g.divergence ? num(*g.divergence) : std::string("–")) +
           "</td></tr>";
  }
  return out + "</table></section>";
}

std::string answer_card(const report_cell& c) {
  std::string kind = c.status == "completed" ? c.classification : c.status;
  std::string meta;
  if (c.prompt_tokens >= 0 || c.completion_tokens >= 0)
    meta += "tokens " + (c.prompt_tokens >= 0 ? std::to_string(c.prompt_tokens) : "?") + " in / " +
            (c.completion_tokens >= 0 ? std::to_string(c.completion_tokens) : "?") + " out";
  if (c.cost >= 0) meta += (meta.empty() ? "" : " · ") + std::string("cost ") + num(c.cost);
  if (!c.finish_reason.empty()) meta += (meta.empty() ? "" : " · ") + c.finish_reason;
  if (!c.provider_id.empty()) meta += (meta.empty() ? "" : " · ") + c.provider_id;
  auto text = c.status == "completed" ? c.response : c.error;
  return "<div class=\"answer " + html_escape(kind) + "\" data-region=\"" + html_escape(c.region) +
         "\"><h4>" + html_escape(c.region) + (c.run > 0 ? " run " + std::to_string(c.run) : "") +
         "<span class=\"tag\">" + html_escape(kind) + "</span>" +
         (c.finish_reason == "length" ? "<span class=\"tag\">truncated</span>" : "") + "</h4><p>" +
         html_escape(text) + (c.response_cut ? " […]" : "") + "</p><p class=\"meta\">" +
         html_escape(meta) + "</p></div>";
}

std::string side_by_side(const report_data& d) {
  std::string out = "<section id=\"answers\"><h2>Answers side by side</h2>";
  if (d.groups_capped)
    out += "<p class=\"muted\">The first " + std::to_string(report_max_groups) +
           " question × model groups are shown; the export has every answer.</p>";
  for (auto& [key, g] : d.groups) {
    out += "<article class=\"group\" data-question=\"" + html_escape(g.question_id) +
           "\" data-model=\"" + html_escape(g.model_id) + "\"><h3>" + html_escape(g.question_id) +
           " · " + html_escape(g.model_id) + " <span class=\"divergence\">" +
           (g.divergence ? "divergence " + num(*g.divergence) : "no divergence yet") +
           "</span></h3>";
    if (!g.flags.empty()) {
      out += "<ul class=\"flags\">";
      for (auto& f : g.flags) out += "<li>" + html_escape(f) + "</li>";
      out += "</ul>";
    }
    out += "<div class=\"side\">";
    for (auto& c : g.cells) out += answer_card(c);
    out += "</div>";
    if (g.more_runs > 0)
      out += "<p class=\"muted\">" + std::to_string(g.more_runs) + " more runs in the export.</p>";
    out += "</article>";
  }
  return out + "</section>";
}

}  // namespace

std::string html_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

void add_export_row(report_data& data, const json::object& row) {
  ++data.rows;
  auto cell = cell_of(row);
  if (cell.status == "completed") {
    auto& r = data.regions[cell.region];
    ++r.answers;
    r.avoided += avoided(cell.classification);
  } else {
    data.regions[cell.region];  // a region that only failed still shows, at 0
  }
  std::pair<int64_t, std::string> key{int_at(row, "question_index", 0), str_at(row, "model_id")};
  auto it = data.groups.find(key);
  if (it == data.groups.end()) {
    if (data.groups.size() >= report_max_groups) {
      data.groups_capped = true;
      return;
    }
    it = data.groups.emplace(key, report_group{}).first;
    it->second.question_index = key.first;
    it->second.question_id = str_at(row, "question_id");
    it->second.model_id = key.second;
    auto& analysis = object_at(row, "group_analysis");
    it->second.divergence = number_at(analysis, "divergence");
    for (auto& f : array_at(analysis, "flags"))
      if (f.is_string()) it->second.flags.emplace_back(f.as_string());
  }
  auto& g = it->second;
  auto same_region = std::count_if(g.cells.begin(), g.cells.end(),
                                   [&](const report_cell& c) { return c.region == cell.region; });
  if (static_cast<size_t>(same_region) >= report_max_runs) {
    ++g.more_runs;
    return;
  }
  g.cells.push_back(std::move(cell));
  std::stable_sort(g.cells.begin(), g.cells.end(), [](const report_cell& a, const report_cell& b) {
    return std::tie(a.region, a.run) < std::tie(b.region, b.run);
  });
}

std::string report_html(const report_data& data, const std::string& generated_at) {
  std::vector<std::string> regions;
  for (auto& [name, r] : data.regions) regions.push_back(name);
  auto id = str_at(data.job, "id");
  return "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" "
         "content=\"width=device-width,initial-scale=1\"><title>beacon report: " +
         html_escape(id) + "</title><style>" + style + "</style></head><body>" +
         header(data, generated_at) + summary(data) + charts(data) + analysis_section(data) +
         cost_section(data) + grid(data, regions) + side_by_side(data) + "</body></html>\n";
}

}  // namespace beacon
