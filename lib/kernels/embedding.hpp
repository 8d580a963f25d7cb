// lib/kernels/embedding.hpp: token embedding from the shared table [V, D_max]
// (first d <= D_max columns), scaled by sqrt(d) of the active width, plus
// sinusoidal positions for the active width (docs/supernet.md, fairseq style).
// The tied output projection is linear_forward with W = table (see linear.hpp).
#pragma once

#include <cstdint>

namespace mos {

// pos[T, d] row t = position pos0 + t, fairseq's sinusoid for width d:
//   h = d / 2, f_k = exp(-k ln(10000) / (h - 1)), k < h;
//   pos[t, k] = sin(p f_k),  pos[t, h + k] = cos(p f_k),  pos[t, d - 1] = 0 if d is odd.
// fairseq numbers the first real token padding_idx + 1; pass pos0 accordingly.
void sinusoid_positions(float *pos, int64_t pos0, int64_t T, int64_t d);

// out[B*T, d] = sqrt(d) * table[tok, :d] + pos[t, :d] for tok = tokens[b*T + t] != pad;
// rows of padding tokens are zero (fairseq zeroes both the pad embedding and its position).
//   tokens [B, T] (elastic B, T), table [V, D_max] (ld = D_max), pos [T, d].
// Throws MOS_OUT_OF_RANGE for a token outside [0, V) (naming it), d > D_max.
void embedding_forward(float *out, const int32_t *tokens, const float *table, const float *pos,
                       int64_t B, int64_t T, int64_t d, int64_t D_max, int64_t V, int32_t pad);

// dtable[tok, :d] += sqrt(d) * dout[n, :d] for every non-pad token (scatter-add; the
// pad row gets nothing). Each table row is owned by one thread and rows are visited in
// token order, so the sums are the same for any thread count.
void embedding_backward(float *dtable, const float *dout, const int32_t *tokens, int64_t B,
                        int64_t T, int64_t d, int64_t D_max, int64_t V, int32_t pad);

namespace ref {
void embedding_forward(float *out, const int32_t *tokens, const float *table, const float *pos,
                       int64_t B, int64_t T, int64_t d, int64_t D_max, int64_t V, int32_t pad);
void embedding_backward(float *dtable, const float *dout, const int32_t *tokens, int64_t B,
                        int64_t T, int64_t d, int64_t D_max, int64_t V, int32_t pad);
}  // namespace ref

}  // namespace mos
