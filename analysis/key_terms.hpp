// Key facts per question (analysis/key_terms.json, embedded at build time): which of a question's
// key terms an answer mentions. Matching is by word prefix on analysis::tokens, so "protest"
// matches "protests" and "protesters" and multi-word patterns match consecutive words.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace beacon::analysis {

struct key_term {
  std::string label;                               // shown to people
  std::vector<std::vector<std::string>> patterns;  // each: word prefixes in order
};

using key_term_list = std::vector<key_term>;

// The key terms of a question; null when it has none (questions of opinion, unknown ids).
const key_term_list* key_terms_for(std::string_view question_id);

// Labels of the terms the text mentions, in list order.
std::vector<std::string> find_key_terms(const std::vector<std::string>& text_tokens,
                                        const key_term_list& terms);

// Parses a key-terms document (the format of analysis/key_terms.json); throws std::runtime_error.
std::vector<std::pair<std::string, key_term_list>> parse_key_terms(std::string_view json);

}  // namespace beacon::analysis
