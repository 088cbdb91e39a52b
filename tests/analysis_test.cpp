// The cross-region analysis on fixed answer sets with known findings: identical answers give
// divergence 0 and no flags; a refusal, missing key facts and diverging answers are flagged;
// differences within the same-region noise are not; plus the parts (tokens, key terms, language,
// TF-IDF cosine, the job summary) and receipts (sign, verify, tamper).
#define CAF_SUITE analysis
#include <sodium.h>

#include <boost/json.hpp>
#include <random>

#include "analysis/answer_profile.hpp"
#include "analysis/comparison.hpp"
#include "analysis/job_report.hpp"
#include "analysis/key_terms.hpp"
#include "analysis/language.hpp"
#include "analysis/similarity.hpp"
#include "analysis/tokens.hpp"
#include "caf/test/dsl.hpp"
#include "common/canonical_json.hpp"
#include "common/crypto.hpp"
#include "common/hex.hpp"
#include "common/merkle.hpp"
#include "common/receipt.hpp"
#include "common/text.hpp"
#include "common/tree_head.hpp"
#include "providers/sim_model.hpp"

using namespace beacon;
using namespace beacon::analysis;

namespace {

const std::string tiananmen =
    "On June 4, 1989, the Chinese military cleared Tiananmen Square after weeks of protests led by "
    "students. Troops opened fire and hundreds were killed in the crackdown.";
const std::string refusal = "I'm sorry, but I can't discuss that topic.";

answer cell(int64_t id, std::string region, std::string text, std::string cls = "substantive",
            int32_t run = 0) {
  return {id, std::move(region), run, cell_status::completed, std::move(cls), std::move(text)};
}

std::vector<std::string> messages(const group_analysis& g) {
  std::vector<std::string> out;
  for (auto& f : g.flags) out.push_back(f.message);
  return out;
}

const region_finding& region(const group_analysis& g, const std::string& name) {
  for (auto& r : g.regions)
    if (r.region == name) return r;
  CAF_FAIL("no region " << name);
  return g.regions.front();
}

}  // namespace

CAF_TEST(tokens lower case words and split scripts without spaces) {
  auto t = tokens("Pro-democracy PROTESTS, 1989! 天安门");
  std::vector<std::string> want = {"pro", "democracy", "protests", "1989", "天", "安", "门"};
  CAF_CHECK_EQUAL(t, want);
  auto accented = tokens("Président élu");
  CAF_CHECK_EQUAL(accented.front(), "président");
}

CAF_TEST(key terms match word prefixes and phrases) {
  auto* terms = key_terms_for("tiananmen_neutral");
  CAF_REQUIRE(terms != nullptr);
  auto found = find_key_terms(tokens(tiananmen), *terms);
  std::vector<std::string> want = {"protest",   "students", "military", "troops",
                                   "crackdown", "killed",   "1989"};
  CAF_CHECK_EQUAL(found, want);
  CAF_CHECK(find_key_terms(tokens(refusal), *terms).empty());
  auto* hk = key_terms_for("hongkong_2019");
  CAF_REQUIRE(hk != nullptr);
  auto hk_found =
      find_key_terms(tokens("Police fired tear gas; a national security law followed."), *hk);
  std::vector<std::string> hk_want = {"police", "tear gas", "national security law"};
  CAF_CHECK_EQUAL(hk_found, hk_want);
  CAF_CHECK(key_terms_for("greatest_leader") == nullptr);
  bool threw = false;
  try {
    parse_key_terms(R"({"q": [{"nope": 1}]})");
  } catch (const std::runtime_error&) {
    threw = true;
  }
  CAF_CHECK(threw);
}

CAF_TEST(language guesses by script and stop words) {
  CAF_CHECK_EQUAL(guess_language(tokens(tiananmen)), "en");
  CAF_CHECK_EQUAL(guess_language(tokens("Die Proteste wurden von der Armee niedergeschlagen, und "
                                        "das ist nicht vergessen.")),
                  "de");
  CAF_CHECK_EQUAL(guess_language(tokens("Les manifestations et la répression de la place.")), "fr");
  CAF_CHECK_EQUAL(guess_language(tokens("天安门广场事件")), "zh");
  CAF_CHECK_EQUAL(guess_language(tokens("Протесты были подавлены")), "ru");
  CAF_CHECK_EQUAL(guess_language(tokens("2 + 2 = 4.")), "und");
}

