// Checks on untrusted text before it reaches PostgreSQL, which stores neither NUL characters nor
// invalid UTF-8 (and answers both with an error instead of storing them).
#pragma once

#include <string_view>

namespace beacon::text {

// Well-formed UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF.
bool valid_utf8(std::string_view s);

// Text PostgreSQL can store as given: valid UTF-8 without NUL characters.
inline bool storable(std::string_view s) {
  return s.find('\0') == std::string_view::npos && valid_utf8(s);
}

}  // namespace beacon::text
