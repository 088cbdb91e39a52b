// Storage against a real PostgreSQL: migrations, admission of the exact matrix, guarded writes,
// the transparency log.
#define CAF_SUITE storage
#define FAIL CAF_FAIL
#include <sys/stat.h>

#include <algorithm>
#include <map>
#include <optional>
#include <pqxx/pqxx>
#include <random>
#include <regex>
#include <set>
#include <thread>

#include "caf/test/dsl.hpp"
#include "common/clock.hpp"
#include "common/crypto.hpp"
#include "common/merkle.hpp"
#include "common/node_key.hpp"
#include "common/tree_head.hpp"
#include "storage/cell_writer.hpp"
#include "storage/connection_pool.hpp"
#include "storage/job_store.hpp"
#include "storage/migrations.hpp"
#include "storage/pg_arrays.hpp"
#include "storage/status_words.hpp"
#include "storage/transparency_store.hpp"
#include "storage/writer_connection.hpp"
#include "tests/harness.hpp"

using namespace beacon;
using namespace beacon::test;

CAF_TEST(migrations are recorded and a changed migration refuses to start) {
  auto url = fresh_database();
  pqxx::connection conn{url};
  CAF_CHECK(storage::apply_migrations(conn, storage::embedded_migrations()).empty());  // idempotent
  CAF_CHECK_EQUAL(query_int(url, "SELECT count(*) FROM schema_migrations"),
                  static_cast<int64_t>(storage::embedded_migrations().size()));
  auto changed = storage::embedded_migrations();
  changed[0].sql += "\n-- edited";
  BEACON_CHECK_THROWS(storage::apply_migrations(conn, changed), storage::migration_error);
  auto missing = storage::embedded_migrations();
  missing.erase(missing.begin());
  BEACON_CHECK_THROWS(storage::apply_migrations(conn, missing), storage::migration_error);
  auto extended = storage::embedded_migrations();
  extended.push_back({"9999_test.sql", "CREATE TABLE extra_table (x int);"});
  auto applied = storage::apply_migrations(conn, extended);
  CAF_CHECK_EQUAL(applied, std::vector<std::string>{"9999_test.sql"});
}

CAF_TEST(admission inserts exactly questions x models x regions x runs pending cells) {
  auto url = fresh_database();
  auto id = admit_spec(url, job_json("adm-1", {"math_basic", "taiwan_status", "custom question?"},
                                     {"llama3.2-1b", "mistral-7b"}, {"US", "EU", "ASIA", "SA"}, 3));
  CAF_CHECK_EQUAL(query_int(url, "SELECT count(*) FROM executions WHERE job_id = 'adm-1'"),
                  3 * 2 * 4 * 3);
  CAF_CHECK_EQUAL(query_int(url, "SELECT count(*) FROM executions WHERE status <> 'pending'"), 0);
  CAF_CHECK_EQUAL(
      query_int(url, "SELECT count(DISTINCT (region, model_id, question_id, run)) FROM executions"),
      72);
  CAF_CHECK_EQUAL(query_int(url, "SELECT total_cells FROM jobs WHERE id = 'adm-1'"), 72);
  CAF_CHECK_EQUAL(query_int(url, "SELECT pending_cells FROM jobs WHERE id = 'adm-1'"), 72);
  CAF_CHECK_EQUAL(query_int(url, "SELECT count(*) FROM region_results WHERE job_id = 'adm-1'"), 4);
  CAF_CHECK_EQUAL(query_int(url, "SELECT sum(total_cells) FROM region_results"), 72);
  CAF_CHECK_EQUAL(query_int(url,
                            "SELECT count(*) FROM executions WHERE system_prompt LIKE '%based in "
                            "Asia%' AND region = 'ASIA'"),
                  18);
  CAF_CHECK_EQUAL(query_int(url,
                            "SELECT count(*) FROM executions e JOIN cross_region_executions c"
                            " ON c.id = e.cross_region_execution_id"),
                  72);
  CAF_CHECK_EQUAL(counter_mismatch(url, id), "");
  // A duplicate id stores nothing more.
  pqxx::connection conn{url};
  auto again = storage::admit_job(
      conn, std::get<job_spec>(parse_job_spec(job_json("adm-1", {"q"}, {"m"}, {"US"}))),
      storage::retry_budget{}, {});
  CAF_CHECK(again.result == storage::admit_result::duplicate);
  CAF_CHECK_EQUAL(query_int(url, "SELECT count(*) FROM executions"), 72);
}

