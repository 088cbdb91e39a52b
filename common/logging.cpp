// spdlog set-up and the JSON/human rendering of structured log lines.
#include "common/logging.hpp"

#include <spdlog/sinks/stdout_sinks.h>

#include <atomic>
#include <stdexcept>

#include "common/clock.hpp"

namespace beacon::logging {
namespace {

std::atomic<format> current_format{format::json};

std::string render_human(const boost::json::object& fields) {
  std::string out;
  for (auto& kv : fields) {
    if (kv.key() == "event") continue;
    out += ' ';
    out.append(kv.key().data(), kv.key().size());
    out += '=';
    if (kv.value().is_string())
      out.append(kv.value().as_string().c_str());
    else
      out += boost::json::serialize(kv.value());
  }
  return out;
}

}  // namespace

void init(format fmt, spdlog::level::level_enum level) {
  current_format = fmt;
  auto logger = spdlog::get("beacon");
  if (!logger) {
    logger = std::make_shared<spdlog::logger>("beacon",
                                              std::make_shared<spdlog::sinks::stderr_sink_mt>());
    spdlog::set_default_logger(logger);
  }
  // JSON lines carry their own timestamp and level; the human format lets spdlog render them.
  logger->set_pattern(fmt == format::json ? "%v" : "%Y-%m-%d %H:%M:%S.%e %^%-5l%$ %v");
  logger->set_level(level);
  logger->flush_on(spdlog::level::warn);
}

format parse_format(std::string_view s) {
  if (s == "json") return format::json;
  if (s == "human") return format::human;
  throw std::invalid_argument("log format must be json or human, not '" + std::string(s) + "'");
}

spdlog::level::level_enum parse_level(std::string_view s) {
  auto lvl = spdlog::level::from_str(std::string(s));
  if (lvl == spdlog::level::off && s != "off")
    throw std::invalid_argument("unknown log level '" + std::string(s) + "'");
  return lvl;
}

line::line(spdlog::level::level_enum level, std::string_view event)
    : level_(level), active_(spdlog::default_logger_raw()->should_log(level)) {
  if (active_) fields_["event"] = event;
}

line& line::cell(const cell_ids& ids) {
  if (!active_) return *this;
  fields_["job_id"] = ids.job_id;
  fields_["question_id"] = ids.question_id;
  fields_["model_id"] = ids.model_id;
  fields_["region"] = ids.region;
  return *this;
}

line& line::job(std::string_view job_id) {
  if (active_) fields_["job_id"] = job_id;
  return *this;
}

line::~line() {
  if (!active_) return;
  auto lvl = level_;
  auto logger = spdlog::default_logger_raw();
  if (current_format == format::human) {
    logger->log(lvl, "{}{}", fields_["event"].as_string().c_str(), render_human(fields_));
    return;
  }
  boost::json::object out;
  out["ts"] = format_rfc3339(now_us());
  out["level"] = spdlog::level::to_string_view(lvl).data();
  for (auto& kv : fields_) out[kv.key()] = kv.value();
  logger->log(lvl, "{}", boost::json::serialize(out));
}

}  // namespace beacon::logging
