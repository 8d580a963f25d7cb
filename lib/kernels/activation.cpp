// lib/kernels/activation.cpp: ReLU (FFN: fc2(ReLU(fc1(x))), docs/supernet.md) and the
// residual add, element-wise over the active tensor, with a naive reference.
#include "kernels/activation.hpp"

#include "backend/profile.hpp"
#include "kernels/common.hpp"
#include "kernels/simd.hpp"

namespace mos {

namespace {
using kern::kSpan;
using kern::span_len;

MOS_HOT_CLONES void relu_span(float *y, const float *x, int64_t n) {
    using namespace simd;
    int64_t i = 0;
    for (; i + kW <= n; i += kW) store(y + i, vmax(load(x + i), zero()));
    for (; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}
MOS_HOT_CLONES void relu_grad_span(float *dx, const float *dy, const float *y,
                                   int64_t n) {
    using namespace simd;
    int64_t i = 0;
    for (; i + kW <= n; i += kW) store(dx + i, load(dx + i) + select(load(y + i) > zero(), load(dy + i), zero()));
    for (; i < n; i++) dx[i] += y[i] > 0.0f ? dy[i] : 0.0f;
}
MOS_HOT_CLONES void relu_mask_span(float *d, const float *y, int64_t n) {
    using namespace simd;
    int64_t i = 0;
    for (; i + kW <= n; i += kW) store(d + i, select(load(y + i) > zero(), load(d + i), zero()));
    for (; i < n; i++) d[i] = y[i] > 0.0f ? d[i] : 0.0f;
}
MOS_HOT_CLONES void add_span(float *y, const float *a, const float *b, int64_t n) {
    using namespace simd;
    int64_t i = 0;
    for (; i + kW <= n; i += kW) store(y + i, load(a + i) + load(b + i));
    for (; i < n; i++) y[i] = a[i] + b[i];
}
}  // namespace

void relu_forward(float *y, const float *x, int64_t n) {
    kern::check_nonneg("relu_forward", "n", n);
    PhaseScope scope(Phase::Elementwise);
#pragma omp parallel for if (n > kern::kOmpMinWork) schedule(static)
    for (int64_t c = 0; c < n; c += kSpan) relu_span(y + c, x + c, span_len(c, n));
}

void relu_backward(float *dx, const float *dy, const float *y, int64_t n) {
    kern::check_nonneg("relu_backward", "n", n);
    PhaseScope scope(Phase::Elementwise);
#pragma omp parallel for if (n > kern::kOmpMinWork) schedule(static)
    for (int64_t c = 0; c < n; c += kSpan) relu_grad_span(dx + c, dy + c, y + c, span_len(c, n));
}

void relu_grad_mask(float *d, const float *y, int64_t n) {
    kern::check_nonneg("relu_grad_mask", "n", n);
    PhaseScope scope(Phase::Elementwise);
#pragma omp parallel for if (n > kern::kOmpMinWork) schedule(static)
    for (int64_t c = 0; c < n; c += kSpan) relu_mask_span(d + c, y + c, span_len(c, n));
}

void residual_forward(float *y, const float *a, const float *b, int64_t n) {
    kern::check_nonneg("residual_forward", "n", n);
    PhaseScope scope(Phase::Elementwise);
#pragma omp parallel for if (n > kern::kOmpMinWork) schedule(static)
    for (int64_t c = 0; c < n; c += kSpan) add_span(y + c, a + c, b + c, span_len(c, n));
}

void residual_backward(float *da, float *db, const float *dy, int64_t n) {
    kern::check_nonneg("residual_backward", "n", n);
    PhaseScope scope(Phase::Elementwise);
    if (da) {
#pragma omp parallel for if (n > kern::kOmpMinWork) schedule(static)
        for (int64_t c = 0; c < n; c += kSpan) add_span(da + c, da + c, dy + c, span_len(c, n));
    }
    if (db) {
#pragma omp parallel for if (n > kern::kOmpMinWork) schedule(static)
        for (int64_t c = 0; c < n; c += kSpan) add_span(db + c, db + c, dy + c, span_len(c, n));
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
