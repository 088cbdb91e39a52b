// PostgreSQL array literals for bulk statements (unnest($1::text[], ...)).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace beacon::storage {

// Appends one quoted array element; NUL bytes, which PostgreSQL text cannot hold, are dropped.
void append_array_element(std::string& out, std::string_view value);

std::string text_array(const std::vector<std::string>& values);
// Empty strings become NULL.
std::string text_array_empty_null(const std::vector<std::string>& values);
std::string int_array(const std::vector<int64_t>& values);
// Doubles as the shortest text that reads back exactly; finite values only.
std::string float_array(const std::vector<double>& values);
std::string bool_array(const std::vector<bool>& values);

}  // namespace beacon::storage
