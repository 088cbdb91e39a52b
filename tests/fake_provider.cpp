// The fault-injecting provider.
#include "tests/fake_provider.hpp"

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "tests/loopback.hpp"

namespace beacon::test {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;

const char* reason_of(int status) {
  static const std::map<int, const char*> reasons = {{200, "OK"},
                                                     {303, "See Other"},
                                                     {400, "Bad Request"},
                                                     {429, "Too Many Requests"},
                                                     {500, "Internal Server Error"},
                                                     {502, "Bad Gateway"},
                                                     {503, "Service Unavailable"}};
  auto it = reasons.find(status);
  return it == reasons.end() ? "Status" : it->second;
}

std::string head(int status, size_t length, const std::string& extra = "") {
  return "HTTP/1.1 " + std::to_string(status) + " " + reason_of(status) +
         "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(length) +
         "\r\n" + extra + "\r\n";
}

std::string text_at(const json::value& v, std::initializer_list<const char*> path) {
  const json::value* cur = &v;
  for (auto key : path) {
    if (!cur->is_object()) return "";
    cur = cur->as_object().if_contains(key);
    if (!cur) return "";
  }
  return cur->is_string() ? std::string(cur->as_string()) : "";
}

// A correct answer in the protocol of `path`.
std::string answer(const std::string& region, const std::string& path, const std::string& body) {
  if (path == "/health" || path == "/v1/models" || path == "/api/tags" ||
      path.find("health") != std::string::npos)
    return R"({"status":"healthy"})";
  json::error_code ec;
  auto req = json::parse(body, ec);
  auto model = ec ? std::string("unknown") : text_at(req, {"model"});
  auto text = "fake answer from " + region + " (" + model + ")";
  if (path == "/v1/chat/completions")
    return json::serialize(json::object{
        {"id", "chatcmpl-fake"},
        {"model", model},
        {"choices",
         json::array{json::object{{"index", 0},
                                  {"message", {{"role", "assistant"}, {"content", text}}},
                                  {"finish_reason", "stop"}}}}});
  if (path == "/api/chat")
    return json::serialize(json::object{
        {"model", model}, {"message", {{"role", "assistant"}, {"content", text}}}, {"done", true}});
  if (path == "/inference")
    return json::serialize(json::object{{"success", true},
                                        {"response", text},
                                        {"provider_used", "fake-" + region},
                                        {"metadata", {{"region", region}, {"model", model}}}});
  return json::serialize(
      json::object{{"success", true}, {"response", text}, {"model", model}, {"region", region}});
}

}  // namespace

// What the I/O thread's sessions share with the test thread; sessions hold it, so it outlives
// the handlers the io_context destroys last.
struct shared_state {
  std::string region;
  std::mutex m;
  fake_provider::plan current;
  size_t index = 0;
  size_t concurrent = 0;
  size_t peak = 0;
  std::map<std::string, size_t> paths;
  std::vector<std::shared_ptr<void>> held;  // hung sessions, kept open until the end
};

struct fake_provider::impl {
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::thread thread;
  uint16_t port = 0;
  std::shared_ptr<shared_state> shared = std::make_shared<shared_state>();

  void accept();
};

namespace {

struct session : std::enable_shared_from_this<session> {
  std::shared_ptr<shared_state> owner;
  tcp::socket sock;
  beast::flat_buffer buf;
  http::request<http::string_body> req;
  asio::steady_timer timer;
  std::string out;
  size_t trickled = 0;
  bool counted = false;

  session(std::shared_ptr<shared_state> o, tcp::socket s, asio::io_context& io)
      : owner(std::move(o)), sock(std::move(s)), timer(io) {}

  void read() {
    req = {};
    http::async_read(sock, buf, req, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (!ec) self->handle();
    });
  }

  void done_counting() {
    if (!counted) return;
    counted = false;
    std::lock_guard<std::mutex> g{owner->m};
    --owner->concurrent;
  }

  void handle() {
    seen_request r;
    r.method = std::string(req.method_string());
    r.path = std::string(req.target());
    r.body = req.body();
    fault_step step;
    {
      std::lock_guard<std::mutex> g{owner->m};
      r.index = owner->index++;
      ++owner->paths[r.path];
      if (!r.health()) {
        counted = true;
        r.concurrent = ++owner->concurrent;
        owner->peak = std::max(owner->peak, owner->concurrent);
      }
      if (owner->current) step = owner->current(r);
    }
    timer.expires_after(step.delay);
    timer.async_wait([self = shared_from_this(), step, r](beast::error_code ec) {
      if (!ec) self->act(step, r);
    });
  }

  void write(std::string bytes, bool keep_alive = true) {
    out = std::move(bytes);
    asio::async_write(sock, asio::buffer(out),
                      [self = shared_from_this(), keep_alive](beast::error_code ec, size_t) {
                        self->done_counting();
                        if (!ec && keep_alive) self->read();
                      });
  }

  void status(int code, const std::string& body, const std::string& extra = "") {
    write(head(code, body.size(), extra) + body);
  }

