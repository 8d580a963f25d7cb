// lib/kernels/layernorm.hpp: LayerNorm over the active width d <= D_max with the
// first d entries of gamma/beta (HAT weight sharing, docs/supernet.md), eps = 1e-5.
#pragma once

#include <cstdint>

#include "kernels/modes.hpp"

namespace mos {

constexpr float kLayerNormEps = 1e-5f;

// y[N, d] = (x - mean) * rstd * gamma[:d] + beta[:d]; saves mean[N], rstd[N]
// (rstd = 1 / sqrt(var + eps), var the biased variance over the d entries).
void layernorm_forward(float *y, float *mean, float *rstd, const float *x, const float *gamma,
                       const float *beta, int64_t N, int64_t d);

// Accumulates dx[N, d], dgamma[:d], dbeta[:d] (any may be NULL); dx_mode =
// Overwrite writes dx instead. dx may alias dy (each row of dy is read before
// its row of dx is written).
void layernorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
                        const float *mean, const float *rstd, const float *gamma, int64_t N, int64_t d,
                        GradMode dx_mode = GradMode::Accumulate);

namespace ref {
void layernorm_forward(float *y, float *mean, float *rstd, const float *x, const float *gamma,
                       const float *beta, int64_t N, int64_t d);
void layernorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
                        const float *mean, const float *rstd, const float *gamma, int64_t N, int64_t d);
}  // namespace ref

}  // namespace mos
