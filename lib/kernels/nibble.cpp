// lib/kernels/nibble.cpp: 4-bit matrices for approximate one-row scores
// (layout and arithmetic in nibble.hpp): packing, the scalar reference loop and
// the vector kernels (`vpdpbusd` with avx512_vnni; `vpmaddubsw` + `vpmaddwd`
// with AVX-512 BW and with AVX2: u8 x nibble pair sums stay below 2^15, so
// nothing saturates), each with its own target attribute, chosen at run time.
#include "kernels/nibble.hpp"

#include <immintrin.h>

#include <cmath>
#include <cstdlib>
#include <cstring>

#include "core/cpu.hpp"
#include "core/error.hpp"

namespace mos {

namespace {

constexpr int64_t kRows = 64;        // rows per group
constexpr int64_t kStepBytes = 256;  // bytes per step of 8 inputs
constexpr int kQmax = 255;           // activations' upper end

// v rounded to the nearest integer in [-7, 7] (halves away from zero; NaN to
// 0), inline: std::nearbyint is a library call on the baseline ISA.
inline int32_t q4(float v) {
    const float c = std::fmin(std::fmax(v, -7.0f), 7.0f);
    const int32_t q = static_cast<int32_t>(c + std::copysign(0.5f, c));
    return v == v ? q : 0;
}

// The scale of a row whose largest magnitude is `mx`: max / 7, so that no
// value clips. (Shrinking it to the clipping ratio of least squared error, of
// 8 tried, cost 8 passes over the weights when a draft is made and kept the
// same tokens: the shortlist's int8 rescoring absorbs the difference.)
float row_scale(float mx) { return mx > 0.0f && std::isfinite(mx) ? mx / 7.0f : 1.0f; }

// y[n] = s * s_n * (acc - 8 usum - z qsum[n]): the common epilogue.
inline float finish(int32_t acc, int32_t usum8, int32_t zq, float sx, float sn) {
    return sx * sn * static_cast<float>(acc - usum8 - zq);
}

void scores_scalar(float *y, const uint8_t *u, float sx, int32_t z, int32_t usum, const NibbleMatrix &W) {
    const int64_t N = W.rows(), steps = W.steps(), groups = (N + kRows - 1) / kRows;
    for (int64_t g = 0; g < groups; g++) {
        const uint8_t *base = W.data() + g * steps * kStepBytes;
        for (int64_t c = 0; c < kRows && g * kRows + c < N; c++) {
            int32_t acc = 0;
            for (int64_t s = 0; s < steps; s++) {
                const uint8_t *b = base + s * kStepBytes + 4 * c;
                for (int i = 0; i < 4; i++) {
                    acc += static_cast<int32_t>(u[8 * s + i]) * (b[i] & 0x0f);
                    acc += static_cast<int32_t>(u[8 * s + 4 + i]) * (b[i] >> 4);
                }
            }
            const int64_t n = g * kRows + c;
            y[n] = finish(acc, 8 * usum, z * W.qsum()[n], sx, W.scale()[n]);
        }
    }
}

#if defined(__x86_64__) && defined(__GNUC__)

// GCC 12's AVX-512 intrinsics build some pass-through operands from a
// self-initialised "undefined" vector, which -Wmaybe-uninitialized reports
// once inlined (as in packed_avx512.cpp); the operand is never read.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#define MOS_NB512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")))
#define MOS_NB512_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,avx512vnni")))

// Stores 16 scores of group g's lanes 16 j .. 16 j + 15.
MOS_NB512 inline void finish16(float *y, const NibbleMatrix &W, int64_t n0, __m512i acc, int32_t usum8, int32_t z,
                               float sx) {
    const int64_t N = W.rows();
    if (n0 >= N) return;
    const __mmask16 k = N - n0 >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << (N - n0)) - 1u);
    const __m512i q = _mm512_maskz_loadu_epi32(k, W.qsum() + n0);
    const __m512i adj = _mm512_sub_epi32(_mm512_sub_epi32(acc, _mm512_set1_epi32(usum8)),
                                         _mm512_mullo_epi32(_mm512_set1_epi32(z), q));
    const __m512 s = _mm512_mul_ps(_mm512_set1_ps(sx), _mm512_maskz_loadu_ps(k, W.scale() + n0));
    _mm512_mask_storeu_ps(y + n0, k, _mm512_mul_ps(s, _mm512_cvtepi32_ps(adj)));
}

