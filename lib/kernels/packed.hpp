// lib/kernels/packed.hpp: weights packed once for the decoding engine's
// products y = x W^T (docs/serving.md, "Kernels"), in f32, bf16 or int8, and
// the kernels that multiply them.
//
// Layout. A weight W[N, K] (N output channels, K inputs) is stored in groups of
// kGroupCols = 64 output channels; within a group, K is walked in steps of the
// precision's k-group g (f32 1, bf16 2, int8 4) and each step holds 64 channels
// x g inputs contiguously (256 bytes in every precision):
//
//   element (n, k) at group n / 64, step k / g, lane n % 64, sub-index k % g
//
// so a kernel tile of 64 columns reads one 256-byte chunk per step (four
// 16-lane vectors), and the same chunk feeds `vfmadd231ps` (f32, one input),
// `vdpbf16ps` (bf16, pairs of inputs) or `vpdpbusd` (int8, quads). N and K are
// padded with zeros to 64 and g. int8 weights carry one f32 scale per output
// channel (W ~ scale[n] * q[n, k], q in [-127, 127]) and the column sums of q
// that the activations' zero point needs.
//
// Activations. f32 rows are read as they are; bf16 kernels read rows rounded
// to bf16 (round to nearest even); int8 kernels read rows quantised per row to
// unsigned 8 bits with a scale and a zero point (asymmetric: x ~ s (u - z)),
// 0..255 where `vpdpbusd` exists and 0..127 for the `vpmaddubsw` fallbacks
// (whose 16-bit pair sums would otherwise saturate). Then
//   y[m, n] = s_m * scale[n] * (sum_k u[m, k] q[n, k] - z_m * colsum[n]) + b[n].
//
// ISA. Every precision has a scalar reference kernel and AVX2 and AVX-512
// kernels; bf16 has the native `vdpbf16ps` kernel (avx512_bf16) and an emulation
// (bf16 widened to f32) elsewhere; int8 has `vpdpbusd` (avx512_vnni) and the
// `vpmaddubsw` + `vpmaddwd` fallbacks (AVX-512BW, AVX2). The kernel set is chosen
// at run time from the CPU (core/cpu.hpp), never from the build machine.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace mos {

// A model's or a product's number format. Values are stored in files and in the
// public API's enum: append only.
enum class Precision : int { F32 = 0, BF16 = 1, I8 = 2 };

const char *precision_name(Precision p);  // "f32" | "bf16" | "int8"
// "f32" (or "float32"), "bf16" (or "bfloat16"), "int8"; MOS_INVALID_ARGUMENT otherwise.
Precision parse_precision(const std::string &name);

// Instruction sets of the packed kernels, lowest first.
enum class PackedIsa : int {
    Scalar = 0,      // plain C++: the reference, and any x86-64 or other CPU
    Avx2 = 1,        // AVX2 + FMA
    Avx512 = 2,      // AVX-512 F/BW/VL/DQ
    Avx512Bf16 = 3,  // + avx512_bf16 (vdpbf16ps): the native bf16 kernel
    Avx512Vnni = 4,  // + avx512_vnni (vpdpbusd): the native int8 kernel
};
const char *packed_isa_name(PackedIsa isa);
// Whether this CPU runs kernels of `isa`.
bool packed_isa_supported(PackedIsa isa);
// The kernel ISA used for `p` on this CPU: the highest supported one that
// serves p (Avx512Bf16 only serves bf16, Avx512Vnni only int8).
PackedIsa packed_isa_for(Precision p);
// Whether `p` computes natively here: f32 always; bf16 with avx512_bf16; int8
// with AVX2 or better (integer dot products). Elsewhere the kernels emulate it.
bool precision_native(Precision p);
// Upper end of the unsigned activations an int8 kernel of `isa` reads.
int int8_activation_max(PackedIsa isa);

constexpr int64_t kGroupCols = 64;     // output channels per group
constexpr int64_t kGroupBytes = 256;   // bytes per k-step of a group, every precision
inline int64_t k_group(Precision p) { return p == Precision::F32 ? 1 : p == Precision::BF16 ? 2 : 4; }

// f32 <-> bf16 bits, round to nearest even (NaN stays NaN).
uint16_t round_to_bf16(float x);
float widen_bf16(uint16_t b);

class PackedMatrix {
public:
    PackedMatrix() = default;

    // W row-major [N, K] with row stride ld >= K, converted to `p`: bf16 rounds
    // to nearest even; int8 quantises each row symmetrically (scale = max|W[n,:]|
    // / 127, q = round(W / scale)).
    static PackedMatrix from_f32(const float *W, int64_t N, int64_t K, int64_t ld, Precision p);
    // Stored bf16 bits [N, K] (ld), kept as they are.
    static PackedMatrix from_bf16(const uint16_t *W, int64_t N, int64_t K, int64_t ld);
    // Stored int8 [N, K] (ld) with a scale per row, kept as they are.
    static PackedMatrix from_i8(const int8_t *W, const float *scale, int64_t N, int64_t K, int64_t ld);

