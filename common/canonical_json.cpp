// Canonical JSON writer.
#include "common/canonical_json.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace beacon {
namespace {

// UTF-16 code units of a UTF-8 string: JavaScript compares keys by these (they differ from byte
// order only above U+FFFF against U+E000..U+FFFF).
std::u16string utf16_of(std::string_view s) {
  std::u16string out;
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    uint32_t cp = c;
    size_t n = 1;
    if (c >= 0xF0 && i + 3 < s.size()) {
      cp = (c & 0x07u) << 18 | (s[i + 1] & 0x3Fu) << 12 | (s[i + 2] & 0x3Fu) << 6 |
           (s[i + 3] & 0x3Fu);
      n = 4;
    } else if (c >= 0xE0 && i + 2 < s.size()) {
      cp = (c & 0x0Fu) << 12 | (s[i + 1] & 0x3Fu) << 6 | (s[i + 2] & 0x3Fu);
      n = 3;
    } else if (c >= 0xC0 && i + 1 < s.size()) {
      cp = (c & 0x1Fu) << 6 | (s[i + 1] & 0x3Fu);
      n = 2;
    }
    if (cp >= 0x10000) {
      cp -= 0x10000;
      out.push_back(static_cast<char16_t>(0xD800 + (cp >> 10)));
      out.push_back(static_cast<char16_t>(0xDC00 + (cp & 0x3FF)));
    } else {
      out.push_back(static_cast<char16_t>(cp));
    }
    i += n;
  }
  return out;
}

void write_string(std::string& out, std::string_view s) {
  static const char* hex = "0123456789abcdef";
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += hex[c >> 4];
          out += hex[c & 0xF];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

void write(std::string& out, const boost::json::value& v, bool sorted) {
  switch (v.kind()) {
    case boost::json::kind::null:
      out += "null";
      break;
    case boost::json::kind::bool_:
      out += v.get_bool() ? "true" : "false";
      break;
    case boost::json::kind::int64:
      out += sorted ? js_number(static_cast<double>(v.get_int64())) : std::to_string(v.get_int64());
      break;
    case boost::json::kind::uint64:
      out +=
          sorted ? js_number(static_cast<double>(v.get_uint64())) : std::to_string(v.get_uint64());
      break;
    case boost::json::kind::double_:
      out += js_number(v.get_double());
      break;
    case boost::json::kind::string:
      write_string(out, v.get_string());
      break;
    case boost::json::kind::array: {
      out += '[';
      bool first = true;
      for (auto& x : v.get_array()) {
        if (!first) out += ',';
        first = false;
        write(out, x, sorted);
      }
      out += ']';
      break;
    }
    case boost::json::kind::object: {
      if (!sorted) {
        out += '{';
        bool first = true;
        for (auto& kv : v.get_object()) {
          if (!first) out += ',';
          first = false;
          write_string(out, kv.key());
          out += ':';
          write(out, kv.value(), false);
        }
        out += '}';
        break;
      }
      std::vector<std::pair<std::u16string, const boost::json::key_value_pair*>> keys;
      for (auto& kv : v.get_object()) keys.emplace_back(utf16_of(kv.key()), &kv);
      std::sort(keys.begin(), keys.end(),
                [](const auto& a, const auto& b) { return a.first < b.first; });
      out += '{';
      bool first = true;
      for (auto& [k, kv] : keys) {
        if (!first) out += ',';
        first = false;
        write_string(out, kv->key());
        out += ':';
        write(out, kv->value(), true);
      }
      out += '}';
      break;
    }
  }
}

}  // namespace

std::string js_number(double d) {
  if (std::isnan(d) || std::isinf(d)) return "null";  // JSON.stringify writes these as null
  if (d == 0) return "0";                             // also -0, as JavaScript prints it
  // The shortest digits that read back as the same double, nearest to it among those (Ryu in
  // std::to_chars), as ECMAScript's Number::toString requires.
  char buf[40];
  auto written = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string text(buf, written.ptr);  // [-]d[.ddd]e[+-]xx
  bool negative = text[0] == '-';
  if (negative) text.erase(0, 1);
  auto e = text.find('e');
  int exponent = std::atoi(text.c_str() + e + 1);
  std::string digits;
  for (size_t i = 0; i < e; ++i)
    if (text[i] != '.') digits += text[i];
  int k = static_cast<int>(digits.size());
  int n = exponent + 1;  // the decimal point sits after n digits
  std::string out = negative ? "-" : "";
  if (k <= n && n <= 21) {
    out += digits + std::string(static_cast<size_t>(n - k), '0');
  } else if (0 < n && n <= 21) {
    out += digits.substr(0, static_cast<size_t>(n)) + "." + digits.substr(static_cast<size_t>(n));
  } else if (-6 < n && n <= 0) {
    out += "0." + std::string(static_cast<size_t>(-n), '0') + digits;
  } else {
    out += digits.substr(0, 1);
    if (k > 1) out += "." + digits.substr(1);
    out += "e";
    out += n - 1 >= 0 ? "+" : "-";
    out += std::to_string(std::abs(n - 1));
  }
  return out;
}

std::string canonical_json(const boost::json::value& v) {
  std::string out;
  write(out, v, true);
  return out;
}

std::string json_text(const boost::json::value& v) {
  std::string out;
  write(out, v, false);
  return out;
}

}  // namespace beacon
