// Data files of the analysis (analysis/*.json), embedded into the binary by CMake.
#pragma once

#include <map>
#include <string>

namespace beacon::analysis {

// Relative path (e.g. "analysis/key_terms.json") -> contents.
const std::map<std::string, std::string>& embedded_data();

}  // namespace beacon::analysis
