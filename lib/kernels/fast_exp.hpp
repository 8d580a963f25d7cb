// lib/kernels/fast_exp.hpp: a branch-free exp for the softmax loops (attention
// rows, cross-entropy over the vocabulary) that GCC vectorises without
// -ffast-math. Shared by every kernel that exponentiates whole rows.
#pragma once

#include <cstdint>
#include <cstring>

namespace mos {
namespace kern {

inline float bit_cast_float(int32_t bits) {
#if defined(__GNUC__)
    return __builtin_bit_cast(float, bits);  // a register move the vectoriser understands
#else
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
#endif
}

// The steps of Cephes expf shared by the scalar exp below and its 8-lane twin
// (simd::exp_nonpos in kernels/simd.hpp); T is float or simd::f8. Always inlined,
// so the vector instance compiles for the ISA of the cloned loop that uses it.
// n = round(x / ln2) by the 1.5 * 2^23 trick (no floor call: loops stay vectorisable).
template <class T>
inline __attribute__((always_inline)) T exp_round_n(T x) {
    return (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
}
// exp(x) / 2^n for x = n ln2 + r, |r| <= ln2/2: a degree-6 polynomial in r.
template <class T>
inline __attribute__((always_inline)) T exp_reduced(T x, T n) {
    T r = x - n * 0.693359375f;
    r = r + n * 2.12194440e-4f;
    T p = r * 1.9875691500e-4f + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    return p * r * r + r + 1.0f;
}

// exp(x) for x <= 0 (Cephes expf: x = n ln2 + r, degree-6 polynomial, 2^n from the
// exponent bits); relative error about 2 ulp. Written without branches or library
// calls so the softmax loop vectorises; inputs are clamped to [-87, 0] (exp(-87) =
// 1.6e-38 stays normal; the clamp at 0 keeps the exponent in range for the padded
// keys whose result is discarded). The clamp is written so that NaN (a model
// whose scores overflow to inf - inf) goes to -87 like the 8-lane twin's
// vmax/vmin: every comparison with NaN is false, and a NaN reaching the int
// conversion below would be undefined behaviour.
inline float exp_nonpos(float x) {
    x = x > -87.0f ? x : -87.0f;
    x = x < 0.0f ? x : 0.0f;
    const float n = exp_round_n(x);
    const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
    return exp_reduced(x, n) * bit_cast_float(bits);
}

}  // namespace kern
}  // namespace mos
