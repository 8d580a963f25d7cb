// lib/kernels/packed_avx512.cpp: the AVX-512 kernels of the packed products
// (layout and arithmetic in packed.hpp): f32 FMA, bf16 by `vdpbf16ps`
// (avx512_bf16) or emulated ("dot") and by weights widened to f32 ("widen"),
// int8 by `vpdpbusd` (avx512_vnni) or by
// `vpmaddubsw` + `vpmaddwd` (AVX-512BW, 7-bit activations).
//
// Each function carries its own target attribute and is reached only through
// the kernel table after a run-time CPU check (packed.cpp); the build itself
// uses no -march flag. A tile is MR rows x 64 columns: MR x 4 accumulators
// in zmm registers, four 64-byte weight loads per k-step shared by the MR rows.
#include <immintrin.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "core/cpu.hpp"
#include "kernels/packed_impl.hpp"

#if defined(__x86_64__) && defined(__GNUC__)

// GCC 12's AVX-512 shift intrinsics build their pass-through operand with a
// self-initialised "undefined" vector, which -Wmaybe-uninitialized reports once
// inlined; the operand is never read (full mask).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#define MOS_T512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")))
#define MOS_T512_BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,avx512bf16")))
#define MOS_T512_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,avx512vnni")))
#define MOS_INLINE inline __attribute__((always_inline))

namespace mos {
namespace packed {
namespace {

// ---- epilogue -------------------------------------------------------------

MOS_T512 MOS_INLINE __mmask16 lane_mask(int64_t n0, int64_t N) {
    const int64_t valid = N - n0;
    return valid >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << valid) - 1u);
}

// Bias, ReLU, residual and the store of 16 outputs of row m from column n0.
MOS_T512 MOS_INLINE void finish16(const Call &c, int64_t m, int64_t n0, __m512 v) {
    if (n0 >= c.N) return;
    const __mmask16 k = lane_mask(n0, c.N);
    const PackedEpilogue &e = c.e;
    if (e.bias) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(k, e.bias + n0));
    if (e.relu) v = _mm512_max_ps(v, _mm512_setzero_ps());
    if (e.residual) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(k, e.residual + m * e.ldr + n0));
    _mm512_mask_storeu_ps(c.y + m * c.ldy + n0 - c.y_col0, k, v);
}

// int8: (acc - z_m colsum) * (s_m * scale), then the common epilogue.
MOS_T512 MOS_INLINE void finish16_i8(const Call &c, int64_t m, int64_t n0, __m512i acc) {
    if (n0 >= c.N) return;
    const __m512i cs = _mm512_loadu_si512(c.colsum + n0);
    const __m512i adj = _mm512_sub_epi32(acc, _mm512_mullo_epi32(_mm512_set1_epi32(c.xzero[m]), cs));
    const __m512 s = _mm512_mul_ps(_mm512_set1_ps(c.xscale[m]), _mm512_loadu_ps(c.W->scale() + n0));
    finish16(c, m, n0, _mm512_mul_ps(_mm512_cvtepi32_ps(adj), s));
}

// ---- f32 ------------------------------------------------------------------

// Software prefetch of the next group's weights into L2, spread over the
// current group's row tiles: a product of a few rows streams every weight
// from L3 or memory once, and with the hardware prefetchers alone the core
// waits on that stream between compute-bound row tiles. Tile t of a group's T
// row tiles fetches its share of the next group's lines, `per_step` lines a
// k-step, so the stream runs under all T tiles at a rate the core's memory
// bandwidth can serve (all of it under the first tile asked the 16-core Xeon
// for about three times what one core fetches, and the rest of the group's
// tiles then ran with nothing in flight; docs/benchmarks.md). One-row
// products, bound by the stream, are unchanged.
struct Prefetch {
    const char *p = nullptr;  // the first line of this tile's share; NULL: none
    int64_t lines = 0;        // lines in the share
    int64_t per_step = 0;     // lines a k-step
};

