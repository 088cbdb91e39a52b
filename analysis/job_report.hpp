// The per-job summary of the cross-region analysis: the question x model groups that diverge
// most, the regions that refuse most, a per-model ranking, each line with its evidence, plus the
// original portal's v2 fields (region_scores, bias_variance, censorship_rate, factual_consistency,
// narrative_divergence, key_differences, risk_assessment, summary, recommendation). Every number is
// derived from the groups; docs/analysis.md documents each mapping.
#pragma once

#include <boost/json/object.hpp>
#include <vector>

#include "analysis/comparison.hpp"

namespace beacon::analysis {

// {region_scores, analysis{...v2 fields}, evidence{most_divergent, refusing_regions,
// model_ranking}, groups_analyzed, answers}.
boost::json::object job_report(const std::vector<group_analysis>& groups);

// The portal's `analysis` object for one question x model (GET .../cross-region): bias_variance,
// censorship_rate, factual_consistency, narrative_divergence, key_differences, summary,
// recommendation, plus `divergence` (score, formula, components, pairs, noise, flags).
boost::json::object group_portal_analysis(const group_analysis& g);

}  // namespace beacon::analysis