    Precision precision() const { return p_; }
    int64_t rows() const { return N_; }   // N: output channels
    int64_t cols() const { return K_; }   // K: inputs
    int64_t k_padded() const { return Kp_; }
    int64_t groups() const { return groups_; }
    bool empty() const { return N_ == 0; }
    // Bytes of packed weights (+ scales and column sums).
    size_t bytes() const;

    // Row-major copies [N, K]: f32 values (bf16 widened, int8 dequantised),
    // bf16 bits (bf16 only), int8 values and scales (int8 only).
    void unpack_f32(float *out) const;
    void unpack_bf16(uint16_t *out) const;
    void unpack_i8(int8_t *out, float *scale) const;

    // Raw access for the kernels.
    const uint8_t *data() const { return data_.get(); }
    const float *scale() const { return scale_.data(); }     // int8: [groups * 64]
    const int32_t *colsum() const { return colsum_.data(); } // int8: [groups * 64], sums over all K
    // int8: column sums over the first k columns only (k <= K), padded to groups * 64.
    std::vector<int32_t> colsum_prefix(int64_t k) const;
    // Byte offset of step s (k / g) of group gi.
    size_t step_offset(int64_t gi, int64_t s) const {
        return static_cast<size_t>((gi * (Kp_ / k_group(p_)) + s) * kGroupBytes);
    }

private:
    struct Free {
        void operator()(uint8_t *p) const;
    };
    void init(Precision p, int64_t N, int64_t K);
    uint8_t *mut() { return data_.get(); }
    Precision p_ = Precision::F32;
    int64_t N_ = 0, K_ = 0, Kp_ = 0, groups_ = 0;
    std::unique_ptr<uint8_t[], Free> data_;
    size_t data_bytes_ = 0;
    std::vector<float> scale_;
    std::vector<int32_t> colsum_;
};

// Activations prepared for one product: bf16 rows or quantised u8 rows with
// their scales and zero points, in buffers that grow to the largest product
// seen and are then reused (no allocation in a steady decode step).
struct PackedScratch {
    std::vector<uint16_t> bf16;   // [M, Kp]
    std::vector<uint8_t> u8;      // [M, Kp]
    std::vector<float> xscale;    // [M]
    std::vector<int32_t> xzero;   // [M]
    // Grow (never shrink) to M rows of Kp inputs.
    void reserve(int64_t M, int64_t Kp);
};

// What happens to each output after the product, in this order:
//   v = product + bias[n];  v = max(v, 0) if relu;  v += residual[m, n].
struct PackedEpilogue {
    const float *bias = nullptr;      // [N] or NULL
    bool relu = false;
    const float *residual = nullptr;  // [M, ldr] or NULL (may equal y: y += ...)
    int64_t ldr = 0;
};

// y[M, N] (row stride ldy) = epilogue(x[M, K] (row stride ldx) W[:, :K]^T) with
// K <= W.cols() (a prefix of every row: the tied output projection reads the
// first d_dec columns of the embedding). colsum (int8 only) must be the column
// sums over those K columns (W.colsum() when K = W.cols(), else colsum_prefix).
// Runs on the calling thread's OpenMP team when the product is large enough.
void packed_linear(float *y, int64_t ldy, const float *x, int64_t ldx, int64_t M, const PackedMatrix &W,
                   int64_t K, const PackedEpilogue &e, PackedScratch &scratch, const int32_t *colsum = nullptr);

// The same product delivered in column blocks instead of stored: for each block
// of `block` columns (a multiple of 64; the last may be shorter), in increasing
// order on one thread, fn(n0, n1, tile) receives tile[M, block] (row stride
// `block`) holding y[:, n0:n1) after the bias. The tied output projection feeds
// the log-softmax and top-k this way while each block is still in L1.
class PackedTileSink {
public:
    virtual ~PackedTileSink() = default;
    virtual void tile(int64_t n0, int64_t n1, const float *tile, int64_t ld) = 0;
};
// Columns [n_begin, n_end) only (multiples of 64 except n_end = N), so callers
// can give each thread its own range; tile_buf holds M * block floats.
void packed_linear_tiles(PackedTileSink &sink, float *tile_buf, int64_t block, const float *x, int64_t ldx,
                         int64_t M, const PackedMatrix &W, int64_t K, const float *bias, PackedScratch &scratch,
                         const int32_t *colsum, int64_t n_begin, int64_t n_end);

// The same products with an explicit kernel ISA (tests compare every ISA the CPU
// has against PackedIsa::Scalar); MOS_UNSUPPORTED when the CPU lacks it or it
// does not serve W's precision.
void packed_linear_isa(PackedIsa isa, float *y, int64_t ldy, const float *x, int64_t ldx, int64_t M,
                       const PackedMatrix &W, int64_t K, const PackedEpilogue &e, PackedScratch &scratch,
                       const int32_t *colsum = nullptr);

// Quantises rows like the int8 kernels of `isa` do: u[m, :K] (zero-padded to
// Kp), scale[m], zero[m]. Exposed for tests.
void quantize_rows_u8(uint8_t *u, float *scale, int32_t *zero, const float *x, int64_t ldx, int64_t M,
                      int64_t K, int64_t Kp, int qmax);

}  // namespace mos
