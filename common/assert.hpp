// BEACON_ASSERT(condition, "what it means"): checks an invariant a function relies on. On in
// debug and sanitizer builds (where a failure aborts with file, line and the message), compiled
// out in release builds (NDEBUG without BEACON_SANITIZE).
#pragma once

#include <cstdio>
#include <cstdlib>

#if !defined(NDEBUG) || defined(BEACON_SANITIZE)
#define BEACON_ASSERT(condition, message)                                                        \
  do {                                                                                           \
    if (!(condition)) {                                                                          \
      std::fprintf(stderr, "%s:%d: invariant broken: %s (%s)\n", __FILE__, __LINE__, #condition, \
                   message);                                                                     \
      std::abort();                                                                              \
    }                                                                                            \
  } while (false)
#else
#define BEACON_ASSERT(condition, message) \
  do {                                    \
  } while (false)
#endif
