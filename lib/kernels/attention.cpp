// lib/kernels/attention.cpp: multi-head attention forward/backward (attention.hpp)
// and its naive reference.
//
// The four products of a head are GEMMs issued per head and batched over the B
// sentences: head h of sentence b starts at q + b*T*Q + h*dh with leading dimension
// Q, so one gemm_batched call with batch stride T*Q (S*Q for k, v) covers all
// sentences of that head and nothing is copied. P [B, heads, T, S] has batch
// stride heads*T*S for a fixed head. That is `heads` calls per product, whatever B.
//
// Forward without a scratch buffer: the dropped probabilities are never
// materialised. o = (P v) / (1-p) comes from one GEMM on the undropped P, then the
// dropped terms are subtracted row by row, o_t -= P[t,s] v_s / (1-p) for dropped s
// (a fraction p of the keys, so about p of the PV cost again).
//
// Backward (scratch D and Pd, each [B, heads, T, S]): Pd = dropout(P) with the mask
// drawn once; dv += Pd^T dO; D = dO v^T, turned in place into dS = P (dP -
// rowsum(P dP)) with dP = dropout'(D) (the softmax Jacobian); dq += dS k / sqrt(dh),
// dk += dS^T q / sqrt(dh) (1/sqrt(dh) as the GEMM alpha).
#include "kernels/attention.hpp"

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "backend/gemm.hpp"
#include "backend/profile.hpp"
#include "kernels/common.hpp"
#include "kernels/dropout.hpp"
#include "kernels/fast_exp.hpp"

// -O2 (GCC 12) vectorises only loops whose trip count needs no scalar epilogue;
// the row loops here run over S keys (any length), so allow the usual cost model.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("vect-cost-model=dynamic")
#endif