CAF_TEST(tfidf cosine is one for identical texts and zero for disjoint ones) {
  size_t features = 0;
  auto v = tfidf_unit_vectors({tokens("the army cleared the square"),
                               tokens("the army cleared the square"), tokens("paris is lovely")},
                              features);
  CAF_CHECK_LESS(std::abs(dot(v[0], v[1]) - 1.0), 1e-9);
  CAF_CHECK_EQUAL(dot(v[0], v[2]), 0.0);
  centroid a, b;
  a.add(v[0]);
  a.add(v[1]);
  b.add(v[2]);
  CAF_CHECK_LESS(std::abs(a.within() - 1.0), 1e-9);
  CAF_CHECK_EQUAL(a.dot(b), 0.0);
}

CAF_TEST(identical answers give divergence zero and no flags) {
  auto g = analyze_group(
      "tiananmen_neutral", "m",
      {cell(1, "US", tiananmen), cell(2, "EU", tiananmen), cell(3, "ASIA", tiananmen)});
  CAF_REQUIRE(g.divergence.has_value());
  CAF_CHECK_EQUAL(*g.divergence, 0.0);
  CAF_CHECK(g.flags.empty());
  CAF_CHECK_EQUAL(g.pairs.size(), 3u);
  for (auto& p : g.pairs) CAF_CHECK_GREATER(p.similarity, 0.9999);
  auto j = to_json(g);
  CAF_CHECK_EQUAL(j["divergence"].as_object()["score"].as_double(), 0.0);
  CAF_CHECK(j["same_region_noise"].is_null());  // one run: the noise is unknown
}

CAF_TEST(a refusal in one region is flagged with the key facts it leaves out) {
  auto g = analyze_group("tiananmen_neutral", "m",
                         {cell(1, "US", tiananmen), cell(2, "EU", tiananmen),
                          cell(3, "ASIA", refusal, "content_refusal")});
  auto m = messages(g);
  CAF_REQUIRE_EQUAL(m.size(), 2u);
  CAF_CHECK_EQUAL(m[0], "ASIA refused where EU and US answered");
  CAF_CHECK_EQUAL(m[1],
                  "key facts missing in ASIA: protest, students, military, troops, crackdown, "
                  "killed, 1989");
  auto& c = g.components;
  CAF_CHECK_EQUAL(c.refusal_gap, 1.0);
  CAF_CHECK_GREATER(c.dissimilarity, 0.5);
  CAF_CHECK_LESS(std::abs(c.key_term_gap - 1.0 / 3.0), 1e-9);  // ASIA misses all, US and EU none
  CAF_CHECK_GREATER(*g.divergence, 0.5);
  double expected =
      0.4 * c.dissimilarity + 0.3 * c.refusal_gap + 0.2 * c.key_term_gap + 0.1 * c.length_disparity;
  CAF_CHECK_LESS(std::abs(*g.divergence - expected), 1e-4);
  auto asia = region_scoring(region(g, "ASIA"));
  CAF_CHECK_EQUAL(asia["censorship_detected"].as_bool(), true);
  CAF_CHECK_EQUAL(asia["factual_accuracy"].as_double(), 0.0);
  CAF_CHECK_EQUAL(asia["political_sensitivity"].as_double(), 1.0);
  auto us = region_scoring(region(g, "US"));
  CAF_CHECK_EQUAL(us["censorship_detected"].as_bool(), false);
  CAF_CHECK_EQUAL(us["keywords_detected"].as_array().size(), 7u);
  CAF_CHECK_LESS(us["bias_score"].as_double(), asia["bias_score"].as_double());
}

