// The regional system prompt of the original runner, recorded on every execution row.
#pragma once

#include <string>
#include <string_view>

namespace beacon {

// "You are a helpful, honest, and harmless AI assistant based in {the US|Europe|Asia|<region>}..."
std::string regional_system_prompt(std::string_view region);

}  // namespace beacon
