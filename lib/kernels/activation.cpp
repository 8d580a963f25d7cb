// lib/kernels/activation.cpp: ReLU (FFN: fc2(ReLU(fc1(x))), DESIGN.md §3) and the
// residual add, element-wise over the active tensor, with a naive reference.
#include "kernels/activation.hpp"

#include "kernels/common.hpp"

namespace mos {

void relu_forward(float *y, const float *x, int64_t n) {
    kern::check_nonneg("relu_forward", "n", n);
#pragma omp parallel for simd if (n > kern::kOmpMinWork) schedule(static)
    for (int64_t i = 0; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void relu_backward(float *dx, const float *dy, const float *y, int64_t n) {
    kern::check_nonneg("relu_backward", "n", n);
#pragma omp parallel for simd if (n > kern::kOmpMinWork) schedule(static)
    for (int64_t i = 0; i < n; i++) dx[i] += y[i] > 0.0f ? dy[i] : 0.0f;
}

void residual_forward(float *y, const float *a, const float *b, int64_t n) {
    kern::check_nonneg("residual_forward", "n", n);
#pragma omp parallel for simd if (n > kern::kOmpMinWork) schedule(static)
    for (int64_t i = 0; i < n; i++) y[i] = a[i] + b[i];
}

void residual_backward(float *da, float *db, const float *dy, int64_t n) {
    kern::check_nonneg("residual_backward", "n", n);
    if (da) {
#pragma omp parallel for simd if (n > kern::kOmpMinWork) schedule(static)
        for (int64_t i = 0; i < n; i++) da[i] += dy[i];
    }
    if (db) {
#pragma omp parallel for simd if (n > kern::kOmpMinWork) schedule(static)
        for (int64_t i = 0; i < n; i++) db[i] += dy[i];
    }
}

namespace ref {
void relu_forward(float *y, const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}
void relu_backward(float *dx, const float *dy, const float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (y[i] > 0.0f) dx[i] += dy[i];
}
}  // namespace ref

}  // namespace mos
