// lib/kernels/linear.hpp: the sliced (weight-sharing) linear of HAT (docs/supernet.md):
// a weight stored at super size [D_out, D_in] used at (d_out <= D_out, d_in <= D_in)
// through its top-left slice W[:d_out, :d_in] and b[:d_out], in place (ld_w = D_in).
// The tied output projection is this linear with W = the embedding table
// [V, D_max] (d_out = V, d_in = d_dec, ld_w = D_max) and no bias.
#pragma once

#include <cstdint>

#include "kernels/modes.hpp"

namespace mos {

// bf16 copies of a linear's operands made once by the caller (bf16_convert,
// backend/gemm.hpp) and read by every product of that operand
// (docs/training.md, "bf16 mixed precision"): the forward's x W^T and the
// backward's dy W and dy^T x. x: [N, d_in] dense; W: W[:d_out, :d_in] dense
// [d_out, d_in]; dy (backward only): [N, d_out] dense, when its producer wrote
// it (the loss writes the logits gradient's copy row by row). NULL pointers
// (the default, and always where bf16_copies_wanted is false) leave the
// conversion to the products (dy: to linear_backward).
struct LinearBf16 {
    const uint16_t *x = nullptr;
    const uint16_t *W = nullptr;
    const uint16_t *dy = nullptr;
};

// y[N, d_out] = x[N, d_in] * W[:d_out, :d_in]^T + b[:d_out]
//   W: [D_out, D_in] row-major, ld_w = D_in >= d_in; b: [>= d_out] or NULL (no bias).
//   N = tokens (elastic: batch); d_in, d_out elastic.
//   type: the product's precision (BF16: bf16 inputs, f32 accumulation).
//   pre: bf16 copies of x and W (LinearBf16), used where the product runs in bf16.
void linear_forward(float *y, const float *x, const float *W, const float *b, int64_t N,
                    int64_t d_in, int64_t d_out, int64_t ld_w, GemmType type = GemmType::F32,
                    const LinearBf16 &pre = {});

// Accumulates: dx[N, d_in] += dy W[:d_out,:d_in];  dW[:d_out,:d_in] += dy^T x
// (dW has the same layout as W, ld_w);  db[:d_out] += sum_n dy[n, :].
// Any of dx, dW, db may be NULL to skip it. Entries outside the slice are untouched.
// dx_mode = Overwrite writes dx = dy W instead (dx need not be initialised).
// In bf16 (bf16_copies_wanted(type)) dy is converted once for both products,
// and pre's copies of x and W (those the forward made) are reused.
void linear_backward(float *dx, float *dW, float *db, const float *dy, const float *x,
                     const float *W, int64_t N, int64_t d_in, int64_t d_out, int64_t ld_w,
                     GradMode dx_mode = GradMode::Accumulate, GemmType type = GemmType::F32,
                     const LinearBf16 &pre = {});

namespace ref {
void linear_forward(float *y, const float *x, const float *W, const float *b, int64_t N,
                    int64_t d_in, int64_t d_out, int64_t ld_w);
void linear_backward(float *dx, float *dW, float *db, const float *dy, const float *x,
                     const float *W, int64_t N, int64_t d_in, int64_t d_out, int64_t ld_w);
}  // namespace ref

}  // namespace mos
