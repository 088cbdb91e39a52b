// Array literal encoding: {"a","b\"c",NULL}.
#include "storage/pg_arrays.hpp"

#include <cstdio>

namespace beacon::storage {

void append_array_element(std::string& out, std::string_view value) {
  out += '"';
  for (char c : value) {
    if (c == '\0') continue;
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
}

namespace {

template <class Range, class Fn>
std::string join(const Range& values, Fn&& element) {
  std::string out = "{";
  bool first = true;
  for (auto& v : values) {
    if (!first) out += ',';
    first = false;
    element(out, v);
  }
  out += '}';
  return out;
}

}  // namespace

std::string text_array(const std::vector<std::string>& values) {
  return join(values, [](std::string& out, const std::string& v) { append_array_element(out, v); });
}

std::string text_array_empty_null(const std::vector<std::string>& values) {
  return join(values, [](std::string& out, const std::string& v) {
    if (v.empty())
      out += "NULL";
    else
      append_array_element(out, v);
  });
}

std::string int_array(const std::vector<int64_t>& values) {
  return join(values, [](std::string& out, int64_t v) { out += std::to_string(v); });
}

std::string float_array(const std::vector<double>& values) {
  return join(values, [](std::string& out, double v) {
    char text[32];
    std::snprintf(text, sizeof text, "%.17g", v);  // round-trips exactly
    out += text;
  });
}

std::string bool_array(const std::vector<bool>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out += ',';
    out += values[i] ? 't' : 'f';
  }
  out += '}';
  return out;
}

}  // namespace beacon::storage
