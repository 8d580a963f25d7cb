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

// Column reductions over the rows (bias and LayerNorm parameter gradients) run
// as one task per chunk of adjacent columns; a task streams its chunk row by
// row (contiguous reads) into partial sums that stay in L1. Every column is
// still summed over the rows in order, so the result is the same for any chunk
// width and thread count. The width splits d over `threads` and is a multiple
// of 8 floats, at least 32 and at most kColChunk.
constexpr int64_t kColChunk = 256;
inline int64_t column_chunk(int64_t d, int threads) {
    const int64_t t = threads > 1 ? threads : 1;
    int64_t w = ((d + t - 1) / t + 7) / 8 * 8;
    w = w < 32 ? 32 : w;
    return w > kColChunk ? kColChunk : w;
}

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
// The clones are chosen by IFUNC resolvers, which the dynamic loader runs while
// relocating, before the sanitizer runtimes are initialised: an instrumented
// resolver then crashes before main (seen with GCC's ThreadSanitizer, and the
// reason AddressSanitizer builds left them out already). Sanitizer builds run
// the baseline loop only (slower, and without FMA contraction its sums may
// differ from the clones' in the last bits).
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__) && \
    !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#define MOS_HOT_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define MOS_HOT_CLONES
#endif