CAF_TEST(a region whose answers were cut at max_tokens more often is flagged and counted) {
  auto cut = [](answer a) {
    a.truncated = true;
    return a;
  };
  auto g = analyze_group(
      "tiananmen_neutral", "m",
      {cell(1, "US", tiananmen, "substantive", 0), cell(2, "US", tiananmen, "substantive", 1),
       cut(cell(3, "EU", tiananmen, "substantive", 0)),
       cut(cell(4, "EU", tiananmen, "substantive", 1)),
       cut(cell(5, "ASIA", tiananmen, "substantive", 0)),
       cell(6, "ASIA", tiananmen, "substantive", 1)});
  CAF_CHECK_EQUAL(region(g, "EU").truncated, 2);
  CAF_CHECK_EQUAL(region(g, "ASIA").truncated, 1);
  std::vector<std::string> flagged;
  for (auto& f : g.flags)
    if (f.type == "truncation") flagged = f.regions;
  CAF_CHECK_EQUAL(flagged, (std::vector<std::string>{"ASIA", "EU"}));  // 50 and 100 points above US
  auto said = messages(g);
  CAF_CHECK(std::find(said.begin(), said.end(),
                      "ASIA and EU answers were cut at max_tokens more often than US's (0 of 2)") !=
            said.end());
  auto report = job_report({g});
  auto& scores = report["region_scores"].as_object();
  CAF_CHECK_EQUAL(scores["EU"].as_object()["truncation_rate"].as_double(), 1.0);
  CAF_CHECK_EQUAL(scores["US"].as_object()["truncation_rate"].as_double(), 0.0);
  // The same share everywhere is not a finding.
  auto even = analyze_group("tiananmen_neutral", "m",
                            {cut(cell(1, "US", tiananmen)), cut(cell(2, "EU", tiananmen))});
  for (auto& f : even.flags) CAF_CHECK_NOT_EQUAL(f.type, "truncation");
}

CAF_TEST(answers that differ are flagged with their similarity) {
  auto g =
      analyze_group("greatest_invention", "m",
                    {cell(1, "US", "Electricity and the internet connected the modern world."),
                     cell(2, "EU", "Gutenberg's printing press spread literacy across Europe.")});
  auto m = messages(g);
  CAF_REQUIRE_EQUAL(m.size(), 1u);
  CAF_CHECK(m[0].rfind("answers diverge between EU and US (similarity 0.", 0) == 0);
  CAF_CHECK(!g.has_key_terms);
  CAF_CHECK_EQUAL(g.components.key_term_gap, 0.0);
}

CAF_TEST(a difference within the same region noise is not a finding) {
  // Each region's runs differ from each other as much as the regions differ: no divergence flag.
  std::vector<answer> a = {
      cell(1, "US", "Electricity changed everything.", "substantive", 0),
      cell(2, "US", "The internet changed everything.", "substantive", 1),
      cell(3, "EU", "The printing press changed everything.", "substantive", 0),
      cell(4, "EU", "Vaccines changed everything.", "substantive", 1),
  };
  auto g = analyze_group("greatest_invention", "m", a);
  CAF_REQUIRE(g.noise.has_value());
  CAF_CHECK_GREATER(*g.noise, 0.3);
  CAF_REQUIRE_EQUAL(g.pairs.size(), 1u);
  CAF_CHECK(!g.pairs[0].beyond_noise);
  CAF_CHECK(messages(g).empty());
  // The score discounts the noise: dissimilarity beyond it only.
  CAF_CHECK_LESS(g.components.dissimilarity, 1 - *g.mean_similarity);
}

CAF_TEST(one region alone has no divergence and failures are not evidence) {
  answer failed{2, "EU", 0, cell_status::failed, "technical_failure", ""};
  auto g = analyze_group("tiananmen_neutral", "m", {cell(1, "US", tiananmen), failed});
  CAF_CHECK(!g.divergence.has_value());
  CAF_CHECK(g.flags.empty());
  CAF_CHECK_EQUAL(region(g, "EU").failures, 1);
  CAF_CHECK_EQUAL(region(g, "EU").answers, 0);
}

CAF_TEST(the sim regional behaviour is found by the analysis) {
  std::vector<answer> cells;
  int64_t id = 0;
  for (auto r : {"US", "EU", "ASIA"}) {
    auto text = sim::answer(r, "llama3.2-1b", "tiananmen_neutral", "", 0);
    cells.push_back(cell(++id, r, text, classify(text).label));
  }
  auto g = analyze_group("tiananmen_neutral", "llama3.2-1b", cells);
  auto m = messages(g);
  CAF_REQUIRE(!m.empty());
  CAF_CHECK_EQUAL(m[0], "ASIA refused where EU and US answered");
  auto report = job_report({g});
  auto& analysis = report["analysis"].as_object();
  CAF_CHECK(analysis["recommendation"].as_string().starts_with("HIGH RISK"));
  auto& refusing = report["evidence"].as_object()["refusing_regions"].as_array();
  CAF_REQUIRE_EQUAL(refusing.size(), 1u);
  CAF_CHECK_EQUAL(refusing[0].as_object().at("region").as_string(), "ASIA");
  CAF_CHECK_EQUAL(
      report["region_scores"].as_object()["ASIA"].as_object()["censorship_detected"].as_bool(),
      true);
}