namespace mos {

namespace {

using kern::exp_nonpos;

void check_shape(const char *k, const AttentionShape &s, float p_drop) {
    check(s.B >= 1, MOS_INVALID_ARGUMENT, k, ": batch B = ", s.B, " < 1");
    check(s.T >= 1, MOS_INVALID_ARGUMENT, k, ": query length T = ", s.T, " < 1");
    check(s.S >= 1, MOS_INVALID_ARGUMENT, k, ": key length S = ", s.S, " < 1");
    check(s.Q >= 1, MOS_INVALID_ARGUMENT, k, ": projection width Q = ", s.Q, " < 1");
    check(s.heads >= 1, MOS_INVALID_ARGUMENT, k, ": heads = ", s.heads, " < 1");
    check(s.Q % s.heads == 0, MOS_INVALID_ARGUMENT, k, ": width Q = ", s.Q, " is not divisible by heads = ",
          s.heads);
    check(p_drop >= 0.0f && p_drop < 1.0f, MOS_INVALID_ARGUMENT, k, ": attention dropout rate ", p_drop,
          " not in [0, 1)");
}

void check_inputs(const char *k, const float *q, const float *kk, const float *v, const float *P) {
    kern::check_ptr(k, "q", q);
    kern::check_ptr(k, "k", kk);
    kern::check_ptr(k, "v", v);
    kern::check_ptr(k, "P", P);
}

// Keys query t may attend: [0, end) minus padding.
inline int64_t key_end(const AttentionShape &s, int64_t t) { return s.causal ? (t + 1 < s.S ? t + 1 : s.S) : s.S; }

// Reductions with 16 independent partial results: they vectorise without
// -ffast-math (and `omp simd reduction` does not vectorise under GCC 12 at -O2).
constexpr int kLanes = 16;

inline float max_of(const float *x, int64_t n) {
    float acc[kLanes];
    for (int u = 0; u < kLanes; u++) acc[u] = -std::numeric_limits<float>::infinity();
    int64_t j = 0;
    for (; j + kLanes <= n; j += kLanes)
        for (int u = 0; u < kLanes; u++) acc[u] = x[j + u] > acc[u] ? x[j + u] : acc[u];
    for (int u = 0; j + u < n; u++) acc[u] = x[j + u] > acc[u] ? x[j + u] : acc[u];
    float m = acc[0];
    for (int u = 1; u < kLanes; u++) m = acc[u] > m ? acc[u] : m;
    return m;
}

inline float sum_of(const float *x, int64_t n) {
    float acc[kLanes] = {};
    int64_t j = 0;
    for (; j + kLanes <= n; j += kLanes)
        for (int u = 0; u < kLanes; u++) acc[u] += x[j + u];
    for (int u = 0; j + u < n; u++) acc[u] += x[j + u];
    float s = 0.0f;
    for (int u = 0; u < kLanes; u++) s += acc[u];
    return s;
}

inline float dot_of(const float *x, const float *y, int64_t n) {
    float acc[kLanes] = {};
    int64_t j = 0;
    for (; j + kLanes <= n; j += kLanes)
        for (int u = 0; u < kLanes; u++) acc[u] += x[j + u] * y[j + u];
    for (int u = 0; j + u < n; u++) acc[u] += x[j + u] * y[j + u];
    float s = 0.0f;
    for (int u = 0; u < kLanes; u++) s += acc[u];
    return s;
}

// In place: row[0..S) = softmax over the allowed keys (s < end, pad[s] == 0), 0
// elsewhere; a row with no allowed key becomes all zeros. Padded scores are set to
// -inf first, so every pass is a plain loop over [0, end).
MOS_HOT_CLONES void softmax_row(float *row, const uint8_t *pad, int64_t end, int64_t S) {
    const float ninf = -std::numeric_limits<float>::infinity();
    if (pad)
        for (int64_t j = 0; j < end; j++) row[j] = pad[j] ? ninf : row[j];
    const float mx = max_of(row, end);
    if (mx == ninf) {
        for (int64_t j = 0; j < S; j++) row[j] = 0.0f;
        return;
    }
    for (int64_t j = 0; j < end; j++) row[j] = row[j] == ninf ? 0.0f : exp_nonpos(row[j] - mx);
    const float inv = 1.0f / sum_of(row, end);  // sum >= 1: the maximum contributes exp(0)
    for (int64_t j = 0; j < end; j++) row[j] *= inv;
    for (int64_t j = end; j < S; j++) row[j] = 0.0f;
}

// dS row in place: d[j] = P[j] (d[j] - sum_i P[i] d[i]).
MOS_HOT_CLONES void softmax_grad_row(float *d, const float *p, int64_t S) {
    const float dot = dot_of(p, d, S);
    for (int64_t j = 0; j < S; j++) d[j] = p[j] * (d[j] - dot);
}

// m[0..n) = 1/(1-p) where element first + j is kept, 0 where dropped; eight draws
// at a time (dropout_bits8).
MOS_HOT_CLONES void keep_row(float *m, uint64_t hash, uint64_t first, int64_t n, float p, float inv_keep) {
    const simd::i8 thr = simd::i8{} + dropout_keep_threshold(p);
    int64_t j = 0;
    for (; j + simd::kW <= n; j += simd::kW)
        simd::store(m + j, simd::select(dropout_bits8(hash, first + static_cast<uint64_t>(j)) >= thr,
                                        simd::splat(inv_keep), simd::zero()));
    for (; j < n; j++) m[j] = dropout_uniform_hashed(hash, first + static_cast<uint64_t>(j)) >= p ? inv_keep : 0.0f;
}

// d[j] = Pd[j] != 0 ? d[j] / (1-p) : 0: dropout's backward with the mask read from Pd.
MOS_HOT_CLONES void mask_row(float *d, const float *Pd, int64_t n, float inv_keep) {
    for (int64_t j = 0; j < n; j++) d[j] = Pd[j] != 0.0f ? d[j] * inv_keep : 0.0f;
}

// Keys per block of the forward's dropout correction (stack buffers).
constexpr int64_t kKeyBlock = 64;

// The forward's correction for keys [first, first + n) of one query row:
// orow[0..dh) -= P[j] / (1-p) * v_j for every dropped key j with P[j] > 0. The
// dropped keys are gathered first (branch-free), then their rows are subtracted
// with the dh-long loop inlined here.
MOS_HOT_CLONES void drop_terms(float *__restrict orow, const float *__restrict pr, const float *__restrict vcol,
                               int64_t ldv, int64_t n, int64_t dh, uint64_t hash, uint64_t first, float p,
                               float inv_keep) {
    float m[kKeyBlock];
    int64_t idx[kKeyBlock];
    keep_row(m, hash, first, n, p, inv_keep);
    int64_t c = 0;
    for (int64_t j = 0; j < n; j++) {
        idx[c] = j;
        c += (m[j] == 0.0f) & (pr[j] != 0.0f);
    }
    if (c == 0) return;
    float a[kKeyBlock];
    for (int64_t i = 0; i < c; i++) a[i] = -pr[idx[i]] * inv_keep;
    // Column blocks of kLanes held in registers across the dropped keys (updating
    // orow in memory per key would chain every key on a store-to-load forward).
    int64_t d0 = 0;
    for (; d0 + kLanes <= dh; d0 += kLanes) {
        float acc[kLanes];
        for (int u = 0; u < kLanes; u++) acc[u] = orow[d0 + u];
        for (int64_t i = 0; i < c; i++) {
            const float *__restrict x = vcol + idx[i] * ldv + d0;
            for (int u = 0; u < kLanes; u++) acc[u] += a[i] * x[u];
        }
        for (int u = 0; u < kLanes; u++) orow[d0 + u] = acc[u];
    }
    for (int64_t i = 0; i < c; i++)
        for (int64_t d = d0; d < dh; d++) orow[d] += a[i] * vcol[idx[i] * ldv + d];
}

Gemm typed(Gemm g, GemmType t) {
    g.type = t;
    return g;
}

// One GEMM per head, batched over the B sentences (see the file comment).
struct HeadGemm {
    Gemm g;
    const float *A;
    int64_t sa;
    const float *Bm;
    int64_t sb;
    float *C;
    int64_t sc;
    int64_t a_head, b_head, c_head;  // offsets from one head to the next
};

void run_heads(const HeadGemm &x, int64_t B, int64_t heads) {
    for (int64_t h = 0; h < heads; h++)
        gemm_batched(x.g, B, x.A + h * x.a_head, x.sa, x.Bm + h * x.b_head, x.sb, x.C + h * x.c_head, x.sc);
}

}  // namespace

void attention_forward(float *o, float *P, const float *q, const float *k, const float *v,
                       const uint8_t *kmask, const AttentionShape &s, float p_drop, uint64_t seed,
                       uint64_t site, GemmType type) {
    const char *kn = "attention_forward";
    check_shape(kn, s, p_drop);
    check_inputs(kn, q, k, v, P);
    kern::check_ptr(kn, "o", o);
    PhaseScope scope(Phase::Attention);
    const int64_t B = s.B, T = s.T, S = s.S, Q = s.Q, H = s.heads, dh = Q / H;
    const float scale = 1.0f / std::sqrt(static_cast<float>(dh));
    const float inv_keep = 1.0f / (1.0f - p_drop);

    // Scores P[b, h] = q_bh k_bh^T / sqrt(dh)  [T, S]
    run_heads({typed(make_gemm(false, true, T, S, dh, Q, Q, S, scale, 0.0f), type), q, T * Q, k, S * Q, P, H * T * S,
               dh, dh, T * S},
              B, H);

    const int64_t rows = B * H * T;
#pragma omp parallel for if (rows * S > kern::kOmpMinWork) schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        const int64_t b = r / (H * T), t = r % T;
        softmax_row(P + r * S, kmask ? kmask + b * S : nullptr, key_end(s, t), S);
    }

