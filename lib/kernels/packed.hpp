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
// Activations. f32 rows are read as they are; the bf16 "dot" kernels read rows
// rounded to bf16 (round to nearest even), the bf16 "widen" kernels read f32
// rows as they are (see "bf16 kernels" below); int8 kernels read rows quantised per row to
// unsigned 8 bits with a scale and a zero point (asymmetric: x ~ s (u - z)),
// 0..255 where `vpdpbusd` exists and 0..127 for the `vpmaddubsw` fallbacks
// (whose 16-bit pair sums would otherwise saturate). Then
//   y[m, n] = s_m * scale[n] * (sum_k u[m, k] q[n, k] - z_m * colsum[n]) + b[n].
//
// ISA. Every precision has a scalar reference kernel and AVX2 and AVX-512
// kernels; bf16 has two kernels on every ISA (below); int8 has `vpdpbusd` (avx512_vnni) and the
// `vpmaddubsw` + `vpmaddwd` fallbacks (AVX-512BW, AVX2). The kernel set is chosen
// at run time from the CPU (core/cpu.hpp), never from the build machine.
//
// bf16 kernels. "dot": activations rounded to bf16, pairs multiplied by
// `vdpbf16ps` (avx512_bf16; emulated by widening both operands elsewhere).
// "widen": the packed bf16 weights widened to f32 in registers (a 16-bit shift
// or a mask: the low and high halves of each 32-bit pair), multiplied with the
// f32 activations by `vfmadd231ps` in the order of the f32 kernel, so a widen
// product equals the f32 kernel's on the widened weights. "amx": the dot
// kernel's bf16 rows multiplied by AMX tiles (`tdpbf16ps`, 16 rows x 16
// columns x 32 inputs per instruction) where the CPU has AMX and the OS grants
// the tile state (amx_ready(), core/cpu.hpp); the packed layout is the tile
// layout, so it too reads the same packed weights; for K a multiple of 32 (other
// products take dot). Which one is fastest depends on the CPU (vdpbf16ps runs at
// twice the f32 FMA rate on AMD Zen 5 but at less than half of it on Intel
// Sapphire Rapids, whose AMX tiles are faster than either at many rows) and on
// M, so a process times them once, at its first bf16 product, on a few shapes,
// and keeps the fastest per class of M (bf16_choice);
// MOS_BF16_KERNEL=dot|widen|amx overrides the timing. Without avx512_bf16 the
// widen kernel always serves (the dot emulation only runs when asked for).
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
// Whether `p` computes natively here: f32 always; bf16 with AVX2 or better
// (the widen kernel; avx512_bf16 adds the dot kernel); int8 with AVX2 or better
// (integer dot products). Elsewhere the scalar kernels emulate it.
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

    // A bf16 matrix whose packed bytes hold a fixed pattern of small normal
    // values, written straight into the layout (no conversion per element):
    // operands for timing the kernels (time_bf16_kernels).
    static PackedMatrix bf16_pattern(int64_t N, int64_t K);

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

// The two bf16 kernels (see "bf16 kernels" above). Values appear in reports:
// append only.
enum class Bf16Kernel : int { Dot = 0, Widen = 1, Amx = 2 };
const char *bf16_kernel_name(Bf16Kernel k);  // "dot" | "widen" | "amx"
// "dot" | "widen" | "amx"; MOS_INVALID_ARGUMENT otherwise.
Bf16Kernel parse_bf16_kernel(const std::string &name);

// The bf16 kernel is chosen per class of M (rows of a product): rows 1-2 (one
// sentence, greedy: bound by reading the weights), 3-12 (a beam) and 13+
// (batches: bound by arithmetic). Each class is timed at the M of
// kBf16ClassRows; the class bounds are the geometric means of neighbours.
constexpr int kBf16Classes = 3;
constexpr int64_t kBf16ClassRows[kBf16Classes] = {1, 5, 32};
int bf16_class(int64_t M);

struct Bf16Choice {
    Bf16Kernel kernel[kBf16Classes] = {Bf16Kernel::Widen, Bf16Kernel::Widen, Bf16Kernel::Widen};
    // Measured rates (GFLOP/s, one thread) per class; 0 where not timed.
    double dot_gflops[kBf16Classes] = {0.0, 0.0, 0.0};
    double widen_gflops[kBf16Classes] = {0.0, 0.0, 0.0};
    double amx_gflops[kBf16Classes] = {0.0, 0.0, 0.0};  // 0 without AMX
    int64_t N = 0, K = 0;  // the timed weight's shape; 0 when not timed
    double ms = 0.0;       // time spent timing
    std::string how;       // "timed", "MOS_BF16_KERNEL" or why only widen serves
    std::string error;     // an invalid MOS_BF16_KERNEL (products then fail with it)
};
// The choice for an environment value `env` (MOS_BF16_KERNEL; NULL or empty:
// time both kernels at inputs K, see time_bf16_kernels).
Bf16Choice decide_bf16(const char *env, int64_t K);
// Times the kernels on this CPU (one thread, a weight of about 4 MiB with K
// inputs rounded up to a multiple of 32, each class's M, alternating, best of 3
// after a warm-up; a few ms) and keeps the fastest per class (widen or amx only
// when more than 3% faster than the kernels before it: a near tie keeps dot,
// so noise does not flip it). Without avx512_bf16: widen everywhere, no
// timing; amx only where amx_ready().
Bf16Choice time_bf16_kernels(int64_t K);
// This process's choice: decide_bf16(getenv("MOS_BF16_KERNEL"), K) made once,
// at the first call (thread-safe; later calls' K is ignored).
const Bf16Choice &bf16_choice(int64_t K);
// The kernel for a product of M rows (fails with the choice's error); amx is
// chosen per class, and a product whose K is not a multiple of 32 runs dot instead.
Bf16Kernel bf16_kernel_for(int64_t M, int64_t K);
// One line for build_info: "rows 1-2 dot, 3-12 dot, 13+ dot (timed K 512 N 4096
// ...; GFLOP/s dot ..., widen ...[, amx ...])".
std::string bf16_kernel_report();

// The same products with an explicit kernel ISA (tests compare every ISA the CPU
// has against PackedIsa::Scalar) and, for bf16 weights, an explicit kernel;
// MOS_UNSUPPORTED when the CPU lacks the ISA or it does not serve W's precision.
void packed_linear_isa(PackedIsa isa, float *y, int64_t ldy, const float *x, int64_t ldx, int64_t M,
                       const PackedMatrix &W, int64_t K, const PackedEpilogue &e, PackedScratch &scratch,
                       const int32_t *colsum = nullptr, Bf16Kernel bf16 = Bf16Kernel::Dot);

// Quantises rows like the int8 kernels of `isa` do: u[m, :K] (zero-padded to
// Kp), scale[m], zero[m]. Exposed for tests.
void quantize_rows_u8(uint8_t *u, float *scale, int32_t *zero, const float *x, int64_t ldx, int64_t M,
                      int64_t K, int64_t Kp, int qmax);

}  // namespace mos