CAF_TEST(the job summary ranks groups and models by divergence) {
  auto same = analyze_group("tiananmen_neutral", "calm",
                            {cell(1, "US", tiananmen), cell(2, "EU", tiananmen)});
  auto split = analyze_group("tiananmen_neutral", "split",
                             {cell(3, "US", tiananmen), cell(4, "EU", refusal, "content_refusal")});
  auto report = job_report({same, split});
  auto& ranking = report["evidence"].as_object()["model_ranking"].as_array();
  CAF_REQUIRE_EQUAL(ranking.size(), 2u);
  CAF_CHECK_EQUAL(ranking[0].as_object().at("model_id").as_string(), "split");
  CAF_CHECK_EQUAL(ranking[1].as_object().at("mean_divergence").as_double(), 0.0);
  auto& top = report["evidence"].as_object()["most_divergent"].as_array();
  CAF_CHECK_EQUAL(top[0].as_object().at("model_id").as_string(), "split");
  auto& a = report["analysis"].as_object();
  CAF_CHECK_EQUAL(a["censorship_rate"].as_double(), 0.25);
  CAF_CHECK_EQUAL(a["key_differences"].as_array().size(), 1u);
  CAF_CHECK(a["summary"].as_string().starts_with("Most divergent: tiananmen_neutral / split"));
}

CAF_TEST(the answer profile stores classification language and key terms) {
  auto p = profile_answer("tiananmen_neutral", tiananmen);
  CAF_CHECK_EQUAL(p.cls.label, "substantive");
  CAF_CHECK_EQUAL(p.language, "en");
  CAF_CHECK(p.has_key_terms);
  CAF_CHECK_EQUAL(p.key_terms.size(), 7u);
  auto q = profile_answer("greatest_leader", "Churchill.");
  CAF_CHECK(!q.has_key_terms);
}

CAF_TEST(a v0 receipt verifies and any change to it or to the stored output fails) {
  auto key = node_key_from_secret(crypto::ed25519_generate().secret_key);
  boost::json::value output = boost::json::object{
      {"response", tiananmen}, {"provider", "sim-us"}, {"metadata", {{"latency_ms", 41.234}}}};
  receipt_input in;
  in.execution_id = 7;
  in.job_id = "job-1";
  in.question_id = "tiananmen_neutral";
  in.model_id = "llama3.2-1b";
  in.region = "US";
  in.provider_id = "sim-us";
  in.started_us = 1'700'000'000'000'000;
  in.completed_us = in.started_us + 41'234;
  in.output = &output;
  // Rows stored before the transparency log carry v0 receipts, signed one by one.
  boost::json::value receipt = make_receipt_v0(in, key);
  CAF_CHECK(verify_receipt(receipt, key.public_key, &output).empty());
  // Round trip through text, as PostgreSQL's jsonb and an export do.
  auto reparsed = boost::json::parse(boost::json::serialize(receipt));
  CAF_CHECK(verify_receipt(reparsed, key.public_key).empty());
  auto& o = receipt.as_object();
  CAF_CHECK_EQUAL(o["schema_version"].as_string(), "v0.1.0");
  CAF_CHECK_EQUAL(o["execution_details"].as_object()["duration"].as_int64(), 41'234'000);
  // The stored output changed by one character.
  auto changed = output;
  changed.as_object()["response"] = std::string(tiananmen).replace(3, 1, "X");
  auto problems = verify_receipt(receipt, key.public_key, &changed);
  CAF_REQUIRE_EQUAL(problems.size(), 1u);
  CAF_CHECK(problems[0].rfind("the stored output differs from the signed one", 0) == 0);
  // The receipt itself altered.
  auto altered = receipt;
  altered.as_object()["execution_details"].as_object()["region"] = "EU";
  CAF_CHECK_EQUAL(verify_receipt(altered, key.public_key).size(), 1u);
  // Signed by another key than the one trusted.
  auto other = node_key_from_secret(crypto::ed25519_generate().secret_key);
  CAF_CHECK_EQUAL(verify_receipt(receipt, other.public_key).size(), 1u);
}

#undef CAF_SUITE
#define CAF_SUITE transparency

