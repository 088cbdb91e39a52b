// The four protocol adapters.
#include "providers/adapters.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <ctime>

#include "domain/job_spec.hpp"

namespace json = boost::json;

namespace beacon::providers {
namespace {

json::array chat_messages(const call_input& in) {
  json::array messages;
  if (!in.system_prompt.empty())
    messages.push_back(json::object{{"role", "system"}, {"content", in.system_prompt}});
  messages.push_back(json::object{{"role", "user"}, {"content", in.prompt}});
  return messages;
}

std::string string_at(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  return it != o.end() && it->value().is_string() ? std::string(it->value().as_string()) : "";
}

// A token count at `key`: a non-negative integer (as any JSON number kind), else -1.
int64_t count_at(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end()) return -1;
  auto& v = it->value();
  if (v.is_int64()) return v.as_int64() >= 0 ? v.as_int64() : -1;
  if (v.is_uint64()) return v.as_uint64() <= INT64_MAX ? static_cast<int64_t>(v.as_uint64()) : -1;
  if (v.is_double() && v.as_double() >= 0 && v.as_double() < 9e15 &&
      v.as_double() == static_cast<double>(static_cast<int64_t>(v.as_double())))
    return static_cast<int64_t>(v.as_double());
  return -1;
}

// OpenAI's usage object {prompt_tokens, completion_tokens}, where `o` has one.
void read_usage(const json::object& o, parsed_reply& r) {
  auto it = o.find("usage");
  if (it == o.end() || !it->value().is_object()) return;
  auto& u = it->value().as_object();
  if (auto n = count_at(u, "prompt_tokens"); n >= 0) r.prompt_tokens = n;
  if (auto n = count_at(u, "completion_tokens"); n >= 0) r.completion_tokens = n;
}

parsed_reply failure(error_class cls, std::string message) {
  parsed_reply r;
  r.failure = cls;
  r.error_message = std::move(message);
  return r;
}

// At most 300 bytes of a body, for error messages.
std::string excerpt(std::string_view body) {
  return std::string(body.substr(0, 300)) + (body.size() > 300 ? "..." : "");
}

// The message of an error object: {"error": "text"} or {"error": {"message": ..., "code": ...}}.
std::string error_text(const json::object& o) {
  auto it = o.find("error");
  if (it == o.end() || it->value().is_null()) return "";
  if (it->value().is_string()) return std::string(it->value().as_string());
  if (it->value().is_object()) {
    auto& e = it->value().as_object();
    auto msg = string_at(e, "message");
    auto code = e.contains("code") && !e.at("code").is_null() ? json::serialize(e.at("code")) : "";
    return code.empty() ? msg : msg + " (code " + code + ")";
  }
  return json::serialize(it->value());
}

parsed_reply parse_openai(const json::object& o) {
  if (auto err = error_text(o); !err.empty()) return failure(error_class::provider_error, err);
  auto it = o.find("choices");
  if (it == o.end() || !it->value().is_array() || it->value().as_array().empty() ||
      !it->value().as_array()[0].is_object())
    return failure(error_class::bad_response, "no choices in the completion");
  auto& choice = it->value().as_array()[0].as_object();
  auto msg = choice.find("message");
  if (msg == choice.end() || !msg->value().is_object())
    return failure(error_class::bad_response, "the first choice has no message");
  auto content = msg->value().as_object().find("content");
  if (content == msg->value().as_object().end() || !content->value().is_string())
    return failure(error_class::bad_response, "the message has no text content");
  parsed_reply r;
  r.ok = true;
  r.text = std::string(content->value().as_string());
  r.model = string_at(o, "model");
  r.finish_reason = string_at(choice, "finish_reason");
  read_usage(o, r);
  return r;
}

parsed_reply parse_ollama(const json::object& o) {
  if (auto err = error_text(o); !err.empty()) return failure(error_class::provider_error, err);
  auto msg = o.find("message");
  if (msg == o.end() || !msg->value().is_object() ||
      !msg->value().as_object().contains("content") ||
      !msg->value().as_object().at("content").is_string())
    return failure(error_class::bad_response, "no message content in the chat reply");
  parsed_reply r;
  r.ok = true;
  r.text = std::string(msg->value().as_object().at("content").as_string());
  r.model = string_at(o, "model");
  r.prompt_tokens = count_at(o, "prompt_eval_count");
  r.completion_tokens = count_at(o, "eval_count");
  r.finish_reason = string_at(o, "done_reason");
  return r;
}

// Usage where a Beacon endpoint puts it: Modal's tokens_generated (completion tokens only), an
// OpenAI-style usage object, a finish_reason; read from `o` (top level, then metadata).
// Fills only what `r` does not have yet.
void read_beacon_usage(const json::object& o, parsed_reply& r) {
  parsed_reply found;
  read_usage(o, found);
  if (found.completion_tokens < 0) found.completion_tokens = count_at(o, "tokens_generated");
  if (r.prompt_tokens < 0) r.prompt_tokens = found.prompt_tokens;
  if (r.completion_tokens < 0) r.completion_tokens = found.completion_tokens;
  if (r.finish_reason.empty()) r.finish_reason = string_at(o, "finish_reason");
}

// The router and Modal endpoints both carry success/response/error; the router adds
// provider_used, error_code and metadata.region, Modal a top-level region and tokens_generated.
parsed_reply parse_beacon(const json::object& o) {
  auto success = o.find("success");
  if (success == o.end() || !success->value().is_bool())
    return failure(error_class::bad_response, "no boolean success field");
  parsed_reply r;
  r.served_by = string_at(o, "provider_used");
  r.model = string_at(o, "model");
  std::string region = string_at(o, "region");
  read_beacon_usage(o, r);
  if (auto meta = o.find("metadata"); meta != o.end() && meta->value().is_object()) {
    auto& m = meta->value().as_object();
    if (region.empty()) region = string_at(m, "region");
    if (r.model.empty()) r.model = string_at(m, "model");
    read_beacon_usage(m, r);
  }
  if (!region.empty()) r.served_region = canonical_region(region);
  if (!success->value().as_bool()) {
    auto code = string_at(o, "error_code");
    auto err = error_text(o);
    r.failure = error_class::provider_error;
    r.error_message =
        (code.empty() ? "" : code + ": ") + (err.empty() ? "the provider reported a failure" : err);
    return r;
  }
  auto text = o.find("response");
  if (text == o.end() || !text->value().is_string())
    return failure(error_class::bad_response, "success without a response text");
  r.ok = true;
  r.text = std::string(text->value().as_string());
  return r;
}

}  // namespace

