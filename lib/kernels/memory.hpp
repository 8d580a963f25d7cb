// lib/kernels/memory.hpp: parallel zeroing, copying and adding of float
// buffers for the model's passes (gradient arenas, activation-gradient
// buffers, the concatenation of encoder outputs for cross-attention).
//
// A serial memset of a training step's buffers is cheap on one thread and the
// part that does not scale on sixteen (docs/benchmarks.md, "Phase profile"), so
// every O(N*d) fill and copy of the model goes through these. Each splits its
// work into the same fixed spans for any thread count (kernels/common.hpp), so
// results never depend on the count; counted under the phase profile's
// "zero/copy".
#pragma once

#include <cstddef>
#include <cstdint>

namespace mos {

// x[0..n) = 0.
void zero_floats(float *x, int64_t n);
// dst[0..n) = src[0..n) (no overlap).
void copy_floats(float *dst, const float *src, int64_t n);
// dst[0..n) += src[0..n).
void add_floats(float *dst, const float *src, int64_t n);

// Block moves between a [B, k, rows, cols] view and a [k, B, rows, cols]
// (cols contiguous) one, for the cross-attention memory: the last k encoder
// outputs, each [B, S, d], along time as [B, k*S, d].
//   concat: mem[b, j*S + s, :] = enc[j][b, s, :]       for j < k
//   split:  denc[j][b, s, :] += dmem[b, j*S + s, :]    (accumulates)
// enc / denc hold k pointers, each to a [B, S, d] block.
void concat_time(float *mem, const float *const *enc, int64_t k, int64_t B, int64_t S, int64_t d);
void split_time_add(float *const *denc, const float *dmem, int64_t k, int64_t B, int64_t S, int64_t d);

}  // namespace mos