CAF_TEST(a terminal cell is never overwritten and counters follow committed transitions) {
  auto url = fresh_database();
  auto id = admit_spec(url, job_json("w-1", {"q"}, {"m"}, {"US", "EU"}, 1));
  pqxx::connection conn{url};
  auto ids = query_column(url, "SELECT id FROM executions ORDER BY id");
  int64_t us = std::stoll(ids[0]), eu = std::stoll(ids[1]);
  std::vector<storage::cell_transition> t;
  {
    pqxx::work tx{conn};
    auto granted = storage::claim_cells(tx, {{us, 1}, {eu, 1}}, t);
    CAF_CHECK_EQUAL(granted.size(), 2u);
    cell_outcome done;
    done.cell_id = us;
    done.status = cell_status::completed;
    done.provider_id = "p-us";
    done.provider_region = "US";
    done.output_json = R"({"response":"hi"})";
    done.attempts = 1;
    done.completed_us = 2;
    auto written = storage::record_outcomes(tx, {done}, t);
    CAF_CHECK_EQUAL(written.size(), 1u);
    storage::apply_counters(tx, t);
    tx.commit();
  }
  CAF_CHECK_EQUAL(counter_mismatch(url, id), "");
  t.clear();
  {
    pqxx::work tx{conn};
    // A stale claim and a stale failure for the completed cell change nothing.
    CAF_CHECK(storage::claim_cells(tx, {{us, 5}}, t).empty());
    cell_outcome stale;
    stale.cell_id = us;
    stale.status = cell_status::failed;
    stale.error_code = "timeout";
    stale.error_message = "late";
    CAF_CHECK(storage::record_outcomes(tx, {stale}, t).empty());
    CAF_CHECK(t.empty());
    CAF_CHECK_EQUAL(
        storage::abort_open_cells(tx, id, cell_status::cancelled, "cancelled", "stop", t, 100)
            .cells,
        1);
    storage::apply_counters(tx, t);
    tx.commit();
  }
  CAF_CHECK_EQUAL(query_column(url, "SELECT status FROM executions ORDER BY id"),
                  (std::vector<std::string>{"completed", "cancelled"}));
  CAF_CHECK_EQUAL(counter_mismatch(url, id), "");
  CAF_CHECK_EQUAL(query_column(url, "SELECT status FROM region_results ORDER BY region"),
                  (std::vector<std::string>{"cancelled", "completed"}));
  CAF_CHECK_EQUAL(
      query_column(url, "SELECT array_to_string(provider_ids, ',') FROM cross_region_executions"),
      std::vector<std::string>{"p-us"});
  // The database itself refuses a status outside the CHECKed list.
  pqxx::work tx{conn};
  BEACON_CHECK_THROWS(tx.exec("UPDATE executions SET status = 'bogus'"), pqxx::check_violation);
}

