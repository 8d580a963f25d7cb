// lib/kernels/packed_avx2.cpp: the AVX2 kernels of the packed products (layout
// and arithmetic in packed.hpp) for CPUs without AVX-512: f32 FMA, bf16 with
// weights widened to f32 by a shift, either with f32 activations ("widen") or
// with activations rounded to bf16 (the "dot" kernel's emulation), int8 by `vpmaddubsw` + `vpmaddwd`
// with 7-bit activations (so the 16-bit pair sums never saturate).
//
// With 16 ymm registers a tile is MR rows x 16 columns (one quarter of a
// 64-column group): MR x 2 accumulators and two 32-byte weight loads per k-step.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels/packed_impl.hpp"

#if defined(__x86_64__) && defined(__GNUC__)

#define MOS_T256 __attribute__((target("avx2,fma")))
#define MOS_INLINE inline __attribute__((always_inline))

namespace mos {
namespace packed {
namespace {

// Bias, ReLU, residual and the store of 8 outputs of row m from column n0.
MOS_T256 MOS_INLINE void finish8(const Call &c, int64_t m, int64_t n0, __m256 v) {
    if (n0 >= c.N) return;
    const int64_t valid = c.N - n0;
    const PackedEpilogue &e = c.e;
    alignas(32) float t[8];
    _mm256_store_ps(t, v);
    const int64_t n = valid < 8 ? valid : 8;
    float *y = c.y + m * c.ldy + n0 - c.y_col0;
    for (int64_t l = 0; l < n; l++) {
        float r = t[l];
        if (e.bias) r += e.bias[n0 + l];
        if (e.relu) r = r > 0.0f ? r : 0.0f;
        if (e.residual) r += e.residual[m * e.ldr + n0 + l];
        y[l] = r;
    }
}

MOS_T256 MOS_INLINE void finish8_i8(const Call &c, int64_t m, int64_t n0, __m256i acc) {
    if (n0 >= c.N) return;
    const __m256i cs = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(c.colsum + n0));
    const __m256i adj = _mm256_sub_epi32(acc, _mm256_mullo_epi32(_mm256_set1_epi32(c.xzero[m]), cs));
    const __m256 s = _mm256_mul_ps(_mm256_set1_ps(c.xscale[m]), _mm256_loadu_ps(c.W->scale() + n0));
    finish8(c, m, n0, _mm256_mul_ps(_mm256_cvtepi32_ps(adj), s));
}

template <int MR>
MOS_T256 MOS_INLINE void f32_tile(const Call &c, int64_t m0, int64_t gi, int j) {
    const float *w = reinterpret_cast<const float *>(c.W->data() + c.W->step_offset(gi, 0)) + 16 * j;
    const float *x = c.xf + m0 * c.ldx;
    __m256 a0[MR], a1[MR];
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++) a0[i] = a1[i] = _mm256_setzero_ps();
    for (int64_t k = 0; k < c.K; k++, w += kGroupCols) {
        const __m256 w0 = _mm256_load_ps(w), w1 = _mm256_load_ps(w + 8);
#pragma GCC unroll 8
        for (int i = 0; i < MR; i++) {
            const __m256 xb = _mm256_broadcast_ss(x + i * c.ldx + k);
            a0[i] = _mm256_fmadd_ps(xb, w0, a0[i]);
            a1[i] = _mm256_fmadd_ps(xb, w1, a1[i]);
        }
    }
    const int64_t n0 = gi * kGroupCols + 16 * j;
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++) {
        finish8(c, m0 + i, n0, a0[i]);
        finish8(c, m0 + i, n0 + 8, a1[i]);
    }
}

template <int MR>
MOS_T256 MOS_INLINE void bf16_tile(const Call &c, int64_t m0, int64_t gi, int j) {
    const uint8_t *w = c.W->data() + c.W->step_offset(gi, 0) + 64 * j;
    const uint16_t *x = c.xb + m0 * c.ldq;
    const __m256i hi_mask = _mm256_set1_epi32(static_cast<int32_t>(0xffff0000u));
    __m256 a0[MR], a1[MR];
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++) a0[i] = a1[i] = _mm256_setzero_ps();
    for (int64_t s = 0; s < c.steps; s++, w += kGroupBytes) {
        const __m256i v0 = _mm256_load_si256(reinterpret_cast<const __m256i *>(w));
        const __m256i v1 = _mm256_load_si256(reinterpret_cast<const __m256i *>(w + 32));
        const __m256 lo0 = _mm256_castsi256_ps(_mm256_slli_epi32(v0, 16));
        const __m256 hi0 = _mm256_castsi256_ps(_mm256_and_si256(v0, hi_mask));
        const __m256 lo1 = _mm256_castsi256_ps(_mm256_slli_epi32(v1, 16));
        const __m256 hi1 = _mm256_castsi256_ps(_mm256_and_si256(v1, hi_mask));
#pragma GCC unroll 8
        for (int i = 0; i < MR; i++) {
            uint32_t pair;
            std::memcpy(&pair, x + i * c.ldq + 2 * s, 4);
            const __m256 x0 = _mm256_castsi256_ps(_mm256_set1_epi32(static_cast<int32_t>(pair << 16)));
            const __m256 x1 = _mm256_castsi256_ps(_mm256_set1_epi32(static_cast<int32_t>(pair & 0xffff0000u)));
            a0[i] = _mm256_fmadd_ps(x1, hi0, _mm256_fmadd_ps(x0, lo0, a0[i]));
            a1[i] = _mm256_fmadd_ps(x1, hi1, _mm256_fmadd_ps(x0, lo1, a1[i]));
        }
    }
    const int64_t n0 = gi * kGroupCols + 16 * j;
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++) {
        finish8(c, m0 + i, n0, a0[i]);
        finish8(c, m0 + i, n0 + 8, a1[i]);
    }
}

