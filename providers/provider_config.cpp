// Provider configuration parsing.
#include "providers/provider_config.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

#include "domain/job_spec.hpp"

namespace json = boost::json;

namespace beacon {
namespace {

[[noreturn]] void bad(const std::string& where, const std::string& what) {
  throw std::invalid_argument("provider " + where + ": " + what);
}

std::string text(const json::object& o, const char* key, const std::string& where, bool required,
                 std::string fallback = "") {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) {
    if (required) bad(where, std::string(key) + " is required");
    return fallback;
  }
  if (!it->value().is_string() || it->value().as_string().empty())
    bad(where, std::string(key) + " must be a non-empty string");
  return std::string(it->value().as_string());
}

int64_t number(const json::object& o, const char* key, const std::string& where, int64_t fallback,
               int64_t min, int64_t max) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return fallback;
  if (!it->value().is_int64() && !it->value().is_uint64())
    bad(where, std::string(key) + " must be an integer");
  auto v = it->value().is_int64() ? it->value().as_int64()
                                  : static_cast<int64_t>(it->value().as_uint64());
  if (v < min || v > max)
    bad(where, std::string(key) + " must be between " + std::to_string(min) + " and " +
                   std::to_string(max));
  return v;
}

// A price per million tokens: a non-negative number at `key` of `o`.
double price_at(const json::object& o, const char* key, const std::string& where) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_number()) bad(where, std::string(key) + " must be a number");
  double v = it->value().to_number<double>();
  if (!(v >= 0 && v <= 1e9)) bad(where, std::string(key) + " must be between 0 and 1e9");
  return v;
}

model_price price_of(const json::object& o, const std::string& where) {
  return {price_at(o, "input_per_million", where), price_at(o, "output_per_million", where)};
}

// prices: {currency, input_per_million, output_per_million, models: {id: {input_per_million,
// output_per_million}}}; absent: the provider's costs are unknown.
price_list read_prices(const json::object& o, const std::string& where,
                       const std::vector<std::string>& models) {
  price_list p;
  auto it = o.find("prices");
  if (it == o.end() || it->value().is_null()) return p;
  if (!it->value().is_object()) bad(where, "prices must be an object");
  auto& po = it->value().as_object();
  p.priced = true;
  p.currency = text(po, "currency", where + " prices", true);
  p.all = price_of(po, where + " prices");
  if (auto m = po.find("models"); m != po.end() && !m->value().is_null()) {
    if (!m->value().is_object()) bad(where, "prices.models must be an object");
    for (auto& kv : m->value().as_object()) {
      auto id = std::string(kv.key());
      if (std::find(models.begin(), models.end(), id) == models.end())
        bad(where, "prices.models." + id + " is not one of the provider's models");
      if (!kv.value().is_object()) bad(where, "prices.models." + id + " must be an object");
      p.models[id] = price_of(kv.value().as_object(), where + " prices.models." + id);
    }
  }
  return p;
}

