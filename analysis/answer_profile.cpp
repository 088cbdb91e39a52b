// Per-answer profile.
#include "analysis/answer_profile.hpp"

#include "analysis/key_terms.hpp"
#include "analysis/language.hpp"
#include "analysis/tokens.hpp"

namespace beacon::analysis {

answer_profile profile_answer(std::string_view question_id, std::string_view text) {
  answer_profile p;
  auto words = tokens(text);
  p.cls = classify(text, words);
  p.language = guess_language(words);
  if (auto* terms = key_terms_for(question_id); terms && !terms->empty()) {
    p.has_key_terms = true;
    p.key_terms = find_key_terms(words, *terms);
  }
  return p;
}

}  // namespace beacon::analysis