  void act(const fault_step& step, const seen_request& r) {
    auto ok = answer(owner->region, r.path, r.body);
    switch (step.kind) {
      case fault::none:
        return status(200, ok);
      case fault::rate_limited:
        return status(429, R"({"error":{"message":"rate limit exceeded"}})",
                      "Retry-After: " + std::to_string(step.retry_after_s) + "\r\n");
      case fault::status_400:
        return status(400, R"({"error":{"message":"unsupported parameter"}})");
      case fault::status_500:
        return status(500, R"({"error":{"message":"internal error"}})");
      case fault::status_502:
        return status(502, "<html>bad gateway</html>");
      case fault::status_503:
        return status(503, R"({"error":{"message":"overloaded"}})");
      case fault::see_other:
        return status(303, "", "Location: /elsewhere\r\n");
      case fault::malformed_json:
        return status(200, R"({"choices": [{"message": {"content": "cut o)");
      case fault::oversize:
        return status(200, std::string(step.body_bytes, 'x'));
      case fault::content_filtered:
        return status(200,
                      R"({"model":"m","choices":[{"index":0,"message":{"role":"assistant",)"
                      R"("content":"I cannot continue this"},"finish_reason":"content_filter"}],)"
                      R"("usage":{"prompt_tokens":12,"completion_tokens":4,"total_tokens":16}})");
      case fault::router_failure:
        return status(200, R"({"success":false,"error":"model not loaded on any provider",)"
                           R"("error_code":"MODEL_UNAVAILABLE","provider_used":""})");
      case fault::hang: {
        std::lock_guard<std::mutex> g{owner->m};
        owner->held.push_back(shared_from_this());
        return;
      }
      case fault::reset_mid_body: {
        out = head(200, ok.size()) + ok.substr(0, ok.size() / 2);
        asio::async_write(sock, asio::buffer(out),
                          [self = shared_from_this()](beast::error_code, size_t) {
                            beast::error_code ignored;
                            self->sock.set_option(asio::socket_base::linger(true, 0), ignored);
                            self->sock.close(ignored);
                            self->done_counting();
                          });
        return;
      }
      case fault::trickle:
        out = head(200, ok.size()) + ok;
        trickled = 0;
        return trickle(step.trickle_every);
    }
  }

  // Sends the prepared answer one byte at a time.
  void trickle(std::chrono::milliseconds every) {
    if (trickled >= out.size()) {
      done_counting();
      return read();
    }
    asio::async_write(sock, asio::buffer(out.data() + trickled, 1),
                      [self = shared_from_this(), every](beast::error_code ec, size_t) {
                        if (ec) return self->done_counting();
                        ++self->trickled;
                        self->timer.expires_after(every);
                        self->timer.async_wait([self, every](beast::error_code ec) {
                          if (!ec) self->trickle(every);
                        });
                      });
  }

  ~session() { done_counting(); }
};

}  // namespace

void fake_provider::impl::accept() {
  acceptor.async_accept([this](beast::error_code ec, tcp::socket s) {
    if (ec) return;
    std::make_shared<session>(shared, std::move(s), io)->read();
    accept();
  });
}

fake_provider::fake_provider(std::string region, plan p) : impl_(std::make_unique<impl>()) {
  impl_->shared->region = std::move(region);
  impl_->shared->current = std::move(p);
  impl_->port = listen_on_loopback(impl_->acceptor);
  impl_->accept();
  impl_->thread = std::thread([i = impl_.get()] { i->io.run(); });
}

fake_provider::~fake_provider() {
  impl_->io.stop();
  impl_->thread.join();
  std::vector<std::shared_ptr<void>> held;
  {
    std::lock_guard<std::mutex> g{impl_->shared->m};
    held.swap(impl_->shared->held);
  }
  held.clear();  // hung sessions close here (they lock the shared state as they go)
}

std::string fake_provider::url() const {
  return "http://127.0.0.1:" + std::to_string(impl_->port);
}

void fake_provider::set_plan(plan p) {
  std::lock_guard<std::mutex> g{impl_->shared->m};
  impl_->shared->current = std::move(p);
}

size_t fake_provider::requests(const std::string& prefix) const {
  std::lock_guard<std::mutex> g{impl_->shared->m};
  size_t n = 0;
  for (auto& kv : impl_->shared->paths)
    if (kv.first.rfind(prefix, 0) == 0) n += kv.second;
  return n;
}

size_t fake_provider::peak_concurrent() const {
  std::lock_guard<std::mutex> g{impl_->shared->m};
  return impl_->shared->peak;
}

fake_provider::plan always(fault_step step) {
  return [step](const seen_request&) { return step; };
}

fake_provider::plan first_calls(size_t n, fault_step step) {
  auto used = std::make_shared<std::atomic<size_t>>(0);
  return [n, step, used](const seen_request& r) {
    if (r.health() || used->fetch_add(1) >= n) return fault_step{};
    return step;
  };
}

}  // namespace beacon::test
