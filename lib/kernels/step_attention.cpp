// lib/kernels/step_attention.cpp: decoder-step attention over the path-indexed
// cache and the per-sentence memory, and the output layer's row statistics
// (see step_attention.hpp), on 16-float GCC vectors compiled for AVX-512, AVX2
// and the baseline (MOS_HOT_CLONES, chosen at run time).
#include "kernels/step_attention.hpp"

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "kernels/common.hpp"
#include "kernels/fast_exp.hpp"

namespace mos {

namespace {

typedef float v16 __attribute__((vector_size(64)));
typedef int32_t i16v __attribute__((vector_size(64)));
constexpr int64_t kL = 16;
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

#define MOS_V_INLINE inline __attribute__((always_inline))

MOS_V_INLINE v16 vload(const float *p) {
    v16 v;
    __builtin_memcpy(&v, p, sizeof v);
    return v;
}
MOS_V_INLINE void vstore(float *p, v16 v) { __builtin_memcpy(p, &v, sizeof v); }
MOS_V_INLINE v16 vsplat(float x) {
    const v16 v = {x};
    return __builtin_shufflevector(v, v, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
}
MOS_V_INLINE v16 vmax(v16 a, v16 b) { return a > b ? a : b; }
// Fixed pairwise order, so results do not depend on the clone that runs.
MOS_V_INLINE float vsum(v16 v) {
    float s[16];
    __builtin_memcpy(s, &v, sizeof v);
    for (int w = 8; w >= 1; w /= 2)
        for (int i = 0; i < w; i++) s[i] += s[i + w];
    return s[0];
}
MOS_V_INLINE float vhmax(v16 v) {
    float s[16];
    __builtin_memcpy(s, &v, sizeof v);
    float m = s[0];
    for (int i = 1; i < 16; i++) m = s[i] > m ? s[i] : m;
    return m;
}
// exp(x) for x <= 0, lane-wise: the steps of kern::exp_nonpos.
MOS_V_INLINE v16 vexp_nonpos(v16 x) {
    x = x < vsplat(-87.0f) ? vsplat(-87.0f) : x;
    x = x > vsplat(0.0f) ? vsplat(0.0f) : x;
    const v16 n = kern::exp_round_n(x);
    const i16v bits = (__builtin_convertvector(n, i16v) + 127) << 23;
    return kern::exp_reduced(x, n) * reinterpret_cast<v16>(bits);
}

// Asks for the cache lines of p[0:n] ahead of their use.
MOS_V_INLINE void prefetch_span(const float *p, int64_t n) {
    for (int64_t i = 0; i < n; i += kL) __builtin_prefetch(p + i);
}

MOS_V_INLINE float dot(const float *a, const float *b, int64_t n) {
    v16 acc = vsplat(0.0f);
    int64_t i = 0;
    for (; i + kL <= n; i += kL) acc += vload(a + i) * vload(b + i);
    float s = vsum(acc);
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

// Lane sums of a[0..15] into lane t of the result, each summed in vsum's
// order: the four levels below pair the same lanes as vsum's w = 8, 4, 2, 1
// (lane i with lane i + w), only for 16 vectors at once, so a score comes out
// bit for bit as dot() computes it while the reduction costs 30 shuffles and
// 15 additions instead of 16 scalar reductions. Every shuffle is written on the
// generic vector type, so each clone computes the same values.
MOS_V_INLINE v16 vsum16(const v16 *a) {
    v16 c[8], e[4], f[2];
    for (int p = 0; p < 8; p++) {
        const v16 x = a[2 * p], y = a[2 * p + 1];
        c[p] = __builtin_shufflevector(x, y, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23) +
               __builtin_shufflevector(x, y, 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
    }
    for (int p = 0; p < 4; p++) {
        const v16 x = c[2 * p], y = c[2 * p + 1];
        e[p] = __builtin_shufflevector(x, y, 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27) +
               __builtin_shufflevector(x, y, 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31);
    }
    for (int p = 0; p < 2; p++) {
        const v16 x = e[2 * p], y = e[2 * p + 1];
        f[p] = __builtin_shufflevector(x, y, 0, 1, 4, 5, 8, 9, 12, 13, 16, 17, 20, 21, 24, 25, 28, 29) +
               __builtin_shufflevector(x, y, 2, 3, 6, 7, 10, 11, 14, 15, 18, 19, 22, 23, 26, 27, 30, 31);
    }
    return __builtin_shufflevector(f[0], f[1], 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30) +
           __builtin_shufflevector(f[0], f[1], 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
}

// o[0:n] = sum_j w[j] * rows[j][0:n] (rows[j] = base + off(j)). Four output
// vectors at a time: four independent addition chains instead of one, each
// lane still summed over j in order (the same values as one vector at a time).
template <class Off>
MOS_V_INLINE void weighted_rows(float *o, const float *w, int64_t nrows, const float *base, Off off, int64_t n) {
    int64_t i = 0;
    for (; i + 4 * kL <= n; i += 4 * kL) {
        v16 a0 = vsplat(0.0f), a1 = a0, a2 = a0, a3 = a0;
        for (int64_t j = 0; j < nrows; j++) {
            const v16 wj = vsplat(w[j]);
            const float *p = base + off(j) + i;
            a0 += wj * vload(p);
            a1 += wj * vload(p + kL);
            a2 += wj * vload(p + 2 * kL);
            a3 += wj * vload(p + 3 * kL);
        }
        vstore(o + i, a0);
        vstore(o + i + kL, a1);
        vstore(o + i + 2 * kL, a2);
        vstore(o + i + 3 * kL, a3);
    }
    for (; i + kL <= n; i += kL) {
        v16 acc = vsplat(0.0f);
        for (int64_t j = 0; j < nrows; j++) acc += vsplat(w[j]) * vload(base + off(j) + i);
        vstore(o + i, acc);
    }
    for (; i < n; i++) {
        float acc = 0.0f;
        for (int64_t j = 0; j < nrows; j++) acc += w[j] * base[off(j) + i];
        o[i] = acc;
    }
}

// Softmax of s[0:n] in place (masked entries are -inf); returns false when
// every entry is masked (the caller writes zeros).
MOS_V_INLINE bool softmax_inplace(float *s, int64_t n) {
    const int64_t nv = n / kL * kL;
    v16 vm = vsplat(kNegInf);
    for (int64_t j = 0; j < nv; j += kL) vm = vmax(vm, vload(s + j));
    float mx = vhmax(vm);
    for (int64_t j = nv; j < n; j++) mx = s[j] > mx ? s[j] : mx;
    if (mx == kNegInf) return false;
    const v16 vmx = vsplat(mx), ninf = vsplat(kNegInf), zero = vsplat(0.0f);
    v16 acc = zero;
    for (int64_t j = 0; j < nv; j += kL) {
        const v16 x = vload(s + j);
        const v16 e = x == ninf ? zero : vexp_nonpos(x - vmx);
        vstore(s + j, e);
        acc += e;
    }
    float sum = vsum(acc);
    for (int64_t j = nv; j < n; j++) {
        const float e = s[j] == kNegInf ? 0.0f : kern::exp_nonpos(s[j] - mx);
        s[j] = e;
        sum += e;
    }
    const float inv = 1.0f / sum;
    const v16 vinv = vsplat(inv);
    for (int64_t j = 0; j < nv; j += kL) vstore(s + j, vload(s + j) * vinv);
    for (int64_t j = nv; j < n; j++) s[j] *= inv;
    return true;
}

MOS_HOT_CLONES void self_rows(float *o, int64_t ldo, const float *q, int64_t ldq, const float *K, const float *V,
                              int64_t ts, const int32_t *path, int64_t pld, int64_t R, int64_t n, int64_t Q,
                              int64_t heads, float *sc) {
    const int64_t hd = Q / heads;
    const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
    for (int64_t r = 0; r < R; r++) {
        const int32_t *pr = path + r * pld;
        for (int64_t h = 0; h < heads; h++) {
            const float *qh = q + r * ldq + h * hd;
            int64_t t = 0;
            if (hd % kL == 0) {
                // 16 keys at a time (the last block padded with zeros):
                // dot()'s vector sums, reduced together. The cache rows lie
                // scattered (one per time step, at the row's path slot), so
                // each key's slice of the next head and its value slice of
                // this head are fetched ahead while this head's scores run.
                const v16 vscale = vsplat(scale);
                for (; t < n; t += kL) {
                    const int64_t cnt = n - t < kL ? n - t : kL;
                    v16 acc[kL];
                    for (int64_t u = 0; u < cnt; u++) {
                        const int64_t off = (t + u) * ts + pr[t + u] * Q;
                        const float *k = K + off + h * hd;
                        if (h + 1 < heads) prefetch_span(k + hd, hd);
                        prefetch_span(V + off + h * hd, hd);
                        v16 a = vsplat(0.0f);
                        for (int64_t i = 0; i < hd; i += kL) a += vload(qh + i) * vload(k + i);
                        acc[u] = a;
                    }
                    for (int64_t u = cnt; u < kL; u++) acc[u] = vsplat(0.0f);
                    const v16 sv = vsum16(acc) * vscale;
                    if (cnt == kL) {
                        vstore(sc + t, sv);
                    } else {
                        float tmp[kL];
                        vstore(tmp, sv);
                        std::memcpy(sc + t, tmp, static_cast<size_t>(cnt) * sizeof(float));
                    }
                }
            }
            for (; t < n; t++) sc[t] = dot(qh, K + t * ts + pr[t] * Q + h * hd, hd) * scale;
            softmax_inplace(sc, n);  // n >= 1 and nothing is masked
            weighted_rows(o + r * ldo + h * hd, sc, n, V, [&](int64_t u) { return u * ts + pr[u] * Q + h * hd; }, hd);
        }
    }
}

// Scores of G rows that attend over the same sentence (the beams of one
// sentence sit next to each other), 16 keys per vector: each key vector is
// loaded once for the G rows, whose sums over d run as G independent chains,
// each lane in the same order as one row at a time. sc + g * ld gets row g.
// pf: the keys read next (the next head's, or the next sentence's), fetched
// ahead one vector per vector read: the key rows lie ld floats apart.
template <int G>
MOS_V_INLINE void cross_scores_rows(float *sc, int64_t ld, const float *const *qh, const float *kt, int64_t np,
                                    int64_t hd, float scale, const float *pf) {
    for (int64_t j = 0; j < np; j += kL) {
        v16 a[G];
#pragma GCC unroll 8
        for (int g = 0; g < G; g++) a[g] = vsplat(0.0f);
        const float *kd = kt + j;
        for (int64_t d = 0; d < hd; d++) {
            const v16 kv = vload(kd + d * ld);
            __builtin_prefetch(pf + j + d * ld);
#pragma GCC unroll 8
            for (int g = 0; g < G; g++) a[g] += vsplat(qh[g][d]) * kv;
        }
#pragma GCC unroll 8
        for (int g = 0; g < G; g++) vstore(sc + g * ld + j, a[g] * vsplat(scale));
    }
}

// Scores of one row, 16 keys per vector: sum over the head's dimensions of
// q[d] * Kt[d][j..j+16), up to four blocks of keys at a time (independent
// chains over d, each lane summed in the same order as one block at a time).
MOS_V_INLINE void cross_scores_row(float *sc, int64_t ld, const float *qh, const float *kt, int64_t np, int64_t hd,
                                   float scale, const float *pf) {
    int64_t j = 0;
    for (; j + 4 * kL <= np; j += 4 * kL) {
        v16 a0 = vsplat(0.0f), a1 = a0, a2 = a0, a3 = a0;
        const float *kd = kt + j;
        for (int64_t d = 0; d < hd; d++) {
            const v16 qd = vsplat(qh[d]);
            const float *kr = kd + d * ld;
            for (int64_t b = 0; b < 4; b++) __builtin_prefetch(pf + j + d * ld + b * kL);
            a0 += qd * vload(kr);
            a1 += qd * vload(kr + kL);
            a2 += qd * vload(kr + 2 * kL);
            a3 += qd * vload(kr + 3 * kL);
        }
        const v16 vs = vsplat(scale);
        vstore(sc + j, a0 * vs);
        vstore(sc + j + kL, a1 * vs);
        vstore(sc + j + 2 * kL, a2 * vs);
        vstore(sc + j + 3 * kL, a3 * vs);
    }
    if (j + 2 * kL <= np) {
        v16 a0 = vsplat(0.0f), a1 = a0;
        const float *kd = kt + j;
        for (int64_t d = 0; d < hd; d++) {
            const v16 qd = vsplat(qh[d]);
            __builtin_prefetch(pf + j + d * ld);
            __builtin_prefetch(pf + j + d * ld + kL);
            a0 += qd * vload(kd + d * ld);
            a1 += qd * vload(kd + d * ld + kL);
        }
        vstore(sc + j, a0 * vsplat(scale));
        vstore(sc + j + kL, a1 * vsplat(scale));
        j += 2 * kL;
    }
    for (; j < np; j += kL) {
        v16 acc = vsplat(0.0f);
        const float *kd = kt + j;
        for (int64_t d = 0; d < hd; d++) {
            __builtin_prefetch(pf + j + d * ld);
            acc += vsplat(qh[d]) * vload(kd + d * ld);
        }
        vstore(sc + j, acc * vsplat(scale));
    }
}

MOS_HOT_CLONES void cross_rows(float *o, int64_t ldo, const float *q, int64_t ldq, const StepMemory &mem,
                               const int64_t *src_of, int64_t R, int64_t Q, int64_t heads, float *sc) {
    const int64_t hd = Q / heads, ld = mem.kt_ld;
    const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
    for (int64_t r = 0; r < R;) {
        const int64_t b = src_of[r], n = mem.len[b], np = (n + kL - 1) / kL * kL;
        int64_t G = 1;  // rows r .. r + G - 1 read sentence b
        while (G < kCrossRows && r + G < R && src_of[r + G] == b) G++;
        const float *kt = mem.kt + b * mem.kt_sentence;
        const float *vb = mem.v + b * mem.v_sentence;
        const uint8_t *mk = mem.mask + b * mem.mask_sentence;
        for (int64_t h = 0; h < heads; h++) {
            const float *qh[kCrossRows];
            for (int64_t g = 0; g < G; g++) qh[g] = q + (r + g) * ldq + h * hd;
            if (n == 0) {
                for (int64_t g = 0; g < G; g++)
                    std::memset(o + (r + g) * ldo + h * hd, 0, static_cast<size_t>(hd) * sizeof(float));
                continue;
            }
            const float *kh = kt + h * hd * ld;
            // Keys to fetch ahead: the next head's, after the last head the
            // next row's sentence's first head (the same block shape or less).
            const float *pf = kh;
            if (h + 1 < heads) pf = kh + hd * ld;
            else if (r + G < R) pf = mem.kt + src_of[r + G] * mem.kt_sentence;  // a hint: never faults
            switch (G) {
            case 1: cross_scores_row(sc, ld, qh[0], kh, np, hd, scale, pf); break;
            case 2: cross_scores_rows<2>(sc, ld, qh, kh, np, hd, scale, pf); break;
            case 3: cross_scores_rows<3>(sc, ld, qh, kh, np, hd, scale, pf); break;
            case 4: cross_scores_rows<4>(sc, ld, qh, kh, np, hd, scale, pf); break;
            case 5: cross_scores_rows<5>(sc, ld, qh, kh, np, hd, scale, pf); break;
            default: cross_scores_rows<kCrossRows>(sc, ld, qh, kh, np, hd, scale, pf); break;
            }
            for (int64_t g = 0; g < G; g++) {
                float *sg = sc + g * ld, *oh = o + (r + g) * ldo + h * hd;
                for (int64_t u = 0; u < n; u++)
                    if (mk[u]) sg[u] = kNegInf;
                if (!softmax_inplace(sg, n)) {
                    std::memset(oh, 0, static_cast<size_t>(hd) * sizeof(float));
                    continue;
                }
                weighted_rows(oh, sg, n, vb, [&](int64_t u) { return u * mem.v_ld + h * hd; }, hd);
            }
        }
        r += G;
    }
}

// ---- output-layer statistics ------------------------------------------------

MOS_V_INLINE void topk_insert(VocabRowStats &s, float v, int32_t t) {
    // First position whose value is below v (equal values keep the earlier token first).
    int i = s.n;
    while (i > 0 && (s.val[i - 1] < v || (s.val[i - 1] == v && s.tok[i - 1] > t))) i--;
    if (i >= s.cap) return;
    const int last = s.n < s.cap ? s.n : s.cap - 1;
    for (int j = last; j > i; j--) {
        s.val[j] = s.val[j - 1];
        s.tok[j] = s.tok[j - 1];
    }
    s.val[i] = v;
    s.tok[i] = t;
    if (s.n < s.cap) s.n++;
}

MOS_HOT_CLONES void tile_rows(VocabRowStats *stats, const float *tile, int64_t ld, int64_t M, int64_t n0, int64_t n1,
                              int32_t skip_a, int32_t skip_b, int32_t eos) {
    const int64_t w = n1 - n0, wv = w / kL * kL;
    // Rows in groups of 16: each row's vector of exp sums is reduced together
    // with the other 15 (vsum16, vsum's order), then finished row by row.
    for (int64_t m0 = 0; m0 < M; m0 += kL) {
        const int64_t mc = M - m0 < kL ? M - m0 : kL;
        v16 accs[kL];
        float bms[kL];
        for (int64_t i = 0; i < mc; i++) {
            VocabRowStats &s = stats[m0 + i];
            const float *v = tile + (m0 + i) * ld;
            // Block maximum.
            v16 vm = vsplat(kNegInf);
            for (int64_t j = 0; j < wv; j += kL) vm = vmax(vm, vload(v + j));
            float bm = vhmax(vm);
            for (int64_t j = wv; j < w; j++) bm = v[j] > bm ? v[j] : bm;
            bms[i] = bm;
            // Running sum rescaled to the new maximum.
            if (!s.any) {
                s.max = bm;
                s.sum = 0.0f;
                s.any = true;
            } else if (bm > s.max) {
                s.sum *= kern::exp_nonpos(s.max - bm);
                s.max = bm;
            }
            const v16 mx = vsplat(s.max);
            v16 acc = vsplat(0.0f);
            for (int64_t j = 0; j < wv; j += kL) acc += vexp_nonpos(vload(v + j) - mx);
            accs[i] = acc;
        }
        for (int64_t i = mc; i < kL; i++) accs[i] = vsplat(0.0f);
        float sums[kL];
        vstore(sums, vsum16(accs));
        for (int64_t i = 0; i < mc; i++) {
            VocabRowStats &s = stats[m0 + i];
            const float *v = tile + (m0 + i) * ld;
            float sum = sums[i];
            for (int64_t j = wv; j < w; j++) sum += kern::exp_nonpos(v[j] - s.max);
            s.sum += sum;
            if (eos >= n0 && eos < n1) {
                s.eos = v[eos - n0];
                s.has_eos = true;
            }
            // Candidates: only blocks whose maximum beats the current cut-off.
            const float cut = s.n < s.cap ? kNegInf : s.val[s.n - 1];
            if (s.cap > 0 && (bms[i] > cut || s.n < s.cap))
                for (int64_t j = 0; j < w; j++) {
                    const int32_t t = static_cast<int32_t>(n0 + j);
                    if (t == skip_a || t == skip_b) continue;
                    if (s.n < s.cap || v[j] > s.val[s.n - 1]) topk_insert(s, v[j], t);
                }
        }
    }
}

}  // namespace

void VocabRowStats::reset(int capacity) {
    check(capacity >= 0 && capacity <= kMaxTopK, MOS_INVALID_ARGUMENT, "top-k capacity ", capacity,
          " outside 0..", kMaxTopK);
    max = 0.0f;
    sum = 0.0f;
    any = false;
    eos = 0.0f;
    has_eos = false;
    cap = capacity;
    n = 0;
}

float VocabRowStats::lse() const { return any ? max + std::log(sum) : kNegInf; }

void vocab_tile_update(VocabRowStats *stats, const float *tile, int64_t ld, int64_t M, int64_t n0, int64_t n1,
                       int32_t skip_a, int32_t skip_b, int32_t eos) {
    if (M == 0 || n1 <= n0) return;
    tile_rows(stats, tile, ld, M, n0, n1, skip_a, skip_b, eos);
}

void vocab_stats_merge(VocabRowStats &into, const VocabRowStats &o) {
    if (!o.any) return;
    if (!into.any) {
        into.max = o.max;
        into.sum = o.sum;
        into.any = true;
    } else if (o.max > into.max) {
        into.sum = into.sum * kern::exp_nonpos(into.max - o.max) + o.sum;
        into.max = o.max;
    } else {
        into.sum += o.sum * kern::exp_nonpos(o.max - into.max);
    }
    if (o.has_eos) {
        into.eos = o.eos;
        into.has_eos = true;
    }
    for (int i = 0; i < o.n; i++) topk_insert(into, o.val[i], o.tok[i]);
}

void step_self_attention(float *o, int64_t ldo, const float *q, int64_t ldq, const float *K, const float *V,
                         int64_t time_stride, const int32_t *path, int64_t path_ld, int64_t R, int64_t n_keys,
                         int64_t Q, int64_t heads, float *scratch) {
    check(heads >= 1 && Q % heads == 0, MOS_INVALID_ARGUMENT, "step_self_attention: Q = ", Q,
          " is not a multiple of ", heads, " heads");
    check(n_keys >= 1, MOS_INVALID_ARGUMENT, "step_self_attention: no keys");
    if (R == 0) return;
    self_rows(o, ldo, q, ldq, K, V, time_stride, path, path_ld, R, n_keys, Q, heads, scratch);
}

void step_cross_attention(float *o, int64_t ldo, const float *q, int64_t ldq, const StepMemory &mem,
                          const int64_t *src_of, int64_t R, int64_t Q, int64_t heads, float *scratch) {
    check(heads >= 1 && Q % heads == 0, MOS_INVALID_ARGUMENT, "step_cross_attention: Q = ", Q,
          " is not a multiple of ", heads, " heads");
    check(mem.kt_ld % kL == 0 && mem.v_ld >= Q && mem.kt && mem.v && mem.mask && mem.len, MOS_INVALID_ARGUMENT,
          "step_cross_attention: bad memory (key stride ", mem.kt_ld, ")");
    if (R == 0) return;
    cross_rows(o, ldo, q, ldq, mem, src_of, R, Q, heads, scratch);
}

namespace ref {

namespace {
void attend(float *o, const double *scores, int64_t n, const float *const *vrows, int64_t hd) {
    double mx = -INFINITY;
    for (int64_t j = 0; j < n; j++) mx = std::max(mx, scores[j]);
    for (int64_t i = 0; i < hd; i++) o[i] = 0.0f;
    if (mx == -INFINITY) return;
    std::vector<double> p(static_cast<size_t>(n));
    double sum = 0.0;
    for (int64_t j = 0; j < n; j++) sum += p[j] = scores[j] == -INFINITY ? 0.0 : std::exp(scores[j] - mx);
    for (int64_t i = 0; i < hd; i++) {
        double acc = 0.0;
        for (int64_t j = 0; j < n; j++) acc += p[j] / sum * vrows[j][i];
        o[i] = static_cast<float>(acc);
    }
}
}  // namespace

void step_self_attention(float *o, int64_t ldo, const float *q, int64_t ldq, const float *K, const float *V,
                         int64_t ts, const int32_t *path, int64_t pld, int64_t R, int64_t n, int64_t Q,
                         int64_t heads) {
    const int64_t hd = Q / heads;
    std::vector<double> sc(static_cast<size_t>(n));
    std::vector<const float *> vr(static_cast<size_t>(n));
    for (int64_t r = 0; r < R; r++)
        for (int64_t h = 0; h < heads; h++) {
            for (int64_t t = 0; t < n; t++) {
                const float *k = K + t * ts + path[r * pld + t] * Q + h * hd;
                double s = 0.0;
                for (int64_t i = 0; i < hd; i++) s += static_cast<double>(q[r * ldq + h * hd + i]) * k[i];
                sc[t] = s / std::sqrt(static_cast<double>(hd));
                vr[t] = V + t * ts + path[r * pld + t] * Q + h * hd;
            }
            attend(o + r * ldo + h * hd, sc.data(), n, vr.data(), hd);
        }
}

void step_cross_attention(float *o, int64_t ldo, const float *q, int64_t ldq, const StepMemory &mem,
                          const int64_t *src_of, int64_t R, int64_t Q, int64_t heads) {
    const int64_t hd = Q / heads;
    for (int64_t r = 0; r < R; r++) {
        const int64_t b = src_of[r], n = mem.len[b];
        std::vector<double> sc(static_cast<size_t>(n));
        std::vector<const float *> vr(static_cast<size_t>(n));
        for (int64_t h = 0; h < heads; h++) {
            for (int64_t j = 0; j < n; j++) {
                double s = 0.0;
                for (int64_t i = 0; i < hd; i++)
                    s += static_cast<double>(q[r * ldq + h * hd + i]) *
                         mem.kt[b * mem.kt_sentence + (h * hd + i) * mem.kt_ld + j];
                sc[j] = mem.mask[b * mem.mask_sentence + j] ? -INFINITY : s / std::sqrt(static_cast<double>(hd));
                vr[j] = mem.v + b * mem.v_sentence + j * mem.v_ld + h * hd;
            }
            attend(o + r * ldo + h * hd, sc.data(), n, vr.data(), hd);
        }
    }
}

}  // namespace ref

}  // namespace mos