    // o_bh = P_bh v_bh / (1-p)  [T, dh], written into columns h*dh of o
    run_heads({typed(make_gemm(false, false, T, dh, S, S, Q, Q, inv_keep, 0.0f), type), P, H * T * S, v, S * Q, o,
               T * Q, T * S, dh, dh},
              B, H);
    if (p_drop == 0.0f) return;

    // Remove the dropped keys' terms; each row (b, h, t) owns its dh columns of o.
    const uint64_t hash = dropout_key_hash(DropoutKey{seed, 0, site});
#pragma omp parallel for if (rows * S > kern::kOmpMinWork) schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        const int64_t b = r / (H * T), h = (r / T) % H, t = r % T;
        const float *pr = P + r * S;
        float *orow = o + (b * T + t) * Q + h * dh;
        const int64_t end = key_end(s, t);
        for (int64_t j0 = 0; j0 < end; j0 += kKeyBlock)
            drop_terms(orow, pr + j0, v + (b * S + j0) * Q + h * dh, Q, end - j0 < kKeyBlock ? end - j0 : kKeyBlock,
                       dh, hash, static_cast<uint64_t>(r * S + j0), p_drop, inv_keep);
    }
}

size_t attention_backward_scratch(const AttentionShape &s) {
    check_shape("attention_backward_scratch", s, 0.0f);
    return static_cast<size_t>(2 * s.B * s.heads * s.T * s.S);
}

