// Checks on untrusted text before it reaches PostgreSQL, which stores neither NUL characters nor
// invalid UTF-8 (and answers both with an error instead of storing them).
#pragma once

#include <string>
#include <string_view>

namespace beacon::text {

// Well-formed UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF.
bool valid_utf8(std::string_view s);

// `s` without leading and trailing spaces and tabs (HTTP's optional whitespace).
std::string_view trim(std::string_view s);

// Equal when ASCII letters are compared without regard to case (header tokens, schemes, hosts).
bool equal_ignoring_case(std::string_view a, std::string_view b);

// Text PostgreSQL can store as given: valid UTF-8 without NUL characters.
inline bool storable(std::string_view s) {
  return s.find('\0') == std::string_view::npos && valid_utf8(s);
}

// `x` in plain decimal notation (no exponent) with the fewest decimals that read back as `x`
// (at most 30): 0.1 -> "0.1", 2 -> "2", 1e-05 -> "0.00001". PostgreSQL's numeric keeps it as
// written, so a value stored this way is read back as the same text.
std::string decimal_text(double x);

}  // namespace beacon::text