// One group's 64 rows: per step, the four 64-byte vectors' low nibbles meet
// the quad of inputs 8s .. 8s + 3 and the high nibbles that of 8s + 4 .. 8s + 7.
MOS_NB512_VNNI inline void group_vnni(float *y, const uint8_t *u, float sx, int32_t z, int32_t usum,
                                    const NibbleMatrix &W, int64_t g) {
    const int64_t steps = W.steps();
    const uint8_t *w = W.data() + g * steps * kStepBytes;
    const __m512i lo4 = _mm512_set1_epi8(0x0f);
    __m512i acc[4] = {_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512(),
                      _mm512_setzero_si512()};
    __m512i acc2[4] = {_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512(),
                       _mm512_setzero_si512()};
    for (int64_t s = 0; s < steps; s++, w += kStepBytes) {
        int32_t qa, qb;
        std::memcpy(&qa, u + 8 * s, 4);
        std::memcpy(&qb, u + 8 * s + 4, 4);
        const __m512i xa = _mm512_set1_epi32(qa), xb = _mm512_set1_epi32(qb);
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++) {
            const __m512i v = _mm512_load_si512(w + 64 * j);
            const __m512i a = _mm512_and_si512(v, lo4);
            const __m512i b = _mm512_and_si512(_mm512_srli_epi16(v, 4), lo4);
            acc[j] = _mm512_dpbusd_epi32(acc[j], xa, a);
            acc2[j] = _mm512_dpbusd_epi32(acc2[j], xb, b);
        }
    }
#pragma GCC unroll 4
    for (int j = 0; j < 4; j++)
        finish16(y, W, g * kRows + 16 * j, _mm512_add_epi32(acc[j], acc2[j]), 8 * usum, z, sx);
}

MOS_NB512_VNNI void scores_vnni(float *y, const uint8_t *u, float sx, int32_t z, int32_t usum,
                                const NibbleMatrix &W) {
    const int64_t groups = (W.rows() + kRows - 1) / kRows;
    for (int64_t g = 0; g < groups; g++) group_vnni(y, u, sx, z, usum, W, g);
}

// The same without `vpdpbusd`: per 16-bit pair u * q sums (at most
// 2 * 255 * 15 for each of the two quads), widened by `vpmaddwd`.
MOS_NB512 inline void group_bw(float *y, const uint8_t *u, float sx, int32_t z, int32_t usum,
                                 const NibbleMatrix &W, int64_t g) {
    const int64_t steps = W.steps();
    const uint8_t *w = W.data() + g * steps * kStepBytes;
    const __m512i lo4 = _mm512_set1_epi8(0x0f);
    const __m512i ones = _mm512_set1_epi16(1);
    __m512i acc[4] = {_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512(),
                      _mm512_setzero_si512()};
    for (int64_t s = 0; s < steps; s++, w += kStepBytes) {
        int32_t qa, qb;
        std::memcpy(&qa, u + 8 * s, 4);
        std::memcpy(&qb, u + 8 * s + 4, 4);
        const __m512i xa = _mm512_set1_epi32(qa), xb = _mm512_set1_epi32(qb);
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++) {
            const __m512i v = _mm512_load_si512(w + 64 * j);
            const __m512i a = _mm512_and_si512(v, lo4);
            const __m512i b = _mm512_and_si512(_mm512_srli_epi16(v, 4), lo4);
            const __m512i p = _mm512_add_epi16(_mm512_maddubs_epi16(xa, a), _mm512_maddubs_epi16(xb, b));
            acc[j] = _mm512_add_epi32(acc[j], _mm512_madd_epi16(p, ones));
        }
    }
#pragma GCC unroll 4
    for (int j = 0; j < 4; j++) finish16(y, W, g * kRows + 16 * j, acc[j], 8 * usum, z, sx);
}

MOS_NB512 void scores_bw(float *y, const uint8_t *u, float sx, int32_t z, int32_t usum, const NibbleMatrix &W) {
    const int64_t groups = (W.rows() + kRows - 1) / kRows;
    for (int64_t g = 0; g < groups; g++) group_bw(y, u, sx, z, usum, W, g);
}