// a0[i] += x[i * ldx + k] * w0, a1[i] += x[i * ldx + k] * w1 for the MR rows:
// one input column of a step (the even half, the odd half or an odd K's last).
template <int MR>
MOS_T256 MOS_INLINE void widen_column(__m256 (&a0)[MR], __m256 (&a1)[MR], const float *x, int64_t ldx, int64_t k,
                                      __m256 w0, __m256 w1) {
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++) {
        const __m256 xb = _mm256_broadcast_ss(x + i * ldx + k);
        a0[i] = _mm256_fmadd_ps(xb, w0, a0[i]);
        a1[i] = _mm256_fmadd_ps(xb, w1, a1[i]);
    }
}

// Weights widened to f32, f32 activations, FMAs in k order (the AVX-512
// widen_tile's arithmetic on 16-column panels); an odd K ends with a half step.
template <int MR>
MOS_T256 MOS_INLINE void widen_tile(const Call &c, int64_t m0, int64_t gi, int j) {
    const uint8_t *w = c.W->data() + c.W->step_offset(gi, 0) + 64 * j;
    const float *x = c.xf + m0 * c.ldx;
    const __m256i hi_mask = _mm256_set1_epi32(static_cast<int32_t>(0xffff0000u));
    __m256 a0[MR], a1[MR];
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++) a0[i] = a1[i] = _mm256_setzero_ps();
    const int64_t pairs = c.K / 2;
    for (int64_t s = 0; s < pairs; s++, w += kGroupBytes) {
        const __m256i v0 = _mm256_load_si256(reinterpret_cast<const __m256i *>(w));
        const __m256i v1 = _mm256_load_si256(reinterpret_cast<const __m256i *>(w + 32));
        widen_column<MR>(a0, a1, x, c.ldx, 2 * s, _mm256_castsi256_ps(_mm256_slli_epi32(v0, 16)),
                         _mm256_castsi256_ps(_mm256_slli_epi32(v1, 16)));
        widen_column<MR>(a0, a1, x, c.ldx, 2 * s + 1, _mm256_castsi256_ps(_mm256_and_si256(v0, hi_mask)),
                         _mm256_castsi256_ps(_mm256_and_si256(v1, hi_mask)));
    }
    if (c.K & 1) {
        const __m256i v0 = _mm256_load_si256(reinterpret_cast<const __m256i *>(w));
        const __m256i v1 = _mm256_load_si256(reinterpret_cast<const __m256i *>(w + 32));
        widen_column<MR>(a0, a1, x, c.ldx, c.K - 1, _mm256_castsi256_ps(_mm256_slli_epi32(v0, 16)),
                         _mm256_castsi256_ps(_mm256_slli_epi32(v1, 16)));
    }
    const int64_t n0 = gi * kGroupCols + 16 * j;
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++) {
        finish8(c, m0 + i, n0, a0[i]);
        finish8(c, m0 + i, n0 + 8, a1[i]);
    }
}

template <int MR>
MOS_T256 MOS_INLINE void i8_tile(const Call &c, int64_t m0, int64_t gi, int j) {
    const uint8_t *w = c.W->data() + c.W->step_offset(gi, 0) + 64 * j;
    const uint8_t *x = c.xu + m0 * c.ldq;
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i a0[MR], a1[MR];
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++) a0[i] = a1[i] = _mm256_setzero_si256();
    for (int64_t s = 0; s < c.steps; s++, w += kGroupBytes) {
        const __m256i w0 = _mm256_load_si256(reinterpret_cast<const __m256i *>(w));
        const __m256i w1 = _mm256_load_si256(reinterpret_cast<const __m256i *>(w + 32));
#pragma GCC unroll 8
        for (int i = 0; i < MR; i++) {
            int32_t quad;
            std::memcpy(&quad, x + i * c.ldq + 4 * s, 4);
            const __m256i xb = _mm256_set1_epi32(quad);
            a0[i] = _mm256_add_epi32(a0[i], _mm256_madd_epi16(_mm256_maddubs_epi16(xb, w0), ones));
            a1[i] = _mm256_add_epi32(a1[i], _mm256_madd_epi16(_mm256_maddubs_epi16(xb, w1), ones));
        }
    }
    const int64_t n0 = gi * kGroupCols + 16 * j;
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++) {
        finish8_i8(c, m0 + i, n0, a0[i]);
        finish8_i8(c, m0 + i, n0 + 8, a1[i]);
    }
}

