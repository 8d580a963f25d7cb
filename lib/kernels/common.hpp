// lib/kernels/common.hpp: small helpers shared by the layer kernels: shape checks
// that name the offending value, the OpenMP size threshold, and the macro that
// compiles hot row loops for several ISAs (chosen at run time, never by build flags).
#pragma once

#include <cstdint>

#include "core/error.hpp"

namespace mos {
namespace kern {

// Below this many floats of work a loop stays serial: forking threads costs
// more than it saves (about a microsecond per fork on the target machines).
constexpr int64_t kOmpMinWork = 1 << 14;

// Element-wise kernels split their work into spans of kSpan floats (a multiple
// of the 8-lane vector width); each span runs one cloned vector loop.
constexpr int64_t kSpan = 4096;
inline int64_t span_len(int64_t first, int64_t n) { return first + kSpan < n ? kSpan : n - first; }

// An elastic size must lie in [1, super]; zero is allowed only where stated.
inline void check_active(const char *kernel, const char *what, int64_t active, int64_t super) {
    check(active >= 0, MOS_INVALID_ARGUMENT, kernel, ": ", what, " is negative (", active, ")");
    check(active <= super, MOS_OUT_OF_RANGE, kernel, ": ", what, " = ", active,
          " exceeds its super size ", super);
}

inline void check_nonneg(const char *kernel, const char *what, int64_t v) {
    check(v >= 0, MOS_INVALID_ARGUMENT, kernel, ": ", what, " is negative (", v, ")");
}

inline void check_ptr(const char *kernel, const char *what, const void *p) {
    check(p != nullptr, MOS_INVALID_ARGUMENT, kernel, ": ", what, " is NULL");
}

}  // namespace kern
}  // namespace mos

// Hot row loops (axpy, dot) are cloned for AVX-512, AVX2+FMA and the baseline
// and the loader picks one per CPU: the build uses no -march flag (STYLE.md).
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define MOS_HOT_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define MOS_HOT_CLONES
#endif
