// Structured logging: one JSON object per line (default) or a human format, via spdlog.
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

// The identifiers every line about a cell carries.
struct cell_ids {
  std::string job_id;
  std::string question_id;
  std::string model_id;
  std::string region;
};

// Builds one log line: an event name plus fields; emitted by the level methods.
class line {
 public:
  explicit line(std::string_view event);
  line& cell(const cell_ids& ids);
  line& job(std::string_view job_id);
  template <class T>
  line& field(std::string_view key, T&& value) {
    fields_[key] = boost::json::value_from(std::forward<T>(value));
    return *this;
  }
  void debug() { emit(spdlog::level::debug); }
  void info() { emit(spdlog::level::info); }
  void warn() { emit(spdlog::level::warn); }
  void error() { emit(spdlog::level::err); }

 private:
  void emit(spdlog::level::level_enum lvl);
  boost::json::object fields_;
};

inline line event(std::string_view name) { return line{name}; }

}  // namespace beacon::logging
