// The command-line client.
#include "app/client.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "app/progress_view.hpp"
#include "app/report.hpp"
#include "common/clock.hpp"
#include "domain/status.hpp"
#include "http/sse.hpp"

namespace beacon {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;

// The node could not be reached (exit code 2).
struct unreachable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct endpoint {
  std::string host;
  std::string port;
};

endpoint parse_node(const std::string& url) {
  auto u = boost::urls::parse_uri(url);
  if (!u || u->scheme() != "http" || u->host().empty())
    throw std::invalid_argument("--node must be an http:// URL, not '" + url + "'");
  return {std::string(u->host()), u->has_port() ? std::string(u->port()) : "80"};
}

struct reply {
  unsigned status = 0;
  json::value body;
};

reply call(const client_options& o, bhttp::verb method, const std::string& target,
           const std::string& body = "") {
  auto ep = parse_node(o.node_url);
  asio::io_context io;
  beast::tcp_stream stream{io};
  try {
    stream.expires_after(std::chrono::seconds(30));
    stream.connect(tcp::resolver{io}.resolve(ep.host, ep.port));
    bhttp::request<bhttp::string_body> req{method, target, 11};
    req.set(bhttp::field::host, ep.host);
    if (!o.token.empty()) req.set(bhttp::field::authorization, "Bearer " + o.token);
    if (method == bhttp::verb::post) {
      req.set(bhttp::field::content_type, "application/json");
      req.body() = body.empty() ? "{}" : body;
      req.prepare_payload();
    }
    bhttp::write(stream, req);
    beast::flat_buffer buf;
    bhttp::response<bhttp::string_body> res;
    bhttp::read(stream, buf, res);
    json::error_code ec;
    auto parsed = json::parse(res.body(), ec);
    return {res.result_int(), ec ? json::value(res.body()) : std::move(parsed)};
  } catch (const beast::system_error& e) {
    throw unreachable("cannot reach the node at " + o.node_url + ": " + e.code().message());
  }
}

// Prints the API's error JSON and returns exit code 1.
int refused(const reply& r) {
  auto* o = r.body.if_object();
  auto text = [&](const char* k) -> std::string {
    if (!o || !o->contains(k) || !o->at(k).is_string()) return "";
    return std::string(o->at(k).as_string());
  };
  std::fprintf(stderr, "beacon: HTTP %u: %s%s\n", r.status,
               text("error").empty() ? json::serialize(r.body).c_str() : text("error").c_str(),
               text("error_code").empty() ? "" : (" (" + text("error_code") + ")").c_str());
  return 1;
}

int64_t int_at(const json::object& o, const char* k) {
  auto* v = o.if_contains(k);
  return v && v->is_int64() ? v->as_int64() : 0;
}

std::string str_at(const json::object& o, const char* k) {
  auto* v = o.if_contains(k);
  return v && v->is_string() ? std::string(v->as_string()) : "";
}

// Reads a job status word the node sent; found stays false for any other word.
void read_job_status(job_progress& p, const std::string& word) {
  if (auto s = parse_job_status(word)) {
    p.found = true;
    p.status = *s;
  }
}

// A job_progress from the progress / snapshot JSON.
job_progress progress_of(const json::object& o) {
  job_progress p;
  p.job_id = str_at(o, "job_id");
  read_job_status(p, str_at(o, "status"));
  p.reason = str_at(o, "reason");
  if (auto* qs = o.if_contains("questions"); qs && qs->is_array())
    for (auto& q : qs->as_array()) {
      question_progress qp;
      qp.question_id = str_at(q.as_object(), "question_id");
      for (auto s : all_cell_statuses)
        qp.counts[index_of(s)] = static_cast<int32_t>(int_at(q.as_object(), word(s).c_str()));
      p.questions.push_back(std::move(qp));
    }
  return p;
}

int verdict(const job_progress& p) {
  std::printf("\nJob %s: %s%s%s\n", p.job_id.c_str(), word(p.status).c_str(),
              p.reason.empty() ? "" : " - ", p.reason.c_str());
  return p.status == job_status::completed ? 0 : 1;
}

// Reads server-sent events from one connection, calling `on_event(id, type, data)` until it
// returns false (done) or the connection ends (returns true then: reconnect).
template <class F>
bool read_events(const client_options& o, const std::string& job_id, const std::string& last_id,
                 F&& on_event) {
  auto ep = parse_node(o.node_url);
  asio::io_context io;
  tcp::socket sock{io};
  asio::connect(sock, tcp::resolver{io}.resolve(ep.host, ep.port));
  std::string req = "GET /api/v1/jobs/" + job_id + "/events HTTP/1.1\r\nHost: " + ep.host +
                    "\r\nAccept: text/event-stream\r\n";
  if (!last_id.empty()) req += "Last-Event-ID: " + last_id + "\r\n";
  asio::write(sock, asio::buffer(req + "\r\n"));
  std::string buf;  // the response head until it is complete, then the bytes of one read
  http::sse_parser parser;
  bool in_body = false;
  char chunk[16384];
  for (;;) {
    beast::error_code ec;
    auto n = sock.read_some(asio::buffer(chunk), ec);
    if (ec) return true;
    buf.append(chunk, n);
    if (!in_body) {
      auto end = buf.find("\r\n\r\n");
      if (end == std::string::npos) continue;
      auto head = buf.substr(0, end);
      if (head.find(" 200 ") == std::string::npos) {
        auto first = head.substr(0, head.find('\r'));
        throw std::runtime_error("the node refused the event stream: " + first);
      }
      buf.erase(0, end + 4);
      in_body = true;
    }
    for (auto& e : parser.feed(buf)) {
      if (!on_event(e.id, e.type, e.data)) return false;
    }
    buf.clear();
  }
}

// Runs a command; an unreachable node is exit code 2.
template <class F>
int reachable(F&& f) {
  try {
    return f();
  } catch (const unreachable& e) {
    std::fprintf(stderr, "beacon: %s\n", e.what());
    return 2;
  }
}

}  // namespace

