// lib/backend/gemm.hpp: the small GEMM interface every kernel uses, with
// run-time selectable implementations (oneDNN, OpenBLAS, reference).
//
// All matrices are row-major with explicit leading dimensions, so a kernel can
// multiply the top-left slice W[:d_out, :d_in] of a super-size weight in place
// (ld = D_in) without copying it.
//
//   C[M, N] = alpha * op(A)[M, K] * op(B)[K, N] + beta * C
//   op(A) = A (A is M x K, lda >= K)  or  A^T (A stored K x M, lda >= M)
//   op(B) = B (B is K x N, ldb >= N)  or  B^T (B stored N x K, ldb >= K)
//
// beta = 1 accumulates, which is how backward passes add into gradients.
#pragma once

#include <cstdint>
#include <string>

namespace mos {

struct CpuFeatures;

enum class Backend : int {
    Reference = 0,  // naive loops; the oracle of the tests
    OneDNN = 1,     // matmul primitives cached per shape
    OpenBLAS = 2,   // cblas_sgemm, OpenMP build
    Auto = 3,       // default: per shape class, the backend measured faster on this
                    // machine (see auto_choice below and docs/benchmarks.md)
};

enum class GemmType : int {
    F32 = 0,   // f32 inputs, f32 accumulation
    BF16 = 1,  // inputs rounded to bf16, f32 accumulation and output;
               // falls back to F32 where the CPU lacks avx512_bf16
};

struct Gemm {
    bool trans_a = false;
    bool trans_b = false;
    int64_t M = 0, N = 0, K = 0;
    int64_t lda = 0, ldb = 0, ldc = 0;
    float alpha = 1.0f;
    float beta = 0.0f;
    GemmType type = GemmType::F32;
};

// A descriptor in one expression: op(A) [M, K] times op(B) [K, N] into C [M, N]
// with the given transposes, leading dimensions, alpha and beta (f32).
inline Gemm make_gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, int64_t lda, int64_t ldb,
                      int64_t ldc, float alpha = 1.0f, float beta = 0.0f) {
    Gemm g;
    g.trans_a = trans_a;
    g.trans_b = trans_b;
    g.M = M;
    g.N = N;
    g.K = K;
    g.lda = lda;
    g.ldb = ldb;
    g.ldc = ldc;
    g.alpha = alpha;
    g.beta = beta;
    return g;
}

// Dense bf16 copies of a bf16 GEMM's operands, made by the caller once and
// passed to every product that reads the same operand (a linear layer's x, W
// and dy each feed two products; docs/training.md, "bf16 mixed precision").
// A copy holds the operand as stored, not as used: for A, the rows x cols
// matrix that A points to ([M, K], or [K, M] when trans_a), row-major with
// ld = cols, then the next batch entry rows * cols further (bf16_convert
// writes exactly that). NULL: that operand is converted inside the call.
// Copies are read only where the product really runs in bf16 (bf16_active on
// the backend that runs it); everywhere else the f32 pointers are, so the f32
// operands must always be given too.
struct Bf16Operands {
    const uint16_t *a = nullptr;
    const uint16_t *b = nullptr;
};

// C = alpha * op(A) op(B) + beta * C with the current backend.
// Throws mos::Error(MOS_INVALID_ARGUMENT) on inconsistent sizes/leading dims,
// MOS_BACKEND if the backend fails.
void gemm(const Gemm &g, const float *A, const float *B, float *C);
// The same with bf16 copies of A and/or B made beforehand (Bf16Operands).
void gemm(const Gemm &g, const float *A, const float *B, float *C, const Bf16Operands &pre);

// The same GEMM for `batch` independent problems whose operands start
// stride_a / stride_b / stride_c floats apart (attention heads).
void gemm_batched(const Gemm &g, int64_t batch, const float *A, int64_t stride_a,
                  const float *B, int64_t stride_b, float *C, int64_t stride_c);

