// The libcurl multi loop.
#include "providers/http_client.hpp"

#include <curl/curl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <unordered_map>

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
    o.failure = error_class::bad_response;
    o.error_message = "the response body exceeds " + std::to_string(t.call.max_body) + " bytes";
  } else if (code == CURLE_OPERATION_TIMEDOUT) {
    o.failure = error_class::timeout;
    o.error_message = "no complete answer within " + std::to_string(t.call.total_timeout.count()) +
                      " ms (" + o.error_message + ")";
  } else {
    // Refused, unreachable, reset mid-response, TLS failures: the connection failed us.
    o.failure = error_class::connect_error;
    long status = 0;
    curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &status);
    if (status > 0)
      o.error_message = "the connection broke mid-response, after HTTP " + std::to_string(status) +
                        " headers and " + std::to_string(t.body.size()) + " body bytes (" +
                        o.error_message + ")";
  }
  return o;
}

}  // namespace

// Event-driven: libcurl tells us which sockets to watch (epoll) and when its next timeout is;
// we hand back only the sockets that are ready, so a wake-up costs O(ready), not O(transfers).
struct http_client::impl {
  CURLM* multi = nullptr;
  int epfd = -1;
  int wakefd = -1;  // eventfd: submit() and cancel() wake the loop
  std::optional<std::chrono::steady_clock::time_point> deadline;  // libcurl's next timeout
  std::thread loop;
  std::mutex mutex;
  std::vector<std::unique_ptr<transfer>> incoming;
  std::vector<uint64_t> cancels;
  std::unordered_map<uint64_t, std::unique_ptr<transfer>> active;  // owned while in the multi
  std::vector<CURL*> spare;  // reset easy handles, reused by later transfers
  std::atomic<uint64_t> next_id{1};
  std::atomic<size_t> open{0};  // submitted, callback not run yet
  std::atomic<bool> stopping{false};
  std::atomic<bool> woken{false};

  // libcurl keeps `socketp` per socket until it removes it: non-null means "in our epoll set".
  static int on_socket(CURL*, curl_socket_t s, int what, void* userp, void* socketp) {
    auto* self = static_cast<impl*>(userp);
    if (what == CURL_POLL_REMOVE) {
      epoll_ctl(self->epfd, EPOLL_CTL_DEL, s, nullptr);
      return 0;
    }
    epoll_event ev{};
    ev.data.fd = s;
    ev.events = ((what & CURL_POLL_IN) ? EPOLLIN : 0u) | ((what & CURL_POLL_OUT) ? EPOLLOUT : 0u);
    if (socketp) {
      epoll_ctl(self->epfd, EPOLL_CTL_MOD, s, &ev);
    } else {
      epoll_ctl(self->epfd, EPOLL_CTL_ADD, s, &ev);
      curl_multi_assign(self->multi, s, self);
    }
    return 0;
  }

  static int on_timer(CURLM*, long timeout_ms, void* userp) {
    auto* self = static_cast<impl*>(userp);
    if (timeout_ms < 0)
      self->deadline.reset();
    else
      self->deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    return 0;
  }

