// Key-term lists and matching.
#include "analysis/key_terms.hpp"

#include <boost/json.hpp>
#include <map>
#include <stdexcept>

#include "analysis/embedded_data.hpp"
#include "analysis/tokens.hpp"

namespace beacon::analysis {
namespace {

key_term parse_term(const boost::json::value& v) {
  key_term t;
  std::vector<std::string> patterns;
  if (v.is_string()) {
    t.label = std::string(v.as_string());
    patterns.push_back(t.label);
  } else if (v.is_object() && v.as_object().contains("term")) {
    t.label = std::string(v.at("term").as_string());
    if (auto* m = v.as_object().if_contains("match"))
      for (auto& p : m->as_array()) patterns.emplace_back(p.as_string());
    else
      patterns.push_back(t.label);
  } else {
    throw std::runtime_error("a key term is a string or {term, match}");
  }
  for (auto& p : patterns) {
    auto words = tokens(p);
    if (words.empty()) throw std::runtime_error("key term pattern without words: " + p);
    t.patterns.push_back(std::move(words));
  }
  return t;
}

bool starts_with(const std::string& word, const std::string& prefix) {
  return word.size() >= prefix.size() && word[0] == prefix[0] &&
         word.compare(0, prefix.size(), prefix) == 0;
}

bool mentions(const std::vector<std::string>& text, const std::vector<std::string>& pattern) {
  if (pattern.size() > text.size()) return false;
  for (size_t i = 0; i + pattern.size() <= text.size(); ++i) {
    size_t k = 0;
    while (k < pattern.size() && starts_with(text[i + k], pattern[k])) ++k;
    if (k == pattern.size()) return true;
  }
  return false;
}

const std::map<std::string, key_term_list, std::less<>>& shipped() {
  static const auto all = [] {
    std::map<std::string, key_term_list, std::less<>> m;
    for (auto& [id, list] : parse_key_terms(embedded_data().at("analysis/key_terms.json")))
      m.emplace(id, std::move(list));
    return m;
  }();
  return all;
}

}  // namespace

std::vector<std::pair<std::string, key_term_list>> parse_key_terms(std::string_view json) {
  std::vector<std::pair<std::string, key_term_list>> out;
  try {
    auto doc = boost::json::parse(json);
    for (auto& [id, terms] : doc.as_object()) {
      if (!id.empty() && id.front() == '_') continue;  // comments
      key_term_list list;
      for (auto& t : terms.as_array()) list.push_back(parse_term(t));
      out.emplace_back(std::string(id), std::move(list));
    }
  } catch (const std::runtime_error&) {
    throw;
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("key terms: ") + e.what());
  }
  return out;
}

const key_term_list* key_terms_for(std::string_view question_id) {
  auto& all = shipped();
  auto it = all.find(question_id);
  return it == all.end() ? nullptr : &it->second;
}

std::vector<std::string> find_key_terms(const std::vector<std::string>& text_tokens,
                                        const key_term_list& terms) {
  std::vector<std::string> found;
  for (auto& t : terms)
    for (auto& p : t.patterns)
      if (mentions(text_tokens, p)) {
        found.push_back(t.label);
        break;
      }
  return found;
}

}  // namespace beacon::analysis
