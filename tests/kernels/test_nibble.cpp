// tests/kernels/test_nibble.cpp: 4-bit matrices for approximate one-row scores
// (lib/kernels/nibble.hpp): every ISA this CPU runs gives the scalar loop's
// bits on odd shapes (N and K not multiples of the group and the step), the
// scores equal a double-precision product of the same quantised operands,
// the quantisation error stays small against the f32 product, the packed
// values round-trip, and bad arguments are refused.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "../common/test_support.hpp"
#include "kernels/nibble.hpp"
#include "kernels/packed.hpp"

namespace {

using mos::NibbleMatrix;
using mos::PackedIsa;

std::vector<float> random_vec(size_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
    std::mt19937 g(seed);
    std::uniform_real_distribution<float> d(lo, hi);
    std::vector<float> v(n);
    for (float &x : v) x = d(g);
    return v;
}

const PackedIsa kIsas[] = {PackedIsa::Avx2, PackedIsa::Avx512, PackedIsa::Avx512Vnni};

struct Shape {
    int64_t N, K;
};
const Shape kShapes[] = {{1, 1}, {64, 8}, {65, 9}, {130, 37}, {200, 256}, {1000, 100}};

// The scores against a double-precision product of the quantised operands, and
// every vector ISA against the scalar loop bit for bit.
void scores(void **) {
    for (const Shape &sh : kShapes) {
        const std::vector<float> w = random_vec(static_cast<size_t>(sh.N * sh.K), 7);
        const std::vector<float> x = random_vec(static_cast<size_t>(sh.K), 8, -2.0f, 3.0f);
        const NibbleMatrix W = NibbleMatrix::from_f32(w.data(), sh.N, sh.K, sh.K);
        mos::NibbleScratch s;
        std::vector<float> ref(static_cast<size_t>(sh.N) + 1, -1.0f);
        mos::nibble_scores_isa(PackedIsa::Scalar, ref.data(), x.data(), W, s);
        assert_true(ref[static_cast<size_t>(sh.N)] == -1.0f);  // nothing written past N
        // The same quantised activations as the kernels: x ~ sx (u - z).
        std::vector<uint8_t> u(static_cast<size_t>((sh.K + 7) / 8 * 8));
        float sx;
        int32_t z;
        mos::quantize_rows_u8(u.data(), &sx, &z, x.data(), sh.K, 1, sh.K, static_cast<int64_t>(u.size()), 255);
        std::vector<int8_t> q(static_cast<size_t>(sh.K));
        double err2 = 0.0, ref2 = 0.0;
        for (int64_t n = 0; n < sh.N; n++) {
            W.unpack_row(n, q.data());
            double dq = 0.0, exact = 0.0;
            for (int64_t k = 0; k < sh.K; k++) {
                assert_true(q[static_cast<size_t>(k)] >= -7 && q[static_cast<size_t>(k)] <= 7);
                dq += (static_cast<double>(u[static_cast<size_t>(k)]) - z) * q[static_cast<size_t>(k)];
                exact += static_cast<double>(x[static_cast<size_t>(k)]) * w[static_cast<size_t>(n * sh.K + k)];
            }
            dq *= static_cast<double>(sx) * W.scale()[n];
            const double got = ref[static_cast<size_t>(n)];
            if (std::fabs(got - dq) > 1e-5 * (1.0 + std::fabs(dq)))
                fail_msg("N %lld K %lld row %lld: %.9g, quantised operands give %.9g", (long long)sh.N,
                         (long long)sh.K, (long long)n, got, dq);
            err2 += (got - exact) * (got - exact);
            ref2 += exact * exact;
        }
        // 4-bit weights of uniform values: about 8% of the product's size.
        if (sh.K >= 37 && std::sqrt(err2 / ref2) > 0.15)
            fail_msg("N %lld K %lld: relative error %.3f against f32", (long long)sh.N, (long long)sh.K,
                     std::sqrt(err2 / ref2));
        for (PackedIsa isa : kIsas) {
            if (!mos::packed_isa_supported(isa)) continue;
            std::vector<float> y(static_cast<size_t>(sh.N) + 1, -1.0f);
            mos::nibble_scores_isa(isa, y.data(), x.data(), W, s);
            assert_true(y[static_cast<size_t>(sh.N)] == -1.0f);
            if (std::memcmp(y.data(), ref.data(), static_cast<size_t>(sh.N) * sizeof(float)) != 0)
                fail_msg("%s differs from scalar at N %lld K %lld", mos::packed_isa_name(isa), (long long)sh.N,
                         (long long)sh.K);
        }
        std::vector<float> y(static_cast<size_t>(sh.N));
        mos::nibble_scores(y.data(), x.data(), W, s);
        assert_memory_equal(y.data(), ref.data(), static_cast<size_t>(sh.N) * sizeof(float));
    }
}

// Packing: each row's values round-trip through its scale; a zero row and a
// row with one outlier stay finite; the packed size is half a byte a weight.
void packing(void **) {
    const int64_t N = 70, K = 19;
    std::vector<float> w = random_vec(static_cast<size_t>(N * K), 3);
    for (int64_t k = 0; k < K; k++) w[static_cast<size_t>(5 * K + k)] = 0.0f;  // row 5: zeros
    w[static_cast<size_t>(6 * K + 3)] = 40.0f;                                 // row 6: an outlier
    // Row 7 on the grid of its own scale: exact.
    for (int64_t k = 0; k < K; k++) w[static_cast<size_t>(7 * K + k)] = 0.5f * static_cast<float>(k % 15 - 7);
    const NibbleMatrix W = NibbleMatrix::from_f32(w.data(), N, K, K);
    assert_int_equal(W.rows(), N);
    assert_int_equal(W.cols(), K);
    assert_true(W.bytes() >= static_cast<size_t>(2 * 3 * 256));  // 2 groups x 3 steps x 256 bytes
    std::vector<int8_t> q(static_cast<size_t>(K));
    for (int64_t n = 0; n < N; n++) {
        W.unpack_row(n, q.data());
        assert_true(std::isfinite(W.scale()[n]) && W.scale()[n] > 0.0f);
        // Rounding moves a value by half a step; a scale shrunk below max / 7
        // also clips the largest values to 7 steps.
        float mx = 0.0f;
        for (int64_t k = 0; k < K; k++) mx = std::max(mx, std::fabs(w[static_cast<size_t>(n * K + k)]));
        const float bound = 0.5f * W.scale()[n] + std::max(0.0f, mx - 7.0f * W.scale()[n]) + 1e-6f;
        for (int64_t k = 0; k < K; k++) {
            const float back = W.scale()[n] * q[static_cast<size_t>(k)];
            const float orig = w[static_cast<size_t>(n * K + k)];
            if (n == 5) assert_true(back == 0.0f);
            if (n == 7) assert_true(std::fabs(back - orig) <= 1e-6f);
            assert_true(std::fabs(back - orig) <= bound);
        }
    }
    W.unpack_row(6, q.data());
    assert_int_equal(q[3], 7);  // the outlier keeps its sign and the top value
}

void errors(void **) {
    const std::vector<float> w = random_vec(64 * 8, 1);
    expect_error([&] { NibbleMatrix::from_f32(w.data(), 0, 8, 8); }, MOS_INVALID_ARGUMENT, "N, K > 0");
    expect_error([&] { NibbleMatrix::from_f32(w.data(), 8, 8, 4); }, MOS_INVALID_ARGUMENT, "ld >= K");
    expect_error([&] { NibbleMatrix::from_f32(nullptr, 8, 8, 8); }, MOS_INVALID_ARGUMENT, "NULL weights");
    const NibbleMatrix W = NibbleMatrix::from_f32(w.data(), 64, 8, 8);
    std::vector<float> x(8), y(64);
    mos::NibbleScratch s;
    expect_error([&] { mos::nibble_scores(y.data(), nullptr, W, s); }, MOS_INVALID_ARGUMENT, "input and output rows");
    expect_error([&] { mos::nibble_scores(y.data(), x.data(), NibbleMatrix(), s); }, MOS_INVALID_ARGUMENT,
                 "empty matrix");
    expect_error(
        [&] {
            std::vector<int8_t> q(8);
            W.unpack_row(64, q.data());
        },
        MOS_OUT_OF_RANGE, "row 64 outside");
    for (PackedIsa isa : kIsas)
        if (!mos::packed_isa_supported(isa))
            expect_error([&] { mos::nibble_scores_isa(isa, y.data(), x.data(), W, s); }, MOS_UNSUPPORTED,
                         "this CPU has no");
}

}  // namespace

int main() {
    const CMUnitTest tests[] = {
        cmocka_unit_test(scores),
        cmocka_unit_test(packing),
        cmocka_unit_test(errors),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
