// lib/kernels/layernorm.cpp: LayerNorm forward/backward over the first d entries
// (post-LN blocks, DESIGN.md §3), with a naive reference.
//
// Backward, with xhat = (x - mean) rstd and g = dy * gamma:
//   dx = rstd (g - mean(g) - xhat mean(g xhat)),  dgamma += sum_n dy xhat,  dbeta += sum_n dy.
#include "kernels/layernorm.hpp"

#include <cmath>

#include "kernels/common.hpp"

namespace mos {

namespace {
void check_ln(const char *k, int64_t N, int64_t d) {
    kern::check_nonneg(k, "N", N);
    check(d >= 1, MOS_INVALID_ARGUMENT, k, ": width d = ", d, " < 1");
}
constexpr int64_t kColBlock = 64;  // columns per task in the dgamma/dbeta pass
}  // namespace

void layernorm_forward(float *y, float *mean, float *rstd, const float *x, const float *gamma,
                       const float *beta, int64_t N, int64_t d) {
    check_ln("layernorm_forward", N, d);
#pragma omp parallel for if (N * d > kern::kOmpMinWork) schedule(static)
    for (int64_t n = 0; n < N; n++) {
        const float *xr = x + n * d;
        float *yr = y + n * d;
        // Two passes (mean, then centred variance): stable for large offsets.
        float s = 0.0f;
        for (int64_t k = 0; k < d; k++) s += xr[k];
        const float mu = s / static_cast<float>(d);
        float v = 0.0f;
        for (int64_t k = 0; k < d; k++) v += (xr[k] - mu) * (xr[k] - mu);
        const float rs = 1.0f / std::sqrt(v / static_cast<float>(d) + kLayerNormEps);
        for (int64_t k = 0; k < d; k++) yr[k] = (xr[k] - mu) * rs * gamma[k] + beta[k];
        mean[n] = mu;
        rstd[n] = rs;
    }
}

void layernorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
                        const float *mean, const float *rstd, const float *gamma, int64_t N, int64_t d) {
    check_ln("layernorm_backward", N, d);
    if (dx) {
#pragma omp parallel for if (N * d > kern::kOmpMinWork) schedule(static)
        for (int64_t n = 0; n < N; n++) {
            const float *xr = x + n * d, *g = dy + n * d;
            const float mu = mean[n], rs = rstd[n];
            float sg = 0.0f, sgx = 0.0f;
            for (int64_t k = 0; k < d; k++) {
                const float gk = g[k] * gamma[k];
                sg += gk;
                sgx += gk * (xr[k] - mu) * rs;
            }
            sg /= static_cast<float>(d);
            sgx /= static_cast<float>(d);
            float *o = dx + n * d;
            for (int64_t k = 0; k < d; k++) o[k] += rs * (g[k] * gamma[k] - sg - (xr[k] - mu) * rs * sgx);
        }
    }
    if (dgamma || dbeta) {
        // Parallel over column blocks (a reduction over tokens): no races and the same
        // summation order for any thread count.
#pragma omp parallel for if (N * d > kern::kOmpMinWork) schedule(static)
        for (int64_t k0 = 0; k0 < d; k0 += kColBlock) {
            const int64_t k1 = k0 + kColBlock < d ? k0 + kColBlock : d;
            for (int64_t n = 0; n < N; n++) {
                const float *xr = x + n * d, *g = dy + n * d;
                const float mu = mean[n], rs = rstd[n];
                for (int64_t k = k0; k < k1; k++) {
                    if (dgamma) dgamma[k] += g[k] * (xr[k] - mu) * rs;
                    if (dbeta) dbeta[k] += g[k];
                }
            }
        }
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
