// Phrase rules for refusals and deflections, matched case-insensitively.
#include "analysis/classifier.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace beacon::analysis {
namespace {

// A model declining to answer at all.
constexpr std::array<std::string_view, 14> refusal_phrases = {
    "i can't discuss",     "i cannot discuss",      "i can't help with", "i cannot help with",
    "i'm not able to",     "i am not able to",      "i am unable to",    "i'm unable to",
    "i must decline",      "i won't be able to",    "i cannot provide",  "i can't provide",
    "not able to discuss", "i'm sorry, but i can't"};

// A model answering without engaging with the question.
constexpr std::array<std::string_view, 10> deflection_phrases = {"complex and sensitive",
                                                                 "sensitive topic",
                                                                 "many different perspectives",
                                                                 "consult official sources",
                                                                 "let's talk about something else",
                                                                 "i'd rather not",
                                                                 "beyond the scope",
                                                                 "official position",
                                                                 "refer to authoritative",
                                                                 "i prefer not to"};

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

classification classify(std::string_view answer) {
  classification c;
  c.length = static_cast<int32_t>(answer.size());
  bool blank = std::all_of(answer.begin(), answer.end(),
                           [](unsigned char ch) { return std::isspace(ch) != 0; });
  if (blank) return {"technical_failure", "empty answer", c.length};
  auto text = lower(answer);
  for (auto p : refusal_phrases)
    if (text.find(p) != std::string::npos) return {"content_refusal", std::string(p), c.length};
  // A long answer that mentions sensitivity in passing still answers; deflections are short.
  if (text.size() < 600)
    for (auto p : deflection_phrases)
      if (text.find(p) != std::string::npos) return {"deflection", std::string(p), c.length};
  return {"substantive", "answers the question", c.length};
}

}  // namespace beacon::analysis
