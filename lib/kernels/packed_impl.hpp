// lib/kernels/packed_impl.hpp: what lib/kernels/packed.cpp shares with the
// per-ISA kernel files (packed_avx2.cpp, packed_avx512.cpp): the description of
// one product, the kernel table of an ISA, and the scalar helpers every ISA must
// compute identically (the int8 activation scale and zero point).
#pragma once

#include <cmath>
#include <cstdint>

#include "kernels/packed.hpp"

namespace mos {
namespace packed {

// One product y = epilogue(x W[:, :K]^T), columns [0, N) of W (N <= W.rows()),
// with y's column n stored at y[m * ldy + n - y_col0].
struct Call {
    const PackedMatrix *W = nullptr;
    int64_t M = 0, N = 0, K = 0;
    int64_t steps = 0;                 // ceil(K / g)
    const float *xf = nullptr;         // f32 rows [M, ldx] (f32 and bf16 widen kernels)
    int64_t ldx = 0;
    const uint16_t *xb = nullptr;      // bf16 rows [M, ldq]
    const uint8_t *xu = nullptr;       // u8 rows [M, ldq]
    int64_t ldq = 0;
    const float *xscale = nullptr;     // int8: [M]
    const int32_t *xzero = nullptr;    // int8: [M]
    const int32_t *colsum = nullptr;   // int8: [groups * 64]
    PackedEpilogue e;
    float *y = nullptr;
    int64_t ldy = 0, y_col0 = 0;
};

// Computes groups [g0, g1) of c (every row).
using GroupFn = void (*)(const Call &c, int64_t g0, int64_t g1);
using QuantFn = void (*)(uint8_t *u, float *scale, int32_t *zero, const float *x, int64_t ldx, int64_t M,
                         int64_t K, int64_t Kp, int qmax);
using Bf16Fn = void (*)(uint16_t *out, const float *x, int64_t ldx, int64_t M, int64_t K, int64_t Kp);

struct KernelSet {
    GroupFn f32 = nullptr, bf16 = nullptr, i8 = nullptr;  // bf16: the dot kernel (reads xb)
    QuantFn quant = nullptr;
    Bf16Fn to_bf16 = nullptr;
    int qmax = 255;  // activations' upper end for i8
    GroupFn bf16w = nullptr;  // bf16 weights widened, f32 activations (reads xf)
    GroupFn bf16amx = nullptr;  // AMX tiles (reads xb; K a multiple of 32; only where amx_ready())
};

// Defined in packed.cpp (scalar), packed_avx2.cpp and packed_avx512.cpp.
const KernelSet &scalar_kernels();
const KernelSet &avx2_kernels();
const KernelSet &avx512_kernels();
const KernelSet &avx512_bf16_kernels();
const KernelSet &avx512_vnni_kernels();

// Scale, its inverse and the zero point of a row whose values lie in [lo, hi]
// (lo <= 0 <= hi), mapped onto 0..qmax: x ~ scale * (u - zero). Every ISA
// calls this one function, so all of them quantise a row identically.
inline void quant_params(float lo, float hi, int qmax, float *scale, float *inv, int32_t *zero) {
    float s = (hi - lo) / static_cast<float>(qmax);
    if (!(s > 0.0f) || !std::isfinite(s)) s = 1.0f;  // an all-zero (or broken) row
    const float i = 1.0f / s;
    int32_t z = static_cast<int32_t>(std::nearbyint(-lo * i));
    z = z < 0 ? 0 : (z > qmax ? qmax : z);
    *scale = s;
    *inv = i;
    *zero = z;
}

}  // namespace packed
}  // namespace mos
