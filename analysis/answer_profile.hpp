// What is stored about each answer when its cell completes: the classification and the rule that
// decided it, the length, a language guess and the question's key terms it mentions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "analysis/classifier.hpp"

namespace beacon::analysis {

struct answer_profile {
  classification cls;
  std::string language;
  std::vector<std::string> key_terms;  // of the question's list, in list order
  bool has_key_terms = false;          // the question has a key-term list
};

answer_profile profile_answer(std::string_view question_id, std::string_view text);

}  // namespace beacon::analysis