  // One eventfd write per batch of submits: the loop clears `woken` before it takes the queue,
  // so a submit that finds it set is sure to be taken by that pass.
  void wake() {
    if (woken.exchange(true)) return;
    uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wakefd, &one, sizeof one);
  }

  void start(std::unique_ptr<transfer> t) {
    if (!spare.empty()) {
      t->easy = spare.back();
      spare.pop_back();
    } else {
      t->easy = curl_easy_init();
    }
    if (!t->easy) {
      http_outcome o;
      o.failure = error_class::connect_error;
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
    if (!t->call.ca_file.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, t->call.ca_file.c_str());
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
      o.failure = error_class::cancelled;
      o.error_message = "the transfer was cancelled";
    }
    if (spare.size() < 4096) {
      curl_easy_reset(t->easy);
      spare.push_back(t->easy);
      t->easy = nullptr;
    }
    t->done(std::move(o));
  }

  void take_finished() {
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi, &queued)) {
      if (msg->msg != CURLMSG_DONE) continue;
      transfer* t = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &t);
      finish(t->id, msg->data.result);
    }
  }

  void run() {
    epoll_event events[512];
    int running = 0;
    while (!stopping) {
      std::vector<std::unique_ptr<transfer>> fresh;
      std::vector<uint64_t> cancelled;
      woken.store(false);
      {
        std::lock_guard<std::mutex> guard{mutex};
        fresh.swap(incoming);
        cancelled.swap(cancels);
      }
      for (auto& t : fresh) start(std::move(t));
      for (auto id : cancelled) finish(id, std::nullopt);
      int wait_ms = 1000;
      if (deadline) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            *deadline - std::chrono::steady_clock::now());
        wait_ms = static_cast<int>(std::clamp<int64_t>(left.count(), 0, 1000));
      }
      int n = epoll_wait(epfd, events, 512, wait_ms);
      for (int i = 0; i < n; ++i) {
        int fd = events[i].data.fd;
        if (fd == wakefd) {
          uint64_t count;
          [[maybe_unused]] auto r = ::read(wakefd, &count, sizeof count);
          continue;
        }
        int flags = 0;
        if (events[i].events & EPOLLIN) flags |= CURL_CSELECT_IN;
        if (events[i].events & EPOLLOUT) flags |= CURL_CSELECT_OUT;
        if (events[i].events & (EPOLLERR | EPOLLHUP)) flags |= CURL_CSELECT_ERR;
        curl_multi_socket_action(multi, fd, flags, &running);
      }
      if (deadline && std::chrono::steady_clock::now() >= *deadline) {
        deadline.reset();
        curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
      }
      take_finished();
    }
    for (auto& t : incoming) {
      http_outcome o;
      o.failure = error_class::cancelled;
      o.error_message = "the HTTP client stopped";
      t->done(std::move(o));
    }
    std::vector<uint64_t> ids;
    for (auto& kv : active) ids.push_back(kv.first);
    for (auto id : ids) finish(id, std::nullopt);
    for (auto* e : spare) curl_easy_cleanup(e);
    spare.clear();
  }
};

http_client::http_client(size_t max_idle) : impl_(std::make_unique<impl>()) {
  std::call_once(curl_init_once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  impl_->multi = curl_multi_init();
  if (!impl_->multi) throw std::runtime_error("libcurl: curl_multi_init failed");
  impl_->epfd = epoll_create1(EPOLL_CLOEXEC);
  impl_->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (impl_->epfd < 0 || impl_->wakefd < 0) throw std::runtime_error("epoll/eventfd failed");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = impl_->wakefd;
  epoll_ctl(impl_->epfd, EPOLL_CTL_ADD, impl_->wakefd, &ev);
  curl_multi_setopt(impl_->multi, CURLMOPT_SOCKETFUNCTION, &impl::on_socket);
  curl_multi_setopt(impl_->multi, CURLMOPT_SOCKETDATA, impl_.get());
  curl_multi_setopt(impl_->multi, CURLMOPT_TIMERFUNCTION, &impl::on_timer);
  curl_multi_setopt(impl_->multi, CURLMOPT_TIMERDATA, impl_.get());
  // The providers bound their own concurrency; a second bound here would park transfers in
  // libcurl's pending queue, which it rescans whenever a connection frees (quadratic).
  curl_multi_setopt(impl_->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 0L);
  curl_multi_setopt(impl_->multi, CURLMOPT_MAXCONNECTS, static_cast<long>(max_idle));
  impl_->loop = std::thread([i = impl_.get()] { i->run(); });
}

http_client::~http_client() {
  impl_->stopping = true;
  impl_->wake();
  impl_->loop.join();
  curl_multi_cleanup(impl_->multi);
  ::close(impl_->epfd);
  ::close(impl_->wakefd);
}

uint64_t http_client::submit(http_call call, callback done) {
  auto t = std::make_unique<transfer>();
  t->id = impl_->next_id++;
  t->call = std::move(call);
  ++impl_->open;
  t->done = [i = impl_.get(), done = std::move(done)](http_outcome o) {
    --i->open;
    done(std::move(o));
  };
  auto id = t->id;
  {
    std::lock_guard<std::mutex> guard{impl_->mutex};
    impl_->incoming.push_back(std::move(t));
  }
  impl_->wake();
  return id;
}

size_t http_client::active() const {
  return impl_->open;
}

void http_client::cancel(uint64_t id) {
  {
    std::lock_guard<std::mutex> guard{impl_->mutex};
    impl_->cancels.push_back(id);
  }
  impl_->wake();
}

}  // namespace beacon::providers
