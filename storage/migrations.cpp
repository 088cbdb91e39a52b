// The migration runner.
#include "storage/migrations.hpp"

#include <sodium.h>

#include <algorithm>
#include <map>
#include <pqxx/pqxx>
#include <pqxx/transaction>

namespace beacon::storage {

std::string migration_checksum(const std::string& sql) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(sql.data()), sql.size());
  char hex[crypto_hash_sha256_BYTES * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  return hex;
}

std::vector<std::string> apply_migrations(pqxx::connection& conn,
                                          const std::vector<migration>& migrations) {
  auto sorted = migrations;
  std::sort(sorted.begin(), sorted.end(),
            [](const migration& a, const migration& b) { return a.name < b.name; });
  // One node migrates at a time: a session advisory lock held until we are done.
  pqxx::nontransaction lock{conn};
  lock.exec("SELECT pg_advisory_lock(7262034512)");
  lock.commit();
  std::vector<std::string> applied_now;
  try {
    std::map<std::string, std::string> applied;
    {
      pqxx::work tx{conn};
      tx.exec(
          "CREATE TABLE IF NOT EXISTS schema_migrations ("
          " name text PRIMARY KEY, checksum text NOT NULL,"
          " applied_at timestamptz NOT NULL DEFAULT now())");
      for (auto row : tx.exec("SELECT name, checksum FROM schema_migrations"))
        applied.emplace(row[0].as<std::string>(), row[1].as<std::string>());
      tx.commit();
    }
    for (auto& [name, sum] : applied) {
      auto it = std::find_if(sorted.begin(), sorted.end(),
                             [&](const migration& m) { return m.name == name; });
      if (it == sorted.end())
        throw migration_error("the database has migration " + name +
                              " which this binary does not know; refusing to start");
      if (migration_checksum(it->sql) != sum)
        throw migration_error("migration " + name + " was changed after it was applied (checksum " +
                              sum +
                              " in the "
                              "database); refusing to start. Add a new migration instead.");
    }
    for (auto& m : sorted) {
      if (applied.count(m.name)) continue;
      pqxx::work tx{conn};
      tx.exec(m.sql);
      tx.exec_params("INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)", m.name,
                     migration_checksum(m.sql));
      tx.commit();
      applied_now.push_back(m.name);
    }
  } catch (...) {
    pqxx::nontransaction unlock{conn};
    unlock.exec("SELECT pg_advisory_unlock(7262034512)");
    throw;
  }
  pqxx::nontransaction unlock{conn};
  unlock.exec("SELECT pg_advisory_unlock(7262034512)");
  return applied_now;
}

}  // namespace beacon::storage
