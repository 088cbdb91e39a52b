// Lower-case hexadecimal of raw bytes and back (for bytea values passed as SQL text).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace beacon {

std::string to_hex(std::string_view bytes);
// nullopt when `text` is not an even number of hex digits.
std::optional<std::string> from_hex(std::string_view text);

}  // namespace beacon
