// lib/kernels/cross_entropy.cpp: label-smoothed cross-entropy (Szegedy et al. 2016),
// in the form of fairseq's label_smoothed_cross_entropy as used by HAT:
//
//   log p_v = z_v - lse,   lse = log sum_v exp(z_v)
//   nll     = -log p_y
//   smooth  = -sum_v log p_v = V lse - sum_v z_v
//   loss    = (1 - eps) nll + (eps / V) smooth       (eps = 0.1)
//
// i.e. cross-entropy against q_v = (1 - eps) [v == y] + eps / V, so
// dloss/dz_v = p_v - q_v (sum_v q_v = 1). Padding targets are skipped.
#include "kernels/cross_entropy.hpp"

#include <cmath>
#include <cstring>

#include "backend/gemm.hpp"
#include "backend/profile.hpp"
#include "kernels/common.hpp"
#include "kernels/fast_exp.hpp"
#include "kernels/simd.hpp"

namespace mos {

namespace {
void check_ce(const char *k, const int32_t *targets, int64_t N, int64_t V, int32_t pad, float eps) {
    kern::check_nonneg(k, "N", N);
    check(V >= 1, MOS_INVALID_ARGUMENT, k, ": vocabulary size ", V, " < 1");
    check(eps >= 0.0f && eps < 1.0f, MOS_INVALID_ARGUMENT, k, ": label smoothing ", eps, " not in [0, 1)");
    for (int64_t n = 0; n < N; n++)
        if (targets[n] != pad)
            check(targets[n] >= 0 && targets[n] < V, MOS_OUT_OF_RANGE, k, ": target ", targets[n],
                  " at row ", n, " outside the vocabulary [0, ", V, ")");
}

// max, log-sum-exp and sum of one row, on 8-lane vectors (kernels/simd.hpp)
// with two accumulators per quantity; the exp is the vector twin of
// kern::exp_nonpos (about 2 ulp).
MOS_HOT_CLONES void row_stats(const float *z, int64_t V, float *lse_out, double *sum_out) {
    using namespace simd;
    int64_t w = 0;
    f8 m0 = splat(z[0]), m1 = m0;
    for (; w + 2 * kW <= V; w += 2 * kW) {
        m0 = vmax(m0, load(z + w));
        m1 = vmax(m1, load(z + w + kW));
    }
    float mx = hmax(vmax(m0, m1));
    for (; w < V; w++) mx = z[w] > mx ? z[w] : mx;
    const f8 vm = splat(mx);
    f8 e0 = zero(), e1 = zero(), s0 = zero(), s1 = zero();
    int64_t v = 0;
    for (; v + 2 * kW <= V; v += 2 * kW) {
        const f8 a = load(z + v), b = load(z + v + kW);
        e0 += exp_nonpos(a - vm);
        e1 += exp_nonpos(b - vm);
        s0 += a;
        s1 += b;
    }
    double e = static_cast<double>(hsum(e0)) + hsum(e1), s = static_cast<double>(hsum(s0)) + hsum(s1);
    for (; v < V; v++) {
        e += kern::exp_nonpos(z[v] - mx);
        s += z[v];
    }
    *lse_out = mx + static_cast<float>(std::log(e));
    *sum_out = s;
}
// g[v] += scale * softmax(z)_v - off, with softmax(z)_v = exp(z_v - lse) (z_v <= lse);
// g[v] = that with `write`.
MOS_HOT_CLONES void accumulate_grad_row(float *__restrict g, const float *__restrict z, float lse, float scale,
                                        float off, int64_t V, bool write) {
    using namespace simd;
    const f8 vl = splat(lse), vs = splat(scale), vo = splat(off);
    int64_t v = 0;
    if (write) {
        for (; v + kW <= V; v += kW) store(g + v, vs * exp_nonpos(load(z + v) - vl) - vo);
        for (; v < V; v++) g[v] = scale * kern::exp_nonpos(z[v] - lse) - off;
        return;
    }
    for (; v + kW <= V; v += kW) store(g + v, load(g + v) + (vs * exp_nonpos(load(z + v) - vl) - vo));
    for (; v < V; v++) g[v] += scale * kern::exp_nonpos(z[v] - lse) - off;
}
// p[v] = exp(z_v - lse)
MOS_HOT_CLONES void softmax_row(float *__restrict p, const float *__restrict z, float lse, int64_t V) {
    using namespace simd;
    const f8 vl = splat(lse);
    int64_t v = 0;
    for (; v + kW <= V; v += kW) store(p + v, exp_nonpos(load(z + v) - vl));
    for (; v < V; v++) p[v] = kern::exp_nonpos(z[v] - lse);
}

}  // namespace

CrossEntropyResult cross_entropy_forward(float *lse, float *row_loss, float *row_nll,
                                         const float *logits, const int32_t *targets, int64_t N,
                                         int64_t V, int32_t pad, float eps) {
    PhaseScope scope(Phase::Loss);
    check_ce("cross_entropy_forward", targets, N, V, pad, eps);
    kern::check_ptr("cross_entropy_forward", "row_loss", row_loss);
#pragma omp parallel for if (N * V > kern::kOmpMinWork) schedule(static)
    for (int64_t n = 0; n < N; n++) {
        const int32_t y = targets[n];
        if (y == pad) {
            lse[n] = 0.0f;
            row_loss[n] = 0.0f;
            if (row_nll) row_nll[n] = 0.0f;
            continue;
        }
        const float *z = logits + n * V;
        double sum = 0.0;
        row_stats(z, V, &lse[n], &sum);
        const double l = lse[n];
        const double nll = l - z[y];
        const double smooth = static_cast<double>(V) * l - sum;
        row_loss[n] = static_cast<float>((1.0 - eps) * nll + eps / static_cast<double>(V) * smooth);
        if (row_nll) row_nll[n] = static_cast<float>(nll);
    }
    // Serial sums in row order: identical for any thread count.
    CrossEntropyResult r;
    for (int64_t n = 0; n < N; n++) {
        if (targets[n] == pad) continue;
        r.loss += row_loss[n];
        r.nll += static_cast<double>(lse[n]) - logits[n * V + targets[n]];
        r.tokens++;
    }
    return r;
}

void cross_entropy_backward(float *dlogits, const float *lse, const float *logits,
                            const int32_t *targets, int64_t N, int64_t V, int32_t pad, float eps,
                            float scale, GradMode mode, uint16_t *dlogits16) {
    PhaseScope scope(Phase::Loss);
    check_ce("cross_entropy_backward", targets, N, V, pad, eps);
    const float off = scale * eps / static_cast<float>(V);
    const bool write = mode == GradMode::Overwrite;
#pragma omp parallel for if (N * V > kern::kOmpMinWork) schedule(static)
    for (int64_t n = 0; n < N; n++) {
        const int32_t y = targets[n];
        float *g = dlogits + n * V;
        if (y == pad) {
            if (write) std::memset(g, 0, static_cast<size_t>(V) * sizeof(float));
        } else {
            const float *z = logits + n * V;
            const float l = lse[n];
            accumulate_grad_row(g, z, l, scale, off, V, write);
            g[y] -= scale * (1.0f - eps);
        }
        if (dlogits16) bf16_convert(dlogits16 + n * V, g, 1, 1, V, V, V);  // serial in here
    }
}

double soft_cross_entropy_forward(float *lse, float *row, const float *logits, const float *teacher,
                                  const int32_t *targets, int64_t N, int64_t V, int32_t pad) {
    PhaseScope scope(Phase::Loss);
    check_ce("soft_cross_entropy_forward", targets, N, V, pad, 0.0f);
    kern::check_ptr("soft_cross_entropy_forward", "teacher", teacher);
    kern::check_ptr("soft_cross_entropy_forward", "row_loss", row);
#pragma omp parallel for if (N * V > kern::kOmpMinWork) schedule(static)
    for (int64_t n = 0; n < N; n++) {
        if (targets[n] == pad) {
            lse[n] = 0.0f;
            row[n] = 0.0f;
            continue;
        }
        const float *z = logits + n * V, *t = teacher + n * V;
        double sum = 0.0;
        row_stats(z, V, &lse[n], &sum);
        double tz = 0.0;
        for (int64_t v = 0; v < V; v++) tz += static_cast<double>(t[v]) * z[v];
        row[n] = static_cast<float>(static_cast<double>(lse[n]) - tz);
    }
    double loss = 0.0;  // serial, row order: the same for any thread count
    for (int64_t n = 0; n < N; n++) loss += row[n];
    return loss;
}

void soft_cross_entropy_backward(float *dlogits, const float *lse, const float *logits, const float *teacher,
                                 const int32_t *targets, int64_t N, int64_t V, int32_t pad, float scale,
                                 GradMode mode, uint16_t *dlogits16) {
    PhaseScope scope(Phase::Loss);
    check_ce("soft_cross_entropy_backward", targets, N, V, pad, 0.0f);
    const bool write = mode == GradMode::Overwrite;
#pragma omp parallel for if (N * V > kern::kOmpMinWork) schedule(static)
    for (int64_t n = 0; n < N; n++) {
        float *g = dlogits + n * V;
        if (targets[n] == pad) {
            if (write) std::memset(g, 0, static_cast<size_t>(V) * sizeof(float));
        } else {
            accumulate_grad_row(g, logits + n * V, lse[n], scale, 0.0f, V, write);
            const float *t = teacher + n * V;
            for (int64_t v = 0; v < V; v++) g[v] -= scale * t[v];
        }
        if (dlogits16) bf16_convert(dlogits16 + n * V, g, 1, 1, V, V, V);  // serial in here
    }
}

void softmax_rows(float *probs, const float *logits, const float *lse, const int32_t *targets, int64_t N, int64_t V,
                  int32_t pad) {
    PhaseScope scope(Phase::Loss);
#pragma omp parallel for if (N * V > kern::kOmpMinWork) schedule(static)
    for (int64_t n = 0; n < N; n++) {
        float *p = probs + n * V;
        const float *z = logits + n * V;
        if (targets[n] == pad) {
            for (int64_t v = 0; v < V; v++) p[v] = 0.0f;
            continue;
        }
        softmax_row(p, z, lse[n], V);
    }
}

namespace ref {
double soft_cross_entropy_forward(const float *logits, const float *teacher, const int32_t *targets, int64_t N,
                                  int64_t V, int32_t pad) {
    double loss = 0.0;
    for (int64_t n = 0; n < N; n++) {
        if (targets[n] == pad) continue;
        double mx = logits[n * V];
        for (int64_t v = 1; v < V; v++) mx = logits[n * V + v] > mx ? logits[n * V + v] : mx;
        double s = 0.0;
        for (int64_t v = 0; v < V; v++) s += std::exp(logits[n * V + v] - mx);
        const double l = mx + std::log(s);
        for (int64_t v = 0; v < V; v++) loss -= teacher[n * V + v] * (logits[n * V + v] - l);
    }
    return loss;
}

CrossEntropyResult cross_entropy_forward(float *lse, const float *logits, const int32_t *targets,
                                         int64_t N, int64_t V, int32_t pad, float eps) {
    CrossEntropyResult r;
    for (int64_t n = 0; n < N; n++) {
        if (targets[n] == pad) {
            lse[n] = 0.0f;
            continue;
        }
        double mx = logits[n * V];
        for (int64_t v = 1; v < V; v++) mx = logits[n * V + v] > mx ? logits[n * V + v] : mx;
        double s = 0.0;
        for (int64_t v = 0; v < V; v++) s += std::exp(logits[n * V + v] - mx);
        const double l = mx + std::log(s);
        lse[n] = static_cast<float>(l);
        double loss = 0.0;
        for (int64_t v = 0; v < V; v++) {
            const double q = (v == targets[n] ? 1.0 - eps : 0.0) + eps / static_cast<double>(V);
            loss -= q * (logits[n * V + v] - l);
        }
        r.loss += loss;
        r.nll += l - logits[n * V + targets[n]];
        r.tokens++;
    }
    return r;
}
void cross_entropy_backward(float *dlogits, const float *logits, const int32_t *targets, int64_t N,
                            int64_t V, int32_t pad, float eps, float scale) {
    for (int64_t n = 0; n < N; n++) {
        if (targets[n] == pad) continue;
        double mx = logits[n * V];
        for (int64_t v = 1; v < V; v++) mx = logits[n * V + v] > mx ? logits[n * V + v] : mx;
        double s = 0.0;
        for (int64_t v = 0; v < V; v++) s += std::exp(logits[n * V + v] - mx);
        for (int64_t v = 0; v < V; v++) {
            const double p = std::exp(logits[n * V + v] - mx) / s;
            const double q = (v == targets[n] ? 1.0 - eps : 0.0) + eps / static_cast<double>(V);
            dlogits[n * V + v] += static_cast<float>(scale * (p - q));
        }
    }
}
}  // namespace ref

}  // namespace mos