int run_follow(const client_options& o, const std::string& job_id) {
  try {
    progress_view view;
    job_progress p;
    p.job_id = job_id;
    std::string last_id;
    auto last_draw = std::chrono::steady_clock::time_point{};
    auto draw = [&](bool force) {
      auto now = std::chrono::steady_clock::now();
      if (!force && now - last_draw < std::chrono::milliseconds(100)) return;
      view.show(p);
      last_draw = now;
    };
    for (int attempt = 0; attempt < 30; ++attempt) {
      bool ended = false;
      bool again = read_events(o, job_id, last_id, [&](auto& id, auto& type, auto& data) {
        if (!id.empty()) last_id = id;
        auto d = json::parse(data).as_object();
        if (type == "snapshot") {
          p = progress_of(d);
          p.job_id = job_id;
        } else if (type == "cell") {
          auto qi = static_cast<size_t>(int_at(d, "question_index"));
          if (qi < p.questions.size()) {
            auto& c = p.questions[qi].counts;
            auto from = parse_cell_status(str_at(d, "from"));
            auto to = parse_cell_status(str_at(d, "status"));
            if (from) --c[index_of(*from)];
            if (to) ++c[index_of(*to)];
          }
        } else if (type == "job") {
          read_job_status(p, str_at(d, "status"));
          p.reason = str_at(d, "reason");
        }
        ended = p.found && is_terminal(p.status);
        draw(ended);
        return !ended;
      });
      if (ended) return verdict(p);
      if (!again) break;
      std::this_thread::sleep_for(std::chrono::seconds(1));  // reconnect from last_id
    }
    std::fprintf(stderr, "beacon: the event stream of %s ended before the job did\n",
                 job_id.c_str());
    return 2;
  } catch (const beast::system_error& e) {
    std::fprintf(stderr, "beacon: cannot reach the node at %s: %s\n", o.node_url.c_str(),
                 e.code().message().c_str());
    return 2;
  }
}

std::pair<unsigned, boost::json::value> node_get(const client_options& o,
                                                 const std::string& target) {
  auto r = call(o, bhttp::verb::get, target);
  return {r.status, std::move(r.body)};
}

int run_submit(const client_options& o, const std::string& spec_path, bool follow) {
  return reachable([&]() -> int {
    std::ifstream in(spec_path);
    if (!in) {
      std::fprintf(stderr, "beacon: cannot read %s\n", spec_path.c_str());
      return 1;
    }
    std::stringstream spec;
    spec << in.rdbuf();
    auto r = call(o, bhttp::verb::post, "/api/v1/jobs", spec.str());
    if (r.status != 202 && r.status != 200) return refused(r);
    auto id = str_at(r.body.as_object(), "id");
    std::printf("submitted %s (%lld cells)\n", id.c_str(),
                static_cast<long long>(int_at(r.body.as_object(), "total_cells")));
    return follow ? run_follow(o, id) : 0;
  });
}

