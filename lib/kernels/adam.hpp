// lib/kernels/adam.hpp: the Adam update (Kingma & Ba), one implementation for
// the supernet trainer and the latency predictor.
//
// As fairseq runs it for translation: beta = (0.9, 0.98), eps = 1e-8, no weight
// decay, bias-corrected step size lr * sqrt(1 - b2^t) / (1 - b1^t). The trainer
// updates every parameter every step, also those a small subnet did not touch
// (their gradient is zero and their moments decay), as PyTorch does for the
// sliced super-size tensors (docs/training.md). The latency predictor
// (search/latency.cpp) uses PyTorch's default beta2 = 0.999 and no clipping.
// Element-wise, so the result does not depend on the thread count.
#pragma once

#include <cstddef>
#include <cstdint>

namespace mos {

struct AdamConfig {
    float beta1 = 0.9f;
    float beta2 = 0.98f;
    float eps = 1e-8f;
    float clip_norm = 0.0f;  // > 0: scale gradients to at most this global L2 norm
};

// The global L2 norm of n gradient values (accumulated in double).
double grad_norm(const float *grad, size_t n);

// One Adam update of the n parameters of one span with their moments m and v
// (same layout) at step t >= 1, from the gradients scaled by `gscale` (the
// clipping factor; 1 = as they are). cfg.clip_norm is not read here.
void adam_update(float *param, const float *grad, float *m, float *v, size_t n, int64_t t, float lr,
                 const AdamConfig &cfg, float gscale = 1.0f);

// One Adam step over all n parameters: the global gradient norm, the clipping
// factor from cfg.clip_norm, then adam_update. Returns the norm before clipping.
// Without clipping the norm is summed in the update's loop (one pass, same weights).
double adam_step(float *param, const float *grad, float *m, float *v, size_t n, int64_t t, float lr,
                 const AdamConfig &cfg);

}  // namespace mos
