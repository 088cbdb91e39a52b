// The test harness.
#include "tests/harness.hpp"

#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <filesystem>
#include <memory>
#include <mutex>
#include <pqxx/pqxx>

#include "domain/job_spec.hpp"
#include "http/admission.hpp"
#include "providers/system_prompt.hpp"
#include "storage/embedded_postgres.hpp"
#include "storage/job_store.hpp"
#include "storage/migrations.hpp"

namespace beacon::test {
namespace {

struct cluster {
  std::filesystem::path dir;
  std::unique_ptr<storage::embedded_postgres> pg;
  cluster() {
    dir = std::filesystem::temp_directory_path() / ("beacon-test-" + std::to_string(getpid()));
    std::filesystem::remove_all(dir);
    storage::embedded_postgres_options o;
    o.dir = dir;
    o.durable = false;
    o.database = "postgres";
    pg = std::make_unique<storage::embedded_postgres>(o);
    pg->start();
  }
  ~cluster() {
    pg->stop();
    pg.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

cluster& the_cluster() {
  static cluster c;
  return c;
}

}  // namespace

std::string fresh_database() {
  return fresh_database(storage::embedded_migrations());
}

std::string fresh_database(const std::vector<storage::migration>& migrations) {
  static std::atomic<int> counter{0};
  auto& c = the_cluster();
  auto name = "t" + std::to_string(getpid()) + "_" + std::to_string(counter++);
  {
    pqxx::connection admin{c.pg->connection_string("postgres")};
    pqxx::nontransaction tx{admin};
    tx.exec("CREATE DATABASE " + tx.quote_name(name));
  }
  auto url = c.pg->connection_string(name);
  pqxx::connection conn{url};
  storage::apply_migrations(conn, migrations);
  return url;
}

int64_t query_int(const std::string& url, const std::string& sql) {
  pqxx::connection conn{url};
  pqxx::nontransaction tx{conn};
  auto r = tx.exec(sql);
  if (r.empty() || r[0][0].is_null()) return -1;
  return r[0][0].as<int64_t>();
}

std::vector<std::string> query_column(const std::string& url, const std::string& sql) {
  pqxx::connection conn{url};
  pqxx::nontransaction tx{conn};
  std::vector<std::string> out;
  for (auto row : tx.exec(sql)) out.push_back(row[0].is_null() ? "" : row[0].as<std::string>());
  return out;
}

void exec(const std::string& url, const std::string& sql) {
  pqxx::connection conn{url};
  pqxx::nontransaction tx{conn};
  tx.exec(sql);
}

std::vector<std::string> builtin_question_ids() {
  std::vector<std::string> ids;
  for (auto& q : builtin_questions()) ids.push_back(q.id);
  return ids;
}

std::string job_json(const std::string& id, const std::vector<std::string>& questions,
                     const std::vector<std::string>& models,
                     const std::vector<std::string>& regions, int runs, double min_success_rate,
                     int64_t provider_timeout_ns, int64_t timeout_ns) {
  boost::json::array q, m, r;
  for (auto& x : questions) q.push_back(boost::json::value(x));
  for (auto& x : models) m.push_back(boost::json::value(x));
  for (auto& x : regions) r.push_back(boost::json::value(x));
  boost::json::object spec{{"id", id},
                           {"version", "v1"},
                           {"benchmark", {{"name", "bias-detection"}}},
                           {"constraints",
                            {{"regions", r},
                             {"min_regions", 1},
                             {"min_success_rate", min_success_rate},
                             {"timeout", timeout_ns},
                             {"provider_timeout", provider_timeout_ns}}},
                           {"metadata", {{"models", m}}},
                           {"questions", q},
                           {"runs", runs}};
  return boost::json::serialize(spec);
}

std::string admit_spec(const std::string& url, const std::string& json, int32_t max_retries) {
  pqxx::connection conn{url};
  admission_settings settings;
  settings.max_retries = max_retries;
  auto r = admit(conn, json, settings);
  if (r.status != 202) throw std::runtime_error("admission failed: " + r.body);
  return r.job_id;
}

std::string counter_mismatch(const std::string& url, const std::string& job_id) {
  pqxx::connection conn{url};
  pqxx::nontransaction tx{conn};
  auto q = tx.quote(job_id);
  const char* statuses[] = {"pending", "running", "completed", "failed", "timeout", "cancelled"};
  for (auto st : statuses) {
    auto col = std::string(st) + "_cells";
    auto actual =
        "(SELECT count(*) FROM executions e WHERE e.job_id = " + q + " AND e.status = '" + st + "'";
    auto job = tx.exec("SELECT " + col + " = " + actual + ") FROM jobs WHERE id = " + q);
    if (job.empty() || !job[0][0].as<bool>()) return "jobs." + col;
    auto cross = tx.exec("SELECT " + col + " = " + actual +
                         ") FROM cross_region_executions WHERE job_id = " + q);
    if (cross.empty() || !cross[0][0].as<bool>()) return "cross_region_executions." + col;
    auto bad =
        tx.exec("SELECT r.region FROM region_results r WHERE r.job_id = " + q + " AND r." + col +
                " <> (SELECT count(*) FROM executions e WHERE e.job_id = r.job_id AND e.region = "
                "r.region AND e.status = '" +
                st + "')");
    if (!bad.empty()) return "region_results." + col + " of " + bad[0][0].as<std::string>();
  }
  return "";
}

}  // namespace beacon::test
