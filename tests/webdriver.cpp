// WebDriver client.
#include "tests/webdriver.hpp"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <stdexcept>
#include <thread>

#include "common/crypto.hpp"
#include "tests/http_client.hpp"
#include "tests/loopback.hpp"

extern char** environ;

namespace beacon::test {
namespace {

uint16_t free_port() {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor acceptor{ioc};
  return listen_on_loopback(acceptor);  // closed on return; chromedriver binds it next
}

}  // namespace

webdriver::webdriver() {
  port_ = free_port();
  std::string port_arg = "--port=" + std::to_string(port_);
  const char* argv[] = {"chromedriver", port_arg.c_str(), "--log-level=WARNING", nullptr};
  if (posix_spawnp(&driver_, "chromedriver", nullptr, nullptr, const_cast<char**>(argv), environ) !=
      0)
    throw std::runtime_error("cannot run chromedriver (Debian package chromium-driver)");
  bool up = false;
  for (int i = 0; i < 200 && !up; ++i) {
    try {
      up = http_call(port_, "GET", "/status").status == 200;
    } catch (const std::exception&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  if (!up) throw std::runtime_error("chromedriver did not start on port " + std::to_string(port_));
  boost::json::object options{
      {"binary", "/usr/bin/chromium"},
      {"args", boost::json::array{"--headless=new", "--no-sandbox", "--disable-gpu",
                                  "--disable-dev-shm-usage", "--window-size=1400,1000",
                                  // No calls home: this machine's network is closed.
                                  "--disable-background-networking", "--disable-component-update",
                                  "--disable-sync", "--no-first-run", "--disable-quic"}}};
  boost::json::object caps{
      {"capabilities",
       {{"alwaysMatch", {{"browserName", "chrome"}, {"goog:chromeOptions", options}}}}}};
  auto reply = command("POST", "/session", caps);
  session_ = std::string(reply.as_object().at("sessionId").as_string());
}

webdriver::~webdriver() {
  try {
    if (!session_.empty()) http_call(port_, "DELETE", "/session/" + session_);
  } catch (const std::exception&) {
  }
  if (driver_ > 0) {
    kill(driver_, SIGTERM);
    int status = 0;
    waitpid(driver_, &status, 0);
  }
}

boost::json::value webdriver::command(const std::string& method, const std::string& path,
                                      const boost::json::value& body) {
  auto r = http_call(port_, method, path, boost::json::serialize(body));
  boost::json::error_code ec;
  auto doc = boost::json::parse(r.body, ec);
  if (ec || !doc.is_object())
    throw std::runtime_error("webdriver " + path + ": " + std::to_string(r.status) + " " + r.body);
  auto& value = doc.as_object()["value"];
  if (r.status != 200)
    throw std::runtime_error("webdriver " + path + ": " + boost::json::serialize(value));
  return value;
}

void webdriver::navigate(const std::string& url) {
  command("POST", "/session/" + session_ + "/url", boost::json::object{{"url", url}});
}

boost::json::value webdriver::execute(const std::string& script) {
  return command("POST", "/session/" + session_ + "/execute/sync",
                 boost::json::object{{"script", script}, {"args", boost::json::array{}}});
}

std::string webdriver::find(const std::string& css) {
  auto v = command("POST", "/session/" + session_ + "/element",
                   boost::json::object{{"using", "css selector"}, {"value", css}});
  // The W3C element reference key.
  return std::string(v.as_object().at("element-6066-11e4-a52e-4f735466cecf").as_string());
}

void webdriver::click(const std::string& element) {
  command("POST", "/session/" + session_ + "/element/" + element + "/click", boost::json::object{});
}

std::string webdriver::screenshot() {
  auto v = http_call(port_, "GET", "/session/" + session_ + "/screenshot");
  auto doc = boost::json::parse(v.body).as_object();
  auto png = crypto::base64_decode(doc["value"].as_string());
  if (!png) throw std::runtime_error("webdriver screenshot: not base64");
  return *png;
}

}  // namespace beacon::test