void attention_backward(float *dq, float *dk, float *dv, float *scratch, const float *dO, const float *P,
                        const float *q, const float *k, const float *v, const AttentionShape &s,
                        float p_drop, uint64_t seed, uint64_t site, GradMode mode, GemmType type) {
    const char *kn = "attention_backward";
    check_shape(kn, s, p_drop);
    check_inputs(kn, q, k, v, P);
    kern::check_ptr(kn, "dO", dO);
    kern::check_ptr(kn, "scratch", scratch);
    if (!dq && !dk && !dv) return;
    PhaseScope scope(Phase::Attention);
    const int64_t B = s.B, T = s.T, S = s.S, Q = s.Q, H = s.heads, dh = Q / H;
    const float scale = 1.0f / std::sqrt(static_cast<float>(dh));
    const float inv_keep = 1.0f / (1.0f - p_drop);
    const float beta = grad_beta(mode);
    const int64_t rows = B * H * T;
    float *D = scratch, *Pd = scratch + rows * S;

    // Pd = dropout(P), the mask drawn once. Where P > 0, Pd != 0 exactly when the
    // key is kept (P / (1-p) >= P cannot underflow); where P = 0 the mask does not
    // matter below (dS = P (...) = 0). So Pd also serves as the mask of dP.
    const float *Pdrop = P;
    if (p_drop > 0.0f) {
        const uint64_t hash = dropout_key_hash(DropoutKey{seed, 0, site});
#pragma omp parallel for if (rows * S > kern::kOmpMinWork) schedule(static)
        for (int64_t r = 0; r < rows; r++) {
            float *m = Pd + r * S;
            const float *pr = P + r * S;
            keep_row(m, hash, static_cast<uint64_t>(r * S), S, p_drop, inv_keep);
            for (int64_t j = 0; j < S; j++) m[j] *= pr[j];
        }
        Pdrop = Pd;
    }
    // dv_bh += Pd_bh^T dO_bh  [S, dh]
    if (dv)
        run_heads({typed(make_gemm(true, false, S, dh, T, S, Q, Q, 1.0f, beta), type), Pdrop, H * T * S, dO, T * Q, dv,
                   S * Q, T * S, dh, dh},
                  B, H);
    if (!dq && !dk) return;

    // D_bh = dO_bh v_bh^T  [T, S]: the gradient of the dropped probabilities
    run_heads({typed(make_gemm(false, true, T, S, dh, Q, Q, S, 1.0f, 0.0f), type), dO, T * Q, v, S * Q, D, H * T * S,
               dh, dh, T * S},
              B, H);
#pragma omp parallel for if (rows * S > kern::kOmpMinWork) schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        float *d = D + r * S;
        if (p_drop > 0.0f) mask_row(d, Pd + r * S, S, inv_keep);
        softmax_grad_row(d, P + r * S, S);
    }
    // dq_bh += dS_bh k_bh / sqrt(dh)  [T, dh]
    if (dq)
        run_heads({typed(make_gemm(false, false, T, dh, S, S, Q, Q, scale, beta), type), D, H * T * S, k, S * Q, dq,
                   T * Q, T * S, dh, dh},
                  B, H);
    // dk_bh += dS_bh^T q_bh / sqrt(dh)  [S, dh]
    if (dk)
        run_heads({typed(make_gemm(true, false, S, dh, T, S, Q, Q, scale, beta), type), D, H * T * S, q, T * Q, dk,
                   S * Q, T * S, dh, dh},
                  B, H);
}

