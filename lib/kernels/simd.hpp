// lib/kernels/simd.hpp: an 8-lane float vector (GCC/Clang vector extensions) and
// the few operations the element-wise kernels need: unaligned load/store,
// max, select, horizontal sum and a vector exp for x <= 0.
//
// GCC's -O2 vectoriser leaves the softmax, LayerNorm and ReLU-gradient loops
// scalar (conversions, selects and reductions defeat its cheap cost model), so
// those kernels are written on this type instead. The helpers are always
// inlined: inside a MOS_HOT_CLONES function they compile to AVX2 (or AVX-512VL)
// instructions, in the baseline clone to pairs of SSE2 instructions. The build
// itself uses no -march flag (STYLE.md); meson.build adds -Wno-psabi because
// these vectors never cross a real call.
#pragma once

#include <cstdint>

#include "kernels/fast_exp.hpp"

namespace mos {
namespace simd {

typedef float f8 __attribute__((vector_size(32)));
typedef int32_t i8 __attribute__((vector_size(32)));
constexpr int64_t kW = 8;

#define MOS_SIMD_INLINE inline __attribute__((always_inline))

MOS_SIMD_INLINE f8 load(const float *p) {
    f8 v;
    __builtin_memcpy(&v, p, sizeof v);
    return v;
}
MOS_SIMD_INLINE void store(float *p, f8 v) { __builtin_memcpy(p, &v, sizeof v); }
// A lane-0 shuffle, not the constructor f8{x, x, ...}: inside target_clones
// functions GCC 12 builds the constructor lane by lane (vinsertps chains that
// also cost registers), while the shuffle becomes one vbroadcastss.
MOS_SIMD_INLINE f8 splat(float x) {
    const f8 v = {x};
    return __builtin_shufflevector(v, v, 0, 0, 0, 0, 0, 0, 0, 0);
}
MOS_SIMD_INLINE f8 zero() { return splat(0.0f); }
// m lanes are all-ones or all-zeros (the result of a vector comparison).
MOS_SIMD_INLINE f8 select(i8 m, f8 a, f8 b) {
    return reinterpret_cast<f8>((m & reinterpret_cast<i8>(a)) | (~m & reinterpret_cast<i8>(b)));
}
MOS_SIMD_INLINE f8 vmax(f8 a, f8 b) { return select(a > b, a, b); }
MOS_SIMD_INLINE f8 vmin(f8 a, f8 b) { return select(a < b, a, b); }
// Lanes summed pairwise ((0+4)+(2+6))+((1+5)+(3+7)): a fixed order, so results do
// not depend on the thread count or the clone that runs.
MOS_SIMD_INLINE float hsum(f8 v) {
    const float a = (v[0] + v[4]) + (v[2] + v[6]);
    const float b = (v[1] + v[5]) + (v[3] + v[7]);
    return a + b;
}
MOS_SIMD_INLINE float hmax(f8 v) {
    float m = v[0];
    for (int i = 1; i < 8; i++) m = v[i] > m ? v[i] : m;
    return m;
}

// exp(x) for x <= 0, lane-wise: the steps of kern::exp_nonpos
// (kernels/fast_exp.hpp), about 2 ulp; inputs clamped to [-87, 0].
MOS_SIMD_INLINE f8 exp_nonpos(f8 x) {
    x = vmin(vmax(x, splat(-87.0f)), zero());
    const f8 n = kern::exp_round_n(x);
    const i8 bits = (__builtin_convertvector(n, i8) + 127) << 23;
    return kern::exp_reduced(x, n) * reinterpret_cast<f8>(bits);
}

#undef MOS_SIMD_INLINE

}  // namespace simd
}  // namespace mos