CAF_TEST(an answer sent with its claim is written only at the claimed attempt) {
  auto url = fresh_database();
  auto id = admit_spec(url, job_json("wc-1", {"q"}, {"m"}, {"US", "EU", "ASIA"}, 1));
  pqxx::connection conn{url};
  auto ids = query_column(url, "SELECT id FROM executions ORDER BY id");
  int64_t a = std::stoll(ids[0]), b = std::stoll(ids[1]), c = std::stoll(ids[2]);
  auto answer = [](int64_t cell, int32_t attempts) {
    cell_outcome o;
    o.cell_id = cell;
    o.status = cell_status::completed;
    o.provider_id = "p";
    o.provider_region = "US";
    o.output_json = R"({"response":"hi"})";
    o.attempts = attempts;
    o.completed_us = 2;
    o.with_claim = true;
    return o;
  };
  std::vector<storage::cell_transition> t;
  pqxx::work tx{conn};
  // a: claimed in the same transaction at the predicted attempt 1: written.
  // b: never claimed: not written (no outcome without its claim).
  // c: claimed, but at attempt 2 (the row changed since the answer's attempt was predicted).
  tx.exec_params("UPDATE executions SET attempts = 1 WHERE id = $1", c);
  CAF_CHECK_EQUAL(storage::claim_cells(tx, {{a, 1}, {c, 1}}, t).size(), 2u);
  auto written = storage::record_outcomes(tx, {answer(a, 1), answer(b, 1), answer(c, 1)}, t);
  CAF_CHECK_EQUAL(written, (std::unordered_set<int64_t>{a}));
  storage::apply_counters(tx, t);
  tx.commit();
  CAF_CHECK_EQUAL(query_column(url, "SELECT status || '/' || attempts FROM executions ORDER BY id"),
                  (std::vector<std::string>{"completed/1", "pending/0", "running/2"}));
  CAF_CHECK_EQUAL(counter_mismatch(url, id), "");
}

namespace {

// The page each row is on (its ctid's block).
std::vector<std::string> row_pages(const std::string& url) {
  return query_column(url, "SELECT (ctid::text::point)[0]::bigint FROM executions ORDER BY id");
}

}  // namespace

CAF_TEST(claims and answers stay on the page of their row so no index grows) {
  auto url = fresh_database();
  // Rows as the node writes them: regional system prompts at admission, an answer of the sim's
  // size (a paragraph and its analysis) with a receipt's two hashes.
  admit_spec(url, job_json("hot-1", {"q"}, {"m1", "m2", "m3"}, {"US", "EU", "ASIA"}, 20));
  auto ids = query_column(url, "SELECT id FROM executions ORDER BY id");
  auto before = row_pages(url);
  pqxx::connection conn{url};
  std::vector<storage::cell_transition> t;
  {
    pqxx::work tx{conn};
    std::vector<cell_claim> claims;
    for (auto& id : ids) claims.push_back({std::stoll(id), 1});
    CAF_CHECK_EQUAL(storage::claim_cells(tx, claims, t).size(), ids.size());
    tx.commit();
  }
  std::vector<cell_outcome> answers;
  for (auto& id : ids) {
    cell_outcome o;
    o.cell_id = std::stoll(id);
    o.status = cell_status::completed;
    o.provider_id = "sim-us";
    o.provider_region = "US";
    o.output_json =
        R"({"metadata":{"model":"m1","region":"US","language":"en","key_terms":["protest",)"
        R"("students","military","troops","crackdown","killed","1989","democracy"],)"
        R"("latency_ms":0,"classification_reason":"answers the question"},"provider":"sim-us",)"
        R"("response":")" +
        std::string(411, 'a') + R"("})";
    o.attempts = 1;
    o.completed_us = 2;
    o.classification = "substantive";
    o.output_hash = std::string(32, '\x01');
    o.benchmark_hash = std::string(32, '\x02');
    answers.push_back(o);
  }
  {
    pqxx::work tx{conn};
    CAF_CHECK_EQUAL(storage::record_outcomes(tx, answers, t).size(), ids.size());
    tx.commit();
  }
  // Every row is still on the page it was inserted on: both updates were HOT (PostgreSQL adds
  // index entries for an update only when the new version has to move to another page).
  CAF_CHECK_EQUAL(row_pages(url), before);
  CAF_CHECK_EQUAL(query_column(url,
                               "SELECT count(*) FROM executions WHERE output_hash = "
                               "decode(repeat('01', 32), 'hex') AND benchmark_hash = "
                               "decode(repeat('02', 32), 'hex')"),
                  std::vector<std::string>{std::to_string(ids.size())});
}

