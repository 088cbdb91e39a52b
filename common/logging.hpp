// Structured logging: one JSON object per line (default) or a human format, via spdlog.
// Usage: logging::warn("cell_failed").cell(ids).field("error_code", code); the line is written
// when the temporary ends. A line below the logger's level costs a level check and nothing else.
#pragma once

#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <string>
#include <string_view>

namespace beacon::logging {

enum class format { json, human };

// Installs the process-wide logger (stderr). Safe to call more than once.
void init(format fmt, spdlog::level::level_enum level);

// Parses "json"/"human" and "trace".."off"; throws std::invalid_argument naming the bad value.
format parse_format(std::string_view s);
spdlog::level::level_enum parse_level(std::string_view s);

// The identifiers every line about a cell carries (views: build them from live strings).
struct cell_ids {
  std::string_view job_id;
  std::string_view question_id;
  std::string_view model_id;
  std::string_view region;
};

// One log line: an event name plus fields, written when it is destroyed.
class line {
 public:
  line(spdlog::level::level_enum level, std::string_view event);
  line(const line&) = delete;
  line& operator=(const line&) = delete;
  ~line();

  line& cell(const cell_ids& ids);
  line& job(std::string_view job_id);
  template <class T>
  line& field(std::string_view key, T&& value) {
    if (active_) fields_[key] = boost::json::value_from(std::forward<T>(value));
    return *this;
  }

 private:
  spdlog::level::level_enum level_;
  bool active_;
  boost::json::object fields_;
};

inline line debug(std::string_view event) {
  return {spdlog::level::debug, event};
}
inline line info(std::string_view event) {
  return {spdlog::level::info, event};
}
inline line warn(std::string_view event) {
  return {spdlog::level::warn, event};
}
inline line error(std::string_view event) {
  return {spdlog::level::err, event};
}

}  // namespace beacon::logging
