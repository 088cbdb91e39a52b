// Beast's parsed request to the handlers' request.
#include "http/request_parse.hpp"

#include <boost/url/parse.hpp>
#include <cctype>

#include "common/text.hpp"
#include "http/error_json.hpp"

namespace beacon::http {

namespace bhttp = boost::beast::http;

request to_request(const beast_request& req, std::string remote) {
  request out;
  out.remote = std::move(remote);
  out.method = std::string(req.method_string());
  out.target = std::string(req.target());
  out.body = req.body();
  for (auto& f : req) {
    std::string name(f.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers[name] = std::string(f.value());
  }
  if (auto it = out.headers.find("content-type"); it != out.headers.end())
    out.content_type = it->second;
  auto parsed = boost::urls::parse_origin_form(out.target);
  if (!parsed) {
    out.path = out.target;
    out.target_problem = "the request target is not a valid URL path (a bad % escape?)";
    out.target_field = "path";
    return out;
  }
  out.path = parsed->path();
  if (!text::storable(out.path)) {
    out.target_problem = "the path decodes to a NUL character or invalid UTF-8";
    out.target_field = "path";
  }
  for (auto p : parsed->params()) {
    auto& value = out.query[p.key] = p.has_value ? p.value : "";
    if (out.target_problem.empty() && (!text::storable(p.key) || !text::storable(value))) {
      out.target_problem = "a query parameter decodes to a NUL character or invalid UTF-8";
      // The parameter by name when it has a printable one, else the query as a whole.
      bool named = !p.key.empty() && text::storable(p.key);
      out.target_field = named ? std::string(p.key) : "query";
    }
  }
  return out;
}

std::optional<response> transfer_coding_refusal(const beast_parser& parser) {
  auto& head = parser.get();
  auto it = head.find(bhttp::field::transfer_encoding);
  if (it == head.end()) return std::nullopt;
  auto value = text::trim(std::string_view(it->value().data(), it->value().size()));
  if (text::equal_ignoring_case(value, "chunked") &&
      head.count(bhttp::field::transfer_encoding) == 1)
    return std::nullopt;
  if (!parser.chunked())
    return response{
        400, error_json("Transfer-Encoding must end with chunked; got " + std::string(it->value()),
                        "bad_transfer_encoding", {{"field", "Transfer-Encoding"}})};
  return response{
      501,
      error_json("only the chunked transfer coding is supported; got " + std::string(it->value()),
                 "unsupported_transfer_encoding", {{"field", "Transfer-Encoding"}})};
}

}  // namespace beacon::http
