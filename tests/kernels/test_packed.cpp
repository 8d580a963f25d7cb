// tests/kernels/test_packed.cpp: the packed-weight products of the decoding
// engine (lib/kernels/packed.hpp) in f32, bf16 (both kernels) and int8, on
// every kernel ISA this CPU runs, against a double-precision reference computed from the same
// rounded or quantised operands: odd shapes (N and K not multiples of the
// group), a K prefix (the tied output projection), every epilogue (bias, ReLU,
// residual, in place), the tile mode and its column ranges, guard floats after
// every output. Also: the bf16 widen kernel bit for bit against the f32 kernel,
// the per-process choice between the bf16 kernels, packing round trips, the quantisation of activations
// (identical on every ISA), and argument errors.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/cpu.hpp"
#include "core/error.hpp"
#include "kernels/packed.hpp"

// cmocka last: it defines a fail() macro that would clash with mos::fail.
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
extern "C" {
#include <cmocka.h>
}

namespace {

using mos::PackedIsa;
using mos::PackedMatrix;
using mos::Precision;

constexpr int64_t kGuard = 16;
constexpr float kGuardValue = -7.25e33f;

std::vector<float> random_vec(size_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
    std::mt19937 g(seed);
    std::uniform_real_distribution<float> d(lo, hi);
    std::vector<float> v(n);
    for (float &x : v) x = d(g);
    return v;
}

const PackedIsa kAllIsas[] = {PackedIsa::Scalar, PackedIsa::Avx2, PackedIsa::Avx512, PackedIsa::Avx512Bf16,
                              PackedIsa::Avx512Vnni};

// The ISAs whose kernels serve precision p on this CPU.
std::vector<PackedIsa> isas_for(Precision p) {
    std::vector<PackedIsa> r;
    for (PackedIsa i : kAllIsas) {
        if (!mos::packed_isa_supported(i)) continue;
        if (i == PackedIsa::Avx512Bf16 && p != Precision::BF16) continue;
        if (i == PackedIsa::Avx512Vnni && p != Precision::I8) continue;
        r.push_back(i);
    }
    return r;
}

struct Case {
    int64_t M, N, K, Kuse;
    bool bias, relu, residual, in_place;
};

// y = epilogue(x W^T) in double from W as packed (unpacked back) and x as the
// kernel of `isa` sees it (bf16-rounded for the dot and amx kernels, f32 for
// widen, or quantised and dequantised).
std::vector<double> reference(const Case &c, const PackedMatrix &W, const std::vector<float> &x,
                              const std::vector<float> &b, const std::vector<float> &res, PackedIsa isa,
                              mos::Bf16Kernel bk, std::vector<double> *mag) {
    std::vector<float> w(static_cast<size_t>(c.N * c.K));
    W.unpack_f32(w.data());
    std::vector<float> xs = x;  // [M, K] as the kernel reads it (first Kuse columns)
    if (W.precision() == Precision::BF16 && bk != mos::Bf16Kernel::Widen)
        for (float &v : xs) v = mos::widen_bf16(mos::round_to_bf16(v));
    if (W.precision() == Precision::I8) {
        const int qmax = mos::int8_activation_max(isa);
        const int64_t Kp = (c.Kuse + 3) / 4 * 4;
        std::vector<uint8_t> u(static_cast<size_t>(c.M * Kp));
        std::vector<float> s(c.M);
        std::vector<int32_t> z(c.M);
        mos::quantize_rows_u8(u.data(), s.data(), z.data(), x.data(), c.K, c.M, c.Kuse, Kp, qmax);
        for (int64_t m = 0; m < c.M; m++)
            for (int64_t k = 0; k < c.Kuse; k++)
                xs[m * c.K + k] = s[m] * static_cast<float>(static_cast<int32_t>(u[m * Kp + k]) - z[m]);
    }
    std::vector<double> y(static_cast<size_t>(c.M * c.N));
    mag->assign(y.size(), 0.0);
    for (int64_t m = 0; m < c.M; m++)
        for (int64_t n = 0; n < c.N; n++) {
            double acc = 0.0, a = 0.0;
            for (int64_t k = 0; k < c.Kuse; k++) {
                acc += static_cast<double>(xs[m * c.K + k]) * w[n * c.K + k];
                a += std::fabs(static_cast<double>(xs[m * c.K + k]) * w[n * c.K + k]);
            }
            if (c.bias) acc += b[n];
            if (c.relu) acc = acc > 0.0 ? acc : 0.0;
            if (c.residual) acc += res[m * c.N + n];
            y[m * c.N + n] = acc;
            (*mag)[m * c.N + n] = a + 1.0;
        }
    return y;
}

// The bf16 kernels of `isa` (the VNNI set has none; every other set has dot and
// widen; the avx512_bf16 set also amx where this CPU and OS give AMX tiles).
std::vector<mos::Bf16Kernel> bf16_kernels_of(PackedIsa isa) {
    if (isa == PackedIsa::Avx512Vnni) return {};
    if (isa == PackedIsa::Avx512Bf16 && mos::amx_ready())
        return {mos::Bf16Kernel::Dot, mos::Bf16Kernel::Widen, mos::Bf16Kernel::Amx};
    return {mos::Bf16Kernel::Dot, mos::Bf16Kernel::Widen};
}

void run_case_with(const Case &c, Precision p, uint32_t seed, PackedIsa isa, mos::Bf16Kernel bk) {
    const std::vector<float> wf = random_vec(static_cast<size_t>(c.N * c.K), seed);
    const std::vector<float> x = random_vec(static_cast<size_t>(c.M * c.K), seed + 1, -2.0f, 3.0f);
    const std::vector<float> b = random_vec(static_cast<size_t>(c.N), seed + 2);
    const std::vector<float> res = random_vec(static_cast<size_t>(c.M * c.N), seed + 3);
    const PackedMatrix W = PackedMatrix::from_f32(wf.data(), c.N, c.K, c.K, p);
    const std::vector<int32_t> cs = p == Precision::I8 ? W.colsum_prefix(c.Kuse) : std::vector<int32_t>();
    {
        std::vector<double> mag;
        const std::vector<double> want = reference(c, W, x, b, res, isa, bk, &mag);
        std::vector<float> y(static_cast<size_t>(c.M * c.N) + kGuard, kGuardValue);
        if (c.in_place) std::memcpy(y.data(), res.data(), res.size() * sizeof(float));
        mos::PackedEpilogue e;
        e.bias = c.bias ? b.data() : nullptr;
        e.relu = c.relu;
        e.residual = c.residual ? (c.in_place ? y.data() : res.data()) : nullptr;
        e.ldr = c.N;
        mos::PackedScratch s;
        mos::packed_linear_isa(isa, y.data(), c.N, x.data(), c.K, c.M, W, c.Kuse, e, s,
                               p == Precision::I8 ? cs.data() : nullptr, bk);
        for (int64_t i = 0; i < kGuard; i++)
            if (y[c.M * c.N + i] != kGuardValue) fail_msg("%s: guard float %lld overwritten", mos::packed_isa_name(isa), (long long)i);
        const double rtol = p == Precision::F32 ? 2e-6 : 1e-5;
        for (int64_t i = 0; i < c.M * c.N; i++)
            if (!(std::fabs(y[i] - want[i]) <= rtol * mag[i]))
                fail_msg("%s%s%s %s M=%lld N=%lld K=%lld/%lld: y[%lld] = %.8g, reference %.8g", mos::precision_name(p),
                         p == Precision::BF16 ? " " : "", p == Precision::BF16 ? mos::bf16_kernel_name(bk) : "",
                         mos::packed_isa_name(isa), (long long)c.M, (long long)c.N, (long long)c.Kuse, (long long)c.K,
                         (long long)i, y[i], want[i]);
    }
}

// Every ISA serving p, and for bf16 each of its kernels.
void run_case(const Case &c, Precision p, uint32_t seed) {
    for (PackedIsa isa : isas_for(p)) {
        if (p != Precision::BF16) {
            run_case_with(c, p, seed, isa, mos::Bf16Kernel::Dot);
            continue;
        }
        for (mos::Bf16Kernel bk : bf16_kernels_of(isa)) run_case_with(c, p, seed, isa, bk);
    }
}

void products(void **) {
    const Case cases[] = {
        {1, 64, 16, 16, false, false, false, false},   {5, 256, 256, 256, true, false, false, false},
        {5, 70, 17, 17, true, true, false, false},     {7, 130, 33, 33, true, false, true, false},
        {13, 200, 64, 64, false, true, true, true},    {3, 1000, 100, 96, false, false, false, false},
        {6, 96, 257, 130, true, false, false, false},  {2, 1, 1, 1, true, false, false, false},
        {12, 64, 1024, 1024, true, true, false, false}, {31, 192, 80, 80, true, false, true, true},
    };
    uint32_t seed = 10;
    for (const Case &c : cases)
        for (Precision p : {Precision::F32, Precision::BF16, Precision::I8}) run_case(c, p, seed++);
}

// The bf16 kernels at the decoder's row counts (one sentence, a beam of 5, a
// batch, a batch of beams) with odd N and K and a K prefix, on every ISA; and
// the widen kernel equal, bit for bit, to the f32 kernel of the same ISA on the
// widened weights (same FMAs in the same order).
void bf16_kernels(void **) {
    const Case cases[] = {
        {1, 131, 77, 77, true, false, false, false},   {5, 200, 129, 129, true, true, false, false},
        {32, 70, 33, 31, false, false, true, false},   {160, 130, 65, 65, true, false, true, true},
        {5, 1000, 512, 511, true, false, false, false}, {32, 67, 256, 256, false, true, false, false},
        // Whole AMX tiles (K a multiple of 32) with a partial block of rows, a K prefix, in place.
        {13, 130, 64, 64, true, true, true, true},     {37, 200, 512, 480, true, false, true, false},
    };
    uint32_t seed = 100;
    for (const Case &c : cases) run_case(c, Precision::BF16, seed++);
    for (const Case &c : cases) {
        const std::vector<float> wf = random_vec(static_cast<size_t>(c.N * c.K), seed);
        const std::vector<float> x = random_vec(static_cast<size_t>(c.M * c.K), seed + 1, -2.0f, 3.0f);
        const std::vector<float> b = random_vec(static_cast<size_t>(c.N), seed + 2);
        seed += 3;
        const PackedMatrix Wb = PackedMatrix::from_f32(wf.data(), c.N, c.K, c.K, Precision::BF16);
        std::vector<float> widened(wf.size());
        Wb.unpack_f32(widened.data());
        const PackedMatrix Wf = PackedMatrix::from_f32(widened.data(), c.N, c.K, c.K, Precision::F32);
        mos::PackedEpilogue e;
        e.bias = c.bias ? b.data() : nullptr;
        e.relu = c.relu;
        for (PackedIsa isa : isas_for(Precision::F32)) {
            std::vector<float> yb(static_cast<size_t>(c.M * c.N)), yf(yb.size());
            mos::PackedScratch s;
            mos::packed_linear_isa(isa, yb.data(), c.N, x.data(), c.K, c.M, Wb, c.Kuse, e, s, nullptr,
                                   mos::Bf16Kernel::Widen);
            mos::packed_linear_isa(isa, yf.data(), c.N, x.data(), c.K, c.M, Wf, c.Kuse, e, s);
            for (size_t i = 0; i < yb.size(); i++)
                if (yb[i] != yf[i])
                    fail_msg("%s widen M=%lld K=%lld: y[%zu] = %.9g, f32 kernel %.9g", mos::packed_isa_name(isa),
                             (long long)c.M, (long long)c.Kuse, i, yb[i], yf[i]);
        }
    }
}

// The choice between the bf16 kernels: classes of rows, the override, the
// timing, and packed_linear following the process's choice.
void bf16_choice(void **) {
    assert_int_equal(mos::bf16_class(1), 0);
    assert_int_equal(mos::bf16_class(2), 0);
    assert_int_equal(mos::bf16_class(3), 1);
    assert_int_equal(mos::bf16_class(12), 1);
    assert_int_equal(mos::bf16_class(13), 2);
    assert_int_equal(mos::bf16_class(160), 2);
    for (int i = 0; i < mos::kBf16Classes; i++)
        assert_int_equal(mos::bf16_class(mos::kBf16ClassRows[i]), i);
    assert_string_equal(mos::bf16_kernel_name(mos::Bf16Kernel::Dot), "dot");
    assert_string_equal(mos::bf16_kernel_name(mos::Bf16Kernel::Widen), "widen");
    assert_int_equal(static_cast<int>(mos::parse_bf16_kernel("widen")), static_cast<int>(mos::Bf16Kernel::Widen));
    for (const char *k : {"dot", "widen"}) {
        const mos::Bf16Choice c = mos::decide_bf16(k, 512);
        assert_true(c.error.empty());
        assert_string_equal(c.how.c_str(), "MOS_BF16_KERNEL");
        for (mos::Bf16Kernel b : c.kernel) assert_string_equal(mos::bf16_kernel_name(b), k);
        assert_int_equal(c.K, 0);  // not timed
    }
    const mos::Bf16Choice bad = mos::decide_bf16("tiles", 512);
    assert_true(bad.error.find("'tiles'") != std::string::npos);
    assert_true(bad.error.find("dot|widen|amx") != std::string::npos);
    const mos::Bf16Choice amx = mos::decide_bf16("amx", 512);
    if (mos::amx_ready()) {
        assert_true(amx.error.empty());
        for (mos::Bf16Kernel b : amx.kernel) assert_int_equal(static_cast<int>(b), static_cast<int>(mos::Bf16Kernel::Amx));
    } else {
        assert_true(amx.error.find("no AMX tiles") != std::string::npos);
    }
    // Timing: with vdpbf16ps the fastest kernel per class (widen, then amx, by over 3%), from
    // positive rates; without it the widen kernel everywhere, untimed.
    const mos::Bf16Choice t = mos::time_bf16_kernels(257);
    if (mos::packed_isa_supported(PackedIsa::Avx512Bf16)) {
        assert_string_equal(t.how.c_str(), "timed");
        assert_int_equal(t.K, 288);
        assert_true(t.N >= 64 && t.N % 64 == 0);
        for (int i = 0; i < mos::kBf16Classes; i++) {
            assert_true(t.dot_gflops[i] > 0.0 && t.widen_gflops[i] > 0.0);
            assert_true(mos::amx_ready() ? t.amx_gflops[i] > 0.0 : t.amx_gflops[i] == 0.0);
            const bool dot_faster = t.widen_gflops[i] <= t.dot_gflops[i] * 1.03;
            mos::Bf16Kernel want = dot_faster ? mos::Bf16Kernel::Dot : mos::Bf16Kernel::Widen;
            if (t.amx_gflops[i] > std::max(t.dot_gflops[i], t.widen_gflops[i]) * 1.03) want = mos::Bf16Kernel::Amx;
            assert_int_equal(static_cast<int>(t.kernel[i]), static_cast<int>(want));
        }
        std::printf("# bf16 GFLOP/s at M 1/5/32: dot %.0f/%.0f/%.0f, widen %.0f/%.0f/%.0f, amx %.0f/%.0f/%.0f (%.1f ms)\n",
                    t.dot_gflops[0], t.dot_gflops[1], t.dot_gflops[2], t.widen_gflops[0], t.widen_gflops[1],
                    t.widen_gflops[2], t.amx_gflops[0], t.amx_gflops[1], t.amx_gflops[2], t.ms);
    } else {
        assert_true(t.how.find("avx512_bf16") != std::string::npos);
        for (mos::Bf16Kernel b : t.kernel)
            assert_int_equal(static_cast<int>(b), static_cast<int>(mos::Bf16Kernel::Widen));
    }
    // packed_linear runs the process's choice for each M, on the CPU's ISA.
    const int64_t N = 130, K = 97;
    const std::vector<float> wf = random_vec(static_cast<size_t>(N * K), 41);
    const PackedMatrix W = PackedMatrix::from_f32(wf.data(), N, K, K, Precision::BF16);
    for (int64_t M : {int64_t(1), int64_t(5), int64_t(32)}) {
        const std::vector<float> x = random_vec(static_cast<size_t>(M * K), 42);
        std::vector<float> ya(static_cast<size_t>(M * N)), yb(ya.size());
        mos::PackedScratch s;
        mos::packed_linear(ya.data(), N, x.data(), K, M, W, K, mos::PackedEpilogue(), s);
        mos::packed_linear_isa(mos::packed_isa_for(Precision::BF16), yb.data(), N, x.data(), K, M, W, K,
                               mos::PackedEpilogue(), s, nullptr, mos::bf16_kernel_for(M, K));
        assert_memory_equal(ya.data(), yb.data(), ya.size() * sizeof(float));
    }
    const std::string report = mos::bf16_kernel_report();
    assert_true(report.find("rows 1-2 ") != std::string::npos);
    assert_true(report.find(mos::bf16_choice(K).how) != std::string::npos);
}

// Collects tiles into a full matrix, checking their order and bounds.
struct Collect : mos::PackedTileSink {
    std::vector<float> y;
    int64_t M = 0, N = 0, next = 0;
    int bad = 0;
    void tile(int64_t n0, int64_t n1, const float *t, int64_t ld) override {
        if (n0 != next || n1 <= n0 || n1 > N) bad++;
        next = n1;
        for (int64_t m = 0; m < M; m++)
            for (int64_t n = n0; n < n1; n++) y[m * N + n] = t[m * ld + n - n0];
    }
};

void tiles(void **) {
    for (Precision p : {Precision::F32, Precision::BF16, Precision::I8}) {
        const int64_t M = 5, N = 1000, K = 96, Kuse = 64;
        const std::vector<float> wf = random_vec(static_cast<size_t>(N * K), 3);
        const std::vector<float> x = random_vec(static_cast<size_t>(M * K), 4);
        const std::vector<float> b = random_vec(static_cast<size_t>(N), 5);
        const PackedMatrix W = PackedMatrix::from_f32(wf.data(), N, K, K, p);
        const std::vector<int32_t> cs = p == Precision::I8 ? W.colsum_prefix(Kuse) : std::vector<int32_t>();
        std::vector<float> full(static_cast<size_t>(M * N));
        mos::PackedEpilogue e;
        e.bias = b.data();
        mos::PackedScratch s;
        mos::packed_linear(full.data(), N, x.data(), K, M, W, Kuse, e, s, cs.empty() ? nullptr : cs.data());
        // Two column ranges, as two threads would take them; blocks of 128.
        Collect col;
        col.M = M;
        col.N = N;
        col.y.assign(full.size(), NAN);
        std::vector<float> buf(static_cast<size_t>(M * 128));
        mos::packed_linear_tiles(col, buf.data(), 128, x.data(), K, M, W, Kuse, b.data(), s,
                                 cs.empty() ? nullptr : cs.data(), 0, 448);
        mos::packed_linear_tiles(col, buf.data(), 128, x.data(), K, M, W, Kuse, b.data(), s,
                                 cs.empty() ? nullptr : cs.data(), 448, N);
        assert_int_equal(col.bad, 0);
        assert_int_equal(col.next, N);
        for (size_t i = 0; i < full.size(); i++)
            if (col.y[i] != full[i]) fail_msg("%s tile value %zu: %g vs %g", mos::precision_name(p), i, col.y[i], full[i]);
    }
}

void packing(void **) {
    const int64_t N = 70, K = 13;
    const std::vector<float> wf = random_vec(static_cast<size_t>(N * K), 7, -3.0f, 3.0f);
    // f32 round trip is exact.
    const PackedMatrix F = PackedMatrix::from_f32(wf.data(), N, K, K, Precision::F32);
    std::vector<float> back(wf.size());
    F.unpack_f32(back.data());
    assert_memory_equal(back.data(), wf.data(), wf.size() * sizeof(float));
    assert_int_equal(F.groups(), 2);
    assert_int_equal(F.k_padded(), 13);
    // bf16: rounding to nearest even, and bf16 bits survive from_bf16 -> unpack.
    const PackedMatrix B = PackedMatrix::from_f32(wf.data(), N, K, K, Precision::BF16);
    std::vector<uint16_t> bits(wf.size());
    B.unpack_bf16(bits.data());
    for (size_t i = 0; i < wf.size(); i++) {
        assert_int_equal(bits[i], mos::round_to_bf16(wf[i]));
        assert_true(std::fabs(mos::widen_bf16(bits[i]) - wf[i]) <= std::fabs(wf[i]) * (1.0f / 256.0f));
    }
    const PackedMatrix B2 = PackedMatrix::from_bf16(bits.data(), N, K, K);
    std::vector<uint16_t> bits2(wf.size());
    B2.unpack_bf16(bits2.data());
    assert_memory_equal(bits2.data(), bits.data(), bits.size() * 2);
    assert_int_equal(B.k_padded(), 14);
    // int8: |q| <= 127, the largest entry of a row maps to +-127, dequantised
    // values within half a step, and from_i8 keeps values and scales.
    const PackedMatrix Q = PackedMatrix::from_f32(wf.data(), N, K, K, Precision::I8);
    std::vector<int8_t> q(wf.size());
    std::vector<float> sc(N);
    Q.unpack_i8(q.data(), sc.data());
    for (int64_t n = 0; n < N; n++) {
        int amax = 0;
        for (int64_t k = 0; k < K; k++) {
            amax = std::max(amax, std::abs(static_cast<int>(q[n * K + k])));
            assert_true(std::fabs(q[n * K + k] * sc[n] - wf[n * K + k]) <= 0.5f * sc[n] * 1.0001f);
        }
        assert_int_equal(amax, 127);
    }
    const PackedMatrix Q2 = PackedMatrix::from_i8(q.data(), sc.data(), N, K, K);
    std::vector<int8_t> q2(wf.size());
    std::vector<float> sc2(N);
    Q2.unpack_i8(q2.data(), sc2.data());
    assert_memory_equal(q2.data(), q.data(), q.size());
    assert_memory_equal(sc2.data(), sc.data(), sc.size() * sizeof(float));
    assert_int_equal(Q.k_padded(), 16);
    {
        // Resident size: int8 about a quarter of f32, bf16 half, for model-sized matrices.
        const std::vector<float> big = random_vec(256 * 256, 8);
        const size_t f = PackedMatrix::from_f32(big.data(), 256, 256, 256, Precision::F32).bytes();
        assert_true(PackedMatrix::from_f32(big.data(), 256, 256, 256, Precision::I8).bytes() * 100 <= f * 26);
        assert_true(PackedMatrix::from_f32(big.data(), 256, 256, 256, Precision::BF16).bytes() * 2 == f);
    }
    // NaN stays NaN in bf16; ties round to even.
    assert_true(std::isnan(mos::widen_bf16(mos::round_to_bf16(NAN))));
    assert_int_equal(mos::round_to_bf16(mos::widen_bf16(0x3f80) + 0x1p-8f), 0x3f80);         // tie, even below
    assert_int_equal(mos::round_to_bf16(mos::widen_bf16(0x3f81) + 0x1p-8f), 0x3f82);         // tie, even above
}

// Every ISA quantises activations exactly like the reference (same bytes,
// scales and zero points), including rows of one sign and all-zero rows.
void quantisation(void **) {
    const int64_t M = 5, K = 37, Kp = 40;
    std::vector<float> x = random_vec(static_cast<size_t>(M * K), 9, -4.0f, 2.0f);
    for (int64_t k = 0; k < K; k++) {
        x[1 * K + k] = std::fabs(x[1 * K + k]);  // non-negative (after ReLU)
        x[2 * K + k] = 0.0f;                     // all zero
        x[3 * K + k] = -std::fabs(x[3 * K + k]);
    }
    for (int qmax : {127, 255}) {
        std::vector<uint8_t> u(M * Kp, 0xAA);
        std::vector<float> s(M);
        std::vector<int32_t> z(M);
        mos::quantize_rows_u8(u.data(), s.data(), z.data(), x.data(), K, M, K, Kp, qmax);
        for (int64_t m = 0; m < M; m++) {
            for (int64_t k = 0; k < K; k++) {
                assert_true(u[m * Kp + k] <= qmax);
                const float back = s[m] * static_cast<float>(static_cast<int32_t>(u[m * Kp + k]) - z[m]);
                assert_true(std::fabs(back - x[m * K + k]) <= 0.5001f * s[m]);
            }
            for (int64_t k = K; k < Kp; k++) assert_int_equal(u[m * Kp + k], 0);
        }
        assert_int_equal(z[1], 0);      // lo = 0
        assert_int_equal(z[3], qmax);   // hi = 0
        assert_int_equal(u[2 * Kp], 0); // zero row
    }
    // Through the products: an int8 product on a quantisation-exact input equals
    // the integer arithmetic exactly on every ISA.
    for (PackedIsa isa : isas_for(Precision::I8)) {
        const int qmax = mos::int8_activation_max(isa);
        std::vector<float> xi(static_cast<size_t>(K));
        for (int64_t k = 0; k < K; k++) xi[k] = static_cast<float>(k % (qmax + 1));  // scale 1, zero 0 when max = qmax
        xi[0] = static_cast<float>(qmax);
        std::vector<int8_t> wq(static_cast<size_t>(3 * K));
        for (size_t i = 0; i < wq.size(); i++) wq[i] = static_cast<int8_t>(static_cast<int>(i * 37 % 255) - 127);
        const float one[3] = {1.0f, 1.0f, 1.0f};
        const PackedMatrix W = PackedMatrix::from_i8(wq.data(), one, 3, K, K);
        float y[3];
        mos::PackedScratch sc;
        mos::packed_linear_isa(isa, y, 3, xi.data(), K, 1, W, K, mos::PackedEpilogue(), sc);
        for (int64_t n = 0; n < 3; n++) {
            int64_t want = 0;
            for (int64_t k = 0; k < K; k++) want += static_cast<int64_t>(xi[k]) * wq[n * K + k];
            if (y[n] != static_cast<float>(want)) fail_msg("%s: %g vs %lld", mos::packed_isa_name(isa), y[n], (long long)want);
        }
    }
}

template <class F>
void expect_error(mos_status want, F fn) {
    bool threw = false;
    try {
        fn();
    } catch (const mos::Error &e) {
        threw = e.status() == want;
        if (!threw) fail_msg("status %d: %s", (int)e.status(), e.what());
    }
    assert_true(threw);
}

void errors(void **) {
    const std::vector<float> w = random_vec(64 * 8, 1);
    const PackedMatrix W = PackedMatrix::from_f32(w.data(), 64, 8, 8, Precision::F32);
    const PackedMatrix Wb = PackedMatrix::from_f32(w.data(), 64, 8, 8, Precision::BF16);
    std::vector<float> x(16), y(128);
    mos::PackedScratch s;
    const mos::PackedEpilogue e;
    expect_error(MOS_INVALID_ARGUMENT, [&] { mos::packed_linear(y.data(), 64, x.data(), 8, 1, W, 9, e, s); });
    expect_error(MOS_INVALID_ARGUMENT, [&] { mos::packed_linear(y.data(), 64, x.data(), 4, 1, W, 8, e, s); });
    expect_error(MOS_INVALID_ARGUMENT, [&] { mos::packed_linear(y.data(), 32, x.data(), 8, 1, W, 8, e, s); });
    expect_error(MOS_INVALID_ARGUMENT, [&] { mos::packed_linear(nullptr, 64, x.data(), 8, 1, W, 8, e, s); });
    expect_error(MOS_INVALID_ARGUMENT, [&] { PackedMatrix::from_f32(w.data(), 0, 8, 8, Precision::F32); });
    expect_error(MOS_INVALID_ARGUMENT, [&] { PackedMatrix::from_f32(w.data(), 8, 8, 4, Precision::F32); });
    const int8_t bad[2] = {-128, 0};
    const float one = 1.0f;
    expect_error(MOS_INVALID_ARGUMENT, [&] { PackedMatrix::from_i8(bad, &one, 1, 2, 2); });
    expect_error(MOS_INVALID_ARGUMENT, [&] { mos::parse_precision("fp16"); });
    assert_int_equal(static_cast<int>(mos::parse_precision("bfloat16")), static_cast<int>(Precision::BF16));
    if (mos::packed_isa_supported(PackedIsa::Avx512Vnni))  // VNNI kernels serve int8 only
        expect_error(MOS_UNSUPPORTED,
                     [&] { mos::packed_linear_isa(PackedIsa::Avx512Vnni, y.data(), 64, x.data(), 8, 1, Wb, 8, e, s); });
    Collect col;
    col.M = 1;
    col.N = 64;
    col.y.resize(64);
    expect_error(MOS_INVALID_ARGUMENT, [&] {
        mos::packed_linear_tiles(col, y.data(), 48, x.data(), 8, 1, W, 8, nullptr, s, nullptr, 0, 64);
    });
    expect_error(MOS_INVALID_ARGUMENT, [&] {
        mos::packed_linear_tiles(col, y.data(), 64, x.data(), 8, 1, W, 8, nullptr, s, nullptr, 0, 65);
    });
}

}  // namespace

int main() {
    const CMUnitTest tests[] = {
        cmocka_unit_test(products), cmocka_unit_test(bf16_kernels), cmocka_unit_test(bf16_choice),
        cmocka_unit_test(tiles),  cmocka_unit_test(packing),
        cmocka_unit_test(quantisation), cmocka_unit_test(errors),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