// The share of tile t of T of the group after gi (none after the last group).
MOS_INLINE Prefetch prefetch_share(const Call &c, int64_t gi, int64_t t, int64_t T) {
    Prefetch f;
    if (gi + 1 >= c.W->groups()) return f;
    const int64_t total = c.steps * (kGroupBytes / 64);
    const int64_t share = (total + T - 1) / T;
    const int64_t begin = t * share;
    if (begin >= total) return f;
    f.p = reinterpret_cast<const char *>(c.W->data() + c.W->step_offset(gi + 1, 0)) + begin * 64;
    f.lines = share < total - begin ? share : total - begin;
    f.per_step = (f.lines + c.steps - 1) / c.steps;
    return f;
}

MOS_T512 MOS_INLINE void prefetch_step(Prefetch &f) {
    if (f.lines > 0) {
        const int64_t n = f.per_step < f.lines ? f.per_step : f.lines;
        for (int64_t j = 0; j < n; j++) _mm_prefetch(f.p + 64 * j, _MM_HINT_T1);
        f.p += 64 * n;
        f.lines -= n;
    }
}

template <int MR>
MOS_T512 MOS_INLINE void f32_tile(const Call &c, int64_t m0, int64_t gi, Prefetch pf) {
    const float *w = reinterpret_cast<const float *>(c.W->data() + c.W->step_offset(gi, 0));
    const float *x = c.xf + m0 * c.ldx;
    __m512 acc[MR][4];
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++)
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++) acc[i][j] = _mm512_setzero_ps();
    for (int64_t k = 0; k < c.K; k++, w += kGroupCols) {
        prefetch_step(pf);
        const __m512 w0 = _mm512_load_ps(w), w1 = _mm512_load_ps(w + 16);
        const __m512 w2 = _mm512_load_ps(w + 32), w3 = _mm512_load_ps(w + 48);
#pragma GCC unroll 8
        for (int i = 0; i < MR; i++) {
            const __m512 xb = _mm512_set1_ps(x[i * c.ldx + k]);
            acc[i][0] = _mm512_fmadd_ps(xb, w0, acc[i][0]);
            acc[i][1] = _mm512_fmadd_ps(xb, w1, acc[i][1]);
            acc[i][2] = _mm512_fmadd_ps(xb, w2, acc[i][2]);
            acc[i][3] = _mm512_fmadd_ps(xb, w3, acc[i][3]);
        }
    }
    const int64_t n0 = gi * kGroupCols;
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++)
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++) finish16(c, m0 + i, n0 + 16 * j, acc[i][j]);
}

MOS_T512 void f32_groups(const Call &c, int64_t g0, int64_t g1) {
    constexpr int64_t kMR = 6;
    const int64_t tiles = (c.M + kMR - 1) / kMR;
    for (int64_t gi = g0; gi < g1; gi++)
        for (int64_t m0 = 0, t = 0; m0 < c.M; m0 += kMR, t++) {
            const Prefetch pf = prefetch_share(c, gi, t, tiles);
            switch (c.M - m0 >= kMR ? kMR : c.M - m0) {
            case 1: f32_tile<1>(c, m0, gi, pf); break;
            case 2: f32_tile<2>(c, m0, gi, pf); break;
            case 3: f32_tile<3>(c, m0, gi, pf); break;
            case 4: f32_tile<4>(c, m0, gi, pf); break;
            case 5: f32_tile<5>(c, m0, gi, pf); break;
            default: f32_tile<6>(c, m0, gi, pf); break;
            }
        }
}

// ---- bf16, native ---------------------------------------------------------

