// lib/kernels/nibble.hpp: a matrix in 4 bits per weight for approximate scores
// of one row, y ~ x W^T: what speculative decoding's draft uses to shortlist
// the tokens of its output layer (docs/serving.md, "Speculative decoding").
//
// Values. Each row n of W[N, K] gets a scale s_n = max |W[n, :]| / 7 and
// 4-bit integers q in [-7, 7], W[n, k] ~ s_n q[n, k] (rounded half away from
// zero). The activations are
// one row quantised like the int8 kernels' (quantize_rows_u8, 0..255: x ~
// s (u - z)), so
//   y[n] = s * s_n * (sum_k u[k] (q[n, k] + 8) - 8 sum_k u[k] - z sum_k q[n, k])
// in exact integer sums: every ISA gives the same bits.
//
// Layout. Groups of 64 rows (as kernels/packed.hpp); within a group, K in
// steps of 8 inputs, 256 bytes a step: byte 4c + i of a step holds q + 8 of
// row c of the group at inputs 8s + i (low nibble) and 8s + 4 + i (high
// nibble), so one 64-byte load of a step unpacks (a mask, a shift) into the
// four-input quads of 16 rows that `vpdpbusd` multiplies with a broadcast
// quad of activations. N pads to 64 and K to 8 with zeros (nibble 8).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "kernels/packed.hpp"

namespace mos {

class NibbleMatrix {
public:
    NibbleMatrix() = default;
    // W row-major [N, K] with row stride ld >= K.
    static NibbleMatrix from_f32(const float *W, int64_t N, int64_t K, int64_t ld);

    int64_t rows() const { return N_; }
    int64_t cols() const { return K_; }
    bool empty() const { return N_ == 0; }
    size_t bytes() const;  // packed nibbles, scales and row sums
    // W ~ scale()[n] * q: the 4-bit values of row n (tests).
    void unpack_row(int64_t n, int8_t *q) const;
    const float *scale() const { return scale_.data(); }

    // Raw access for the kernels.
    const uint8_t *data() const { return data_.get(); }
    const int32_t *qsum() const { return qsum_.data(); }  // [N]: sum_k q[n, k]
    int64_t steps() const { return Kp_ / 8; }

private:
    struct Free {
        void operator()(uint8_t *p) const;
    };
    int64_t N_ = 0, K_ = 0, Kp_ = 0, groups_ = 0;
    std::unique_ptr<uint8_t[], Free> data_;
    std::vector<float> scale_;
    std::vector<int32_t> qsum_;
};

// Scratch of nibble_scores: the quantised row.
struct NibbleScratch {
    std::vector<uint8_t> u;
};

// Whether the CPU has a vector kernel for nibble products (AVX2; AVX-512 BW;
// the `vpdpbusd` one with avx512_vnni). Elsewhere nibble_scores runs the
// scalar loop, which is slower than the int8 kernels it would replace.
bool nibble_native();

// y[n] for n in [0, N) from the row x[0, K) as described above, on the calling
// thread, with the best kernel of this CPU (isa Scalar: the reference loop;
// MOS_UNSUPPORTED for an ISA the CPU lacks).
void nibble_scores(float *y, const float *x, const NibbleMatrix &W, NibbleScratch &scratch);
void nibble_scores_isa(PackedIsa isa, float *y, const float *x, const NibbleMatrix &W, NibbleScratch &scratch);

}  // namespace mos
