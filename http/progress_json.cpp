// Progress JSON.
#include "http/progress_json.hpp"

#include <boost/json.hpp>
#include <map>

#include "common/canonical_json.hpp"
#include "domain/status.hpp"

namespace beacon::http {
namespace {

using counts = std::vector<int64_t>;

void add(counts& into, const std::vector<int32_t>& from) {
  into.resize(cell_status_count, 0);
  for (size_t i = 0; i < cell_status_count && i < from.size(); ++i) into[i] += from[i];
}

// {total, done, pending, running, completed, failed, timeout, cancelled}
boost::json::object counts_json(const counts& c) {
  boost::json::object o;
  int64_t total = 0, done = 0;
  for (auto s : all_cell_statuses) {
    auto i = index_of(s);
    auto n = i < c.size() ? c[i] : 0;
    o[to_string(s)] = n;
    total += n;
    if (is_terminal(s)) done += n;
  }
  o["total"] = total;
  o["done"] = done;
  return o;
}

// {prompt_tokens, completion_tokens, cost, uncosted_cells}: the answers' reported usage.
boost::json::object usage_json(const usage_totals& u) {
  return {{"prompt_tokens", u.prompt_tokens},
          {"completion_tokens", u.completion_tokens},
          {"cost", u.cost},
          {"uncosted_cells", u.uncosted}};
}

}  // namespace

std::string progress_json(const job_progress& p, bool with_groups) {
  return json_text(progress_object(p, with_groups));
}

boost::json::object progress_object(const job_progress& p, bool with_groups) {
  counts total;
  boost::json::array questions, models, regions;
  for (size_t qi = 0; qi < p.questions.size(); ++qi) {
    counts c;
    add(c, p.questions[qi].counts);
    add(total, p.questions[qi].counts);
    if (qi >= progress_max_questions) continue;
    auto o = counts_json(c);
    o["question_index"] = qi;
    o["question_id"] = p.questions[qi].question_id;
    questions.push_back(std::move(o));
  }
  std::map<std::string, counts> by_model, by_region;
  std::map<std::string, usage_totals> model_usage, region_usage;
  usage_totals usage;
  for (auto& g : p.groups) {
    add(by_model[g.model_id], g.counts);
    add(by_region[g.region], g.counts);
    model_usage[g.model_id].add(g.usage);
    region_usage[g.region].add(g.usage);
    usage.add(g.usage);
  }
  for (auto& [m, c] : by_model) {
    auto o = counts_json(c);
    o["model_id"] = m;
    o["usage"] = usage_json(model_usage[m]);
    models.push_back(std::move(o));
  }
  for (auto& [r, c] : by_region) {
    auto o = counts_json(c);
    o["region"] = r;
    o["usage"] = usage_json(region_usage[r]);
    regions.push_back(std::move(o));
  }
  boost::json::object out{{"job_id", p.job_id},
                          {"status", to_string(p.status)},
                          {"cells", counts_json(total)},
                          {"usage", usage_json(usage)},
                          {"questions", std::move(questions)},
                          {"models", std::move(models)},
                          {"regions", std::move(regions)}};
  if (!p.reason.empty()) out["reason"] = p.reason;
  if (p.questions.size() > progress_max_questions) {
    out["questions_total"] = p.questions.size();
    out["questions_truncated"] = true;
  }
  if (with_groups && p.groups.size() > progress_max_groups) {
    out["groups_total"] = p.groups.size();
    out["groups_omitted"] = true;
  } else if (with_groups) {
    boost::json::array groups;
    for (auto& g : p.groups) {
      counts c;
      add(c, g.counts);
      auto o = counts_json(c);
      o["question_index"] = g.question_index;
      o["model_id"] = g.model_id;
      o["region"] = g.region;
      o["usage"] = usage_json(g.usage);
      groups.push_back(std::move(o));
    }
    out["groups"] = std::move(groups);
  }
  return out;
}

}  // namespace beacon::http
