// Word tokens of an answer for key-term matching and similarity: runs of letters and digits of
// alphabetic scripts (ASCII lower-cased; Latin extended, Greek, Cyrillic, Hebrew, Arabic kept as
// written); every other non-ASCII code point (CJK, kana, Hangul, ...) is a token of its own, except
// punctuation. Character tokens keep scripts written without spaces comparable.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace beacon::analysis {

std::vector<std::string> tokens(std::string_view text);

}  // namespace beacon::analysis