// Groups [g0, g1): each group's four 16-column panels, MR-row tiles.
#define MOS_AVX2_GROUPS(NAME, TILE, MRMAX)                                           \
    MOS_T256 void NAME(const Call &c, int64_t g0, int64_t g1) {                    \
        for (int64_t gi = g0; gi < g1; gi++)                                       \
            for (int j = 0; j < 4; j++) {                                          \
                if (gi * kGroupCols + 16 * j >= c.N) break;                        \
                for (int64_t m0 = 0; m0 < c.M; m0 += MRMAX) {                      \
                    switch (c.M - m0 >= MRMAX ? MRMAX : c.M - m0) {                \
                    case 1: TILE<1>(c, m0, gi, j); break;                          \
                    case 2: TILE<2>(c, m0, gi, j); break;                          \
                    case 3: TILE<3>(c, m0, gi, j); break;                          \
                    default: TILE<4>(c, m0, gi, j); break;                         \
                    }                                                              \
                }                                                                  \
            }                                                                      \
    }
MOS_AVX2_GROUPS(f32_groups, f32_tile, 4)
MOS_AVX2_GROUPS(bf16_groups, bf16_tile, 4)
MOS_AVX2_GROUPS(bf16_groups_widen, widen_tile, 4)
MOS_AVX2_GROUPS(i8_groups, i8_tile, 4)
#undef MOS_AVX2_GROUPS

MOS_T256 void quant_rows(uint8_t *u, float *scale, int32_t *zero, const float *x, int64_t ldx, int64_t M, int64_t K,
                         int64_t Kp, int qmax) {
    for (int64_t m = 0; m < M; m++) {
        const float *r = x + m * ldx;
        __m256 lo = _mm256_setzero_ps(), hi = _mm256_setzero_ps();
        int64_t k = 0;
        for (; k + 8 <= K; k += 8) {
            const __m256 v = _mm256_loadu_ps(r + k);
            lo = _mm256_min_ps(lo, v);
            hi = _mm256_max_ps(hi, v);
        }
        alignas(32) float l8[8], h8[8];
        _mm256_store_ps(l8, lo);
        _mm256_store_ps(h8, hi);
        float lmin = 0.0f, hmax = 0.0f;
        for (int i = 0; i < 8; i++) {
            lmin = l8[i] < lmin ? l8[i] : lmin;
            hmax = h8[i] > hmax ? h8[i] : hmax;
        }
        for (; k < K; k++) {
            lmin = r[k] < lmin ? r[k] : lmin;
            hmax = r[k] > hmax ? r[k] : hmax;
        }
        float inv;
        quant_params(lmin, hmax, qmax, &scale[m], &inv, &zero[m]);
        const __m256 vinv = _mm256_set1_ps(inv);
        const __m256i vz = _mm256_set1_epi32(zero[m]), vmax = _mm256_set1_epi32(qmax), v0 = _mm256_setzero_si256();
        uint8_t *o = u + m * Kp;
        for (k = 0; k + 8 <= K; k += 8) {
            __m256i q = _mm256_add_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(r + k), vinv)), vz);
            q = _mm256_min_epi32(_mm256_max_epi32(q, v0), vmax);
            alignas(32) int32_t t[8];
            _mm256_store_si256(reinterpret_cast<__m256i *>(t), q);
            for (int i = 0; i < 8; i++) o[k + i] = static_cast<uint8_t>(t[i]);
        }
        for (; k < K; k++) {
            int32_t q = static_cast<int32_t>(std::nearbyint(r[k] * inv)) + zero[m];
            o[k] = static_cast<uint8_t>(q < 0 ? 0 : (q > qmax ? qmax : q));
        }
        for (; k < Kp; k++) o[k] = 0;
    }
}

MOS_T256 void bf16_rows(uint16_t *out, const float *x, int64_t ldx, int64_t M, int64_t K, int64_t Kp) {
    for (int64_t m = 0; m < M; m++) {
        for (int64_t k = 0; k < K; k++) out[m * Kp + k] = round_to_bf16(x[m * ldx + k]);
        for (int64_t k = K; k < Kp; k++) out[m * Kp + k] = 0;
    }
}

}  // namespace

const KernelSet &avx2_kernels() {
    static const KernelSet k{f32_groups, bf16_groups, i8_groups, quant_rows, bf16_rows, 127, bf16_groups_widen};
    return k;
}

}  // namespace packed
}  // namespace mos

#else

namespace mos {
namespace packed {
const KernelSet &avx2_kernels() { return scalar_kernels(); }
}  // namespace packed
}  // namespace mos

#endif
