// lib/kernels/packed.cpp: packing weights for the decoding engine (layout in
// packed.hpp), the scalar reference kernels, activation preparation and the
// dispatch of each product to the kernels of the CPU's ISA and its threads.
#include "kernels/packed.hpp"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "core/cpu.hpp"
#include "core/error.hpp"
#include "kernels/packed_impl.hpp"

namespace mos {

// ---------------------------------------------------------------------------
// Names, ISAs, conversions

const char *precision_name(Precision p) {
    switch (p) {
    case Precision::F32: return "f32";
    case Precision::BF16: return "bf16";
    case Precision::I8: return "int8";
    }
    return "unknown";
}

Precision parse_precision(const std::string &s) {
    if (s == "f32" || s == "float32") return Precision::F32;
    if (s == "bf16" || s == "bfloat16") return Precision::BF16;
    if (s == "int8") return Precision::I8;
    fail(MOS_INVALID_ARGUMENT, "unknown precision '", s, "'; allowed f32|bf16|int8");
}

const char *packed_isa_name(PackedIsa isa) {
    switch (isa) {
    case PackedIsa::Scalar: return "scalar";
    case PackedIsa::Avx2: return "avx2";
    case PackedIsa::Avx512: return "avx512";
    case PackedIsa::Avx512Bf16: return "avx512_bf16";
    case PackedIsa::Avx512Vnni: return "avx512_vnni";
    }
    return "unknown";
}

bool packed_isa_supported(PackedIsa isa) {
    const CpuFeatures &f = cpu_features();
    switch (isa) {
    case PackedIsa::Scalar: return true;
    case PackedIsa::Avx2: return f.avx2;
    case PackedIsa::Avx512: return f.avx512 && f.avx2;
    case PackedIsa::Avx512Bf16: return f.avx512 && f.avx2 && f.bf16;
    case PackedIsa::Avx512Vnni: return f.avx512 && f.avx2 && f.vnni;
    }
    return false;
}

PackedIsa packed_isa_for(Precision p) {
    if (p == Precision::BF16 && packed_isa_supported(PackedIsa::Avx512Bf16)) return PackedIsa::Avx512Bf16;
    if (p == Precision::I8 && packed_isa_supported(PackedIsa::Avx512Vnni)) return PackedIsa::Avx512Vnni;
    if (packed_isa_supported(PackedIsa::Avx512)) return PackedIsa::Avx512;
    if (packed_isa_supported(PackedIsa::Avx2)) return PackedIsa::Avx2;
    return PackedIsa::Scalar;
}

bool precision_native(Precision p) {
    switch (p) {
    case Precision::F32: return true;
    case Precision::BF16: return packed_isa_supported(PackedIsa::Avx2);  // the widen kernel
    case Precision::I8: return packed_isa_supported(PackedIsa::Avx2);
    }
    return false;
}

namespace {

const packed::KernelSet &kernels_of(PackedIsa isa) {
    switch (isa) {
    case PackedIsa::Scalar: return packed::scalar_kernels();
    case PackedIsa::Avx2: return packed::avx2_kernels();
    case PackedIsa::Avx512: return packed::avx512_kernels();
    case PackedIsa::Avx512Bf16: return packed::avx512_bf16_kernels();
    case PackedIsa::Avx512Vnni: return packed::avx512_vnni_kernels();
    }
    return packed::scalar_kernels();
}

}  // namespace

int int8_activation_max(PackedIsa isa) { return kernels_of(isa).qmax; }

uint16_t round_to_bf16(float x) {
    uint32_t b;
    std::memcpy(&b, &x, sizeof b);
    if ((b & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((b >> 16) | 0x40u);  // quiet NaN
    b += 0x7fffu + ((b >> 16) & 1u);
    return static_cast<uint16_t>(b >> 16);
}

float widen_bf16(uint16_t v) {
    const uint32_t b = static_cast<uint32_t>(v) << 16;
    float x;
    std::memcpy(&x, &b, sizeof x);
    return x;
}

// ---------------------------------------------------------------------------
// PackedMatrix

void PackedMatrix::Free::operator()(uint8_t *p) const { std::free(p); }

void PackedMatrix::init(Precision p, int64_t N, int64_t K) {
    check(N > 0 && K > 0, MOS_INVALID_ARGUMENT, "packed matrix needs N, K > 0 (got ", N, " x ", K, ")");
    const int64_t g = k_group(p);
    p_ = p;
    N_ = N;
    K_ = K;
    Kp_ = (K + g - 1) / g * g;
    groups_ = (N + kGroupCols - 1) / kGroupCols;
    data_bytes_ = static_cast<size_t>(groups_ * (Kp_ / g) * kGroupBytes);
    void *mem = std::aligned_alloc(64, data_bytes_);
    check(mem != nullptr, MOS_OUT_OF_MEMORY, "cannot allocate ", data_bytes_, " bytes of packed weights");
    data_.reset(static_cast<uint8_t *>(mem));
    std::memset(data_.get(), 0, data_bytes_);  // padding rows and inputs stay zero
    if (p == Precision::I8) {
        scale_.assign(static_cast<size_t>(groups_ * kGroupCols), 0.0f);
        colsum_.assign(static_cast<size_t>(groups_ * kGroupCols), 0);
    } else {
        scale_.clear();
        colsum_.clear();
    }
}

size_t PackedMatrix::bytes() const { return data_bytes_ + scale_.size() * sizeof(float) + colsum_.size() * 4; }

namespace {

// Byte offset of element (n, k) inside the packed data.
inline size_t elem_offset(const PackedMatrix &m, int64_t n, int64_t k) {
    const int64_t g = k_group(m.precision());
    const int64_t es = m.precision() == Precision::F32 ? 4 : m.precision() == Precision::BF16 ? 2 : 1;
    return m.step_offset(n / kGroupCols, k / g) + static_cast<size_t>(((n % kGroupCols) * g + k % g) * es);
}

}  // namespace

PackedMatrix PackedMatrix::from_f32(const float *W, int64_t N, int64_t K, int64_t ld, Precision p) {
    check(W != nullptr, MOS_INVALID_ARGUMENT, "packed matrix: weights are NULL");
    check(ld >= K, MOS_INVALID_ARGUMENT, "packed matrix: row stride ", ld, " < K = ", K);
    PackedMatrix m;
    m.init(p, N, K);
    uint8_t *d = m.mut();
    for (int64_t n = 0; n < N; n++) {
        const float *row = W + n * ld;
        switch (p) {
        case Precision::F32:
            for (int64_t k = 0; k < K; k++) std::memcpy(d + elem_offset(m, n, k), row + k, 4);
            break;
        case Precision::BF16:
            for (int64_t k = 0; k < K; k++) {
                const uint16_t b = round_to_bf16(row[k]);
                std::memcpy(d + elem_offset(m, n, k), &b, 2);
            }
            break;
        case Precision::I8: {
            // Symmetric per output channel: q = round(w / s), s = max|w| / 127.
            float amax = 0.0f;
            for (int64_t k = 0; k < K; k++) amax = std::max(amax, std::fabs(row[k]));
            const float s = amax > 0.0f && std::isfinite(amax) ? amax / 127.0f : 1.0f;
            int32_t sum = 0;
            for (int64_t k = 0; k < K; k++) {
                float q = std::nearbyint(row[k] / s);
                q = q < -127.0f ? -127.0f : (q > 127.0f ? 127.0f : q);
                const int8_t v = static_cast<int8_t>(q);
                d[elem_offset(m, n, k)] = static_cast<uint8_t>(v);
                sum += v;
            }
            m.scale_[n] = s;
            m.colsum_[n] = sum;
            break;
        }
        }
    }
    return m;
}

PackedMatrix PackedMatrix::from_bf16(const uint16_t *W, int64_t N, int64_t K, int64_t ld) {
    check(W != nullptr, MOS_INVALID_ARGUMENT, "packed matrix: weights are NULL");
    check(ld >= K, MOS_INVALID_ARGUMENT, "packed matrix: row stride ", ld, " < K = ", K);
    PackedMatrix m;
    m.init(Precision::BF16, N, K);
    for (int64_t n = 0; n < N; n++)
        for (int64_t k = 0; k < K; k++) std::memcpy(m.mut() + elem_offset(m, n, k), W + n * ld + k, 2);
    return m;
}

PackedMatrix PackedMatrix::from_i8(const int8_t *W, const float *scale, int64_t N, int64_t K, int64_t ld) {
    check(W != nullptr && scale != nullptr, MOS_INVALID_ARGUMENT, "packed matrix: weights or scales are NULL");
    check(ld >= K, MOS_INVALID_ARGUMENT, "packed matrix: row stride ", ld, " < K = ", K);
    PackedMatrix m;
    m.init(Precision::I8, N, K);
    for (int64_t n = 0; n < N; n++) {
        check(std::isfinite(scale[n]) && scale[n] >= 0.0f, MOS_INVALID_ARGUMENT, "packed matrix: scale of row ",
              n, " is ", scale[n]);
        int32_t sum = 0;
        for (int64_t k = 0; k < K; k++) {
            const int8_t v = W[n * ld + k];
            check(v != -128, MOS_INVALID_ARGUMENT, "packed matrix: int8 weight -128 at (", n, ", ", k,
                  "); weights lie in [-127, 127]");
            m.mut()[elem_offset(m, n, k)] = static_cast<uint8_t>(v);
            sum += v;
        }
        m.scale_[n] = scale[n];
        m.colsum_[n] = sum;
    }
    return m;
}

PackedMatrix PackedMatrix::bf16_pattern(int64_t N, int64_t K) {
    PackedMatrix m;
    m.init(Precision::BF16, N, K);
    // bf16 bits 0x3c00..0x3cfa with alternating signs: |w| in [2^-7, 2^-6),
    // normal numbers (no denormal slow paths). One period of 251 values is
    // written, then copied along.
    uint16_t *h = reinterpret_cast<uint16_t *>(m.mut());
    const size_t n = m.data_bytes_ / 2, period = std::min<size_t>(n, 251);
    for (size_t i = 0; i < period; i++)
        h[i] = static_cast<uint16_t>(0x3c00u + i) | static_cast<uint16_t>((i & 1u) << 15);
    for (size_t i = period; i < n; i += period) std::memcpy(h + i, h, std::min(period, n - i) * 2);
    return m;
}

void PackedMatrix::unpack_f32(float *out) const {
    for (int64_t n = 0; n < N_; n++)
        for (int64_t k = 0; k < K_; k++) {
            const uint8_t *e = data_.get() + elem_offset(*this, n, k);
            float v = 0.0f;
            switch (p_) {
            case Precision::F32: std::memcpy(&v, e, 4); break;
            case Precision::BF16: {
                uint16_t b;
                std::memcpy(&b, e, 2);
                v = widen_bf16(b);
                break;
            }
            case Precision::I8: v = static_cast<float>(static_cast<int8_t>(*e)) * scale_[n]; break;
            }
            out[n * K_ + k] = v;
        }
}

void PackedMatrix::unpack_bf16(uint16_t *out) const {
    check(p_ == Precision::BF16, MOS_INTERNAL, "unpack_bf16 of a ", precision_name(p_), " matrix");
    for (int64_t n = 0; n < N_; n++)
        for (int64_t k = 0; k < K_; k++) std::memcpy(out + n * K_ + k, data_.get() + elem_offset(*this, n, k), 2);
}

void PackedMatrix::unpack_i8(int8_t *out, float *scale) const {
    check(p_ == Precision::I8, MOS_INTERNAL, "unpack_i8 of a ", precision_name(p_), " matrix");
    for (int64_t n = 0; n < N_; n++) {
        for (int64_t k = 0; k < K_; k++)
            out[n * K_ + k] = static_cast<int8_t>(data_.get()[elem_offset(*this, n, k)]);
        scale[n] = scale_[n];
    }
}

std::vector<int32_t> PackedMatrix::colsum_prefix(int64_t k) const {
    check(p_ == Precision::I8 && k >= 0 && k <= K_, MOS_INTERNAL, "colsum_prefix(", k, ") of a ",
          precision_name(p_), " matrix of ", K_, " columns");
    std::vector<int32_t> s(static_cast<size_t>(groups_ * kGroupCols), 0);
    for (int64_t n = 0; n < N_; n++)
        for (int64_t j = 0; j < k; j++) s[n] += static_cast<int8_t>(data_.get()[elem_offset(*this, n, j)]);
    return s;
}

void PackedScratch::reserve(int64_t M, int64_t Kp) {
    const size_t n = static_cast<size_t>(M * Kp);
    if (bf16.size() < n) bf16.resize(n);
    if (u8.size() < n) u8.resize(n);
    if (xscale.size() < static_cast<size_t>(M)) xscale.resize(static_cast<size_t>(M));
    if (xzero.size() < static_cast<size_t>(M)) xzero.resize(static_cast<size_t>(M));
}

// ---------------------------------------------------------------------------
// Scalar reference kernels

namespace packed {
namespace {

inline void store_scalar(const Call &c, int64_t m, int64_t n, float v) {
    const PackedEpilogue &e = c.e;
    if (e.bias) v += e.bias[n];
    if (e.relu) v = v > 0.0f ? v : 0.0f;
    if (e.residual) v += e.residual[m * e.ldr + n];
    c.y[m * c.ldy + n - c.y_col0] = v;
}

void f32_scalar(const Call &c, int64_t g0, int64_t g1) {
    const uint8_t *base = c.W->data();
    for (int64_t gi = g0; gi < g1; gi++)
        for (int64_t m = 0; m < c.M; m++)
            for (int64_t l = 0; l < kGroupCols; l++) {
                const int64_t n = gi * kGroupCols + l;
                if (n >= c.N) break;
                float acc = 0.0f;
                for (int64_t k = 0; k < c.K; k++) {
                    float w;
                    std::memcpy(&w, base + c.W->step_offset(gi, k) + l * 4, 4);
                    acc += c.xf[m * c.ldx + k] * w;
                }
                store_scalar(c, m, n, acc);
            }
}

void bf16_scalar(const Call &c, int64_t g0, int64_t g1) {
    const uint8_t *base = c.W->data();
    for (int64_t gi = g0; gi < g1; gi++)
        for (int64_t m = 0; m < c.M; m++)
            for (int64_t l = 0; l < kGroupCols; l++) {
                const int64_t n = gi * kGroupCols + l;
                if (n >= c.N) break;
                float acc = 0.0f;
                for (int64_t s = 0; s < c.steps; s++) {
                    uint16_t w[2];
                    std::memcpy(w, base + c.W->step_offset(gi, s) + l * 4, 4);
                    const uint16_t *x = c.xb + m * c.ldq + 2 * s;
                    acc += widen_bf16(x[0]) * widen_bf16(w[0]) + widen_bf16(x[1]) * widen_bf16(w[1]);
                }
                store_scalar(c, m, n, acc);
            }
}

// The widen kernels' arithmetic: f32 activations times the widened weights,
// accumulated in k order.
void bf16w_scalar(const Call &c, int64_t g0, int64_t g1) {
    const uint8_t *base = c.W->data();
    for (int64_t gi = g0; gi < g1; gi++)
        for (int64_t m = 0; m < c.M; m++)
            for (int64_t l = 0; l < kGroupCols; l++) {
                const int64_t n = gi * kGroupCols + l;
                if (n >= c.N) break;
                float acc = 0.0f;
                for (int64_t k = 0; k < c.K; k++) {
                    uint16_t w;
                    std::memcpy(&w, base + c.W->step_offset(gi, k / 2) + l * 4 + (k % 2) * 2, 2);
                    acc += c.xf[m * c.ldx + k] * widen_bf16(w);
                }
                store_scalar(c, m, n, acc);
            }
}

void i8_scalar(const Call &c, int64_t g0, int64_t g1) {
    const uint8_t *base = c.W->data();
    const float *ws = c.W->scale();
    for (int64_t gi = g0; gi < g1; gi++)
        for (int64_t m = 0; m < c.M; m++)
            for (int64_t l = 0; l < kGroupCols; l++) {
                const int64_t n = gi * kGroupCols + l;
                if (n >= c.N) break;
                int32_t acc = 0;
                for (int64_t s = 0; s < c.steps; s++) {
                    const uint8_t *w = base + c.W->step_offset(gi, s) + l * 4;
                    const uint8_t *x = c.xu + m * c.ldq + 4 * s;
                    for (int i = 0; i < 4; i++) acc += static_cast<int32_t>(x[i]) * static_cast<int8_t>(w[i]);
                }
                const int32_t adj = acc - c.xzero[m] * c.colsum[n];
                store_scalar(c, m, n, static_cast<float>(adj) * (c.xscale[m] * ws[n]));
            }
}

void quant_scalar(uint8_t *u, float *scale, int32_t *zero, const float *x, int64_t ldx, int64_t M, int64_t K,
                  int64_t Kp, int qmax) {
    for (int64_t m = 0; m < M; m++) {
        const float *r = x + m * ldx;
        float lo = 0.0f, hi = 0.0f;
        for (int64_t k = 0; k < K; k++) {
            lo = r[k] < lo ? r[k] : lo;
            hi = r[k] > hi ? r[k] : hi;
        }
        float inv;
        quant_params(lo, hi, qmax, &scale[m], &inv, &zero[m]);
        uint8_t *o = u + m * Kp;
        for (int64_t k = 0; k < K; k++) {
            int32_t q = static_cast<int32_t>(std::nearbyint(r[k] * inv)) + zero[m];
            q = q < 0 ? 0 : (q > qmax ? qmax : q);
            o[k] = static_cast<uint8_t>(q);
        }
        for (int64_t k = K; k < Kp; k++) o[k] = 0;
    }
}

void bf16_rows_scalar(uint16_t *out, const float *x, int64_t ldx, int64_t M, int64_t K, int64_t Kp) {
    for (int64_t m = 0; m < M; m++) {
        for (int64_t k = 0; k < K; k++) out[m * Kp + k] = round_to_bf16(x[m * ldx + k]);
        for (int64_t k = K; k < Kp; k++) out[m * Kp + k] = 0;
    }
}

}  // namespace

const KernelSet &scalar_kernels() {
    static const KernelSet k{f32_scalar, bf16_scalar, i8_scalar, quant_scalar, bf16_rows_scalar, 255, bf16w_scalar};
    return k;
}

}  // namespace packed

void quantize_rows_u8(uint8_t *u, float *scale, int32_t *zero, const float *x, int64_t ldx, int64_t M, int64_t K,
                      int64_t Kp, int qmax) {
    check(qmax == 127 || qmax == 255, MOS_INVALID_ARGUMENT, "quantize_rows_u8: qmax ", qmax, "; allowed 127|255");
    check(Kp >= K && ldx >= K, MOS_INVALID_ARGUMENT, "quantize_rows_u8: bad strides");
    packed::quant_scalar(u, scale, zero, x, ldx, M, K, Kp, qmax);
}

// ---------------------------------------------------------------------------
// Dispatch

namespace {

// Below this many multiply-adds a product runs on the calling thread alone:
// waking a passive OpenMP team costs more (tens of microseconds under load).
constexpr int64_t kPackedOmpMinWork = int64_t(1) << 21;

void check_call(const float *y, const float *x, int64_t ldx, int64_t M, const PackedMatrix &W, int64_t K) {
    check(!W.empty(), MOS_INVALID_ARGUMENT, "packed_linear: empty weight");
    check(M >= 0, MOS_INVALID_ARGUMENT, "packed_linear: M = ", M);
    check(K >= 1 && K <= W.cols(), MOS_INVALID_ARGUMENT, "packed_linear: K = ", K, " outside 1..", W.cols());
    check(ldx >= K, MOS_INVALID_ARGUMENT, "packed_linear: ldx ", ldx, " < K = ", K);
    check(M == 0 || (x != nullptr && y != nullptr), MOS_INVALID_ARGUMENT, "packed_linear: x or y is NULL");
}

// Prepares the activations and the call for W's precision on kernel set ks
// (bf16: for kernel bk).
packed::Call prepare(const packed::KernelSet &ks, const float *x, int64_t ldx, int64_t M, const PackedMatrix &W,
                     int64_t K, PackedScratch &s, const int32_t *colsum, Bf16Kernel bk) {
    packed::Call c;
    c.W = &W;
    c.M = M;
    c.N = W.rows();
    c.K = K;
    const int64_t g = k_group(W.precision());
    c.steps = (K + g - 1) / g;
    const int64_t Kq = c.steps * g;
    switch (W.precision()) {
    case Precision::F32:
        c.xf = x;
        c.ldx = ldx;
        break;
    case Precision::BF16:
        if (bk == Bf16Kernel::Widen) {  // reads the f32 rows as they are
            c.xf = x;
            c.ldx = ldx;
            break;
        }
        s.reserve(M, Kq);
        ks.to_bf16(s.bf16.data(), x, ldx, M, K, Kq);
        c.xb = s.bf16.data();
        c.ldq = Kq;
        break;
    case Precision::I8:
        s.reserve(M, Kq);
        ks.quant(s.u8.data(), s.xscale.data(), s.xzero.data(), x, ldx, M, K, Kq, ks.qmax);
        c.xu = s.u8.data();
        c.ldq = Kq;
        c.xscale = s.xscale.data();
        c.xzero = s.xzero.data();
        c.colsum = colsum ? colsum : W.colsum();
        check(K == W.cols() || colsum != nullptr, MOS_INTERNAL,
              "packed_linear: an int8 product over a column prefix needs its column sums");
        break;
    }
    return c;
}

packed::GroupFn group_fn(const packed::KernelSet &ks, Precision p, Bf16Kernel bk) {
    switch (p) {
    case Precision::F32: return ks.f32;
    case Precision::BF16:
        return bk == Bf16Kernel::Widen ? ks.bf16w : (bk == Bf16Kernel::Amx ? ks.bf16amx : ks.bf16);
    case Precision::I8: return ks.i8;
    }
    return nullptr;
}

// The bf16 kernel that serves a product over K inputs when `bk` was asked for:
// amx needs whole tiles (K a multiple of 32), the kernel in this set and the
// tile state; otherwise dot serves.
Bf16Kernel bf16_usable(const packed::KernelSet &ks, Bf16Kernel bk, int64_t K) {
    if (bk == Bf16Kernel::Amx && (K % 32 != 0 || ks.bf16amx == nullptr || !amx_ready())) return Bf16Kernel::Dot;
    return bk;
}

// Runs groups [g0, g1) of c, split over the calling thread's OpenMP team when
// the product is large enough.
void run_groups(packed::GroupFn fn, const packed::Call &c, int64_t g0, int64_t g1) {
    const int64_t G = g1 - g0;
    const int nt = omp_get_max_threads();
    if (nt > 1 && G > 1 && !omp_in_parallel() && c.M * c.N * c.K >= kPackedOmpMinWork) {
        const int T = static_cast<int>(std::min<int64_t>(nt, G));
#pragma omp parallel num_threads(T)
        {
            const int64_t t = omp_get_thread_num(), n = omp_get_num_threads();
            fn(c, g0 + G * t / n, g0 + G * (t + 1) / n);
        }
    } else {
        fn(c, g0, g1);
    }
}

void linear_with(const packed::KernelSet &ks, float *y, int64_t ldy, const float *x, int64_t ldx, int64_t M,
                 const PackedMatrix &W, int64_t K, const PackedEpilogue &e, PackedScratch &s,
                 const int32_t *colsum, Bf16Kernel bk) {
    bk = bf16_usable(ks, bk, K);
    packed::Call c = prepare(ks, x, ldx, M, W, K, s, colsum, bk);
    c.e = e;
    c.y = y;
    c.ldy = ldy;
    const packed::GroupFn fn = group_fn(ks, W.precision(), bk);
    check(fn != nullptr, MOS_INTERNAL, "packed_linear: no ", precision_name(W.precision()), " kernel");
    run_groups(fn, c, 0, W.groups());
}

void check_linear(const float *y, int64_t ldy, const float *x, int64_t ldx, int64_t M, const PackedMatrix &W,
                  int64_t K) {
    check_call(y, x, ldx, M, W, K);
    check(ldy >= W.rows(), MOS_INVALID_ARGUMENT, "packed_linear: ldy ", ldy, " < N = ", W.rows());
}

}  // namespace

void packed_linear(float *y, int64_t ldy, const float *x, int64_t ldx, int64_t M, const PackedMatrix &W, int64_t K,
                   const PackedEpilogue &e, PackedScratch &scratch, const int32_t *colsum) {
    check_linear(y, ldy, x, ldx, M, W, K);
    if (M == 0) return;
    const Bf16Kernel bk = W.precision() == Precision::BF16 ? bf16_kernel_for(M, W.cols()) : Bf16Kernel::Dot;
    linear_with(kernels_of(packed_isa_for(W.precision())), y, ldy, x, ldx, M, W, K, e, scratch, colsum, bk);
}

void packed_linear_isa(PackedIsa isa, float *y, int64_t ldy, const float *x, int64_t ldx, int64_t M,
                       const PackedMatrix &W, int64_t K, const PackedEpilogue &e, PackedScratch &scratch,
                       const int32_t *colsum, Bf16Kernel bf16) {
    check(packed_isa_supported(isa), MOS_UNSUPPORTED, "packed kernels: this CPU has no ", packed_isa_name(isa));
    const packed::KernelSet &ks = kernels_of(isa);
    check(group_fn(ks, W.precision(), bf16) != nullptr, MOS_UNSUPPORTED, "packed kernels: ", packed_isa_name(isa),
          " has no ", precision_name(W.precision()), " kernel");
    check(W.precision() != Precision::BF16 || bf16 != Bf16Kernel::Amx || amx_ready(), MOS_UNSUPPORTED,
          "packed kernels: this CPU (or its OS) gives no AMX tiles");
    check_linear(y, ldy, x, ldx, M, W, K);
    if (M == 0) return;
    linear_with(ks, y, ldy, x, ldx, M, W, K, e, scratch, colsum, bf16);
}

void packed_linear_tiles(PackedTileSink &sink, float *tile_buf, int64_t block, const float *x, int64_t ldx,
                         int64_t M, const PackedMatrix &W, int64_t K, const float *bias, PackedScratch &scratch,
                         const int32_t *colsum, int64_t n_begin, int64_t n_end) {
    check_call(tile_buf, x, ldx, M, W, K);
    check(block > 0 && block % kGroupCols == 0, MOS_INVALID_ARGUMENT, "packed_linear_tiles: block ", block,
          " is not a multiple of ", kGroupCols);
    check(n_begin >= 0 && n_begin <= n_end && n_end <= W.rows() && n_begin % kGroupCols == 0, MOS_INVALID_ARGUMENT,
          "packed_linear_tiles: columns [", n_begin, ", ", n_end, ") do not fit ", W.rows());
    if (M == 0 || n_begin == n_end) return;
    const packed::KernelSet &ks = kernels_of(packed_isa_for(W.precision()));
    const Bf16Kernel bk =
        W.precision() == Precision::BF16 ? bf16_usable(ks, bf16_kernel_for(M, W.cols()), K) : Bf16Kernel::Dot;
    packed::Call c = prepare(ks, x, ldx, M, W, K, scratch, colsum, bk);
    c.e.bias = bias;
    c.y = tile_buf;
    c.ldy = block;
    const packed::GroupFn fn = group_fn(ks, W.precision(), bk);
    for (int64_t n0 = n_begin; n0 < n_end; n0 += block) {
        const int64_t n1 = std::min(n_end, n0 + block);
        c.N = n1;
        c.y_col0 = n0;
        fn(c, n0 / kGroupCols, (n1 + kGroupCols - 1) / kGroupCols);
        sink.tile(n0, n1, tile_buf, block);
    }
}

// ---------------------------------------------------------------------------
// The bf16 kernel: timed once per process (packed.hpp, "bf16 kernels")

const char *bf16_kernel_name(Bf16Kernel k) {
    return k == Bf16Kernel::Widen ? "widen" : (k == Bf16Kernel::Amx ? "amx" : "dot");
}

Bf16Kernel parse_bf16_kernel(const std::string &s) {
    if (s == "dot") return Bf16Kernel::Dot;
    if (s == "widen") return Bf16Kernel::Widen;
    if (s == "amx") return Bf16Kernel::Amx;
    fail(MOS_INVALID_ARGUMENT, "MOS_BF16_KERNEL '", s, "'; allowed dot|widen|amx");
}

int bf16_class(int64_t M) { return M <= 2 ? 0 : (M <= 12 ? 1 : 2); }

namespace {

// About 4 MiB of bf16 weights: more than a core's L2 on the CPUs we know, so
// the one-row product reads its weights from further out, as a decode step does.
constexpr int64_t kBf16TimeBytes = int64_t(4) << 20;
constexpr int kBf16TimeReps = 3;  // timed runs per kernel and class, after one warm-up
// Widen must beat dot by 3% to be chosen (and amx the better of the two): where
// both read weights at the same speed (one row), timing noise alone would
// otherwise flip the choice, and with it a bf16 model's last bits, from one
// process to the next.
constexpr double kBf16WidenMargin = 1.03;

// Seconds for one single-threaded product of M rows over groups [0, G) of W
// with kernel bk (activation preparation included: the dot kernel pays for
// rounding its rows).
double time_product(const packed::KernelSet &ks, Bf16Kernel bk, const PackedMatrix &W, int64_t G, const float *x,
                    int64_t M, float *y, PackedScratch &s) {
    const auto t0 = std::chrono::steady_clock::now();
    packed::Call c = prepare(ks, x, W.cols(), M, W, W.cols(), s, nullptr, bk);
    c.N = G * kGroupCols;
    c.y = y;
    c.ldy = c.N;
    group_fn(ks, Precision::BF16, bk)(c, 0, G);
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

Bf16Choice time_bf16_kernels(int64_t K) {
    Bf16Choice r;
    if (!packed_isa_supported(PackedIsa::Avx512Bf16)) {
        r.how = packed_isa_supported(PackedIsa::Avx2) ? "widen only: no avx512_bf16"
                                                      : "widen only: no avx512_bf16 (scalar kernels)";
        return r;
    }
    const auto t0 = std::chrono::steady_clock::now();
    const bool amx = amx_ready();
    K = std::min<int64_t>(std::max<int64_t>(K, 64), 8192);
    K = (K + 31) / 32 * 32;  // whole AMX tiles, so every kernel is timed on the same shape
    const int64_t N = std::max<int64_t>(kGroupCols, kBf16TimeBytes / (2 * K) / kGroupCols * kGroupCols);
    const PackedMatrix W = PackedMatrix::bf16_pattern(N, K);
    const int64_t Mmax = kBf16ClassRows[kBf16Classes - 1];
    std::vector<float> x(static_cast<size_t>(Mmax * K));
    for (size_t i = 0; i < x.size(); i++) x[i] = static_cast<float>(static_cast<int>(i % 29) - 14) * 0.0625f;
    std::vector<float> y(static_cast<size_t>(Mmax * N));
    PackedScratch s;
    const packed::KernelSet &ks = kernels_of(PackedIsa::Avx512Bf16);
    for (int cl = 0; cl < kBf16Classes; cl++) {
        const int64_t M = kBf16ClassRows[cl];
        // Many rows are bound by arithmetic, not by the weights' size: a
        // quarter of the columns keeps the timing short.
        const int64_t G = M > 2 ? std::max<int64_t>(1, W.groups() / 4) : W.groups();
        const int nk = amx ? 3 : 2;
        double best[3] = {1e30, 1e30, 1e30};
        for (int rep = 0; rep <= kBf16TimeReps; rep++)
            for (int i = 0; i < nk; i++) {
                // Rotate which kernel goes first, so none always runs warm.
                const Bf16Kernel bk = static_cast<Bf16Kernel>((rep + i) % nk);
                const double t = time_product(ks, bk, W, G, x.data(), M, y.data(), s);
                if (rep > 0) best[static_cast<int>(bk)] = std::min(best[static_cast<int>(bk)], t);
            }
        const double flop = 2.0 * static_cast<double>(M * G * kGroupCols * K);
        r.dot_gflops[cl] = flop / best[0] * 1e-9;
        r.widen_gflops[cl] = flop / best[1] * 1e-9;
        r.amx_gflops[cl] = amx ? flop / best[2] * 1e-9 : 0.0;
        const bool widen = r.widen_gflops[cl] > r.dot_gflops[cl] * kBf16WidenMargin;
        r.kernel[cl] = widen ? Bf16Kernel::Widen : Bf16Kernel::Dot;
        if (r.amx_gflops[cl] > std::max(r.dot_gflops[cl], r.widen_gflops[cl]) * kBf16WidenMargin)
            r.kernel[cl] = Bf16Kernel::Amx;
    }
    r.N = N;
    r.K = K;
    r.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    r.how = "timed";
    return r;
}

Bf16Choice decide_bf16(const char *env, int64_t K) {
    if (env == nullptr || *env == '\0') return time_bf16_kernels(K);
    Bf16Choice r;
    r.how = "MOS_BF16_KERNEL";
    try {
        const Bf16Kernel k = parse_bf16_kernel(env);
        check(k != Bf16Kernel::Amx || amx_ready(), MOS_UNSUPPORTED,
              "MOS_BF16_KERNEL=amx: this CPU (or its OS) gives no AMX tiles");
        for (Bf16Kernel &c : r.kernel) c = k;
    } catch (const Error &e) {
        r.error = e.what();
    }
    return r;
}

const Bf16Choice &bf16_choice(int64_t K) {
    static const Bf16Choice c = decide_bf16(std::getenv("MOS_BF16_KERNEL"), K);
    return c;
}

Bf16Kernel bf16_kernel_for(int64_t M, int64_t K) {
    const Bf16Choice &c = bf16_choice(K);
    if (!c.error.empty()) fail(MOS_INVALID_ARGUMENT, c.error);
    return c.kernel[bf16_class(M)];
}

std::string bf16_kernel_report() {
    const Bf16Choice &c = bf16_choice(512);
    if (!c.error.empty()) return "invalid: " + c.error;
    std::string s;
    const char *names[kBf16Classes] = {"rows 1-2 ", ", 3-12 ", ", 13+ "};
    for (int i = 0; i < kBf16Classes; i++) s += std::string(names[i]) + bf16_kernel_name(c.kernel[i]);
    s += " (" + c.how;
    if (c.K > 0) {
        char buf[256];
        std::snprintf(buf, sizeof buf,
                      " at K %lld N %lld in %.1f ms; GFLOP/s at M 1/5/32: dot %.0f/%.0f/%.0f, widen %.0f/%.0f/%.0f",
                      static_cast<long long>(c.K), static_cast<long long>(c.N), c.ms, c.dot_gflops[0],
                      c.dot_gflops[1], c.dot_gflops[2], c.widen_gflops[0], c.widen_gflops[1], c.widen_gflops[2]);
        s += buf;
        if (c.amx_gflops[0] > 0.0) {
            std::snprintf(buf, sizeof buf, ", amx %.0f/%.0f/%.0f", c.amx_gflops[0], c.amx_gflops[1], c.amx_gflops[2]);
            s += buf;
        }
    }
    return s + ")";
}

}  // namespace mos
