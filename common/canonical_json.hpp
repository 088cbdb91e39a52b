// Canonical JSON as the portal signs it (json-stable-stringify): object keys sorted by UTF-16
// code units, no whitespace, strings escaped as JSON.stringify does, numbers written as
// JavaScript's Number#toString writes them (6e11 -> 600000000000, 1e21 -> 1e+21).
#pragma once

#include <boost/json/value.hpp>
#include <initializer_list>
#include <string>
#include <string_view>

namespace beacon {

std::string canonical_json(const boost::json::value& v);

// The same without some members, as if they were erased (no copy of the value): a top-level key
// ("signature") or a key of a top-level object ("output.data").
std::string canonical_json_omitting(const boost::json::value& v,
                                    std::initializer_list<std::string_view> omit);

// Appends a string as canonical JSON writes it (quoted, escaped as JSON.stringify does), for
// writers that emit a fixed shape in canonical order themselves.
void append_canonical_string(std::string& out, std::string_view s);

// Compact JSON in the object's own key order, doubles written as JavaScript writes them (0.048,
// not Boost.JSON's 4.8E-2) and integers exactly: what the REST API sends.
std::string json_text(const boost::json::value& v);

// JavaScript's Number#toString for a finite double (shortest round-trip digits).
std::string js_number(double d);

}  // namespace beacon