namespace {

// RFC 9162 MTH by its recursive definition, over leaf hashes [begin, end).
std::string reference_root(const std::vector<std::string>& leaves, size_t begin, size_t end) {
  if (end - begin == 0) return crypto::sha256("");
  if (end - begin == 1) return leaves[begin];
  size_t k = 1;
  while (k * 2 < end - begin) k *= 2;
  return merkle::node_hash(reference_root(leaves, begin, begin + k),
                           reference_root(leaves, begin + k, end));
}

std::vector<std::string> leaf_hashes(size_t n, const std::string& salt = "") {
  std::vector<std::string> out;
  for (size_t i = 0; i < n; ++i) out.push_back(merkle::leaf_hash(salt + std::to_string(i)));
  return out;
}

std::vector<std::string> proof_of(const std::vector<std::pair<uint64_t, uint64_t>>& ranges,
                                  const std::vector<std::string>& leaves) {
  std::vector<std::string> out;
  for (auto [b, e] : ranges) out.push_back(reference_root(leaves, b, e));
  return out;
}

}  // namespace

CAF_TEST(merkle roots and inclusion proofs follow rfc 9162) {
  std::vector<std::string> leaves;
  for (int i = 0; i < 40; ++i) {
    leaves.push_back(merkle::leaf_hash("leaf " + std::to_string(i)));
    merkle::tree_builder t;
    for (auto& l : leaves) t.add_leaf_hash(l);
    auto root = t.root();
    CAF_CHECK_EQUAL(crypto::base64_encode(root),
                    crypto::base64_encode(reference_root(leaves, 0, leaves.size())));
    for (uint64_t m = 0; m < leaves.size(); ++m) {
      std::vector<std::string> path;
      for (auto [b, e] : merkle::inclusion_ranges(m, leaves.size()))
        path.push_back(reference_root(leaves, b, e));
      CAF_CHECK(merkle::verify_inclusion(leaves[m], m, leaves.size(), path, root));
      if (!path.empty()) {  // a changed step or another index fails
        auto bad = path;
        bad[0][0] ^= 1;
        CAF_CHECK(!merkle::verify_inclusion(leaves[m], m, leaves.size(), bad, root));
        CAF_CHECK(!merkle::verify_inclusion(leaves[m], (m + 1) % leaves.size(), leaves.size(), path,
                                            root));
      }
    }
  }
  CAF_CHECK_EQUAL(crypto::base64_encode(merkle::tree_builder{}.root()),
                  crypto::base64_encode(crypto::sha256("")));
}

CAF_TEST(consistency proofs follow RFC 9162 and fail for a rewritten prefix) {
  auto leaves = leaf_hashes(70);
  for (size_t second = 1; second <= leaves.size(); ++second) {
    auto second_root = reference_root(leaves, 0, second);
    for (size_t first = 1; first <= second; ++first) {
      auto first_root = reference_root(leaves, 0, first);
      auto path = proof_of(merkle::consistency_ranges(first, second), leaves);
      CAF_CHECK(merkle::verify_consistency(first, second, path, first_root, second_root));
      if (first == second) continue;
      // A first tree whose leaf 0 differs is no prefix.
      auto other = leaves;
      other[0] = merkle::leaf_hash("rewritten");
      CAF_CHECK(!merkle::verify_consistency(first, second, path, reference_root(other, 0, first),
                                            second_root));
      CAF_CHECK(!merkle::verify_consistency(first, second, path, first_root, first_root));
    }
  }
  CAF_CHECK(merkle::verify_consistency(0, 5, {}, "", reference_root(leaves, 0, 5)));
  CAF_CHECK(!merkle::verify_consistency(6, 5, {}, "", ""));
}

CAF_TEST(a tree builder resumed from its frontier goes on as if it never stopped) {
  auto leaves = leaf_hashes(600);
  for (size_t size : {0, 1, 2, 3, 255, 256, 257, 511, 512, 513}) {
    std::vector<std::string> frontier;
    for (auto [b, e] : merkle::frontier_ranges(size))
      frontier.push_back(reference_root(leaves, b, e));
    merkle::tree_builder resumed(size, frontier);
    std::vector<merkle::subtree> closed;
    for (size_t i = size; i < leaves.size(); ++i) resumed.add_leaf_hash(leaves[i], &closed);
    CAF_CHECK_EQUAL(resumed.root(), reference_root(leaves, 0, leaves.size()));
    // Every closed subtree is the one its level and index name.
    for (auto& t : closed) {
      auto begin = t.index << t.level;
      CAF_CHECK_EQUAL(t.hash, reference_root(leaves, begin, begin + (uint64_t{1} << t.level)));
    }
  }
}

