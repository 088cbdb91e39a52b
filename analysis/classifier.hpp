// Per-answer classification: substantive, content refusal, deflection or technical failure.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace beacon::analysis {

struct classification {
  std::string label;   // substantive | content_refusal | deflection | technical_failure
  std::string reason;  // the rule or phrase that decided it
  int32_t length = 0;  // characters (bytes of UTF-8) of the answer
  bool substantive() const { return label == "substantive"; }
  bool refusal() const { return label == "content_refusal"; }
  bool technical() const { return label == "technical_failure"; }
};

// Classifies a provider's answer text. An empty or whitespace-only answer is a technical failure;
// refusal phrases win over deflection phrases; anything else that answers is substantive.
classification classify(std::string_view answer);
// The same, with the answer's analysis::tokens already computed.
classification classify(std::string_view answer, const std::vector<std::string>& words);

// A provider's own refusal signal decides over the text: an answer whose generation the provider
// stopped with finish_reason content_filter is a refusal, the provider's word its reason.
classification with_provider_signal(classification cls, std::string_view finish_reason);

}  // namespace beacon::analysis
