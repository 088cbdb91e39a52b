// The SQL of job leases. Every take goes through ON CONFLICT or SKIP LOCKED, so two nodes racing
// for one job never both win, and every take draws a new token from job_lease_tokens.
#include "storage/lease_store.hpp"

#include <pqxx/pqxx>

#include "storage/pg_arrays.hpp"
#include "storage/prepared.hpp"

namespace beacon::storage {
namespace {

constexpr const char* take_sql = R"sql(
INSERT INTO job_leases (job_id, node_id, token, expires_at)
SELECT id, $2, nextval('job_lease_tokens'), now() + $3 * interval '1 millisecond'
  FROM jobs WHERE id = $1 AND status IN ('queued', 'running')
ON CONFLICT (job_id) DO UPDATE
   SET node_id = excluded.node_id, token = excluded.token, expires_at = excluded.expires_at,
       taken_at = now()
 WHERE job_leases.expires_at < now() OR job_leases.node_id = excluded.node_id
RETURNING token)sql";

constexpr const char* renew_sql = R"sql(
UPDATE job_leases l SET expires_at = now() + $2 * interval '1 millisecond'
  FROM jobs j
 WHERE l.node_id = $1 AND j.id = l.job_id
RETURNING l.job_id, l.token, j.cancel_requested_at IS NOT NULL,
          j.status IN ('queued', 'running'))sql";

constexpr const char* take_lapsed_sql = R"sql(
WITH lapsed AS (
  SELECT l.job_id FROM job_leases l JOIN jobs j ON j.id = l.job_id
   WHERE (l.expires_at < now() OR (l.node_id = $1 AND $4))
     AND j.status IN ('queued', 'running')
   ORDER BY l.expires_at LIMIT $3
     FOR UPDATE OF l SKIP LOCKED)
UPDATE job_leases l
   SET node_id = $1, token = nextval('job_lease_tokens'),
       expires_at = now() + $2 * interval '1 millisecond', taken_at = now()
  FROM lapsed, jobs j
 WHERE l.job_id = lapsed.job_id AND j.id = l.job_id
RETURNING l.job_id, l.token, j.cancel_requested_at IS NOT NULL)sql";

constexpr const char* take_unowned_sql = R"sql(
INSERT INTO job_leases (job_id, node_id, token, expires_at)
SELECT j.id, $1, nextval('job_lease_tokens'), now() + $2 * interval '1 millisecond'
  FROM (SELECT id FROM jobs
         WHERE status IN ('queued', 'running')
           AND updated_at < now() - $4 * interval '1 millisecond'
           AND NOT EXISTS (SELECT 1 FROM job_leases l WHERE l.job_id = jobs.id)
         ORDER BY created_at, id LIMIT $3) j
ON CONFLICT (job_id) DO NOTHING
RETURNING job_id, token)sql";

constexpr prepared_statement fence_sql = {"beacon_fence", R"sql(
SELECT l.job_id FROM job_leases l, unnest($1::text[], $2::bigint[]) AS h(job_id, token)
 WHERE l.job_id = h.job_id AND l.token = h.token
   FOR SHARE OF l)sql"};

held_lease lease_from(const pqxx::row& row) {
  return {row[0].as<std::string>(), row[1].as<int64_t>(), row.size() > 2 && row[2].as<bool>(),
          row.size() <= 3 || row[3].as<bool>()};
}

}  // namespace

int64_t take_lease(pqxx::work& tx, const std::string& job_id, const std::string& node_id,
                   int64_t ttl_ms) {
  auto rows = tx.exec_params(take_sql, job_id, node_id, ttl_ms);
  return rows.empty() ? 0 : rows[0][0].as<int64_t>();
}

std::vector<held_lease> renew_leases(pqxx::work& tx, const std::string& node_id, int64_t ttl_ms) {
  std::vector<held_lease> out;
  for (auto row : tx.exec_params(renew_sql, node_id, ttl_ms)) out.push_back(lease_from(row));
  return out;
}

std::vector<held_lease> take_over_leases(pqxx::work& tx, const std::string& node_id, int64_t ttl_ms,
                                         int32_t limit, int64_t unowned_grace_ms, bool own) {
  std::vector<held_lease> out;
  for (auto row : tx.exec_params(take_lapsed_sql, node_id, ttl_ms, limit, own))
    out.push_back(lease_from(row));
  auto left = limit - static_cast<int32_t>(out.size());
  if (left > 0)
    for (auto row : tx.exec_params(take_unowned_sql, node_id, ttl_ms, left, unowned_grace_ms))
      out.push_back(lease_from(row));
  return out;
}

void release_lease(pqxx::work& tx, const std::string& job_id, const std::string& node_id,
                   int64_t token) {
  tx.exec_params("DELETE FROM job_leases WHERE job_id = $1 AND node_id = $2 AND token = $3", job_id,
                 node_id, token);
}

void lapse_leases(pqxx::work& tx, const std::string& node_id) {
  tx.exec_params(
      "UPDATE job_leases SET expires_at = now() - interval '1 millisecond' WHERE node_id = $1",
      node_id);
}

std::vector<std::string> fenced_jobs(pqxx::work& tx,
                                     const std::unordered_map<std::string, int64_t>& held) {
  std::vector<std::string> jobs, valid;
  std::vector<int64_t> tokens;
  for (auto& [job, token] : held) {
    jobs.push_back(job);
    tokens.push_back(token);
  }
  if (jobs.empty()) return valid;
  for (auto row : exec_prepared(tx, fence_sql, text_array(jobs), int_array(tokens)))
    valid.push_back(row[0].as<std::string>());
  return valid;
}

std::string lease_owner(pqxx::transaction_base& tx, const std::string& job_id) {
  auto rows = tx.exec_params(
      "SELECT node_id FROM job_leases WHERE job_id = $1 AND expires_at > now()", job_id);
  return rows.empty() ? std::string() : rows[0][0].as<std::string>();
}

}  // namespace beacon::storage