std::optional<protocol> parse_protocol(std::string_view name) {
  if (name == "openai") return protocol::openai;
  if (name == "ollama") return protocol::ollama;
  if (name == "beacon_router" || name == "router") return protocol::beacon_router;
  if (name == "modal") return protocol::modal;
  return std::nullopt;
}

std::string_view to_string(protocol p) {
  switch (p) {
    case protocol::openai:
      return "openai";
    case protocol::ollama:
      return "ollama";
    case protocol::beacon_router:
      return "beacon_router";
    case protocol::modal:
      return "modal";
  }
  return "unknown";
}

wire_request build_request(protocol p, const call_input& in) {
  auto& g = in.generation;
  switch (p) {
    case protocol::openai: {
      json::object body{{"model", in.model},
                        {"messages", chat_messages(in)},
                        {"temperature", g.temperature},
                        {"max_tokens", g.max_tokens},
                        {"stream", false}};
      if (g.top_p > 0) body["top_p"] = g.top_p;
      if (g.has_seed) body["seed"] = g.seed;
      return {"/v1/chat/completions", json::serialize(body)};
    }
    case protocol::ollama: {
      json::object options{{"temperature", g.temperature}, {"num_predict", g.max_tokens}};
      if (g.top_p > 0) options["top_p"] = g.top_p;
      if (g.has_seed) options["seed"] = g.seed;
      return {"/api/chat", json::serialize(json::object{{"model", in.model},
                                                        {"messages", chat_messages(in)},
                                                        {"stream", false},
                                                        {"options", std::move(options)}})};
    }
    case protocol::beacon_router:
      // The router applies no system prompt of its own choosing from us: the regional prompt
      // travels in front of the question, as the original runner's hybrid executor sent it.
      return {"/inference",
              json::serialize(json::object{
                  {"model", in.model},
                  {"prompt",
                   in.system_prompt.empty() ? in.prompt : in.system_prompt + "\n\n" + in.prompt},
                  {"temperature", g.temperature},
                  {"max_tokens", g.max_tokens},
                  {"region_preference", in.region},
                  {"cost_priority", false}})};
    case protocol::modal:
      return {"", json::serialize(json::object{{"model", in.model},
                                               {"prompt", in.prompt},
                                               {"temperature", g.temperature},
                                               {"max_tokens", g.max_tokens},
                                               {"region", in.region}})};
  }
  return {};
}

