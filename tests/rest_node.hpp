// The REST suites' node: a fresh migrated database, REST on a loopback port the kernel picks, the
// sim answering in about 1 ms, two scheduler threads. Suites derive their fixtures from it.
#pragma once

#include <memory>
#include <string>

#include "app/node.hpp"
#include "tests/harness.hpp"

namespace beacon::test {

struct rest_node {
  std::string url = fresh_database();
  std::unique_ptr<node> n;
  uint16_t port = 0;

  // (Re)starts the node with `cfg`; database, port, sim latency and threads are set here.
  void start(node_config cfg = {}, double sim_latency_ms = 1) {
    if (n) n->stop();
    cfg.database_url = url;
    cfg.http_port = 0;
    cfg.sim_latency_ms = sim_latency_ms;
    cfg.threads = 2;
    n = std::make_unique<node>(cfg);
    n->start(true);
    port = n->http_port();
  }
};

}  // namespace beacon::test