// Backend selection: process-wide default (Auto), read once from MOS_BACKEND
// ("auto", "onednn", "openblas", "reference") if set; objects may override per
// call through the explicit-backend overloads.
Backend default_backend();
void set_default_backend(Backend b);
const char *backend_name(Backend b);
// Parses "auto" | "onednn" | "openblas" | "reference"; throws MOS_INVALID_ARGUMENT.
Backend parse_backend(const char *name);
// Auto's choice (lib/backend/auto.cpp, docs/benchmarks.md): bf16 products go
// to oneDNN where it runs them in bf16; f32 products go to oneDNN for every
// shape when OpenBLAS's core is a generic fallback for this CPU
// (openblas_exclusion), and otherwise to the library measured faster on the
// first product of their shape class (form, dtype, M, N, K and batch rounded up
// to powers of two, OpenMP thread count), timed once per process on the real
// inputs into a scratch output. MOS_BACKEND pins a backend instead.
Backend auto_choice(const Gemm &g, int64_t batch, const float *A, int64_t sa, const float *B, int64_t sb,
                    const float *C, int64_t sc);
// Auto's precision for a bf16 batched product (attention's per-head products):
// GemmType::F32 where running the class in f32 measured faster than in bf16
// (timed once per class and process like the library choice; near-ties stay
// bf16), else g.type. Anything but a bf16 batched product with bf16 active
// returns g.type untimed. MOS_BACKEND=onednn keeps every bf16 product in bf16.
GemmType auto_batched_type(const Gemm &g, int64_t batch, const float *A, int64_t sa, const float *B, int64_t sb,
                           const float *C, int64_t sc);
// The choice already made for g's class, without timing anything: Backend::Auto
// when the class has not been seen yet.
Backend auto_known(const Gemm &g, int64_t batch);
// Why OpenBLAS is left out of auto's choices here ("" when it is not): its core
// (openblas_core()) is a fallback two or more vector ISA levels below the CPU.
const std::string &openblas_exclusion();
// The rule behind it, for any core name and CPU (tests).
bool openblas_core_generic(const std::string &core, const CpuFeatures &cpu);
// "gemm_auto=..." (the policy here and why; no newline), for mos_build_info.
std::string auto_policy();
// auto_policy() then one "gemm_auto_class=..." line per
// class chosen so far: shape, both times, choice (library, or for bf16
// batched classes the precision).
std::string auto_report();
// Seconds this process spent timing backends for auto (benchmarks subtract it).
double auto_calibration_seconds();
// Forgets every choice (tests).
void auto_forget();

void gemm(Backend b, const Gemm &g, const float *A, const float *B, float *C);
void gemm_batched(Backend b, const Gemm &g, int64_t batch, const float *A, int64_t stride_a,
                  const float *B, int64_t stride_b, float *C, int64_t stride_c);

// bf16 GEMMs run in bf16 only where the CPU has avx512_bf16 and oneDNN offers a
// native (non-reference) bf16 matmul; otherwise they run in f32. Tests force the
// fallback with set_bf16_disabled(true) to check it gives f32 results.
void set_bf16_disabled(bool disabled);
// True when a GemmType::BF16 GEMM on `b` really computes with bf16 inputs.
bool bf16_active(Backend b);

// Whether callers should make bf16 copies (Bf16Operands) for products of type
// t on the default backend: t is BF16, bf16 is active there and reuse is on.
// set_bf16_reuse(false) makes callers leave every conversion to the product
// itself, as before copies existed (tests compare both bit for bit).
bool bf16_copies_wanted(GemmType t);
void set_bf16_reuse(bool on);

// dst = bf16(src), round to nearest even (NaN kept quiet; where the CPU has
// avx512_bf16, f32 denormals flush to zero like vcvtneps2bf16): `batch`
// matrices of rows x cols stored with leading dimension ld, bstride floats
// apart, into dense [batch, rows, cols]. The conversion every bf16 product
// uses, so a copy made here gives the same bits as one made inside the
// product. Parallel over elements above a size where that pays (counted as
// Phase::Convert by the caller's scope).
void bf16_convert(uint16_t *dst, const float *src, int64_t batch, int64_t rows, int64_t cols, int64_t ld,
                  int64_t bstride);

}  // namespace mos
