// A connection for a writer that holds row locks inside its transactions (the persistence
// actor's group commits lock lease rows FOR SHARE, the lease keeper's heartbeat updates them).
#pragma once

#include <chrono>
#include <memory>
#include <pqxx/connection>
#include <string>

namespace beacon::storage {

// Opens a connection whose transaction PostgreSQL ends when it idles `stuck_after` between
// statements: a node paused mid-transaction (SIGSTOP, a frozen VM) would otherwise keep its row
// locks, and no other node could take its jobs over until it resumed. A writer never idles in a
// transaction by itself; one that resumes finds its connection closed and reconnects.
std::unique_ptr<pqxx::connection> open_writer_connection(const std::string& url,
                                                         std::chrono::milliseconds stuck_after);

}  // namespace beacon::storage