// " tokens 123 in / 456 out, cost 0.0123 (2 answers without a cost)" from a usage object.
std::string usage_text(const json::object& parent) {
  auto* u = parent.if_contains("usage");
  if (!u || !u->is_object()) return "";
  auto& o = u->as_object();
  auto cost = o.if_contains("cost");
  char buf[200];
  std::snprintf(buf, sizeof buf, "tokens %lld in / %lld out, cost %.6g",
                static_cast<long long>(int_at(o, "prompt_tokens")),
                static_cast<long long>(int_at(o, "completion_tokens")),
                cost && cost->is_number() ? cost->to_number<double>() : 0.0);
  std::string out = buf;
  if (auto n = int_at(o, "uncosted_cells"); n > 0)
    out += " (" + std::to_string(n) + " answers without a known cost)";
  return out;
}

int run_status(const client_options& o, const std::string& job_id) {
  return reachable([&]() -> int {
    auto r = call(o, bhttp::verb::get, "/api/v1/jobs/" + job_id + "/progress");
    if (r.status != 200) return refused(r);
    auto& d = r.body.as_object();
    auto p = progress_of(d);
    auto& cells = d.at("cells").as_object();
    std::printf("Job %s: %s%s%s, %lld of %lld cells done\n", p.job_id.c_str(),
                str_at(d, "status").c_str(), p.reason.empty() ? "" : " - ", p.reason.c_str(),
                static_cast<long long>(int_at(cells, "done")),
                static_cast<long long>(int_at(cells, "total")));
    if (auto u = usage_text(d); !u.empty()) std::printf("Usage: %s\n", u.c_str());
    for (auto& l : progress_lines(p)) std::printf("%s\n", l.c_str());
    for (auto part : {"models", "regions"}) {
      std::printf("\nBy %s:\n", part[0] == 'm' ? "model" : "region");
      for (auto& x : d.at(part).as_array()) {
        auto& g = x.as_object();
        std::printf(
            "  %-20s completed %lld  failed %lld  timeout %lld  running %lld  pending %lld\n",
            str_at(g, part[0] == 'm' ? "model_id" : "region").c_str(),
            static_cast<long long>(int_at(g, "completed")),
            static_cast<long long>(int_at(g, "failed")),
            static_cast<long long>(int_at(g, "timeout")),
            static_cast<long long>(int_at(g, "running")),
            static_cast<long long>(int_at(g, "pending")));
        if (auto u = usage_text(g); !u.empty()) std::printf("  %-20s %s\n", "", u.c_str());
      }
    }
    return 0;
  });
}

int run_cancel(const client_options& o, const std::string& job_id) {
  return reachable([&]() -> int {
    auto r = call(o, bhttp::verb::post, "/api/v1/jobs/" + job_id + "/cancel");
    if (r.status != 200 && r.status != 202) return refused(r);
    auto& d = r.body.as_object();
    if (auto* ok = d.if_contains("ok"); ok && ok->is_bool() && !ok->as_bool()) {
      std::printf("%s\n", str_at(d, "message").c_str());
      return 1;
    }
    std::printf("%s: %s -> %s, %lld cells cancelled\n", job_id.c_str(),
                str_at(d, "previous_status").c_str(), str_at(d, "new_status").c_str(),
                static_cast<long long>(int_at(d, "executions_cancelled")));
    return 0;
  });
}

int run_jobs(const client_options& o, int limit) {
  return reachable([&]() -> int {
    auto r = call(o, bhttp::verb::get, "/api/v1/jobs?limit=" + std::to_string(limit));
    if (r.status != 200) return refused(r);
    std::printf("%-40s %-10s %-25s %s\n", "ID", "STATUS", "CREATED", "CELLS");
    for (auto& j : r.body.as_object().at("jobs").as_array()) {
      auto& o2 = j.as_object();
      std::printf("%-40s %-10s %-25s %lld/%lld\n", str_at(o2, "id").c_str(),
                  str_at(o2, "status").c_str(), str_at(o2, "created_at").c_str(),
                  static_cast<long long>(int_at(o2, "completed_cells")),
                  static_cast<long long>(int_at(o2, "total_cells")));
    }
    return 0;
  });
}

