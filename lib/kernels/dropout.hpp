// lib/kernels/dropout.hpp: inverted dropout with a counter-based mask.
//
// The keep decision of element i is a pure function of (seed, step, site, i): a
// 64-bit hash, so the mask is the same for any thread count and order, costs no
// state, and backward regenerates it instead of storing it. `site` tells apart the
// dropout calls of one step (layer and position in the layer). Rate scaled by the
// subnet's width (HAT, DESIGN.md §3): p = p_max * d_active / d_max.
#pragma once

#include <cstdint>

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

// y[n] = keep_i ? x[n] / (1 - p) : 0, for p in [0, 1). p = 0 copies. y may alias x.
void dropout_forward(float *y, const float *x, int64_t n, float p, const DropoutKey &key);
// dx[n] += keep_i ? dy[n] / (1 - p) : 0 (mask regenerated from the same key).
void dropout_backward(float *dx, const float *dy, int64_t n, float p, const DropoutKey &key);

namespace ref {
void dropout_forward(float *y, const float *x, int64_t n, float p, const DropoutKey &key);
}  // namespace ref

}  // namespace mos
