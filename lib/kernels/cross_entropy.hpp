// lib/kernels/cross_entropy.hpp: label-smoothed cross-entropy with a fused,
// numerically stable log-softmax (docs/supernet.md, "Loss"; formula in cross_entropy.cpp and
// docs/model.md). Padding targets contribute nothing.
#pragma once

#include <cstdint>

#include "kernels/modes.hpp"

namespace mos {

constexpr float kLabelSmoothing = 0.1f;

struct CrossEntropyResult {
    double loss = 0.0;   // sum of the smoothed loss over non-pad targets
    double nll = 0.0;    // sum of -log p(target) over non-pad targets
    int64_t tokens = 0;  // number of non-pad targets
};

// logits [N, V], targets [N]; saves lse [N] (log-sum-exp of each row) for backward.
// row_loss [N] and row_nll [N] (optional, may be NULL) receive each row's terms, 0 for pad.
// Throws MOS_OUT_OF_RANGE for a non-pad target outside [0, V).
CrossEntropyResult cross_entropy_forward(float *lse, float *row_loss, float *row_nll,
                                         const float *logits, const int32_t *targets, int64_t N,
                                         int64_t V, int32_t pad, float eps);

// dlogits[n, v] += scale * (softmax(logits[n])_v - q_v), q_v = (1 - eps) [v == y_n] + eps / V,
// for non-pad rows (pad rows untouched). scale is e.g. 1 / tokens for a mean loss.
// mode = Overwrite writes those values instead and zeroes the pad rows.
// dlogits16 (may be NULL): also receives bf16(dlogits) [N, V] (bf16_convert's rounding),
// each row converted while it is in cache, for the bf16 products that read dlogits next.
void cross_entropy_backward(float *dlogits, const float *lse, const float *logits,
                            const int32_t *targets, int64_t N, int64_t V, int32_t pad, float eps,
                            float scale, GradMode mode = GradMode::Accumulate, uint16_t *dlogits16 = nullptr);

// In-place distillation (docs/training.md): the student's cross-entropy against a
// teacher distribution t [N, V] (rows sum to 1) over non-pad rows:
//   loss = sum_n (lse_n - sum_v t_nv z_nv),  d loss / d z_nv = softmax(z_n)_v - t_nv.
// Saves lse [N] and each row's loss in row_loss [N] (0 for pad); returns the sum.
double soft_cross_entropy_forward(float *lse, float *row_loss, const float *logits, const float *teacher, const int32_t *targets,
                                  int64_t N, int64_t V, int32_t pad);
// dlogits[n, v] += scale * (softmax(logits[n])_v - teacher[n, v]) for non-pad rows
// (Overwrite: = that, pad rows zeroed); dlogits16 as in cross_entropy_backward.
void soft_cross_entropy_backward(float *dlogits, const float *lse, const float *logits, const float *teacher,
                                 const int32_t *targets, int64_t N, int64_t V, int32_t pad, float scale,
                                 GradMode mode = GradMode::Accumulate, uint16_t *dlogits16 = nullptr);
// probs[n, v] = exp(logits[n, v] - lse[n]) for non-pad rows (0 for pad rows): the
// teacher distribution from a forward pass's logits and saved lse.
void softmax_rows(float *probs, const float *logits, const float *lse, const int32_t *targets, int64_t N, int64_t V,
                  int32_t pad);

namespace ref {
double soft_cross_entropy_forward(const float *logits, const float *teacher, const int32_t *targets, int64_t N,
                                  int64_t V, int32_t pad);
CrossEntropyResult cross_entropy_forward(float *lse, const float *logits, const int32_t *targets,
                                         int64_t N, int64_t V, int32_t pad, float eps);
void cross_entropy_backward(float *dlogits, const float *logits, const int32_t *targets, int64_t N,
                            int64_t V, int32_t pad, float eps, float scale);
}  // namespace ref

}  // namespace mos
