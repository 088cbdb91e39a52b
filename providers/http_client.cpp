// The libcurl multi loop.
#include "providers/http_client.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <unordered_map>

#include "providers/error_class.hpp"

namespace beacon::providers {
namespace {

std::once_flag curl_init_once;

struct transfer {
  uint64_t id = 0;
  http_call call;
  http_client::callback done;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  std::string body;
  std::string retry_after;
  bool over_cap = false;
  std::chrono::steady_clock::time_point started;

  ~transfer() {
    if (easy) curl_easy_cleanup(easy);
    if (headers) curl_slist_free_all(headers);
  }
};

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<transfer*>(user);
  size_t len = size * n;
  if (t->body.size() + len > t->call.max_body) {
    t->over_cap = true;
    return 0;  // aborts the transfer with CURLE_WRITE_ERROR
  }
  t->body.append(data, len);
  return len;
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<transfer*>(user);
  std::string line(data, size * n);
  std::string lower = line;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower.rfind("retry-after:", 0) == 0) {
    auto v = line.substr(12);
    v.erase(0, v.find_first_not_of(" \t"));
    v.erase(v.find_last_not_of(" \t\r\n") + 1);
    t->retry_after = v;
  }
  return size * n;
}

http_outcome outcome_of(transfer& t, CURLcode code) {
  http_outcome o;
  o.elapsed_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t.started)
          .count();
  o.retry_after = t.retry_after;
  if (code == CURLE_OK) {
    curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &o.status);
    o.body = std::move(t.body);
    return o;
  }
  o.error_message = curl_easy_strerror(code);
  if (t.over_cap) {
    o.error_class = error_class::bad_response;
    o.error_message = "the response body exceeds " + std::to_string(t.call.max_body) + " bytes";
  } else if (code == CURLE_OPERATION_TIMEDOUT) {
    o.error_class = error_class::timeout;
    o.error_message = "no complete answer within " + std::to_string(t.call.total_timeout.count()) +
                      " ms (" + o.error_message + ")";
  } else {
    // Refused, unreachable, reset mid-response, TLS failures: the connection failed us.
    o.error_class = error_class::connect_error;
  }
  return o;
}

}  // namespace

struct http_client::impl {
  CURLM* multi = nullptr;
  std::thread loop;
  std::mutex mutex;
  std::vector<std::unique_ptr<transfer>> incoming;
  std::vector<uint64_t> cancels;
  std::unordered_map<uint64_t, std::unique_ptr<transfer>> active;  // owned while in the multi
  std::atomic<uint64_t> next_id{1};
  std::atomic<bool> stopping{false};

  void start(std::unique_ptr<transfer> t) {
    t->easy = curl_easy_init();
    if (!t->easy) {
      http_outcome o;
      o.error_class = error_class::connect_error;
      o.error_message = "could not create a transfer";
      t->done(std::move(o));
      return;
    }
    for (auto& h : t->call.headers) t->headers = curl_slist_append(t->headers, h.c_str());
    auto* e = t->easy;
    curl_easy_setopt(e, CURLOPT_URL, t->call.url.c_str());
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
    if (!t->call.body.empty()) {
      curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->call.body.data());
      curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(t->call.body.size()));
    }
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t.get());
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, t.get());
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(t->call.connect_timeout.count()));
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(t->call.total_timeout.count()));
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);  // a 303 is a signal, not a detour
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(e, CURLOPT_PRIVATE, t.get());
    t->started = std::chrono::steady_clock::now();
    curl_multi_add_handle(multi, e);
    active.emplace(t->id, std::move(t));
  }

  void finish(uint64_t id, std::optional<CURLcode> code) {
    auto it = active.find(id);
    if (it == active.end()) return;
    auto t = std::move(it->second);
    active.erase(it);
    curl_multi_remove_handle(multi, t->easy);
    http_outcome o;
    if (code) {
      o = outcome_of(*t, *code);
    } else {
      o.error_class = error_class::cancelled;
      o.error_message = "the transfer was cancelled";
    }
    t->done(std::move(o));
  }

  void run() {
    while (!stopping) {
      std::vector<std::unique_ptr<transfer>> fresh;
      std::vector<uint64_t> cancelled;
      {
        std::lock_guard<std::mutex> guard{mutex};
        fresh.swap(incoming);
        cancelled.swap(cancels);
      }
      for (auto& t : fresh) start(std::move(t));
      for (auto id : cancelled) finish(id, std::nullopt);
      int running = 0;
      curl_multi_perform(multi, &running);
      int queued = 0;
      while (CURLMsg* msg = curl_multi_info_read(multi, &queued)) {
        if (msg->msg != CURLMSG_DONE) continue;
        transfer* t = nullptr;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &t);
        finish(t->id, msg->data.result);
      }
      curl_multi_poll(multi, nullptr, 0, 1000, nullptr);
    }
    for (auto& t : incoming) {
      http_outcome o;
      o.error_class = error_class::cancelled;
      o.error_message = "the HTTP client stopped";
      t->done(std::move(o));
    }
    std::vector<uint64_t> ids;
    for (auto& kv : active) ids.push_back(kv.first);
    for (auto id : ids) finish(id, std::nullopt);
  }
};

http_client::http_client(size_t max_per_host) : impl_(std::make_unique<impl>()) {
  std::call_once(curl_init_once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  impl_->multi = curl_multi_init();
  if (!impl_->multi) throw std::runtime_error("libcurl: curl_multi_init failed");
  curl_multi_setopt(impl_->multi, CURLMOPT_MAX_HOST_CONNECTIONS, static_cast<long>(max_per_host));
  curl_multi_setopt(impl_->multi, CURLMOPT_MAXCONNECTS, static_cast<long>(max_per_host));
  impl_->loop = std::thread([i = impl_.get()] { i->run(); });
}

http_client::~http_client() {
  impl_->stopping = true;
  curl_multi_wakeup(impl_->multi);
  impl_->loop.join();
  curl_multi_cleanup(impl_->multi);
}

uint64_t http_client::submit(http_call call, callback done) {
  auto t = std::make_unique<transfer>();
  t->id = impl_->next_id++;
  t->call = std::move(call);
  t->done = std::move(done);
  auto id = t->id;
  {
    std::lock_guard<std::mutex> guard{impl_->mutex};
    impl_->incoming.push_back(std::move(t));
  }
  curl_multi_wakeup(impl_->multi);
  return id;
}

void http_client::cancel(uint64_t id) {
  {
    std::lock_guard<std::mutex> guard{impl_->mutex};
    impl_->cancels.push_back(id);
  }
  curl_multi_wakeup(impl_->multi);
}

}  // namespace beacon::providers