int stream_export(const client_options& o, const std::string& job_id, const std::string& format,
                  const std::function<void(const char*, size_t)>& sink) {
  auto ep = parse_node(o.node_url);
  asio::io_context io;
  beast::tcp_stream stream{io};
  bhttp::response_parser<bhttp::buffer_body> parser;
  beast::flat_buffer buf;
  try {
    stream.connect(tcp::resolver{io}.resolve(ep.host, ep.port));
    bhttp::request<bhttp::empty_body> req{
        bhttp::verb::get, "/api/v1/jobs/" + job_id + "/export?format=" + format, 11};
    req.set(bhttp::field::host, ep.host);
    bhttp::write(stream, req);
    bhttp::read_header(stream, buf, parser);
  } catch (const beast::system_error& e) {
    throw unreachable("cannot reach the node at " + o.node_url + ": " + e.code().message());
  }
  if (parser.get().result_int() != 200) {
    bhttp::response_parser<bhttp::string_body> rest{std::move(parser)};
    bhttp::read(stream, buf, rest);
    json::error_code ec;
    auto parsed = json::parse(rest.get().body(), ec);
    return refused({rest.get().result_int(), ec ? json::value(rest.get().body()) : parsed});
  }
  parser.body_limit(boost::none);
  char chunk[65536];
  while (!parser.is_done()) {
    parser.get().body().data = chunk;
    parser.get().body().size = sizeof chunk;
    beast::error_code ec;
    bhttp::read(stream, buf, parser, ec);
    if (ec && ec != bhttp::error::need_buffer) {
      std::fprintf(stderr, "beacon: the export of %s broke off: %s\n", job_id.c_str(),
                   ec.message().c_str());
      return 1;
    }
    sink(chunk, sizeof chunk - parser.get().body().size);
  }
  return 0;
}

int run_export(const client_options& o, const std::string& job_id, const std::string& format,
               const std::string& output) {
  return reachable([&]() -> int {
    std::ofstream file;
    if (!output.empty()) {
      file.open(output, std::ios::binary | std::ios::trunc);
      if (!file) throw std::runtime_error("cannot write " + output);
    }
    std::ostream& out = output.empty() ? std::cout : file;
    auto code = stream_export(o, job_id, format, [&](const char* data, size_t n) {
      out.write(data, static_cast<std::streamsize>(n));
    });
    out.flush();
    return code;
  });
}

int run_report(const client_options& o, const std::string& job_id, const std::string& output) {
  return reachable([&]() -> int {
    report_data data;
    for (auto [target, into] :
         {std::pair{"/api/v1/jobs/" + job_id, &data.job},
          std::pair{"/api/v1/jobs/" + job_id + "/progress", &data.progress},
          std::pair{"/api/v2/jobs/" + job_id + "/bias-analysis", &data.analysis}}) {
      auto r = call(o, bhttp::verb::get, target);
      if (r.status == 200 && r.body.is_object())
        *into = r.body.as_object();
      else if (into != &data.analysis)  // a job without an analysis yet still has a report
        return refused(r);
    }
    std::string pending;
    auto code = stream_export(o, job_id, "jsonl", [&](const char* chunk, size_t n) {
      pending.append(chunk, n);
      size_t start = 0;
      for (auto end = pending.find('\n'); end != std::string::npos;
           start = end + 1, end = pending.find('\n', start)) {
        json::error_code ec;
        auto row = json::parse(std::string_view(pending).substr(start, end - start), ec);
        if (!ec && row.is_object()) add_export_row(data, row.as_object());
      }
      pending.erase(0, start);
    });
    if (code != 0) return code;
    std::ofstream file(output, std::ios::binary | std::ios::trunc);
    if (!file) throw std::runtime_error("cannot write " + output);
    file << report_html(data, format_rfc3339(now_us()));
    std::string capped =
        data.groups_capped ? " (side by side: the first " + std::to_string(report_max_groups) + ")"
                           : "";
    std::printf("wrote %s: %lld cells, %zu question x model groups%s\n", output.c_str(),
                static_cast<long long>(data.rows), data.groups.size(), capped.c_str());
    return file ? 0 : 1;
  });
}

}  // namespace beacon