namespace ref {

namespace {
bool allowed(const AttentionShape &s, const uint8_t *kmask, int64_t b, int64_t t, int64_t j) {
    if (kmask && kmask[b * s.S + j]) return false;
    return !s.causal || j <= t;
}
double keep_scale(const DropoutKey &key, uint64_t i, float p) {
    if (p == 0.0f) return 1.0;
    return dropout_uniform(key, i) >= p ? 1.0 / (1.0 - static_cast<double>(p)) : 0.0;
}
}  // namespace

void attention_forward(float *o, float *P, const float *q, const float *k, const float *v,
                       const uint8_t *kmask, const AttentionShape &s, float p_drop, uint64_t seed,
                       uint64_t site) {
    const char *kn = "ref::attention_forward";
    check_shape(kn, s, p_drop);
    check_inputs(kn, q, k, v, P);
    kern::check_ptr(kn, "o", o);
    const int64_t T = s.T, S = s.S, Q = s.Q, H = s.heads, dh = Q / H;
    const DropoutKey key{seed, 0, site};
    std::vector<double> sc(static_cast<size_t>(S));
    for (int64_t b = 0; b < s.B; b++)
        for (int64_t h = 0; h < H; h++)
            for (int64_t t = 0; t < T; t++) {
                const float *qr = q + (b * T + t) * Q + h * dh;
                double mx = -std::numeric_limits<double>::infinity();
                for (int64_t j = 0; j < S; j++) {
                    if (!allowed(s, kmask, b, t, j)) continue;
                    double a = 0.0;
                    for (int64_t c = 0; c < dh; c++) a += static_cast<double>(qr[c]) * k[(b * S + j) * Q + h * dh + c];
                    sc[j] = a / std::sqrt(static_cast<double>(dh));
                    if (sc[j] > mx) mx = sc[j];
                }
                double sum = 0.0;
                for (int64_t j = 0; j < S; j++) {
                    sc[j] = allowed(s, kmask, b, t, j) ? std::exp(sc[j] - mx) : 0.0;
                    sum += sc[j];
                }
                const int64_t row = ((b * H + h) * T + t) * S;
                for (int64_t j = 0; j < S; j++) {
                    sc[j] = sum > 0.0 ? sc[j] / sum : 0.0;
                    P[row + j] = static_cast<float>(sc[j]);
                }
                for (int64_t c = 0; c < dh; c++) {
                    double a = 0.0;
                    for (int64_t j = 0; j < S; j++)
                        a += sc[j] * keep_scale(key, static_cast<uint64_t>(row + j), p_drop) *
                             v[(b * S + j) * Q + h * dh + c];
                    o[(b * T + t) * Q + h * dh + c] = static_cast<float>(a);
                }
            }
}

void attention_backward(float *dq, float *dk, float *dv, float *scratch, const float *dO, const float *P,
                        const float *q, const float *k, const float *v, const AttentionShape &s,
                        float p_drop, uint64_t seed, uint64_t site) {
    const char *kn = "ref::attention_backward";
    check_shape(kn, s, p_drop);
    check_inputs(kn, q, k, v, P);
    kern::check_ptr(kn, "dO", dO);
    const int64_t T = s.T, S = s.S, Q = s.Q, H = s.heads, dh = Q / H;
    const double scale = 1.0 / std::sqrt(static_cast<double>(dh));
    const DropoutKey key{seed, 0, site};
    std::vector<double> dP(static_cast<size_t>(S));
    for (int64_t b = 0; b < s.B; b++)
        for (int64_t h = 0; h < H; h++)
            for (int64_t t = 0; t < T; t++) {
                const int64_t row = ((b * H + h) * T + t) * S;
                const float *g = dO + (b * T + t) * Q + h * dh;
                double dot = 0.0;
                for (int64_t j = 0; j < S; j++) {
                    const double m = keep_scale(key, static_cast<uint64_t>(row + j), p_drop);
                    const float *vr = v + (b * S + j) * Q + h * dh;
                    double a = 0.0;
                    for (int64_t c = 0; c < dh; c++) {
                        a += static_cast<double>(g[c]) * vr[c];
                        if (dv) dv[(b * S + j) * Q + h * dh + c] += static_cast<float>(P[row + j] * m * g[c]);
                    }
                    dP[j] = a * m;
                    dot += P[row + j] * dP[j];
                }
                for (int64_t j = 0; j < S; j++) {
                    const double ds = P[row + j] * (dP[j] - dot) * scale;
                    for (int64_t c = 0; c < dh; c++) {
                        if (dq) dq[(b * T + t) * Q + h * dh + c] += static_cast<float>(ds * k[(b * S + j) * Q + h * dh + c]);
                        if (dk) dk[(b * S + j) * Q + h * dh + c] += static_cast<float>(ds * q[(b * T + t) * Q + h * dh + c]);
                    }
                }
            }
}

}  // namespace ref

}  // namespace mos
