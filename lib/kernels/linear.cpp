// lib/kernels/linear.cpp: sliced linear forward/backward (HAT weight sharing,
// DESIGN.md §1). The products go through mos::gemm with ld = D_in so the active
// slice of a super-size weight is used in place without copying it.
#include "kernels/linear.hpp"

#include <cstring>

#include "backend/gemm.hpp"
#include "kernels/common.hpp"
#include "kernels/simd.hpp"

namespace mos {

namespace {
void check_linear(const char *k, int64_t N, int64_t d_in, int64_t d_out, int64_t ld_w) {
    kern::check_nonneg(k, "N", N);
    kern::check_nonneg(k, "d_in", d_in);
    kern::check_nonneg(k, "d_out", d_out);
    check(ld_w >= d_in, MOS_OUT_OF_RANGE, k, ": d_in = ", d_in, " exceeds the weight's row length ", ld_w);
}
constexpr int64_t kColBlock = 32;  // columns per task of the bias gradient (4 vectors)

// acc[j0..j1) += sum_n x[n, j], rows in order.
MOS_HOT_CLONES void column_sums(float *acc, const float *x, int64_t N, int64_t d, int64_t j0, int64_t j1) {
    using namespace simd;
    if (j1 - j0 == kColBlock) {
        f8 a[4];
        for (int u = 0; u < 4; u++) a[u] = zero();
        for (int64_t n = 0; n < N; n++)
            for (int u = 0; u < 4; u++) a[u] += load(x + n * d + j0 + u * kW);
        for (int u = 0; u < 4; u++) store(acc + j0 + u * kW, load(acc + j0 + u * kW) + a[u]);
        return;
    }
    for (int64_t n = 0; n < N; n++)
        for (int64_t j = j0; j < j1; j++) acc[j] += x[n * d + j];
}
}  // namespace

void linear_forward(float *y, const float *x, const float *W, const float *b, int64_t N,
                    int64_t d_in, int64_t d_out, int64_t ld_w) {
    check_linear("linear_forward", N, d_in, d_out, ld_w);
    if (N == 0 || d_out == 0) return;
    // Bias first, then the product accumulates onto it (beta = 1): one pass over y.
    if (b) {
#pragma omp parallel for if (N * d_out > kern::kOmpMinWork) schedule(static)
        for (int64_t n = 0; n < N; n++) std::memcpy(y + n * d_out, b, static_cast<size_t>(d_out) * sizeof(float));
    }
    Gemm g;
    g.trans_a = false;
    g.trans_b = true;  // W is stored [d_out rows, D_in cols]
    g.M = N;
    g.N = d_out;
    g.K = d_in;
    g.lda = d_in > 0 ? d_in : 1;
    g.ldb = ld_w;
    g.ldc = d_out;
    g.beta = b ? 1.0f : 0.0f;
    if (d_in == 0) {
        if (!b)
            for (int64_t i = 0; i < N * d_out; i++) y[i] = 0.0f;
        return;
    }
    gemm(g, x, W, y);
}

void linear_backward(float *dx, float *dW, float *db, const float *dy, const float *x,
                     const float *W, int64_t N, int64_t d_in, int64_t d_out, int64_t ld_w) {
    check_linear("linear_backward", N, d_in, d_out, ld_w);
    if (N == 0 || d_out == 0) return;
    if (dx && d_in > 0) {
        // dx[N, d_in] += dy[N, d_out] * W[:d_out, :d_in]
        Gemm g;
        g.M = N;
        g.N = d_in;
        g.K = d_out;
        g.lda = d_out;
        g.ldb = ld_w;
        g.ldc = d_in;
        g.beta = 1.0f;
        gemm(g, dy, W, dx);
    }
    if (dW && d_in > 0) {
        // dW[:d_out, :d_in] += dy^T[d_out, N] * x[N, d_in]
        Gemm g;
        g.trans_a = true;
        g.M = d_out;
        g.N = d_in;
        g.K = N;
        g.lda = d_out;
        g.ldb = d_in;
        g.ldc = ld_w;
        g.beta = 1.0f;
        gemm(g, dy, x, dW);
    }
    if (db) {
        // Column sums, parallel over column blocks: deterministic for any thread count.
#pragma omp parallel for if (N * d_out > kern::kOmpMinWork) schedule(static)
        for (int64_t j0 = 0; j0 < d_out; j0 += kColBlock)
            column_sums(db, dy, N, d_out, j0, j0 + kColBlock < d_out ? j0 + kColBlock : d_out);
    }
}

namespace ref {
void linear_forward(float *y, const float *x, const float *W, const float *b, int64_t N,
                    int64_t d_in, int64_t d_out, int64_t ld_w) {
    for (int64_t n = 0; n < N; n++)
        for (int64_t j = 0; j < d_out; j++) {
            double acc = b ? b[j] : 0.0;
            for (int64_t k = 0; k < d_in; k++) acc += static_cast<double>(x[n * d_in + k]) * W[j * ld_w + k];
            y[n * d_out + j] = static_cast<float>(acc);
        }
}
void linear_backward(float *dx, float *dW, float *db, const float *dy, const float *x,
                     const float *W, int64_t N, int64_t d_in, int64_t d_out, int64_t ld_w) {
    for (int64_t n = 0; n < N; n++)
        for (int64_t j = 0; j < d_out; j++) {
            const float g = dy[n * d_out + j];
            if (db) db[j] += g;
            for (int64_t k = 0; k < d_in; k++) {
                if (dx) dx[n * d_in + k] += g * W[j * ld_w + k];
                if (dW) dW[j * ld_w + k] += g * x[n * d_in + k];
            }
        }
}
}  // namespace ref

}  // namespace mos
