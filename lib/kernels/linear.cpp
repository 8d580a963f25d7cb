// lib/kernels/linear.cpp: sliced linear forward/backward (HAT weight sharing,
// docs/supernet.md). The products go through mos::gemm with ld = D_in so the active
// slice of a super-size weight is used in place without copying it.
#include "kernels/linear.hpp"

#include <cstring>
#include <vector>

#include <omp.h>

#include "backend/gemm.hpp"
#include "backend/profile.hpp"
#include "kernels/common.hpp"
#include "kernels/memory.hpp"
#include "kernels/simd.hpp"

namespace mos {

namespace {
void check_linear(const char *k, int64_t N, int64_t d_in, int64_t d_out, int64_t ld_w) {
    kern::check_nonneg(k, "N", N);
    kern::check_nonneg(k, "d_in", d_in);
    kern::check_nonneg(k, "d_out", d_out);
    check(ld_w >= d_in, MOS_OUT_OF_RANGE, k, ": d_in = ", d_in, " exceeds the weight's row length ", ld_w);
}
// acc[j0..j1) += sum_n x[n, j] over the rows in order, j1 - j0 <= kern::kColChunk:
// partial sums in a stack buffer, rows streamed (see kern::column_chunk).
MOS_HOT_CLONES void column_sums(float *acc, const float *x, int64_t N, int64_t d, int64_t j0, int64_t j1) {
    using namespace simd;
    alignas(32) float part[kern::kColChunk];
    const int64_t w = j1 - j0, wv = w / kW * kW;
    for (int64_t j = 0; j < w; j++) part[j] = 0.0f;
    for (int64_t n = 0; n < N; n++) {
        const float *r = x + n * d + j0;
        for (int64_t j = 0; j < wv; j += kW) store(part + j, load(part + j) + load(r + j));
        for (int64_t j = wv; j < w; j++) part[j] += r[j];
    }
    for (int64_t j = 0; j < w; j++) acc[j0 + j] += part[j];
}
}  // namespace

void linear_forward(float *y, const float *x, const float *W, const float *b, int64_t N,
                    int64_t d_in, int64_t d_out, int64_t ld_w, GemmType type, const LinearBf16 &pre) {
    check_linear("linear_forward", N, d_in, d_out, ld_w);
    PhaseScope scope(Phase::Elementwise);  // the bias; the product counts as a GEMM
    if (N == 0 || d_out == 0) return;
    // Bias first, then the product accumulates onto it (beta = 1): one pass over y.
    if (b) {
#pragma omp parallel for if (N * d_out > kern::kOmpMinWork) schedule(static)
        for (int64_t n = 0; n < N; n++) std::memcpy(y + n * d_out, b, static_cast<size_t>(d_out) * sizeof(float));
    }
    if (d_in == 0) {
        if (!b) zero_floats(y, N * d_out);
        return;
    }
    // W is stored [d_out rows, D_in cols]: y = x W^T, onto the bias (beta = 1) if any.
    Gemm g = make_gemm(false, true, N, d_out, d_in, d_in, ld_w, d_out, 1.0f, b ? 1.0f : 0.0f);
    g.type = type;
    gemm(g, x, W, y, Bf16Operands{pre.x, pre.W});
}

void linear_backward(float *dx, float *dW, float *db, const float *dy, const float *x,
                     const float *W, int64_t N, int64_t d_in, int64_t d_out, int64_t ld_w, GradMode dx_mode,
                     GemmType type, const LinearBf16 &pre) {
    check_linear("linear_backward", N, d_in, d_out, ld_w);
    PhaseScope scope(Phase::Elementwise);  // the bias gradient; the products count as GEMMs
    if (d_out == 0 && dx && dx_mode == GradMode::Overwrite) {
        zero_floats(dx, N * d_in);  // an empty product: dx = 0
    }
    if (N == 0 || d_out == 0) return;
    // dy [N, d_out] feeds both products: in bf16 it is converted once here
    // (the largest single conversion of a step is the logits gradient).
    const uint16_t *dy16 = pre.dy;
    if (!dy16 && dx && dW && d_in > 0 && bf16_copies_wanted(type)) {
        PhaseScope convert(Phase::Convert);
        thread_local std::vector<uint16_t> buf;  // only grows
        const size_t n = static_cast<size_t>(N * d_out);
        if (buf.size() < n) buf.resize(n);
        bf16_convert(buf.data(), dy, 1, N, d_out, d_out, N * d_out);
        dy16 = buf.data();
    }
    if (dx && d_in > 0) {
        // dx[N, d_in] (+)= dy[N, d_out] * W[:d_out, :d_in]
        Gemm g = make_gemm(false, false, N, d_in, d_out, d_out, ld_w, d_in, 1.0f, grad_beta(dx_mode));
        g.type = type;
        gemm(g, dy, W, dx, Bf16Operands{dy16, pre.W});
    }
    if (dW && d_in > 0) {
        // dW[:d_out, :d_in] += dy^T[d_out, N] * x[N, d_in]
        Gemm g = make_gemm(true, false, d_out, d_in, N, d_out, d_in, ld_w, 1.0f, 1.0f);
        g.type = type;
        gemm(g, dy, x, dW, Bf16Operands{dy16, pre.x});
    }
    if (db) {
        // Column sums, one task per column chunk: deterministic for any thread count.
        const int64_t cw = kern::column_chunk(d_out, omp_get_max_threads());
#pragma omp parallel for if (N * d_out > kern::kOmpMinWork) schedule(static)
        for (int64_t j0 = 0; j0 < d_out; j0 += cw) column_sums(db, dy, N, d_out, j0, j0 + cw < d_out ? j0 + cw : d_out);
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