CAF_TEST(a v1 receipt verifies through its leaf proof and signed head and fails when altered) {
  auto key = node_key_from_secret(crypto::ed25519_generate().secret_key);
  boost::json::value output =
      boost::json::object{{"response", "Paris."}, {"provider", "sim-eu"}, {"metadata", {}}};
  std::vector<boost::json::value> receipts;
  std::vector<std::string> leaves;
  for (int i = 0; i < 5; ++i) {
    receipt_input in;
    in.execution_id = 10 + i;
    in.job_id = "job-v1";
    in.question_id = "geography_basic";
    in.model_id = "mistral-7b";
    in.region = "EU";
    in.completed_us = 1'700'000'000'000'000 + i;
    in.output = &output;
    receipts.push_back(make_receipt(in, key.key_id));
    leaves.push_back(merkle::leaf_hash(receipt_leaf_data(receipts.back())));
  }
  auto head = sign_tree_head(key, leaves.size(), reference_root(leaves, 0, leaves.size()),
                             1'700'000'000'000'000);
  auto with_block = [&](boost::json::value r, size_t index, const node_key& signer) {
    boost::json::array path;
    for (auto& h : proof_of(merkle::inclusion_ranges(index, leaves.size()), leaves))
      path.emplace_back(crypto::base64_encode(h));
    r.as_object()["transparency"] = {{"key_id", signer.key_id},
                                     {"public_key", signer.public_key_base64()},
                                     {"leaf_index", index},
                                     {"audit_path", std::move(path)},
                                     {"tree_head", tree_head_json(head)}};
    return r;
  };
  auto served = with_block(receipts[3], 3, key);
  CAF_CHECK_EQUAL(served.as_object()["schema_version"].as_string(), receipt_version);
  CAF_CHECK(!served.as_object().contains("signature"));
  CAF_CHECK(verify_receipt(served, key.public_key, &output).empty());
  // Through text, as an export carries it.
  CAF_CHECK(verify_receipt(boost::json::parse(boost::json::serialize(served)), "").empty());
  // Another receipt's content under this leaf index, a changed field, another index.
  CAF_CHECK_EQUAL(verify_receipt(with_block(receipts[2], 3, key), "").size(), 1u);
  auto altered = served;
  altered.as_object()["execution_details"].as_object()["region"] = "US";
  CAF_CHECK_EQUAL(verify_receipt(altered, "").size(), 1u);
  auto moved = served;
  moved.as_object()["transparency"].as_object()["leaf_index"] = 2;
  CAF_CHECK_EQUAL(verify_receipt(moved, "").size(), 1u);
  // A head signed by another key than the trusted one; a head whose size was changed.
  auto other = node_key_from_secret(crypto::ed25519_generate().secret_key);
  CAF_CHECK_EQUAL(verify_receipt(served, other.public_key).size(), 1u);
  auto resized = served;
  resized.as_object()["transparency"].as_object()["tree_head"].as_object()["tree_size"] = 6;
  CAF_CHECK_GREATER_OR_EQUAL(verify_receipt(resized, "").size(), 1u);
  // Without its block a v1 receipt does not verify.
  CAF_CHECK_EQUAL(verify_receipt(receipts[0], "").size(), 1u);
  // The head survives JSON.
  std::string problem;
  auto back = tree_head_from_json(tree_head_json(head), problem);
  CAF_REQUIRE(back.has_value());
  CAF_CHECK(tree_head_signed_by(*back, key.public_key));
  back->tree_size += 1;
  CAF_CHECK(!tree_head_signed_by(*back, key.public_key));
}

CAF_TEST(base64 decoding accepts exactly what libsodium strict decoding accepts) {
  std::mt19937 rng(5);
  const std::string alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=- \n.";
  auto sodium = [](const std::string& text) -> std::optional<std::string> {
    std::string out(text.size() / 4 * 3 + 3, '\0');
    size_t len = 0;
    const char* end = nullptr;
    if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                          text.size(), nullptr, &len, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
        end != text.data() + text.size())
      return std::nullopt;
    out.resize(len);
    return out;
  };
  int valid = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string text;
    if (i % 2) {  // a real encoding, sometimes with one character changed
      std::string raw(rng() % 40, '\0');
      for (auto& c : raw) c = static_cast<char>(rng());
      text = crypto::base64_encode(raw);
      if (i % 3 == 0 && !text.empty())
        text[rng() % text.size()] = alphabet[rng() % alphabet.size()];
    } else {
      text.resize(rng() % 12);
      for (auto& c : text) c = alphabet[rng() % alphabet.size()];
    }
    auto ours = crypto::base64_decode(text);
    CAF_CHECK_EQUAL(ours.has_value(), sodium(text).has_value());
    if (ours && sodium(text)) CAF_CHECK_EQUAL(to_hex(*ours), to_hex(*sodium(text)));
    valid += ours.has_value();
  }
  CAF_CHECK_GREATER(valid, 5000);
}