template <int MR>
MOS_T512_BF16 MOS_INLINE void bf16_tile(const Call &c, int64_t m0, int64_t gi) {
    const uint8_t *w = c.W->data() + c.W->step_offset(gi, 0);
    const uint16_t *x = c.xb + m0 * c.ldq;
    __m512 acc[MR][4];
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++)
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++) acc[i][j] = _mm512_setzero_ps();
    for (int64_t s = 0; s < c.steps; s++, w += kGroupBytes) {
        const __m512bh w0 = (__m512bh)_mm512_load_si512(w), w1 = (__m512bh)_mm512_load_si512(w + 64);
        const __m512bh w2 = (__m512bh)_mm512_load_si512(w + 128), w3 = (__m512bh)_mm512_load_si512(w + 192);
#pragma GCC unroll 8
        for (int i = 0; i < MR; i++) {
            int32_t pair;
            std::memcpy(&pair, x + i * c.ldq + 2 * s, 4);
            const __m512bh xb = (__m512bh)_mm512_set1_epi32(pair);
            acc[i][0] = _mm512_dpbf16_ps(acc[i][0], xb, w0);
            acc[i][1] = _mm512_dpbf16_ps(acc[i][1], xb, w1);
            acc[i][2] = _mm512_dpbf16_ps(acc[i][2], xb, w2);
            acc[i][3] = _mm512_dpbf16_ps(acc[i][3], xb, w3);
        }
    }
    const int64_t n0 = gi * kGroupCols;
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++)
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++) finish16(c, m0 + i, n0 + 16 * j, acc[i][j]);
}

MOS_T512_BF16 void bf16_groups_native(const Call &c, int64_t g0, int64_t g1) {
    constexpr int64_t kMR = 6;
    for (int64_t gi = g0; gi < g1; gi++)
        for (int64_t m0 = 0; m0 < c.M; m0 += kMR) {
            switch (c.M - m0 >= kMR ? kMR : c.M - m0) {
            case 1: bf16_tile<1>(c, m0, gi); break;
            case 2: bf16_tile<2>(c, m0, gi); break;
            case 3: bf16_tile<3>(c, m0, gi); break;
            case 4: bf16_tile<4>(c, m0, gi); break;
            case 5: bf16_tile<5>(c, m0, gi); break;
            default: bf16_tile<6>(c, m0, gi); break;
            }
        }
}

// ---- bf16, AMX tiles ------------------------------------------------------
//
// The packed bf16 layout is already the tile layout of the weight operand: a
// k-step of a group holds 64 columns x one pair of inputs (256 bytes), so 16
// consecutive steps read 64 bytes apart at a stride of 256 bytes are a tile of
// 16 input pairs x 16 columns, which `tdpbf16ps` takes as its B operand. No
// second copy of the weights. Tiles: 0-3 accumulate 16 rows x 64 columns (f32),
// 4 holds 16 rows x 32 inputs of the bf16 activations, 5-7 the weights. Only
// for K a multiple of 32 (whole tiles; packed.cpp falls back to the dot kernel
// otherwise). Rows come in blocks of 16; the last, partial block is copied into
// zero-padded rows, so one tile configuration serves the whole product.

#define MOS_T512_AMX \
    __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,avx512bf16,amx-tile,amx-bf16")))

// The inline assembly of the tile intrinsics names no memory operands: keep
// plain loads and stores on their side of it.
#define MOS_MEMORY_FENCE() __asm__ volatile("" ::: "memory")

