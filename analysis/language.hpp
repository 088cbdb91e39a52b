// A guess at an answer's language: by script for non-Latin text (zh, ja, ko, ru, ar, he, el),
// by stop-word counts for Latin text (en, de, fr, es, it, pt, nl). "und" when too short to tell.
#pragma once

#include <string>
#include <vector>

namespace beacon::analysis {

// `text_tokens` as analysis::tokens returns them.
std::string guess_language(const std::vector<std::string>& text_tokens);

}  // namespace beacon::analysis
