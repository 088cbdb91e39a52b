// A vocabulary enum's stored word as a string, and a word read back as the enum value it names,
// for any enum whose values are listed in an array and which has a to_string
// (domain/status.hpp, domain/error_class.hpp).
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace beacon {

// The word of a value, for SQL parameters, JSON keys and messages.
template <class Enum>
std::string word(Enum v) {
  return std::string(to_string(v));
}

// The value of `all` whose word is `word`; nullopt for any other word.
template <class Enum, size_t N>
constexpr std::optional<Enum> from_word(std::string_view word, const std::array<Enum, N>& all) {
  for (auto v : all)
    if (to_string(v) == word) return v;
  return std::nullopt;
}

}  // namespace beacon