MOS_T512_AMX void bf16_groups_amx(const Call &c, int64_t g0, int64_t g1) {
    constexpr int64_t kRows = 16, kStepsPerTile = 16;
    const AmxTileConfig cfg = AmxTileConfig::uniform(8, kRows, 64);
    const int64_t full = c.M / kRows * kRows;
    thread_local std::vector<uint16_t> pad;  // the last partial block, zero-padded to 16 rows
    if (full < c.M) {
        pad.assign(static_cast<size_t>(kRows * c.ldq), 0);
        for (int64_t m = full; m < c.M; m++)
            std::memcpy(pad.data() + (m - full) * c.ldq, c.xb + m * c.ldq, static_cast<size_t>(c.ldq) * 2);
    }
    alignas(64) float out[kRows * kGroupCols];
    const long lda = static_cast<long>(c.ldq * 2), ldw = kGroupBytes, ldo = kGroupCols * sizeof(float);
    _tile_loadconfig(&cfg);
    MOS_MEMORY_FENCE();
    for (int64_t gi = g0; gi < g1; gi++) {
        const uint8_t *w = c.W->data() + c.W->step_offset(gi, 0);
        const int64_t n0 = gi * kGroupCols;
        for (int64_t m0 = 0; m0 < c.M; m0 += kRows) {
            const uint16_t *a = m0 < full ? c.xb + m0 * c.ldq : pad.data();
            _tile_zero(0);
            _tile_zero(1);
            _tile_zero(2);
            _tile_zero(3);
            for (int64_t s = 0; s < c.steps; s += kStepsPerTile) {
                const uint8_t *ws = w + s * kGroupBytes;
                _tile_loadd(4, a + 2 * s, lda);
                _tile_loadd(5, ws, ldw);
                _tile_loadd(6, ws + 64, ldw);
                _tile_loadd(7, ws + 128, ldw);
                _tile_dpbf16ps(0, 4, 5);
                _tile_dpbf16ps(1, 4, 6);
                _tile_dpbf16ps(2, 4, 7);
                _tile_loadd(5, ws + 192, ldw);
                _tile_dpbf16ps(3, 4, 5);
            }
            _tile_stored(0, out, ldo);
            _tile_stored(1, out + 16, ldo);
            _tile_stored(2, out + 32, ldo);
            _tile_stored(3, out + 48, ldo);
            MOS_MEMORY_FENCE();
            const int64_t rows = c.M - m0 < kRows ? c.M - m0 : kRows;
            for (int64_t i = 0; i < rows; i++)
#pragma GCC unroll 4
                for (int j = 0; j < 4; j++) finish16(c, m0 + i, n0 + 16 * j, _mm512_load_ps(out + i * kGroupCols + 16 * j));
        }
    }
    _tile_release();
}

// ---- bf16, emulated (bf16 widened to f32 by a shift) ------------------------

template <int MR>
MOS_T512 MOS_INLINE void bf16e_tile(const Call &c, int64_t m0, int64_t gi) {
    const uint8_t *w = c.W->data() + c.W->step_offset(gi, 0);
    const uint16_t *x = c.xb + m0 * c.ldq;
    const __m512i hi_mask = _mm512_set1_epi32(static_cast<int32_t>(0xffff0000u));
    __m512 acc[MR][4];
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++)
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++) acc[i][j] = _mm512_setzero_ps();
    for (int64_t s = 0; s < c.steps; s++, w += kGroupBytes) {
        __m512 lo[4], hi[4];
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++) {
            const __m512i v = _mm512_load_si512(w + 64 * j);
            lo[j] = _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));
            hi[j] = _mm512_castsi512_ps(_mm512_and_si512(v, hi_mask));
        }
#pragma GCC unroll 8
        for (int i = 0; i < MR; i++) {
            uint32_t pair;
            std::memcpy(&pair, x + i * c.ldq + 2 * s, 4);
            const __m512 x0 = _mm512_castsi512_ps(_mm512_set1_epi32(static_cast<int32_t>(pair << 16)));
            const __m512 x1 = _mm512_castsi512_ps(_mm512_set1_epi32(static_cast<int32_t>(pair & 0xffff0000u)));
#pragma GCC unroll 4
            for (int j = 0; j < 4; j++) acc[i][j] = _mm512_fmadd_ps(x1, hi[j], _mm512_fmadd_ps(x0, lo[j], acc[i][j]));
        }
    }
    const int64_t n0 = gi * kGroupCols;
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++)
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++) finish16(c, m0 + i, n0 + 16 * j, acc[i][j]);
}

MOS_T512 void bf16_groups_emulated(const Call &c, int64_t g0, int64_t g1) {
    constexpr int64_t kMR = 4;
    for (int64_t gi = g0; gi < g1; gi++)
        for (int64_t m0 = 0; m0 < c.M; m0 += kMR) {
            switch (c.M - m0 >= kMR ? kMR : c.M - m0) {
            case 1: bf16e_tile<1>(c, m0, gi); break;
            case 2: bf16e_tile<2>(c, m0, gi); break;
            case 3: bf16e_tile<3>(c, m0, gi); break;
            default: bf16e_tile<4>(c, m0, gi); break;
            }
        }
}

