// A JSON parser whose numbers are exact: Boost.JSON 1.81 reads some decimal numbers to a
// neighbouring double, so a spec re-serialised for its signature would differ from what the
// portal signed. This one hands every number's text to std::from_chars (correctly rounded, as
// JavaScript's JSON.parse is); integers that fit int64/uint64 stay integers. A number beyond the
// range of a double (1e999) is an error, never Infinity.
#pragma once

#include <boost/json/value.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace beacon {

// The document, or nullopt with `error` describing the problem (and its byte offset).
std::optional<boost::json::value> parse_json_exact(std::string_view text,
                                                   std::string* error = nullptr);

}  // namespace beacon
