// lib/kernels/dropout.hpp: inverted dropout with a counter-based mask.
//
// The keep decision of element i is a pure function of (seed, step, site, i): a
// 64-bit hash, so the mask is the same for any thread count and order, costs no
// state, and backward regenerates it instead of storing it. `site` tells apart the
// dropout calls of one step (layer and position in the layer). Rate scaled by the
// subnet's width (HAT; docs/training.md): p = p_max * d_active / d_max.
#pragma once

#include <cmath>
#include <cstdint>

#include "core/rng.hpp"
#include "kernels/simd.hpp"

namespace mos {

// p = p_max * d_active / d_max. Throws MOS_INVALID_ARGUMENT / MOS_OUT_OF_RANGE for
// p_max outside [0, 1), d_max < 1 or d_active outside [0, d_max].
float dropout_rate(float p_max, int64_t d_active, int64_t d_max);

struct DropoutKey {
    uint64_t seed = 0;
    uint64_t step = 0;
    uint64_t site = 0;
};

// Uniform in [0, 1) with 24 random bits for element i; element i is kept iff u >= p.
float dropout_uniform(const DropoutKey &key, uint64_t i);

// The same draws for loops over many elements of one key: the key is hashed once
// (dropout_key_hash) and dropout_uniform_hashed(hash, i) == dropout_uniform(key, i).
// Both mix with splitmix64's finaliser (lib/core/rng.hpp); element i is hashed at
// hash + (i + 1) * kSplitMixGamma.
inline uint64_t dropout_key_hash(const DropoutKey &k) {
    return splitmix64_mix(splitmix64_mix(k.seed ^ kSplitMixGamma) ^ (k.step * 0xd1b54a32d192ed03ULL) ^
                          (k.site * 0x8cb92ba72f3d8dd7ULL));
}
inline float dropout_uniform_hashed(uint64_t hash, uint64_t i) {
    const uint64_t h = splitmix64_mix(hash + (i + 1) * kSplitMixGamma);
    return static_cast<float>(h >> 40) * (1.0f / 16777216.0f);  // 24 bits -> [0, 1)
}

// The same draws eight at a time, for the vector loops (kernels/simd.hpp):
// lane j of dropout_bits8(hash, first) holds the 24 bits behind
// dropout_uniform_hashed(hash, first + j), and element i is kept iff its bits are
// >= dropout_keep_threshold(p) (u = bits / 2^24 >= p, both sides exact).
namespace dropout_detail {
typedef uint64_t u4 __attribute__((vector_size(32)));
typedef int32_t i4 __attribute__((vector_size(16)));
}  // namespace dropout_detail
inline __attribute__((always_inline)) simd::i8 dropout_bits8(uint64_t hash, uint64_t first) {
    using dropout_detail::i4;
    using dropout_detail::u4;
    const uint64_t g = kSplitMixGamma;
    const u4 j = {first + 1, first + 2, first + 3, first + 4};
    const u4 lo = splitmix64_mix(hash + j * g) >> 40;
    const u4 hi = splitmix64_mix(hash + (j + 4) * g) >> 40;
    return __builtin_shufflevector(__builtin_convertvector(lo, i4), __builtin_convertvector(hi, i4), 0, 1, 2, 3, 4,
                                   5, 6, 7);
}
inline int32_t dropout_keep_threshold(float p) { return static_cast<int32_t>(std::ceil(p * 16777216.0f)); }

// y[n] = keep_i ? x[n] / (1 - p) : 0, for p in [0, 1). p = 0 copies. y may alias x.
void dropout_forward(float *y, const float *x, int64_t n, float p, const DropoutKey &key);
// dx[n] += keep_i ? dy[n] / (1 - p) : 0 (mask regenerated from the same key).
void dropout_backward(float *dx, const float *dy, int64_t n, float p, const DropoutKey &key);

namespace ref {
void dropout_forward(float *y, const float *x, int64_t n, float p, const DropoutKey &key);
}  // namespace ref

}  // namespace mos
