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

// Whether byte order sorts these keys as UTF-16 code units do: it does unless a key holds a
// character above U+FFFF (a 4-byte UTF-8 sequence, lead byte 0xF0 or more).
bool byte_order_is_utf16_order(const boost::json::object& o) {
  for (auto& kv : o)
    for (unsigned char c : kv.key())
      if (c >= 0xF0) return false;
  return true;
}

// An integer as JavaScript writes the double it reads as: its digits while it is exact (below
// 2^53), else the double's shortest form.
std::string js_integer(long double v, std::string_view digits) {
  constexpr long double exact = 9007199254740992.0L;  // 2^53
  if (v <= exact && v >= -exact) return std::string(digits);
  return js_number(static_cast<double>(v));
}

bool needs_escape(unsigned char c) {
  return c < 0x20 || c == '"' || c == '\\';
}

void write_string(std::string& out, std::string_view s) {
  static const char* hex = "0123456789abcdef";
  out += '"';
  size_t plain = 0;  // the run of characters written as they are
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i < s.size() && !needs_escape(static_cast<unsigned char>(s[i]))) continue;
    out.append(s.data() + plain, i - plain);
    plain = i + 1;
    if (i == s.size()) break;
    auto c = static_cast<unsigned char>(s[i]);
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
      default:  // another control character
        out += "\\u00";
        out += hex[c >> 4];
        out += hex[c & 0xF];
    }
  }
  out += '"';
}

// Members left out of a canonical form: top-level keys and "parent.key" one level down.
struct omissions {
  std::initializer_list<std::string_view> keys;
  bool omitted(std::string_view parent, std::string_view key) const {
    for (auto k : keys) {
      if (parent.empty() ? k == key
                         : k.size() == parent.size() + 1 + key.size() &&
                               k.substr(0, parent.size()) == parent && k[parent.size()] == '.' &&
                               k.substr(parent.size() + 1) == key)
        return true;
    }
    return false;
  }
};

void write(std::string& out, const boost::json::value& v, bool sorted,
           const omissions* omit = nullptr, std::string_view parent = {}, int depth = 0) {
  switch (v.kind()) {
    case boost::json::kind::null:
      out += "null";
      break;
    case boost::json::kind::bool_:
      out += v.get_bool() ? "true" : "false";
      break;
    case boost::json::kind::int64: {
      auto digits = std::to_string(v.get_int64());
      out += sorted ? js_integer(static_cast<long double>(v.get_int64()), digits) : digits;
      break;
    }
    case boost::json::kind::uint64: {
      auto digits = std::to_string(v.get_uint64());
      out += sorted ? js_integer(static_cast<long double>(v.get_uint64()), digits) : digits;
      break;
    }
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
      std::vector<const boost::json::key_value_pair*> keys;
      for (auto& kv : v.get_object()) keys.push_back(&kv);
      if (byte_order_is_utf16_order(v.get_object())) {
        std::sort(keys.begin(), keys.end(), [](auto* a, auto* b) { return a->key() < b->key(); });
      } else {
        std::vector<std::pair<std::u16string, const boost::json::key_value_pair*>> wide;
        for (auto* kv : keys) wide.emplace_back(utf16_of(kv->key()), kv);
        std::sort(wide.begin(), wide.end(),
                  [](const auto& a, const auto& b) { return a.first < b.first; });
        for (size_t i = 0; i < wide.size(); ++i) keys[i] = wide[i].second;
      }
      out += '{';
      bool first = true;
      for (auto* kv : keys) {
        if (omit && depth < 2 && omit->omitted(depth == 0 ? "" : parent, kv->key())) continue;
        if (!first) out += ',';
        first = false;
        write_string(out, kv->key());
        out += ':';
        if (omit && depth == 0)
          write(out, kv->value(), true, omit, kv->key(), 1);
        else
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

void append_canonical_string(std::string& out, std::string_view s) {
  write_string(out, s);
}

std::string canonical_json(const boost::json::value& v) {
  std::string out;
  write(out, v, true);
  return out;
}

std::string canonical_json_omitting(const boost::json::value& v,
                                    std::initializer_list<std::string_view> omit) {
  std::string out;
  omissions o{omit};
  write(out, v, true, &o);
  return out;
}

std::string json_text(const boost::json::value& v) {
  std::string out;
  write(out, v, false);
  return out;
}

}  // namespace beacon