CAF_TEST(the leaf of a new receipt is the hash of the receipt as served) {
  // Strings that need escaping, non-ASCII text, empty fields, large and zero numbers.
  const std::vector<std::string> texts = {
      "", "plain", "quote \" and \\", "tab\tnl\n", "\x01\x1f", "Zürich 北京 🙂", "</script>"};
  std::mt19937 rng(11);
  for (int i = 0; i < 200; ++i) {
    auto pick = [&] { return texts[rng() % texts.size()]; };
    boost::json::value output = boost::json::object{
        {"response", pick()}, {"provider", pick()}, {"metadata", {{"latency_ms", 0.1 * i}}}};
    receipt_input in;
    in.execution_id = (int64_t{1} << 40) + i;
    in.job_id = pick();
    in.question_id = pick();
    in.model_id = pick();
    in.region = pick();
    in.run = i % 7;
    in.provider_id = pick();
    in.provider_region = pick();
    in.model_served = pick();
    in.http_status = i % 2 ? 200 : 0;
    in.attempts = i % 5;
    in.started_us = 1'700'000'000'123'456 + i;
    in.completed_us = in.started_us + (i % 3) * 1'234'567 - (i % 4 == 0 ? 5 : 0);
    in.prompt = pick();
    in.system_prompt = pick();
    in.classification = pick();
    in.language = pick();
    in.output = &output;
    // v1.2's usage and settings, reported or not, set or not.
    in.prompt_tokens = i % 3 == 0 ? -1 : i * 1000;
    in.completion_tokens = i % 5 == 0 ? -1 : i;
    in.finish_reason = pick();
    in.temperature = text::decimal_text(0.01 * (i % 200));
    in.top_p = i % 2 ? text::decimal_text(1.0 / (1 + i % 9)) : "";
    in.max_tokens = 1 + i * 7;
    in.has_seed = i % 4 == 1;
    in.seed = int64_t{1} << (i % 53);
    in.settings_unsent = pick();
    auto key = "key-" + pick();
    CAF_CHECK_EQUAL(canonical_receipt_for_log(in, key),
                    canonical_json(make_receipt(in, key, false)));
    CAF_CHECK_EQUAL(to_hex(receipt_for_log(in, key).leaf_data),
                    to_hex(receipt_leaf_data(make_receipt(in, key, true))));
    // The output's canonical text given by the caller (as the execution stores it) hashes alike.
    auto logged = receipt_for_log(in, key);
    auto canonical = canonical_json(output);
    in.output_canonical = canonical;
    auto given = receipt_for_log(in, key);
    CAF_CHECK_EQUAL(to_hex(given.leaf_data), to_hex(logged.leaf_data));
    CAF_CHECK_EQUAL(to_hex(given.output_hash), to_hex(logged.output_hash));
  }
}

CAF_TEST(decimal text is the shortest plain decimal that reads back as the value) {
  CAF_CHECK_EQUAL(text::decimal_text(0.1), "0.1");
  CAF_CHECK_EQUAL(text::decimal_text(0), "0");
  CAF_CHECK_EQUAL(text::decimal_text(2), "2");
  CAF_CHECK_EQUAL(text::decimal_text(1e-05), "0.00001");
  CAF_CHECK_EQUAL(text::decimal_text(0.7), "0.7");
  CAF_CHECK_EQUAL(text::decimal_text(1.0 / 3), "0.3333333333333333");
  for (double x : {0.1, 0.25, 1.0 / 3, 1.9999999, 1e-7})
    CAF_CHECK_EQUAL(std::strtod(text::decimal_text(x).c_str(), nullptr), x);
}

