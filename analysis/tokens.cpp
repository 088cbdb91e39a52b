// Tokenizer.
#include "analysis/tokens.hpp"

#include <cstdint>

namespace beacon::analysis {
namespace {

// Length of the UTF-8 sequence starting with `lead` (1 for invalid bytes).
size_t utf8_length(unsigned char lead) {
  if (lead >= 0xF0) return 4;
  if (lead >= 0xE0) return 3;
  if (lead >= 0xC0) return 2;
  return 1;
}

uint32_t code_point(std::string_view s) {
  auto b = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(s[i])); };
  if (s.size() == 2) return ((b(0) & 0x1F) << 6) | (b(1) & 0x3F);
  if (s.size() == 3) return ((b(0) & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F);
  if (s.size() == 4)
    return ((b(0) & 0x07) << 18) | ((b(1) & 0x3F) << 12) | ((b(2) & 0x3F) << 6) | (b(3) & 0x3F);
  return b(0);
}

// Letters of alphabetic scripts (Latin extended, Greek, Cyrillic, Hebrew, Arabic) join words.
bool alphabetic(uint32_t cp) {
  return (cp >= 0x00C0 && cp <= 0x024F && cp != 0x00D7 && cp != 0x00F7) ||
         (cp >= 0x0370 && cp <= 0x052F) || (cp >= 0x0590 && cp <= 0x06FF);
}

bool punctuation(uint32_t cp) {
  return (cp >= 0x2000 && cp <= 0x206F)     // general punctuation (dashes, quotes)
         || (cp >= 0x3000 && cp <= 0x303F)  // CJK punctuation
         || (cp >= 0xFF00 && cp <= 0xFF0F) || (cp >= 0xFF1A && cp <= 0xFF20) || cp == 0x00A0 ||
         (cp >= 0x00A1 && cp <= 0x00BF);
}

}  // namespace

std::vector<std::string> tokens(std::string_view text) {
  std::vector<std::string> out;
  std::string word;
  auto flush = [&] {
    if (!word.empty()) out.push_back(std::move(word));
    word.clear();
  };
  for (size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
        word.push_back(static_cast<char>(c));
      else if (c >= 'A' && c <= 'Z')
        word.push_back(static_cast<char>(c - 'A' + 'a'));
      else
        flush();
      ++i;
      continue;
    }
    auto n = std::min(utf8_length(c), text.size() - i);
    auto cp = text.substr(i, n);
    i += n;
    if (alphabetic(code_point(cp))) {
      word.append(cp);
      continue;
    }
    flush();
    if (!punctuation(code_point(cp))) out.emplace_back(cp);
  }
  flush();
  return out;
}

}  // namespace beacon::analysis