// ---- bf16 widen: weights widened to f32, f32 activations ---------------------
//
// Each 32-bit slot of a step holds the pair (k = 2s, 2s + 1) of one channel:
// shifting left by 16 gives the even input's weight as an f32, masking the low
// half gives the odd one's. The FMAs run in k order, like f32_tile, so the
// result equals the f32 kernel's on the widened weights. An odd K ends with a
// half step (the odd half of it may hold weights past a K prefix).

// acc[i][j] += x[i * ldx + k] * w[j] for the MR rows: one input column of a
// step (the even half, the odd half or an odd K's last).
template <int MR>
MOS_T512 MOS_INLINE void widen_column(__m512 (&acc)[MR][4], const float *x, int64_t ldx, int64_t k,
                                      const __m512 (&w)[4]) {
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++) {
        const __m512 xb = _mm512_set1_ps(x[i * ldx + k]);
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++) acc[i][j] = _mm512_fmadd_ps(xb, w[j], acc[i][j]);
    }
}

template <int MR>
MOS_T512 MOS_INLINE void widen_tile(const Call &c, int64_t m0, int64_t gi) {
    const uint8_t *w = c.W->data() + c.W->step_offset(gi, 0);
    const float *x = c.xf + m0 * c.ldx;
    const __m512i hi_mask = _mm512_set1_epi32(static_cast<int32_t>(0xffff0000u));
    __m512 acc[MR][4];
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++)
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++) acc[i][j] = _mm512_setzero_ps();
    const int64_t pairs = c.K / 2;
    __m512 wv[4];
    for (int64_t s = 0; s < pairs; s++, w += kGroupBytes) {
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++) wv[j] = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_load_si512(w + 64 * j), 16));
        widen_column<MR>(acc, x, c.ldx, 2 * s, wv);
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++)
            wv[j] = _mm512_castsi512_ps(_mm512_and_si512(_mm512_load_si512(w + 64 * j), hi_mask));
        widen_column<MR>(acc, x, c.ldx, 2 * s + 1, wv);
    }
    if (c.K & 1) {
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++) wv[j] = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_load_si512(w + 64 * j), 16));
        widen_column<MR>(acc, x, c.ldx, c.K - 1, wv);
    }
    const int64_t n0 = gi * kGroupCols;
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++)
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++) finish16(c, m0 + i, n0 + 16 * j, acc[i][j]);
}

MOS_T512 void bf16_groups_widen(const Call &c, int64_t g0, int64_t g1) {
    constexpr int64_t kMR = 6;
    for (int64_t gi = g0; gi < g1; gi++)
        for (int64_t m0 = 0; m0 < c.M; m0 += kMR) {
            switch (c.M - m0 >= kMR ? kMR : c.M - m0) {
            case 1: widen_tile<1>(c, m0, gi); break;
            case 2: widen_tile<2>(c, m0, gi); break;
            case 3: widen_tile<3>(c, m0, gi); break;
            case 4: widen_tile<4>(c, m0, gi); break;
            case 5: widen_tile<5>(c, m0, gi); break;
            default: widen_tile<6>(c, m0, gi); break;
            }
        }
}

// ---- int8, vpdpbusd --------------------------------------------------------

template <int MR>
MOS_T512_VNNI MOS_INLINE void vnni_tile(const Call &c, int64_t m0, int64_t gi, Prefetch pf) {
    const uint8_t *w = c.W->data() + c.W->step_offset(gi, 0);
    const uint8_t *x = c.xu + m0 * c.ldq;
    __m512i acc[MR][4];
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++)
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++) acc[i][j] = _mm512_setzero_si512();
    for (int64_t s = 0; s < c.steps; s++, w += kGroupBytes) {
        prefetch_step(pf);
        const __m512i w0 = _mm512_load_si512(w), w1 = _mm512_load_si512(w + 64);
        const __m512i w2 = _mm512_load_si512(w + 128), w3 = _mm512_load_si512(w + 192);
#pragma GCC unroll 8
        for (int i = 0; i < MR; i++) {
            int32_t quad;
            std::memcpy(&quad, x + i * c.ldq + 4 * s, 4);
            const __m512i xb = _mm512_set1_epi32(quad);
            acc[i][0] = _mm512_dpbusd_epi32(acc[i][0], xb, w0);
            acc[i][1] = _mm512_dpbusd_epi32(acc[i][1], xb, w1);
            acc[i][2] = _mm512_dpbusd_epi32(acc[i][2], xb, w2);
            acc[i][3] = _mm512_dpbusd_epi32(acc[i][3], xb, w3);
        }
    }
    const int64_t n0 = gi * kGroupCols;
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++)
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++) finish16_i8(c, m0 + i, n0 + 16 * j, acc[i][j]);
}