// The persistence actor warms each new connection up so the first job's cells do not wait for
// its backend to load tables and prepare statements; the warm-up itself must change nothing.
CAF_TEST(a new writer connection prepares the group commit writes and writes nothing) {
  auto url = fresh_database();
  admit_spec(url, job_json("warm-1", {"q"}, {"m1", "m2"}, {"US", "EU"}));
  // Every row of the tables a group commit writes, as one digest per table.
  auto stored = [&] {
    std::vector<std::string> digests;
    for (std::string table : {"executions", "region_results", "cross_region_executions", "jobs"}) {
      auto sql = "SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) FROM " + table + " t";
      digests.push_back(query_column(url, sql).at(0));
    }
    return digests;
  };
  auto before = stored();
  for (bool fenced : {false, true}) {
    pqxx::connection conn{url};
    storage::warm_up_writes(conn, fenced);
    pqxx::nontransaction tx{conn};
    std::vector<std::string> planned;
    // Prepared, and planned only for the warm-up's values: no generic plan is fixed while the
    // tables may still be empty.
    for (auto row : tx.exec("SELECT name FROM pg_prepared_statements WHERE generic_plans = 0 "
                            "AND custom_plans = 1 ORDER BY name"))
      planned.push_back(row[0].as<std::string>());
    std::vector<std::string> expected = {"beacon_attempt", "beacon_claim", "beacon_counters",
                                         "beacon_outcome"};
    if (fenced) expected.insert(expected.begin() + 3, "beacon_fence");
    CAF_CHECK_EQUAL(planned, expected);
  }
  CAF_CHECK_EQUAL(stored(), before);
}

CAF_TEST(array parameters read back in PostgreSQL as the values written) {
  auto url = fresh_database();
  pqxx::connection conn{url};
  pqxx::work tx{conn};
  std::vector<std::string> texts = {"plain",
                                    "a \"quoted\" word",
                                    "back\\slash\\",
                                    "",
                                    std::string("nul\0dropped", 12),
                                    "{braces}, commas",
                                    "\xc3\xa9t\xc3\xa9 \xe4\xb8\xad",
                                    std::string(3000, 'x')};
  auto back = tx.exec_params("SELECT unnest($1::text[])", storage::text_array(texts));
  CAF_REQUIRE_EQUAL(back.size(), texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    auto expected = texts[i];
    expected.erase(std::remove(expected.begin(), expected.end(), '\0'), expected.end());
    CAF_CHECK_EQUAL(back[i][0].as<std::string>(), expected);
  }
  std::vector<double> numbers = {0.1, -0.0, 1e-300, 123456789.123456789, 1.0 / 3, 5e22, -7};
  auto read = tx.exec_params("SELECT unnest($1::float8[])", storage::float_array(numbers));
  CAF_REQUIRE_EQUAL(read.size(), numbers.size());
  for (size_t i = 0; i < numbers.size(); ++i) CAF_CHECK_EQUAL(read[i][0].as<double>(), numbers[i]);
}

