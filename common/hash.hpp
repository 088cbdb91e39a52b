// Small deterministic hashing and pseudo-random helpers (stable across runs and platforms).
#pragma once

#include <cstdint>
#include <string_view>

namespace beacon {

// FNV-1a over bytes, continuing from `seed`.
constexpr uint64_t fnv1a(std::string_view s, uint64_t seed = 1469598103934665603ull) {
  uint64_t h = seed;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

// SplitMix64 finaliser: turns a counter or hash into well-mixed bits.
constexpr uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// A uniform double in [0, 1) derived from `bits`.
constexpr double unit_interval(uint64_t bits) {
  return static_cast<double>(bits >> 11) * 0x1.0p-53;
}

}  // namespace beacon
