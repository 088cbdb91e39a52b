// Array literal encoding: {"a","b\"c",NULL}.
#include "storage/pg_arrays.hpp"

#include <charconv>

namespace beacon::storage {

void append_array_element(std::string& out, std::string_view value) {
  out += '"';
  // Runs of plain characters are copied whole; a quote or backslash is escaped, a NUL dropped.
  const char* p = value.data();
  const char* end = p + value.size();
  while (p < end) {
    const char* run = p;
    while (p < end && *p != '"' && *p != '\\' && *p != '\0') ++p;
    out.append(run, static_cast<size_t>(p - run));
    if (p == end) break;
    if (*p != '\0') {
      out += '\\';
      out += *p;
    }
    ++p;
  }
  out += '"';
}

namespace {

template <class Range, class Fn>
std::string join(const Range& values, Fn&& element, size_t expected_size = 0) {
  std::string out;
  out.reserve(expected_size + 2);
  out += '{';
  bool first = true;
  for (auto& v : values) {
    if (!first) out += ',';
    first = false;
    element(out, v);
  }
  out += '}';
  return out;
}

// The literal's size without escapes: each element, its quotes and its comma.
size_t unescaped_size(const std::vector<std::string>& values) {
  size_t n = 0;
  for (auto& v : values) n += v.size() + 3;
  return n;
}

}  // namespace

std::string text_array(const std::vector<std::string>& values) {
  return join(
      values, [](std::string& out, const std::string& v) { append_array_element(out, v); },
      unescaped_size(values));
}

std::string text_array_empty_null(const std::vector<std::string>& values) {
  return join(
      values,
      [](std::string& out, const std::string& v) {
        if (v.empty())
          out += "NULL";
        else
          append_array_element(out, v);
      },
      unescaped_size(values));
}

std::string int_array(const std::vector<int64_t>& values) {
  return join(values, [](std::string& out, int64_t v) { out += std::to_string(v); });
}

std::string float_array(const std::vector<double>& values) {
  return join(values, [](std::string& out, double v) {
    char text[32];
    auto r = std::to_chars(text, text + sizeof text, v);  // the shortest text that reads back exact
    out.append(text, r.ptr);
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
