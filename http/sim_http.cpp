// The sim HTTP server's handler.
#include "http/sim_http.hpp"

#include <algorithm>
#include <boost/json.hpp>

#include "domain/job_spec.hpp"
#include "http/error_json.hpp"

namespace json = boost::json;

namespace beacon::providers {
namespace {

// The question id of a built-in prompt, else the prompt itself (the sim answers it generically).
std::string question_for(const std::string& prompt) {
  // The router path receives the regional system prompt in front of the question.
  auto ends_with = [&](const std::string& tail) {
    return prompt.size() >= tail.size() &&
           prompt.compare(prompt.size() - tail.size(), std::string::npos, tail) == 0;
  };
  for (auto& q : builtin_questions())
    if (ends_with(q.prompt)) return q.id;
  return prompt;
}

std::string string_at(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  return it != o.end() && it->value().is_string() ? std::string(it->value().as_string()) : "";
}

// The last user message of a chat request.
std::string user_text(const json::object& body) {
  auto it = body.find("messages");
  if (it == body.end() || !it->value().is_array()) return "";
  std::string text;
  for (auto& m : it->value().as_array())
    if (m.is_object() && string_at(m.as_object(), "role") == "user")
      text = string_at(m.as_object(), "content");
  return text;
}

const std::chrono::microseconds never = std::chrono::hours(1);

// The generation settings a request carries (temperature, a token limit at `max_key`, top_p,
// seed), as the sim honours them; absent ones keep their defaults.
generation_settings generation_in(const json::object& o, const char* max_key) {
  generation_settings g;
  if (auto* t = o.if_contains("temperature"); t && t->is_number())
    g.temperature = t->to_number<double>();
  if (auto* m = o.if_contains(max_key); m && m->is_int64())
    g.max_tokens = static_cast<int32_t>(std::clamp<int64_t>(m->as_int64(), 1, 1 << 20));
  if (auto* p = o.if_contains("top_p"); p && p->is_number()) g.top_p = p->to_number<double>();
  if (auto* seed = o.if_contains("seed"); seed && seed->is_int64()) {
    g.has_seed = true;
    g.seed = seed->as_int64();
  }
  return g;
}

struct sim_server {
  sim_http_options opts;
  std::atomic<uint64_t> calls{0};

  sim::decision decide(const std::string& model, const std::string& prompt,
                       const std::string& region, const generation_settings& g) {
    auto n = calls++;
    provider_request req{"http", question_for(prompt),
                         model,  region,
                         0,      static_cast<int32_t>(n % 1000000),
                         prompt, "",
                         0,      g};
    return sim::decide(opts.sim, req, region);
  }

  void chat(const json::object& body, bool ollama, const http::responder& reply) {
    auto model = string_at(body, "model");
    auto* options = ollama ? body.if_contains("options") : nullptr;
    auto g = generation_in(options && options->is_object() ? options->as_object() : body,
                           ollama ? "num_predict" : "max_tokens");
    auto d = decide(model, user_text(body), opts.region, g);
    if (d.what == sim::kind::hang) return reply({200, "{}"}, never);
    if (d.what == sim::kind::error)
      return reply({static_cast<unsigned>(d.http_status),
                    json::serialize(json::object{{"error", {{"message", d.error_message}}}})},
                   d.latency);
    json::object msg{{"role", "assistant"}, {"content", d.text}};
    json::object out =
        ollama ? json::object{{"model", model},
                              {"message", msg},
                              {"done", true},
                              {"done_reason", d.finish_reason},
                              {"prompt_eval_count", d.prompt_tokens},
                              {"eval_count", d.completion_tokens}}
               : json::object{
                     {"id", "sim-" + std::to_string(calls.load())},
                     {"object", "chat.completion"},
                     {"model", model},
                     {"choices",
                      json::array{json::object{
                          {"index", 0}, {"message", msg}, {"finish_reason", d.finish_reason}}}},
                     {"usage",
                      {{"prompt_tokens", d.prompt_tokens},
                       {"completion_tokens", d.completion_tokens},
                       {"total_tokens", d.prompt_tokens + d.completion_tokens}}}};
    reply({200, json::serialize(out)}, d.latency);
  }

  // The router and Modal shapes: always HTTP 200, success flag in the body.
  void beacon(const json::object& body, const std::string& region, bool router,
              const http::responder& reply) {
    auto model = string_at(body, "model");
    auto d = decide(model, string_at(body, "prompt"), canonical_region(region),
                    generation_in(body, "max_tokens"));
    if (d.what == sim::kind::hang) return reply({200, "{}"}, never);
    json::object out{{"success", d.what == sim::kind::answer}, {"model", model}};
    if (d.what == sim::kind::answer) {
      out["response"] = d.text;
      if (!router) out["tokens_generated"] = d.completion_tokens;  // as Modal reports it
    } else
      out["error"] = d.error_message;
    if (router) {
      out["provider_used"] = "sim-" + canonical_region(region);
      out["error_code"] = d.what == sim::kind::answer ? json::value(nullptr)
                                                      : json::value("PROVIDER_EXECUTION_FAILED");
      out["metadata"] = {{"provider_type", "sim"}, {"region", region}, {"model", model}};
    } else {
      out["region"] = region;
    }
    reply({200, json::serialize(out)}, d.latency);
  }
};

}  // namespace

http::async_handler sim_http_handler(sim_http_options opts) {
  auto srv = std::make_shared<sim_server>();
  srv->opts = std::move(opts);
  return [srv](const http::request& req, http::responder reply) {
    if (req.method == "GET") {
      auto ends_with = [&](std::string_view tail) {
        return req.path.size() >= tail.size() &&
               req.path.compare(req.path.size() - tail.size(), tail.size(), tail) == 0;
      };
      if (ends_with("/health")) return reply({200, R"({"status":"healthy"})"}, {});
      if (req.path == "/v1/models")
        return reply({200, R"({"object":"list","data":[{"id":"sim","object":"model"}]})"}, {});
      if (req.path == "/api/tags") return reply({200, R"({"models":[{"name":"sim"}]})"}, {});
    }
    if (req.method != "POST")
      return reply({405, http::error_json("use POST", "method_not_allowed")}, {});
    json::error_code ec;
    auto doc = json::parse(req.body, ec);
    if (ec || !doc.is_object())
      return reply({400, http::error_json("the body is not a JSON object", "invalid_json")}, {});
    auto& body = doc.as_object();
    if (req.path == "/v1/chat/completions") return srv->chat(body, false, reply);
    if (req.path == "/api/chat") return srv->chat(body, true, reply);
    if (req.path == "/inference" || req.path == "/v1/inference") {
      auto region = string_at(body, "region_preference");
      return srv->beacon(body, region.empty() ? srv->opts.region : region, true, reply);
    }
    if (req.path.rfind("/modal/", 0) == 0)
      return srv->beacon(body, req.path.substr(7), false, reply);
    reply({404, http::error_json("no route for " + req.path, "not_found")}, {});
  };
}

std::unique_ptr<http::server> start_sim_http(const sim_http_options& opts, const std::string& host,
                                             uint16_t port, uint16_t& bound) {
  http::server_options o;
  o.workers = 1;  // its handler answers on the I/O threads
  o.max_body_bytes = opts.max_body;
  o.io_threads = opts.io_threads;
  auto srv = std::make_unique<http::server>(sim_http_handler(opts), o);
  bound = srv->listen(host, port);
  return srv;
}

}  // namespace beacon::providers
