// lib/kernels/layernorm.cpp: LayerNorm forward/backward over the first d entries
// (post-LN blocks, docs/supernet.md), with a naive reference.
//
// Backward, with xhat = (x - mean) rstd and g = dy * gamma:
//   dx = rstd (g - mean(g) - xhat mean(g xhat)),  dgamma += sum_n dy xhat,  dbeta += sum_n dy.
#include "kernels/layernorm.hpp"

#include <cmath>

#include <omp.h>

#include "backend/profile.hpp"
#include "kernels/common.hpp"
#include "kernels/simd.hpp"

namespace mos {

namespace {
void check_ln(const char *k, int64_t N, int64_t d) {
    kern::check_nonneg(k, "N", N);
    check(d >= 1, MOS_INVALID_ARGUMENT, k, ": width d = ", d, " < 1");
}

using simd::f8;
using simd::kW;

MOS_HOT_CLONES float row_sum(const float *x, int64_t d) {
    f8 a = simd::zero(), b = simd::zero();
    int64_t k = 0;
    for (; k + 2 * kW <= d; k += 2 * kW) {
        a += simd::load(x + k);
        b += simd::load(x + k + kW);
    }
    float s = simd::hsum(a + b);
    for (; k < d; k++) s += x[k];
    return s;
}

// One row: two passes (mean, then centred variance: stable for large offsets).
MOS_HOT_CLONES void ln_row(float *y, float *mean, float *rstd, const float *x, const float *gamma,
                           const float *beta, int64_t d) {
    const float mu = row_sum(x, d) / static_cast<float>(d);
    const f8 vmu = simd::splat(mu);
    f8 acc = simd::zero();
    int64_t k = 0;
    for (; k + kW <= d; k += kW) {
        const f8 c = simd::load(x + k) - vmu;
        acc += c * c;
    }
    float v = simd::hsum(acc);
    for (; k < d; k++) v += (x[k] - mu) * (x[k] - mu);
    const float rs = 1.0f / std::sqrt(v / static_cast<float>(d) + kLayerNormEps);
    const f8 vrs = simd::splat(rs);
    k = 0;
    for (; k + kW <= d; k += kW)
        simd::store(y + k, (simd::load(x + k) - vmu) * vrs * simd::load(gamma + k) + simd::load(beta + k));
    for (; k < d; k++) y[k] = (x[k] - mu) * rs * gamma[k] + beta[k];
    *mean = mu;
    *rstd = rs;
}

// dx row: dx += rstd (g - mean(g) - xhat mean(g xhat)), g = dy * gamma; with
// `write`, dx = that instead (o may then alias dy: the sums read dy first).
MOS_HOT_CLONES void ln_grad_row(float *o, const float *dy, const float *x, float mu, float rs, const float *gamma,
                                int64_t d, bool write) {
    const f8 vmu = simd::splat(mu), vrs = simd::splat(rs);
    f8 ag = simd::zero(), agx = simd::zero();
    int64_t k = 0;
    for (; k + kW <= d; k += kW) {
        const f8 gk = simd::load(dy + k) * simd::load(gamma + k);
        ag += gk;
        agx += gk * ((simd::load(x + k) - vmu) * vrs);
    }
    float sg = simd::hsum(ag), sgx = simd::hsum(agx);
    for (; k < d; k++) {
        const float gk = dy[k] * gamma[k];
        sg += gk;
        sgx += gk * (x[k] - mu) * rs;
    }
    sg /= static_cast<float>(d);
    sgx /= static_cast<float>(d);
    const f8 vsg = simd::splat(sg), vsgx = simd::splat(sgx);
    k = 0;
    if (write) {
        for (; k + kW <= d; k += kW) {
            const f8 xh = (simd::load(x + k) - vmu) * vrs;
            simd::store(o + k, vrs * (simd::load(dy + k) * simd::load(gamma + k) - vsg - xh * vsgx));
        }
        for (; k < d; k++) o[k] = rs * (dy[k] * gamma[k] - sg - (x[k] - mu) * rs * sgx);
        return;
    }
    for (; k + kW <= d; k += kW) {
        const f8 xh = (simd::load(x + k) - vmu) * vrs;
        simd::store(o + k, simd::load(o + k) + vrs * (simd::load(dy + k) * simd::load(gamma + k) - vsg - xh * vsgx));
    }
    for (; k < d; k++) o[k] += rs * (dy[k] * gamma[k] - sg - (x[k] - mu) * rs * sgx);
}

// dgamma[k0..k1) += sum_n dy xhat, dbeta[k0..k1) += sum_n dy over the rows in
// order, k1 - k0 <= kern::kColChunk: partial sums in stack buffers, rows streamed
// (see kern::column_chunk).
MOS_HOT_CLONES void ln_param_grad_block(float *dgamma, float *dbeta, const float *dy, const float *x,
                                        const float *mean, const float *rstd, int64_t N, int64_t d, int64_t k0,
                                        int64_t k1) {
    alignas(32) float g[kern::kColChunk], b[kern::kColChunk];
    const int64_t w = k1 - k0, wv = w / kW * kW;
    for (int64_t k = 0; k < w; k++) g[k] = b[k] = 0.0f;
    for (int64_t n = 0; n < N; n++) {
        const float *xr = x + n * d + k0, *gr = dy + n * d + k0;
        const float mu = mean[n], rs = rstd[n];
        const f8 vmu = simd::splat(mu), vrs = simd::splat(rs);
        for (int64_t k = 0; k < wv; k += kW) {
            const f8 gy = simd::load(gr + k);
            simd::store(g + k, simd::load(g + k) + gy * ((simd::load(xr + k) - vmu) * vrs));
            simd::store(b + k, simd::load(b + k) + gy);
        }
        for (int64_t k = wv; k < w; k++) {
            g[k] += gr[k] * ((xr[k] - mu) * rs);
            b[k] += gr[k];
        }
    }
    for (int64_t k = 0; k < w; k++) {
        if (dgamma) dgamma[k0 + k] += g[k];
        if (dbeta) dbeta[k0 + k] += b[k];
    }
}
}  // namespace

void layernorm_forward(float *y, float *mean, float *rstd, const float *x, const float *gamma,
                       const float *beta, int64_t N, int64_t d) {
    check_ln("layernorm_forward", N, d);
    PhaseScope scope(Phase::LayerNorm);
#pragma omp parallel for if (N * d > kern::kOmpMinWork) schedule(static)
    for (int64_t n = 0; n < N; n++) ln_row(y + n * d, mean + n, rstd + n, x + n * d, gamma, beta, d);
}

void layernorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
                        const float *mean, const float *rstd, const float *gamma, int64_t N, int64_t d,
                        GradMode dx_mode) {
    check_ln("layernorm_backward", N, d);
    PhaseScope scope(Phase::LayerNorm);
    // The parameter gradients first: they read dy, which dx may alias.
    if (dgamma || dbeta) {
        // One task per column chunk (a reduction over tokens): no races and the same
        // summation order for any thread count.
        const int64_t cw = kern::column_chunk(d, omp_get_max_threads());
#pragma omp parallel for if (N * d > kern::kOmpMinWork) schedule(static)
        for (int64_t k0 = 0; k0 < d; k0 += cw)
            ln_param_grad_block(dgamma, dbeta, dy, x, mean, rstd, N, d, k0, k0 + cw < d ? k0 + cw : d);
    }
    if (dx) {
        const bool write = dx_mode == GradMode::Overwrite;
#pragma omp parallel for if (N * d > kern::kOmpMinWork) schedule(static)
        for (int64_t n = 0; n < N; n++)
            ln_grad_row(dx + n * d, dy + n * d, x + n * d, mean[n], rstd[n], gamma, d, write);
    }
}

