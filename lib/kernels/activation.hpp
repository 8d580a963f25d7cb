// lib/kernels/activation.hpp: ReLU and the residual add (FFN and post-LN blocks,
// docs/supernet.md). Backward passes accumulate into gradients.
#pragma once

#include <cstdint>

namespace mos {

// y[n] = max(x[n], 0). y may alias x.
void relu_forward(float *y, const float *x, int64_t n);
// dx[n] += dy[n] * (y[n] > 0), from the saved output y (y > 0 exactly where x > 0).
void relu_backward(float *dx, const float *dy, const float *y, int64_t n);
// In place: d[n] = y[n] > 0 ? d[n] : 0 (relu_backward into a fresh buffer, without one).
void relu_grad_mask(float *d, const float *y, int64_t n);

// y[n] = a[n] + b[n] (residual connection). y may alias a or b.
void residual_forward(float *y, const float *a, const float *b, int64_t n);
// da[n] += dy[n], db[n] += dy[n]; either may be NULL.
void residual_backward(float *da, float *db, const float *dy, int64_t n);

namespace ref {
void relu_forward(float *y, const float *x, int64_t n);
void relu_backward(float *dx, const float *dy, const float *y, int64_t n);
}  // namespace ref

}  // namespace mos
