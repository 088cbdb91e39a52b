// Language guess.
#include "analysis/language.hpp"

#include <array>
#include <cstdint>
#include <string_view>
#include <unordered_map>

namespace beacon::analysis {
namespace {

struct stop_words {
  const char* code;
  std::array<std::string_view, 12> words;
};

// The most frequent function words of each language, chosen not to overlap much.
constexpr std::array<stop_words, 7> latin = {{
    {"en", {"the", "and", "of", "is", "to", "in", "that", "it", "was", "for", "with", "as"}},
    {"de",
     {"der", "die", "und", "das", "ist", "nicht", "mit", "den", "ein", "eine", "auf", "sich"}},
    {"fr", {"le", "la", "les", "et", "est", "des", "une", "du", "que", "pour", "dans", "pas"}},
    {"es", {"el", "los", "las", "y", "es", "del", "que", "una", "por", "con", "para", "se"}},
    {"it", {"il", "di", "che", "gli", "della", "per", "una", "sono", "con", "non", "del", "nel"}},
    {"pt", {"o", "os", "da", "do", "que", "uma", "para", "com", "não", "em", "dos", "foi"}},
    {"nl", {"de", "het", "een", "van", "en", "is", "niet", "dat", "op", "te", "zijn", "met"}},
}};

// The script of a token's first code point (decoded from UTF-8).
const char* script_of(std::string_view t) {
  auto b = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(t[i])); };
  uint32_t cp = b(0);
  if (cp < 0x80) return nullptr;
  if (cp >= 0xE0 && t.size() >= 3)
    cp = ((cp & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F);
  else if (cp >= 0xC0 && t.size() >= 2)
    cp = ((cp & 0x1F) << 6) | (b(1) & 0x3F);
  if (cp >= 0x3040 && cp <= 0x30FF) return "ja";  // kana
  if (cp >= 0xAC00 && cp <= 0xD7AF) return "ko";
  if (cp >= 0x4E00 && cp <= 0x9FFF) return "zh";
  if (cp >= 0x0400 && cp <= 0x04FF) return "ru";
  if (cp >= 0x0600 && cp <= 0x06FF) return "ar";
  if (cp >= 0x0590 && cp <= 0x05FF) return "he";
  if (cp >= 0x0370 && cp <= 0x03FF) return "el";
  return nullptr;
}

}  // namespace

std::string guess_language(const std::vector<std::string>& text_tokens) {
  // Non-Latin scripts first: Japanese text mixes kanji with kana, so any kana makes it "ja".
  int han = 0, kana = 0, other = 0;
  const char* other_script = nullptr;
  for (auto& t : text_tokens) {
    auto s = script_of(t);
    if (!s) continue;
    std::string_view sv(s);
    if (sv == "ja")
      ++kana;
    else if (sv == "zh")
      ++han;
    else {
      ++other;
      other_script = s;
    }
  }
  auto scripted = han + kana + other;
  if (scripted * 2 > static_cast<int>(text_tokens.size())) {
    if (kana > 0) return "ja";
    if (han >= other) return "zh";
    return other_script;
  }
  // Stop word -> the languages it belongs to (bit i: latin[i]). The first 80 words decide.
  static const auto stop = [] {
    std::unordered_map<std::string_view, uint32_t> m;
    for (size_t i = 0; i < latin.size(); ++i)
      for (auto w : latin[i].words) m[w] |= 1u << i;
    return m;
  }();
  std::array<int, latin.size()> hits{};
  for (size_t k = 0; k < text_tokens.size() && k < 80; ++k) {
    auto& t = text_tokens[k];
    if (t.size() > 5) continue;  // no stop word is longer
    auto it = stop.find(t);
    if (it == stop.end()) continue;
    for (size_t i = 0; i < latin.size(); ++i)
      if (it->second & (1u << i)) ++hits[i];
  }
  size_t best = 0;
  for (size_t i = 1; i < latin.size(); ++i)
    if (hits[i] > hits[best]) best = i;
  if (hits[best] < 2) return "und";
  return latin[best].code;
}

}  // namespace beacon::analysis