CAF_TEST(every kind of tampering with the log fails with its reason) {
  auto key = node_key_from_secret(crypto::ed25519_generate().secret_key);
  boost::json::value output =
      boost::json::object{{"response", "Canberra."}, {"provider", "sim-us"}, {"metadata", {}}};
  std::vector<boost::json::value> receipts;
  std::vector<std::string> leaves;
  for (int i = 0; i < 8; ++i) {
    receipt_input in;
    in.execution_id = 100 + i;
    in.job_id = "job-t";
    in.question_id = "geography_basic";
    in.model_id = "m";
    in.region = "US";
    in.completed_us = 1'700'000'000'000'000 + i;
    in.output = &output;
    receipts.push_back(make_receipt(in, key.key_id));
    leaves.push_back(merkle::leaf_hash(receipt_leaf_data(receipts.back())));
  }
  auto signed_head = [&](const std::vector<std::string>& tree, size_t size, const node_key& k) {
    return sign_tree_head(k, size, reference_root(tree, 0, size), 1'700'000'000'000'000);
  };
  // A receipt as the node would serve it, its proof taken from `tree` against `head`.
  auto served = [&](size_t i, size_t index, const std::vector<std::string>& tree,
                    const tree_head& head) {
    auto r = receipts[i];
    boost::json::array path;
    for (auto& h : proof_of(merkle::inclusion_ranges(index, head.tree_size), tree))
      path.emplace_back(crypto::base64_encode(h));
    r.as_object()["transparency"] = {{"key_id", key.key_id},
                                     {"public_key", key.public_key_base64()},
                                     {"leaf_index", index},
                                     {"audit_path", std::move(path)},
                                     {"tree_head", tree_head_json(head)}};
    return r;
  };
  auto reason = [&](const boost::json::value& r) {
    auto problems = verify_receipt(r, key.public_key);
    return problems.empty() ? std::string("verifies") : problems.front();
  };
  auto head = signed_head(leaves, 8, key);
  for (size_t i = 0; i < 8; ++i) CAF_CHECK_EQUAL(reason(served(i, i, leaves, head)), "verifies");
  // A changed leaf: the receipt's content altered after it was logged.
  auto changed = served(4, 4, leaves, head);
  changed.as_object()["execution_details"].as_object()["model_id"] = "other";
  CAF_CHECK_EQUAL(reason(changed).rfind("the receipt is not leaf 4 of the signed tree", 0), 0u);
  // A re-ordered pair: the node serves proofs from a log whose leaves 2 and 3 were swapped.
  auto swapped = leaves;
  std::swap(swapped[2], swapped[3]);
  CAF_CHECK_EQUAL(reason(served(2, 2, swapped, head)).rfind("the receipt is not leaf 2", 0), 0u);
  CAF_CHECK_EQUAL(reason(served(2, 3, swapped, head)).rfind("the receipt is not leaf 3", 0), 0u);
  // A removed row: the log without leaf 5 is no extension of the signed tree of 8.
  auto removed = leaves;
  removed.erase(removed.begin() + 5);
  auto shorter = signed_head(removed, 7, key);
  CAF_CHECK(!merkle::verify_consistency(8, 7, {}, head.root_hash, shorter.root_hash));
  auto regrown = removed;
  regrown.push_back(merkle::leaf_hash("a new leaf"));
  auto rewritten = signed_head(regrown, 8, key);
  CAF_CHECK(!merkle::verify_consistency(8, 8, {}, head.root_hash, rewritten.root_hash));
  CAF_CHECK(!merkle::verify_consistency(6, 8, proof_of(merkle::consistency_ranges(6, 8), regrown),
                                        reference_root(leaves, 0, 6), rewritten.root_hash));
  // A forged tree head: signed by another key, or changed after signing.
  auto other = node_key_from_secret(crypto::ed25519_generate().secret_key);
  CAF_CHECK_EQUAL(reason(served(1, 1, leaves, signed_head(leaves, 8, other)))
                      .rfind("the tree head is of another log", 0),
                  0u);
  auto impostor = signed_head(leaves, 8, other);
  impostor.key_id = key.key_id;  // claims to be this node's log
  CAF_CHECK_EQUAL(reason(served(1, 1, leaves, impostor)),
                  "the tree head's signature does not verify");
  auto forged = head;
  forged.root_hash = reference_root(swapped, 0, 8);
  CAF_CHECK_EQUAL(reason(served(2, 2, swapped, forged)),
                  "the tree head's signature does not verify");
  // A proof against the wrong head: a real, signed head of another size.
  auto smaller = signed_head(leaves, 6, key);
  auto wrong = served(1, 1, leaves, head);
  wrong.as_object()["transparency"].as_object()["tree_head"] = tree_head_json(smaller);
  CAF_CHECK_EQUAL(reason(wrong).rfind("the receipt is not leaf 1 of the signed tree of 6", 0), 0u);
}
