// The live progress page (web/), served from the files embedded at build time.
#include "http/embedded_files.hpp"
#include "http/handlers.hpp"
#include "http/route_util.hpp"

namespace beacon::http {
namespace {

std::string content_type_of(const std::string& name) {
  auto ends = [&](const char* ext) {
    std::string e(ext);
    return name.size() >= e.size() && name.compare(name.size() - e.size(), e.size(), e) == 0;
  };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  return "application/octet-stream";
}

response file(const std::string& name) {
  auto& all = embedded_files();
  auto it = all.find("web/" + name);
  if (it == all.end()) return error(404, "no file " + name + " on this page", "not_found");
  response r{200, it->second, content_type_of(name)};
  r.headers.emplace_back("Cache-Control", "no-cache");
  return r;
}

}  // namespace

response web_index(const route_context&, const request&, const path_params&) {
  return file("index.html");
}

response web_asset(const route_context&, const request&, const path_params& p) {
  return file(p[0]);
}

}  // namespace beacon::http