std::string unsent_settings(protocol p, const generation_settings& g) {
  if (p == protocol::openai || p == protocol::ollama) return "";
  std::string out;
  if (g.top_p > 0) out = "top_p";
  if (g.has_seed) out += out.empty() ? "seed" : ",seed";
  return out;
}

parsed_reply parse_response(protocol p, long http_status, std::string_view body) {
  auto status = std::to_string(http_status);
  if (http_status >= 300 && http_status < 400)
    return failure(error_class::redirect,
                   "HTTP " + status + " redirect (a serverless backend shedding load)");
  if (http_status == 429) return failure(error_class::rate_limited, "HTTP 429: " + excerpt(body));
  if (http_status >= 400 && http_status < 500)
    return failure(error_class::http_4xx, "HTTP " + status + ": " + excerpt(body));
  if (http_status >= 500)
    return failure(error_class::http_5xx, "HTTP " + status + ": " + excerpt(body));
  if (http_status < 200) return failure(error_class::bad_response, "HTTP status " + status);
  json::error_code ec;
  auto doc = json::parse(body, ec);
  if (ec || !doc.is_object())
    return failure(error_class::bad_response, "the body is not a JSON object: " + excerpt(body));
  auto& o = doc.as_object();
  switch (p) {
    case protocol::openai:
      return parse_openai(o);
    case protocol::ollama:
      return parse_ollama(o);
    case protocol::beacon_router:
    case protocol::modal:
      return parse_beacon(o);
  }
  return failure(error_class::bad_response, "unknown protocol");
}

int64_t retry_after_ms(std::string_view header) {
  constexpr int64_t hour_ms = 3'600'000;
  std::string h(header);
  h.erase(0, h.find_first_not_of(" \t"));
  h.erase(h.find_last_not_of(" \t\r\n") + 1);
  if (h.empty()) return 0;
  if (std::all_of(h.begin(), h.end(), [](unsigned char c) { return std::isdigit(c); }))
    return h.size() > 7 ? hour_ms : std::min<int64_t>(std::stoll(h) * 1000, hour_ms);
  std::tm tm{};
  if (!strptime(h.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm)) return 0;
  auto at = std::chrono::system_clock::from_time_t(timegm(&tm));
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(at - std::chrono::system_clock::now())
          .count();
  return std::clamp<int64_t>(ms, 0, hour_ms);
}

std::string health_url(protocol p, const std::string& base_url) {
  switch (p) {
    case protocol::openai:
      return base_url + "/v1/models";
    case protocol::ollama:
      return base_url + "/api/tags";
    case protocol::beacon_router:
      return base_url + "/health";
    case protocol::modal: {
      auto at = base_url.rfind("-inference");
      if (at == std::string::npos) return base_url + "/health";
      return base_url.substr(0, at) + "-health" + base_url.substr(at + 10);
    }
  }
  return base_url + "/health";
}

bool health_body_ok(std::string_view body) {
  json::error_code ec;
  auto v = json::parse(body, ec);
  if (ec || !v.is_object()) return true;
  auto* st = v.as_object().if_contains("status");
  if (!st || !st->is_string()) return true;
  auto s = st->as_string();
  return s == "healthy" || s == "ok" || s == "up" || s == "alive" || s == "ready";
}

}  // namespace beacon::providers