MOS_T512_VNNI void i8_groups_vnni(const Call &c, int64_t g0, int64_t g1) {
    constexpr int64_t kMR = 6;
    const int64_t tiles = (c.M + kMR - 1) / kMR;
    for (int64_t gi = g0; gi < g1; gi++)
        for (int64_t m0 = 0, t = 0; m0 < c.M; m0 += kMR, t++) {
            const Prefetch pf = prefetch_share(c, gi, t, tiles);
            switch (c.M - m0 >= kMR ? kMR : c.M - m0) {
            case 1: vnni_tile<1>(c, m0, gi, pf); break;
            case 2: vnni_tile<2>(c, m0, gi, pf); break;
            case 3: vnni_tile<3>(c, m0, gi, pf); break;
            case 4: vnni_tile<4>(c, m0, gi, pf); break;
            case 5: vnni_tile<5>(c, m0, gi, pf); break;
            default: vnni_tile<6>(c, m0, gi, pf); break;
            }
        }
}

// ---- int8, vpmaddubsw + vpmaddwd (activations <= 127: no saturation) --------

template <int MR>
MOS_T512 MOS_INLINE void bw_tile(const Call &c, int64_t m0, int64_t gi) {
    const uint8_t *w = c.W->data() + c.W->step_offset(gi, 0);
    const uint8_t *x = c.xu + m0 * c.ldq;
    const __m512i ones = _mm512_set1_epi16(1);
    __m512i acc[MR][4];
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++)
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++) acc[i][j] = _mm512_setzero_si512();
    for (int64_t s = 0; s < c.steps; s++, w += kGroupBytes) {
        const __m512i w0 = _mm512_load_si512(w), w1 = _mm512_load_si512(w + 64);
        const __m512i w2 = _mm512_load_si512(w + 128), w3 = _mm512_load_si512(w + 192);
#pragma GCC unroll 8
        for (int i = 0; i < MR; i++) {
            int32_t quad;
            std::memcpy(&quad, x + i * c.ldq + 4 * s, 4);
            const __m512i xb = _mm512_set1_epi32(quad);
            acc[i][0] = _mm512_add_epi32(acc[i][0], _mm512_madd_epi16(_mm512_maddubs_epi16(xb, w0), ones));
            acc[i][1] = _mm512_add_epi32(acc[i][1], _mm512_madd_epi16(_mm512_maddubs_epi16(xb, w1), ones));
            acc[i][2] = _mm512_add_epi32(acc[i][2], _mm512_madd_epi16(_mm512_maddubs_epi16(xb, w2), ones));
            acc[i][3] = _mm512_add_epi32(acc[i][3], _mm512_madd_epi16(_mm512_maddubs_epi16(xb, w3), ones));
        }
    }
    const int64_t n0 = gi * kGroupCols;
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++)
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++) finish16_i8(c, m0 + i, n0 + 16 * j, acc[i][j]);
}

MOS_T512 void i8_groups_bw(const Call &c, int64_t g0, int64_t g1) {
    constexpr int64_t kMR = 4;
    for (int64_t gi = g0; gi < g1; gi++)
        for (int64_t m0 = 0; m0 < c.M; m0 += kMR) {
            switch (c.M - m0 >= kMR ? kMR : c.M - m0) {
            case 1: bw_tile<1>(c, m0, gi); break;
            case 2: bw_tile<2>(c, m0, gi); break;
            case 3: bw_tile<3>(c, m0, gi); break;
            default: bw_tile<4>(c, m0, gi); break;
            }
        }
}

// ---- activation preparation ----------------------------------------------------

