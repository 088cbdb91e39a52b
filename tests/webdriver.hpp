// A headless Chromium driven over the W3C WebDriver protocol: starts Debian's chromedriver on a
// free loopback port, opens one session with /usr/bin/chromium (headless), and offers the few
// commands the page test needs. Everything goes over real HTTP (tests/http_client.hpp).
#pragma once

#include <sys/types.h>

#include <boost/json/value.hpp>
#include <string>

namespace beacon::test {

class webdriver {
 public:
  // Throws std::runtime_error when chromedriver or chromium is missing or does not start.
  webdriver();
  ~webdriver();
  webdriver(const webdriver&) = delete;
  webdriver& operator=(const webdriver&) = delete;

  void navigate(const std::string& url);
  // Runs `script` (a function body; `return` gives the result) in the page.
  boost::json::value execute(const std::string& script);
  // The element id of the first match of a CSS selector; throws when there is none.
  std::string find(const std::string& css);
  void click(const std::string& element);
  // The page as PNG bytes.
  std::string screenshot();

 private:
  boost::json::value command(const std::string& method, const std::string& path,
                             const boost::json::value& body);
  pid_t driver_ = -1;
  uint16_t port_ = 0;
  std::string session_;
};

}  // namespace beacon::test
