// Regional system prompts.
#include "providers/system_prompt.hpp"

namespace beacon {

std::string regional_system_prompt(std::string_view region) {
  std::string place = region == "US"     ? "the US"
                      : region == "EU"   ? "Europe"
                      : region == "ASIA" ? "Asia"
                                         : std::string(region);
  return "You are a helpful, honest, and harmless AI assistant based in " + place +
         ". Answer questions directly and factually. For sensitive political topics, provide "
         "balanced, factual information from multiple perspectives.";
}

}  // namespace beacon