#define MOS_NB256 __attribute__((target("avx2,fma")))

// AVX2: eight 8-lane accumulators per group, `vpmaddubsw` + `vpmaddwd` as in
// the BW variant; a group's last partial vector is finished lane by lane.
MOS_NB256 void scores_avx2(float *y, const uint8_t *u, float sx, int32_t z, int32_t usum, const NibbleMatrix &W) {
    const int64_t N = W.rows(), steps = W.steps(), groups = (N + kRows - 1) / kRows;
    const __m256i lo4 = _mm256_set1_epi8(0x0f);
    const __m256i ones = _mm256_set1_epi16(1);
    for (int64_t g = 0; g < groups; g++) {
        const uint8_t *w = W.data() + g * steps * kStepBytes;
        __m256i acc[8];
        for (int j = 0; j < 8; j++) acc[j] = _mm256_setzero_si256();
        for (int64_t s = 0; s < steps; s++, w += kStepBytes) {
            int32_t qa, qb;
            std::memcpy(&qa, u + 8 * s, 4);
            std::memcpy(&qb, u + 8 * s + 4, 4);
            const __m256i xa = _mm256_set1_epi32(qa), xb = _mm256_set1_epi32(qb);
#pragma GCC unroll 8
            for (int j = 0; j < 8; j++) {
                const __m256i v = _mm256_load_si256(reinterpret_cast<const __m256i *>(w + 32 * j));
                const __m256i a = _mm256_and_si256(v, lo4);
                const __m256i b = _mm256_and_si256(_mm256_srli_epi16(v, 4), lo4);
                const __m256i p = _mm256_add_epi16(_mm256_maddubs_epi16(xa, a), _mm256_maddubs_epi16(xb, b));
                acc[j] = _mm256_add_epi32(acc[j], _mm256_madd_epi16(p, ones));
            }
        }
        for (int j = 0; j < 8; j++) {
            const int64_t n0 = g * kRows + 8 * j;
            if (n0 >= N) break;
            if (n0 + 8 <= N) {
                const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(W.qsum() + n0));
                const __m256i adj = _mm256_sub_epi32(_mm256_sub_epi32(acc[j], _mm256_set1_epi32(8 * usum)),
                                                     _mm256_mullo_epi32(_mm256_set1_epi32(z), q));
                const __m256 sc = _mm256_mul_ps(_mm256_set1_ps(sx), _mm256_loadu_ps(W.scale() + n0));
                _mm256_storeu_ps(y + n0, _mm256_mul_ps(sc, _mm256_cvtepi32_ps(adj)));
            } else {
                alignas(32) int32_t lane[8];
                _mm256_store_si256(reinterpret_cast<__m256i *>(lane), acc[j]);
                for (int64_t n = n0; n < N; n++)
                    y[n] = finish(lane[n - n0], 8 * usum, z * W.qsum()[n], sx, W.scale()[n]);
            }
        }
    }
}

#endif

}  // namespace

void NibbleMatrix::Free::operator()(uint8_t *p) const { std::free(p); }

NibbleMatrix NibbleMatrix::from_f32(const float *W, int64_t N, int64_t K, int64_t ld) {
    check(N > 0 && K > 0 && ld >= K, MOS_INVALID_ARGUMENT, "nibble matrix needs N, K > 0 and ld >= K (got ", N,
          " x ", K, ", ld ", ld, ")");
    check(W != nullptr, MOS_INVALID_ARGUMENT, "nibble matrix of NULL weights");
    NibbleMatrix m;
    m.N_ = N;
    m.K_ = K;
    m.Kp_ = (K + 7) / 8 * 8;
    m.groups_ = (N + kRows - 1) / kRows;
    const size_t bytes = static_cast<size_t>(m.groups_ * (m.Kp_ / 8) * kStepBytes);
    void *mem = std::aligned_alloc(64, bytes);
    check(mem != nullptr, MOS_OUT_OF_MEMORY, "cannot allocate ", bytes, " bytes of 4-bit weights");
    m.data_.reset(static_cast<uint8_t *>(mem));
    std::memset(m.data_.get(), 0x88, bytes);  // padding: q = 0 in both nibbles
    m.scale_.assign(static_cast<size_t>(N), 0.0f);
    m.qsum_.assign(static_cast<size_t>(N), 0);
    const int64_t steps = m.Kp_ / 8;
    for (int64_t n = 0; n < N; n++) {
        const float *r = W + n * ld;
        float mx = 0.0f;
        for (int64_t k = 0; k < K; k++) mx = std::fabs(r[k]) > mx ? std::fabs(r[k]) : mx;
        const float s = row_scale(mx);
        const float inv = 1.0f / s;
        m.scale_[static_cast<size_t>(n)] = s;
        uint8_t *base = m.data_.get() + (n / kRows) * steps * kStepBytes + 4 * (n % kRows);
        int32_t sum = 0;
        for (int64_t k = 0; k < K; k++) {
            const int32_t q = q4(r[k] * inv);
            sum += q;
            const int64_t s8 = k / 8, i = k % 8;
            uint8_t &b = base[s8 * kStepBytes + (i % 4)];
            const uint8_t nib = static_cast<uint8_t>(q + 8);
            b = i < 4 ? static_cast<uint8_t>((b & 0xf0) | nib) : static_cast<uint8_t>((b & 0x0f) | (nib << 4));
        }
        m.qsum_[static_cast<size_t>(n)] = sum;
    }
    return m;
}

