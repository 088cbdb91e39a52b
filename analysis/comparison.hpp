// Cross-region comparison of one question x model: per region refusals, deflections, key terms and
// same-region agreement; per region pair the answer similarity (analysis/similarity.hpp) against
// the same-region noise; a divergence score with every component visible; flags in plain words.
//
// Divergence D = 0.4 * dissimilarity + 0.3 * refusal_gap + 0.2 * key_term_gap
//              + 0.1 * length_disparity, each component in [0, 1]:
//   dissimilarity    = max(0, (1 - mean similarity over region pairs) - noise); noise is
//                      1 - mean same-region similarity when some region has >= 2 answers (runs >
//                      1), else unknown and taken as 0 (reported as null);
//   refusal_gap      = max - min over regions of the share of answers that refuse or deflect;
//   key_term_gap     = mean over regions of (key terms most answers of some other region mention
//   but
//                      no answer of this region does) / (key terms any region mentions);
//   length_disparity = 1 - shortest / longest mean answer length of a region.
// Identical answers everywhere give D = 0 and no flags. A "truncation" flag names the regions
// whose answers were cut at max_tokens at least 25 points more often than another region's (their
// length and key terms are then partly the limit's doing, not the model's).
#pragma once

#include <boost/json/object.hpp>
#include <optional>
#include <string>
#include <vector>

#include "domain/status.hpp"

namespace beacon::analysis {

// One cell of the group, as stored.
struct answer {
  int64_t execution_id = 0;
  std::string region;
  int32_t run = 0;
  cell_status status = cell_status::pending;  // only completed cells have an answer
  std::string classification;                 // of a completed answer
  std::string text;
  bool truncated = false;  // its provider stopped at max_tokens (finish_reason length)
};

struct region_finding {
  std::string region;
  int32_t answers = 0;  // completed cells
  int32_t substantive = 0, refusals = 0, deflections = 0;
  int32_t failures = 0;   // failed, timed-out or cancelled cells (no answer: not evidence)
  int32_t truncated = 0;  // answers cut at max_tokens (finish_reason length)
  double mean_length = 0;
  std::optional<double> within_similarity;     // mean over pairs of its answers (>= 2 answers)
  std::optional<double> similarity_to_others;  // mean over the other regions with answers
  std::vector<std::string> key_terms;          // mentioned by at least half of its answers
  std::vector<std::string> key_terms_missing;  // another region's key terms it never mentions
  std::optional<double> key_term_coverage;     // key_terms / the question's list
  std::vector<int64_t> execution_ids;
  double avoidance() const {
    return answers ? static_cast<double>(refusals + deflections) / answers : 0.0;
  }
};

struct pair_finding {
  std::string a, b;
  double similarity = 0;
  std::optional<double> noise;  // 1 - same-region similarity of the noisier of a and b
  bool beyond_noise = true;     // 1 - similarity > noise (true when the noise is unknown)
};

struct flag {
  std::string type;  // refusal | divergence | missing_key_facts
  std::string message;
  std::vector<std::string> regions;
};

struct divergence_components {
  double dissimilarity = 0, refusal_gap = 0, key_term_gap = 0, length_disparity = 0;
};

struct group_analysis {
  std::string question_id, model_id;
  std::vector<region_finding> regions;  // sorted by region code
  std::vector<pair_finding> pairs;
  std::optional<double> mean_similarity;  // over region pairs
  std::optional<double> noise;
  bool has_key_terms = false;
  divergence_components components;
  std::optional<double> divergence;  // null when fewer than two regions answered
  std::vector<flag> flags;
};

// Similarity below which two regions' substantive answers are flagged as diverging (if beyond
// the same-region noise).
inline constexpr double diverge_below = 0.5;
// A region's share of answers cut at max_tokens this much above another's is flagged.
inline constexpr double truncation_gap = 0.25;

group_analysis analyze_group(const std::string& question_id, const std::string& model_id,
                             const std::vector<answer>& answers);

// Values rounded to 4 decimals; absent quantities are null.
boost::json::object to_json(const group_analysis& g);

// The portal's per-region `scoring` of a group (the mapping is documented in docs/analysis.md).
boost::json::object region_scoring(const region_finding& r);

double round4(double x);
// A number rounded to 4 decimals, or null when there is none.
boost::json::value rounded(const std::optional<double>& x);
// part / whole rounded to 4 decimals, or null when whole is 0.
boost::json::value share(double part, double whole);
// Two decimals, for the numbers in flag and summary texts.
std::string fixed2(double x);

}  // namespace beacon::analysis