CAF_TEST(a writer paused inside its transaction loses its row locks) {
  auto url = fresh_database();
  auto id = admit_spec(url, job_json("paused-1", {"q"}, {"m"}, {"US"}, 1));
  auto writer = storage::open_writer_connection(url, std::chrono::milliseconds(300));
  pqxx::work held{*writer};
  held.exec_params("SELECT id FROM jobs WHERE id = $1 FOR SHARE", id);
  // The writer now idles inside its transaction, as a node stopped between two statements.
  pqxx::connection other{url};
  auto lockable = [&] {
    pqxx::work tx{other};
    return tx.exec_params("SELECT id FROM jobs WHERE id = $1 FOR UPDATE SKIP LOCKED", id).size();
  };
  CAF_CHECK_EQUAL(lockable(), 0u);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (lockable() == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CAF_CHECK_EQUAL(lockable(), 1u);
  // The paused writer finds its transaction ended when it resumes.
  BEACON_CHECK_THROWS(held.exec("SELECT 1"), pqxx::broken_connection);
}

CAF_TEST(the verdict follows min_success_rate and min_regions) {
  auto url = fresh_database();
  auto id = admit_spec(url, job_json("v-1", {"q"}, {"m"}, {"US", "EU", "ASIA"}, 1, 0.6));
  pqxx::connection conn{url};
  std::vector<storage::cell_transition> t;
  {
    pqxx::work tx{conn};
    BEACON_CHECK_THROWS(storage::finish_job(tx, id, false), std::logic_error);  // cells open
  }
  auto ids = query_column(url, "SELECT id FROM executions ORDER BY id");
  pqxx::work tx{conn};
  std::vector<cell_outcome> outs;
  for (size_t i = 0; i < ids.size(); ++i) {
    cell_outcome o;
    o.cell_id = std::stoll(ids[i]);
    o.status = i == 0 ? cell_status::completed : cell_status::failed;
    o.provider_id = "p";
    o.output_json = i == 0 ? R"({"response":"x"})" : "";
    o.error_code = i == 0 ? "" : "http_5xx";
    o.error_message = i == 0 ? "" : "boom";
    outs.push_back(o);
  }
  storage::record_outcomes(tx, outs, t);
  storage::apply_counters(tx, t);
  auto v = storage::finish_job(tx, id, false);
  CAF_CHECK_EQUAL(word(v.status), "failed");
  CAF_CHECK(v.reason.find("below the required success rate 0.600") != std::string::npos);
  tx.commit();
  CAF_CHECK_EQUAL(query_column(url, "SELECT status FROM cross_region_executions"),
                  std::vector<std::string>{"failed"});
}

namespace {

// The status words of a table's CHECK (status IN (...)) constraint, as PostgreSQL prints it.
std::set<std::string> checked_status_words(const std::string& url, const std::string& table) {
  std::set<std::string> words;
  for (auto& def : query_column(url,
                                "SELECT pg_get_constraintdef(oid) FROM pg_constraint"
                                " WHERE conrelid = '" +
                                    table + "'::regclass AND contype = 'c'")) {
    if (!std::regex_search(def, std::regex(R"(^CHECK \(+status(\)::text)? = ANY)"))) continue;
    std::regex word(R"('([a-z_]+)'::)");
    for (auto it = std::sregex_iterator(def.begin(), def.end(), word); it != std::sregex_iterator();
         ++it)
      words.insert((*it)[1]);
  }
  return words;
}

template <class Enum, size_t N>
std::set<std::string> words_of(const std::array<Enum, N>& all) {
  std::set<std::string> out;
  for (auto v : all) out.insert(word(v));
  return out;
}

}  // namespace

CAF_TEST(the schema allows exactly the status words of the enums) {
  auto url = fresh_database();
  CAF_CHECK_EQUAL(checked_status_words(url, "executions"), words_of(all_cell_statuses));
  CAF_CHECK_EQUAL(checked_status_words(url, "jobs"), words_of(all_job_statuses));
  CAF_CHECK_EQUAL(checked_status_words(url, "cross_region_executions"), words_of(all_job_statuses));
  // Each word reads back as the value it was written from; other words are refused.
  for (auto s : all_cell_statuses) CAF_CHECK(storage::stored_cell_status(word(s)) == s);
  for (auto s : all_job_statuses) CAF_CHECK(storage::stored_job_status(word(s)) == s);
  BEACON_CHECK_THROWS(storage::stored_cell_status("processing"), std::logic_error);
  BEACON_CHECK_THROWS(storage::stored_job_status("timeout"), std::logic_error);
}

CAF_TEST(the embedded cluster lets in only the node that holds its password) {
  auto url = fresh_database();
  auto at = url.find(" passfile=");
  CAF_REQUIRE_NOT_EQUAL(at, std::string::npos);
  auto passfile = url.substr(at + 10);
  passfile = passfile.substr(0, passfile.find(' '));
  struct stat file {};
  CAF_REQUIRE_EQUAL(::stat(passfile.c_str(), &file), 0);
  CAF_CHECK_EQUAL(file.st_mode & 0777, 0600u);
  // The same connection without the password is refused (SCRAM, no trust for local users).
  auto without = url.substr(0, at) + url.substr(at + 10 + passfile.size());
  BEACON_CHECK_THROWS(pqxx::connection{without}, pqxx::broken_connection);
  // The socket itself is for the server's user only.
  auto host = without.substr(5, without.find(' ') - 5);
  struct stat sock {};
  CAF_REQUIRE_EQUAL(::stat((host + "/.s.PGSQL.5432").c_str(), &sock), 0);
  CAF_CHECK_EQUAL(sock.st_mode & 0777, 0700u);
}

CAF_TEST(the REST pool reads and PostgreSQL refuses its writes) {
  auto url = fresh_database();
  admit_spec(url, job_json("ro-1", {"q"}, {"m"}, {"US"}));
  storage::connection_pool pool{url, 1, true};
  {
    auto conn = pool.acquire();
    pqxx::nontransaction tx{*conn};
    CAF_CHECK(storage::find_job(tx, "ro-1", storage::cells_page{10, 0, false}));
    BEACON_CHECK_THROWS(tx.exec("UPDATE jobs SET error = 'x'"), pqxx::sql_error);
  }
  {
    auto conn = pool.acquire();  // the same session, returned: still read-only
    pqxx::work tx{*conn};
    BEACON_CHECK_THROWS(tx.exec("DELETE FROM executions"), pqxx::sql_error);
  }
  CAF_CHECK_EQUAL(query_int(url, "SELECT count(*) FROM executions WHERE job_id = 'ro-1'"), 1);
  CAF_CHECK_EQUAL(query_int(url, "SELECT count(*) FROM jobs WHERE error IS NOT NULL"), 0);
}

CAF_TEST(a v1 .0 receipt stored as text before migration 0011 is still served and placed) {
  auto older = storage::embedded_migrations();
  older.erase(std::find_if(older.begin(), older.end(),
                           [](auto& m) { return m.name.rfind("0011_", 0) == 0; }),
              older.end());
  auto url = fresh_database(older);
  admit_spec(url, job_json("m11-1", {"q"}, {"m"}, {"US"}, 1));
  const std::string text = R"({"id":"receipt-old","schema_version":"v1.0.0"})";
  exec(url, "INSERT INTO transparency_logs (key_id, public_key) VALUES ('old-key', '\\x00')");
  exec(url,
       "INSERT INTO log_leaves (log_id, leaf_index, leaf_data, receipt)"
       " SELECT log_id, 0, sha256(convert_to('" +
           text + "', 'UTF8')), '" + text +
           "'"
           "   FROM transparency_logs");
  exec(url,
       "UPDATE executions SET status = 'completed', provider_id = 'p',"
       " output_data = '{\"response\":\"r\"}', receipt_leaf = sha256(convert_to('" +
           text + "', 'UTF8'))");
  pqxx::connection conn{url};
  auto applied = storage::apply_migrations(conn, storage::embedded_migrations());
  CAF_REQUIRE(!applied.empty());
  CAF_CHECK_EQUAL(applied.front(), "0011_receipts_as_row_views.sql");
  // The leaf is now a run of one, the row knows its place, and the stored text is served.
  CAF_CHECK_EQUAL(query_int(url, "SELECT count(*) FROM log_leaf_runs WHERE first_leaf = 0"), 1);
  CAF_CHECK_EQUAL(query_int(url,
                            "SELECT count(*) FROM executions e JOIN log_leaf_list l"
                            " ON l.log_id = e.receipt_log AND l.leaf_index = e.receipt_index"
                            " WHERE l.leaf_data = e.receipt_leaf"),
                  1);
  CAF_CHECK_EQUAL(query_int(url,
                            "SELECT count(*) FROM executions e"
                            " WHERE beacon_row_receipt(e) ->> 'id' = 'receipt-old'"),
                  1);
}

CAF_TEST(the transparency log resumes where it was and its proofs verify from tiles and leaves) {
  auto url = fresh_database();
  auto key = node_key_from_secret(crypto::ed25519_generate().secret_key);
  pqxx::connection conn{url};
  std::vector<std::string> data;  // every leaf's data, in order
  std::vector<tree_head> heads;
  std::optional<merkle::tree_builder> kept;  // the writer's tree between batches, as persistence
  std::mt19937 rng(7);
  // 1,100 leaves in batches of 1-97; every fourth batch the writer forgets its tree and
  // resumes it from storage (a restarted persistence actor).
  int32_t log_id = 0;
  for (int batch = 0; data.size() < 1100; ++batch) {
    pqxx::work tx{conn};
    // By id from the second batch on, as persistence does once it knows its log.
    auto log = storage::lock_log(tx, key.key_id, key.public_key, batch == 0 ? 0 : log_id);
    log_id = log.log_id;
    CAF_REQUIRE_EQUAL(log.size, data.size());
    if (!kept || batch % 4 == 0)
      kept = merkle::tree_builder(log.size, storage::log_tree(log.log_id).frontier(tx, log.size));
    std::vector<std::string> leaves;  // a run of 1-97 leaves, crossing tiles of 256
    std::vector<merkle::subtree> closed;
    for (size_t i = 0, n = 1 + rng() % 97; i < n; ++i) {
      leaves.push_back(
          crypto::sha256(R"({"id":"receipt-)" + std::to_string(data.size() + i) + R"("})"));
      kept->add_leaf_hash(merkle::leaf_hash(leaves.back()), &closed);
    }
    heads.push_back(sign_tree_head(key, kept->size(), kept->root(), now_us()));
    storage::append_batch(tx, log.log_id, log.size, leaves, closed, heads.back());
    tx.commit();
    for (auto& l : leaves) data.push_back(l);
  }
  CAF_CHECK_GREATER(query_int(url, "SELECT count(*) FROM log_tiles WHERE level = 8"), 3);
  pqxx::read_transaction tx{conn};
  auto log = storage::find_log(tx, key.key_id);
  CAF_REQUIRE(log.has_value());
  CAF_CHECK_EQUAL(log->size, data.size());
  auto latest = storage::latest_head(tx, *log);
  CAF_REQUIRE(latest.has_value());
  CAF_CHECK_EQUAL(latest->tree_size, data.size());
  // Every stored head is the tree of its first tree_size leaves, signed by the log's key.
  merkle::tree_builder all;
  std::map<uint64_t, std::string> roots;
  for (auto& d : data) {
    all.add_leaf_hash(merkle::leaf_hash(d));
    roots[all.size()] = all.root();
  }
  auto stored = storage::heads_after(tx, *log, 0, 10'000);
  CAF_REQUIRE_EQUAL(stored.size(), heads.size());
  for (auto& h : stored) {
    CAF_CHECK_EQUAL(h.root_hash, roots[h.tree_size]);
    CAF_CHECK(tree_head_signed_by(h, log->public_key));
  }
  // Proofs read from a fresh tree (tiles and leaves from storage): every leaf against the last
  // head and its first head; consistency between neighbouring and far-apart heads.
  storage::log_tree tree(log->log_id);
  auto& last = stored.back();
  for (uint64_t i = 0; i < data.size(); ++i) {
    auto leaf = merkle::leaf_hash(data[i]);
    CAF_CHECK(merkle::verify_inclusion(
        leaf, i, last.tree_size, tree.inclusion_proof(tx, i, last.tree_size), last.root_hash));
    auto first = storage::first_head_including(tx, *log, i);
    CAF_REQUIRE(first.has_value());
    CAF_CHECK(merkle::verify_inclusion(leaf, i, first->tree_size,
                                       tree.inclusion_proof(tx, i, first->tree_size),
                                       first->root_hash));
  }
  for (size_t a = 0; a < stored.size(); a += 3)
    for (size_t b : {a + 1, stored.size() - 1})
      if (b < stored.size() && stored[a].tree_size < stored[b].tree_size)
        CAF_CHECK(merkle::verify_consistency(
            stored[a].tree_size, stored[b].tree_size,
            tree.consistency_proof(tx, stored[a].tree_size, stored[b].tree_size),
            stored[a].root_hash, stored[b].root_hash));
}