MOS_T512 void quant_rows(uint8_t *u, float *scale, int32_t *zero, const float *x, int64_t ldx, int64_t M, int64_t K,
                         int64_t Kp, int qmax) {
    for (int64_t m = 0; m < M; m++) {
        const float *r = x + m * ldx;
        __m512 lo = _mm512_setzero_ps(), hi = _mm512_setzero_ps();
        for (int64_t k = 0; k < K; k += 16) {
            const __mmask16 km = lane_mask(k, K);
            const __m512 v = _mm512_maskz_loadu_ps(km, r + k);  // masked lanes read 0: lo <= 0 <= hi anyway
            lo = _mm512_min_ps(lo, v);
            hi = _mm512_max_ps(hi, v);
        }
        float inv;
        quant_params(_mm512_reduce_min_ps(lo), _mm512_reduce_max_ps(hi), qmax, &scale[m], &inv, &zero[m]);
        const __m512 vinv = _mm512_set1_ps(inv);
        const __m512i vz = _mm512_set1_epi32(zero[m]), vmax = _mm512_set1_epi32(qmax), v0 = _mm512_setzero_si512();
        uint8_t *o = u + m * Kp;
        for (int64_t k = 0; k < Kp; k += 16) {
            const __mmask16 km = lane_mask(k, K), ko = lane_mask(k, Kp);
            __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(_mm512_maskz_loadu_ps(km, r + k), vinv)), vz);
            q = _mm512_min_epi32(_mm512_max_epi32(q, v0), vmax);
            q = _mm512_maskz_mov_epi32(km, q);  // inputs past K are zero
            _mm_mask_storeu_epi8(o + k, ko, _mm512_cvtepi32_epi8(q));
        }
    }
}

MOS_T512 void bf16_rows(uint16_t *out, const float *x, int64_t ldx, int64_t M, int64_t K, int64_t Kp) {
    const __m512i one = _mm512_set1_epi32(1), round = _mm512_set1_epi32(0x7fff), quiet = _mm512_set1_epi32(0x40);
    for (int64_t m = 0; m < M; m++) {
        const float *r = x + m * ldx;
        uint16_t *o = out + m * Kp;
        for (int64_t k = 0; k < Kp; k += 16) {
            const __mmask16 km = lane_mask(k, K), ko = lane_mask(k, Kp);
            const __m512 v = _mm512_maskz_loadu_ps(km, r + k);
            const __m512i b = _mm512_castps_si512(v);
            __m512i h = _mm512_srli_epi32(
                _mm512_add_epi32(b, _mm512_add_epi32(round, _mm512_and_si512(_mm512_srli_epi32(b, 16), one))), 16);
            const __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
            h = _mm512_mask_mov_epi32(h, nan, _mm512_or_si512(_mm512_srli_epi32(b, 16), quiet));
            _mm256_mask_storeu_epi16(o + k, ko, _mm512_cvtepi32_epi16(h));
        }
    }
}

}  // namespace

const KernelSet &avx512_kernels() {
    static const KernelSet k{f32_groups, bf16_groups_emulated, i8_groups_bw, quant_rows, bf16_rows, 127,
                             bf16_groups_widen};
    return k;
}

const KernelSet &avx512_bf16_kernels() {
    static const KernelSet k{f32_groups, bf16_groups_native, nullptr, quant_rows, bf16_rows, 127,
                             bf16_groups_widen, bf16_groups_amx};
    return k;
}

const KernelSet &avx512_vnni_kernels() {
    static const KernelSet k{f32_groups, nullptr, i8_groups_vnni, quant_rows, bf16_rows, 255};
    return k;
}

}  // namespace packed
}  // namespace mos

#else  // not x86-64 GCC/Clang: no AVX-512 kernels (packed_isa_supported says so)

namespace mos {
namespace packed {
const KernelSet &avx512_kernels() { return scalar_kernels(); }
const KernelSet &avx512_bf16_kernels() { return scalar_kernels(); }
const KernelSet &avx512_vnni_kernels() { return scalar_kernels(); }
}  // namespace packed
}  // namespace mos

#endif