http_provider_config parse_entry(const json::value& v, size_t index, std::set<std::string>& names) {
  auto where = "#" + std::to_string(index);
  if (!v.is_object()) bad(where, "must be an object");
  auto& o = v.as_object();
  http_provider_config c;
  c.id = text(o, "name", where, true);
  where = "'" + c.id + "'";
  if (!names.insert(c.id).second) bad(where, "the name is used twice");
  auto kind = text(o, "kind", where, true);
  auto proto = providers::parse_protocol(kind);
  if (!proto) bad(where, "kind '" + kind + "' is not openai, ollama, beacon_router or modal");
  c.protocol = *proto;
  c.base_url = text(o, "base_url", where, true);
  auto url = boost::urls::parse_absolute_uri(c.base_url);
  if (!url || (url->scheme() != "http" && url->scheme() != "https") || url->host().empty())
    bad(where, "base_url '" + c.base_url + "' is not an http(s) URL");
  while (!c.base_url.empty() && c.base_url.back() == '/') c.base_url.pop_back();
  c.region = canonical_region(text(o, "region", where, true));
  auto models = o.find("models");
  if (models == o.end() || !models->value().is_array() || models->value().as_array().empty())
    bad(where, "models must be a non-empty array of model ids");
  for (auto& m : models->value().as_array()) {
    if (!m.is_string() || m.as_string().empty()) bad(where, "models must hold non-empty strings");
    c.models.emplace_back(m.as_string());
  }
  c.max_concurrency = static_cast<size_t>(number(o, "max_concurrency", where, 16, 1, 100'000));
  c.connect_timeout =
      std::chrono::milliseconds(number(o, "connect_timeout_ms", where, 10'000, 1, 600'000));
  c.request_timeout =
      std::chrono::milliseconds(number(o, "timeout_ms", where, 300'000, 1, 86'400'000));
  c.max_body = static_cast<size_t>(number(o, "max_body_bytes", where, 4 << 20, 1024, 1ll << 30));
  c.health_interval =
      std::chrono::milliseconds(number(o, "health_interval_ms", where, 10'000, 0, 86'400'000));
  auto health_path = text(o, "health_path", where, false);
  c.health_url = health_path.empty()
                     ? providers::health_url(c.protocol, c.base_url)
                     : c.base_url + (health_path.front() == '/' ? "" : "/") + health_path;
  c.failure_threshold = static_cast<int>(number(o, "failure_threshold", where, 5, 1, 1'000));
  c.circuit_open =
      std::chrono::milliseconds(number(o, "circuit_open_ms", where, 1'000, 1, 3'600'000));
  c.rate_limit_debounce =
      std::chrono::milliseconds(number(o, "rate_limit_debounce_ms", where, 1'000, 0, 600'000));
  c.prices = read_prices(o, where, c.models);
  c.ca_file = text(o, "ca_file", where, false);
  if (!c.ca_file.empty() && !std::ifstream(c.ca_file))
    bad(where, "ca_file " + c.ca_file + " cannot be read");
  auto env = text(o, "auth_env", where, false);
  if (!env.empty()) {
    const char* secret = std::getenv(env.c_str());
    if (!secret || !*secret) bad(where, "auth_env names " + env + ", which is not set");
    c.auth_header = text(o, "auth_header", where, false, "Authorization") + ": " +
                    text(o, "auth_scheme", where, false, "Bearer") + " " + secret;
  }
  return c;
}

}  // namespace

std::vector<http_provider_config> parse_provider_config(const std::string& json_text) {
  json::error_code ec;
  auto doc = json::parse(json_text, ec);
  if (ec) throw std::invalid_argument("providers: not valid JSON: " + ec.message());
  const json::array* list = nullptr;
  if (doc.is_array()) {
    list = &doc.as_array();
  } else if (doc.is_object() && doc.as_object().contains("providers") &&
             doc.as_object().at("providers").is_array()) {
    list = &doc.as_object().at("providers").as_array();
  } else {
    throw std::invalid_argument("providers: expected {\"providers\": [...]} or an array");
  }
  std::vector<http_provider_config> out;
  std::set<std::string> names;
  std::string currency;
  for (size_t i = 0; i < list->size(); ++i) {
    out.push_back(parse_entry((*list)[i], i, names));
    auto& p = out.back().prices;
    if (!p.priced) continue;
    if (currency.empty()) currency = p.currency;
    if (p.currency != currency)
      throw std::invalid_argument("provider '" + out.back().id + "': prices are in " + p.currency +
                                  ", another provider's in " + currency +
                                  "; a node's prices share one currency");
  }
  return out;
}

std::vector<http_provider_config> load_provider_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::invalid_argument("providers file " + path + " cannot be read");
  std::stringstream buf;
  buf << in.rdbuf();
  try {
    return parse_provider_config(buf.str());
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(path + ": " + e.what());
  }
}

}  // namespace beacon
