// Exact-number JSON parsing on Boost.JSON's basic_parser and value_stack.
#include "common/json_exact.hpp"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/value_stack.hpp>
#include <charconv>
#include <cmath>

namespace beacon {
namespace {

// Builds the value as Boost.JSON's own parser does, except for doubles.
struct exact_handler {
  static constexpr std::size_t max_array_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_object_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_string_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_key_size = static_cast<std::size_t>(-1);

  boost::json::value_stack stack;
  std::string number;  // the text of a number split across parts
  bool out_of_range = false;

  bool on_document_begin(boost::json::error_code&) { return true; }
  bool on_document_end(boost::json::error_code&) { return true; }
  bool on_array_begin(boost::json::error_code&) { return true; }
  bool on_array_end(std::size_t n, boost::json::error_code&) {
    stack.push_array(n);
    return true;
  }
  bool on_object_begin(boost::json::error_code&) { return true; }
  bool on_object_end(std::size_t n, boost::json::error_code&) {
    stack.push_object(n);
    return true;
  }
  bool on_string_part(boost::json::string_view s, std::size_t, boost::json::error_code&) {
    stack.push_chars(s);
    return true;
  }
  bool on_string(boost::json::string_view s, std::size_t, boost::json::error_code&) {
    stack.push_string(s);
    return true;
  }
  bool on_key_part(boost::json::string_view s, std::size_t, boost::json::error_code&) {
    stack.push_chars(s);
    return true;
  }
  bool on_key(boost::json::string_view s, std::size_t, boost::json::error_code&) {
    stack.push_key(s);
    return true;
  }
  bool on_number_part(boost::json::string_view s, boost::json::error_code&) {
    number.append(s.data(), s.size());
    return true;
  }
  bool on_int64(int64_t i, boost::json::string_view, boost::json::error_code&) {
    number.clear();
    stack.push_int64(i);
    return true;
  }
  bool on_uint64(uint64_t u, boost::json::string_view, boost::json::error_code&) {
    number.clear();
    stack.push_uint64(u);
    return true;
  }
  bool on_double(double, boost::json::string_view s, boost::json::error_code& ec) {
    number.append(s.data(), s.size());
    std::string text = std::move(number);
    number.clear();
    double d = 0;
    auto [end, err] = std::from_chars(text.data(), text.data() + text.size(), d);
    bool whole = end == text.data() + text.size();
    if (err == std::errc::result_out_of_range) {
      // Underflow reads as zero (JavaScript does the same); overflow is refused.
      if (!whole || !is_underflow(text)) {
        out_of_range = true;
        ec = boost::json::error::exponent_overflow;
        return false;
      }
      d = 0;
    } else if (err != std::errc() || !whole || !std::isfinite(d)) {
      out_of_range = true;
      ec = boost::json::error::exponent_overflow;
      return false;
    }
    stack.push_double(d);
    return true;
  }
  bool on_bool(bool b, boost::json::error_code&) {
    stack.push_bool(b);
    return true;
  }
  bool on_null(boost::json::error_code&) {
    stack.push_null();
    return true;
  }
  bool on_comment_part(boost::json::string_view, boost::json::error_code&) { return true; }
  bool on_comment(boost::json::string_view, boost::json::error_code&) { return true; }

  // A negative exponent: the value is below the smallest double, not above the largest.
  static bool is_underflow(std::string_view t) {
    auto e = t.find_first_of("eE");
    return e != std::string_view::npos && e + 1 < t.size() && t[e + 1] == '-';
  }
};

}  // namespace

std::optional<boost::json::value> parse_json_exact(std::string_view text, std::string* error) {
  boost::json::basic_parser<exact_handler> p{boost::json::parse_options{}};
  p.handler().stack.reset();
  boost::json::error_code ec;
  auto used = p.write_some(false, text.data(), text.size(), ec);
  if (!ec && used != text.size()) ec = boost::json::error::extra_data;
  if (ec) {
    if (error) {
      *error = p.handler().out_of_range ? "a number is beyond the range of a double" : ec.message();
      *error += " (at byte " + std::to_string(used) + ")";
    }
    return std::nullopt;
  }
  return p.handler().stack.release();
}

}  // namespace beacon