namespace ref {
void layernorm_forward(float *y, float *mean, float *rstd, const float *x, const float *gamma,
                       const float *beta, int64_t N, int64_t d) {
    for (int64_t n = 0; n < N; n++) {
        double s = 0.0, v = 0.0;
        for (int64_t k = 0; k < d; k++) s += x[n * d + k];
        const double mu = s / d;
        for (int64_t k = 0; k < d; k++) v += (x[n * d + k] - mu) * (x[n * d + k] - mu);
        const double rs = 1.0 / std::sqrt(v / d + kLayerNormEps);
        for (int64_t k = 0; k < d; k++) y[n * d + k] = static_cast<float>((x[n * d + k] - mu) * rs * gamma[k] + beta[k]);
        mean[n] = static_cast<float>(mu);
        rstd[n] = static_cast<float>(rs);
    }
}
void layernorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
                        const float *mean, const float *rstd, const float *gamma, int64_t N, int64_t d) {
    for (int64_t n = 0; n < N; n++) {
        double sg = 0.0, sgx = 0.0;
        for (int64_t k = 0; k < d; k++) {
            const double xh = (x[n * d + k] - static_cast<double>(mean[n])) * rstd[n];
            const double gk = static_cast<double>(dy[n * d + k]) * gamma[k];
            sg += gk;
            sgx += gk * xh;
            if (dgamma) dgamma[k] += static_cast<float>(dy[n * d + k] * xh);
            if (dbeta) dbeta[k] += dy[n * d + k];
        }
        if (!dx) continue;
        for (int64_t k = 0; k < d; k++) {
            const double xh = (x[n * d + k] - static_cast<double>(mean[n])) * rstd[n];
            dx[n * d + k] += static_cast<float>(rstd[n] * (static_cast<double>(dy[n * d + k]) * gamma[k] - sg / d - xh * sgx / d));
        }
    }
}
}  // namespace ref

}  // namespace mos