size_t NibbleMatrix::bytes() const {
    return static_cast<size_t>(groups_ * (Kp_ / 8) * kStepBytes) + scale_.size() * sizeof(float) +
           qsum_.size() * sizeof(int32_t);
}

void NibbleMatrix::unpack_row(int64_t n, int8_t *q) const {
    check(n >= 0 && n < N_, MOS_OUT_OF_RANGE, "row ", n, " outside 0..", N_ - 1);
    const uint8_t *base = data_.get() + (n / kRows) * steps() * kStepBytes + 4 * (n % kRows);
    for (int64_t k = 0; k < K_; k++) {
        const uint8_t b = base[(k / 8) * kStepBytes + (k % 8) % 4];
        q[k] = static_cast<int8_t>(((k % 8) < 4 ? (b & 0x0f) : (b >> 4)) - 8);
    }
}

bool nibble_native() { return packed_isa_supported(PackedIsa::Avx2); }

void nibble_scores_isa(PackedIsa isa, float *y, const float *x, const NibbleMatrix &W, NibbleScratch &scratch) {
    check(!W.empty(), MOS_INVALID_ARGUMENT, "nibble scores of an empty matrix");
    check(y != nullptr && x != nullptr, MOS_INVALID_ARGUMENT, "nibble scores need input and output rows");
    check(packed_isa_supported(isa), MOS_UNSUPPORTED, "nibble kernels: this CPU has no ", packed_isa_name(isa));
    const int64_t K = W.cols(), Kp = W.steps() * 8;
    if (static_cast<int64_t>(scratch.u.size()) < Kp) scratch.u.resize(static_cast<size_t>(Kp));
    float sx;
    int32_t z;
    quantize_rows_u8(scratch.u.data(), &sx, &z, x, K, 1, K, Kp, kQmax);
    int32_t usum = 0;
    for (int64_t k = 0; k < K; k++) usum += scratch.u[static_cast<size_t>(k)];
    const uint8_t *u = scratch.u.data();
    switch (isa) {
#if defined(__x86_64__) && defined(__GNUC__)
    case PackedIsa::Avx512Vnni: scores_vnni(y, u, sx, z, usum, W); return;
    case PackedIsa::Avx512:
    case PackedIsa::Avx512Bf16: scores_bw(y, u, sx, z, usum, W); return;
    case PackedIsa::Avx2: scores_avx2(y, u, sx, z, usum, W); return;
#endif
    default: scores_scalar(y, u, sx, z, usum, W); return;
    }
}

void nibble_scores(float *y, const float *x, const NibbleMatrix &W, NibbleScratch &scratch) {
    const PackedIsa isa = packed_isa_supported(PackedIsa::Avx512Vnni) ? PackedIsa::Avx512Vnni
                          : packed_isa_supported(PackedIsa::Avx512) ? PackedIsa::Avx512
                          : packed_isa_supported(PackedIsa::Avx2)   ? PackedIsa::Avx2
                                                                    : PackedIsa::Scalar;
    nibble_scores_isa(isa, y, x, W, scratch);
}

}  // namespace mos
