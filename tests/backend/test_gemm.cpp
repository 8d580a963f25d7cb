// tests/backend/test_gemm.cpp: the oneDNN, OpenBLAS and auto GEMM backends (f32 and
// bf16) against the reference on every shape class the model issues.
//
// Shapes follow the model's use: linear forward x W[:d_out, :d_in]^T reading a
// slice of a super-size weight (ldb = D_in max), backward dx (NN), dW (TN,
// ldc = D_in max, beta = 1 accumulating), attention QK^T and PV batched over
// heads interleaved in the qkv width, decode (M = 1), odd sizes and general
// alpha/beta. C lives inside a larger buffer whose guard bytes (before, after
// and in the columns between N and ldc) must survive every call.
//
// Run modes (argv[1]): none = all tests; "--expect-backend NAME" checks that
// MOS_BACKEND selected NAME ("bogus" expects MOS_INVALID_ARGUMENT);
// "--expect-no-bf16" checks the f32 fallback (run under ONEDNN_MAX_CPU_ISA=AVX2);
// "--expect-openblas-excluded" checks auto's choices under OPENBLAS_CORETYPE=Prescott.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <cblas.h>
#include <omp.h>

#include "backend/gemm.hpp"
#include "backend/threads.hpp"
#include "core/cpu.hpp"
#include "core/error.hpp"

// cmocka last: it defines a fail() macro that would clash with mos::fail.
// Its 1.1 header has no extern "C" of its own.
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
extern "C" {
#include <cmocka.h>
}

namespace {

using mos::Backend;
using mos::Gemm;
using mos::GemmType;

struct Case {
    const char *name;
    Gemm g;
    int64_t batch = 1, sa = 0, sb = 0, sc = 0;
};

std::vector<Case> cases() {
    std::vector<Case> v;
    // Linear forward: y[T, d_out] = x[T, d_in] W[:d_out, :d_in]^T, W is [256, 256] max.
    v.push_back({"linear fwd slice", mos::make_gemm(false, true, 37, 130, 192, 192, 256, 130)});
    // Backward dx[T, d_in] = dy[T, d_out] W[:d_out, :d_in], written with ldc > N.
    v.push_back({"linear dx NN", mos::make_gemm(false, false, 37, 192, 130, 130, 256, 200)});
    // dW[:d_out, :d_in] += dy^T x accumulated into the super-size gradient.
    v.push_back({"linear dW TN beta=1", mos::make_gemm(true, false, 130, 192, 37, 130, 192, 256, 1.0f, 1.0f)});
    // Decode: one token.
    v.push_back({"decode M=1", mos::make_gemm(false, true, 1, 130, 192, 192, 256, 130)});
    v.push_back({"decode M=5", mos::make_gemm(false, true, 5, 96, 64, 64, 64, 96)});
    // Attention, 4 heads of 16 in a qkv width of 64, T = 9 queries, S = 11 keys:
    // scores[h] = scale * Q_h K_h^T, then O_h = P_h V_h into interleaved columns.
    {
        Case c{"attention QK^T batched", mos::make_gemm(false, true, 9, 11, 16, 64, 64, 11, 0.25f, 0.0f), 4, 16, 16, 99};
        v.push_back(c);
        Case d{"attention PV batched", mos::make_gemm(false, false, 9, 16, 11, 11, 64, 64), 4, 99, 16, 16};
        v.push_back(d);
        Case e{"attention dS^T Q batched", mos::make_gemm(true, false, 11, 16, 9, 11, 64, 64, 0.25f, 1.0f), 4, 99, 16, 16};
        v.push_back(e);
    }
    // Odd sizes, every transpose combination, general alpha/beta.
    for (int t = 0; t < 4; t++) {
        const bool ta = t & 1, tb = t & 2;
        v.push_back({"odd 1x1x1", mos::make_gemm(ta, tb, 1, 1, 1, 1, 1, 1, 2.0f, 0.0f)});
        v.push_back({"odd 3x5x7 alpha/beta", mos::make_gemm(ta, tb, 3, 5, 7, ta ? 3 + 2 : 7 + 1, tb ? 7 + 3 : 5 + 4, 6,
                                                  -0.5f, 1.5f)});
        v.push_back({"odd 65x97x301", mos::make_gemm(ta, tb, 65, 97, 301, ta ? 65 : 301, tb ? 301 : 97, 97, 1.25f, -0.75f)});
    }
    v.push_back({"K=0 beta", mos::make_gemm(false, false, 4, 5, 0, 1, 5, 5, 1.0f, 0.5f)});
    return v;
}

// Stored extent (floats) of an operand.
int64_t extent(int64_t rows, int64_t ld, int64_t batch, int64_t stride, int64_t cols) {
    if (rows == 0) return 1;
    return (batch - 1) * stride + (rows - 1) * ld + cols;
}

const float kGuard = -12345.0f;
const int64_t kPad = 16;

struct Buffers {
    std::vector<float> A, B, C;  // C includes kPad guards either side
    std::vector<char> is_out;    // which C entries are real outputs
};

Buffers make_buffers(const Case &c, uint64_t seed) {
    const Gemm &g = c.g;
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<float> d(-1.0f, 1.0f);
    Buffers b;
    const int64_t ar = g.trans_a ? g.K : g.M, ac = g.trans_a ? g.M : g.K;
    const int64_t br = g.trans_b ? g.N : g.K, bc = g.trans_b ? g.K : g.N;
    b.A.resize(extent(ar, g.lda, c.batch, c.sa, ac));
    b.B.resize(extent(br, g.ldb, c.batch, c.sb, bc));
    const int64_t cext = extent(g.M, g.ldc, c.batch, c.sc, g.N);
    b.C.assign(cext + 2 * kPad, kGuard);
    b.is_out.assign(cext + 2 * kPad, 0);
    for (auto &x : b.A) x = d(rng);
    for (auto &x : b.B) x = d(rng);
    for (int64_t p = 0; p < c.batch; p++)
        for (int64_t i = 0; i < g.M; i++)
            for (int64_t j = 0; j < g.N; j++) {
                const int64_t k = kPad + p * c.sc + i * g.ldc + j;
                b.C[k] = d(rng);
                b.is_out[k] = 1;
            }
    return b;
}

void run(Backend be, const Case &c, Buffers &b, GemmType type) {
    Gemm g = c.g;
    g.type = type;
    if (c.batch == 1)
        mos::gemm(be, g, b.A.data(), b.B.data(), b.C.data() + kPad);
    else
        mos::gemm_batched(be, g, c.batch, b.A.data(), c.sa, b.B.data(), c.sb, b.C.data() + kPad, c.sc);
}

float round_bf16(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    u += 0x7fffu + ((u >> 16) & 1u);
    u &= 0xffff0000u;
    std::memcpy(&f, &u, 4);
    return f;
}

// Compares `got` with the reference on the same inputs; the error bound scales
// with sum_k |a_ik b_kj| (computed by the reference on absolute values).
void compare(const char *what, const Case &c, const Buffers &in, const Buffers &got, double tol, bool bf16_inputs) {
    Buffers ref = in, mag = in;
    if (bf16_inputs) {
        for (auto &x : ref.A) x = round_bf16(x);
        for (auto &x : ref.B) x = round_bf16(x);
    }
    for (auto &x : mag.A) x = std::fabs(x);
    for (auto &x : mag.B) x = std::fabs(x);
    for (size_t i = 0; i < mag.C.size(); i++) mag.C[i] = mag.is_out[i] ? std::fabs(mag.C[i]) : mag.C[i];
    run(Backend::Reference, c, ref, GemmType::F32);
    Case cm = c;
    cm.g.alpha = std::fabs(c.g.alpha);
    cm.g.beta = std::fabs(c.g.beta);
    run(Backend::Reference, cm, mag, GemmType::F32);
    for (size_t i = 0; i < got.C.size(); i++) {
        if (!got.is_out[i]) {
            if (got.C[i] != kGuard) {
                std::fprintf(stderr, "%s %s: guard at %zu overwritten (%g)\n", what, c.name, i, got.C[i]);
                fail();
            }
            continue;
        }
        const double err = std::fabs(static_cast<double>(got.C[i]) - ref.C[i]);
        if (!(err <= tol * mag.C[i] + 1e-6)) {
            std::fprintf(stderr, "%s %s: C[%zu] = %.8g, reference %.8g (err %.3g, bound %.3g)\n", what, c.name, i,
                         got.C[i], ref.C[i], err, tol * mag.C[i] + 1e-6);
            fail();
        }
    }
}

void check_backend(Backend be, GemmType type) {
    uint64_t seed = 1;
    for (const Case &c : cases()) {
        Buffers in = make_buffers(c, seed++);
        Buffers got = in;
        run(be, c, got, type);
        // auto may run a bf16 batched class in f32 where that measured faster
        // (its choice is cached by the run above: asking times nothing).
        bool bf16 = type == GemmType::BF16 && mos::bf16_active(be);
        if (bf16 && be == Backend::Auto && c.batch > 1) {
            Gemm g = c.g;
            g.type = type;
            bf16 = mos::auto_batched_type(g, c.batch, in.A.data(), c.sa, in.B.data(), c.sb, in.C.data() + kPad,
                                          c.sc) == GemmType::BF16;
        }
        const std::string what = std::string(mos::backend_name(be)) + (type == GemmType::BF16 ? " bf16" : " f32");
        // f32: a few ulps of the magnitude sum. bf16 inputs: compared with the
        // reference on bf16-rounded inputs with the same f32 bound, and with the
        // exact reference within bf16 rounding (2 * 2^-9 relative per product).
        compare(what.c_str(), c, in, got, 1e-5, bf16);
        if (bf16) compare((what + " vs exact").c_str(), c, in, got, 4e-3, false);
    }
}

void test_onednn_f32(void **) { check_backend(Backend::OneDNN, GemmType::F32); }
void test_onednn_bf16(void **) { check_backend(Backend::OneDNN, GemmType::BF16); }
void test_openblas_f32(void **) { check_backend(Backend::OpenBLAS, GemmType::F32); }
void test_openblas_bf16(void **) { check_backend(Backend::OpenBLAS, GemmType::BF16); }
void test_auto_f32(void **) { check_backend(Backend::Auto, GemmType::F32); }
void test_auto_bf16(void **) { check_backend(Backend::Auto, GemmType::BF16); }

// Auto's choice. The core check: OpenBLAS is left out when its core runs
// kernels two or more vector ISA levels below the CPU (Prescott's SSE3 on an
// AVX2 or AVX-512 CPU), not for a core one level below. The per-class choice:
// made at the first product of a class (timed, into scratch: C unchanged but
// for the product itself), then kept for the class whatever the inputs, and
// reported; bf16 goes to oneDNN where it runs bf16.
void test_auto_rule(void **) {
    mos::CpuFeatures avx512, avx2;
    avx512.avx2 = avx512.avx512 = true;
    avx2.avx2 = true;
    assert_true(mos::openblas_core_generic("Prescott", avx512));
    assert_true(mos::openblas_core_generic("Prescott", avx2));
    assert_true(mos::openblas_core_generic("Nehalem", avx512));
    assert_true(mos::openblas_core_generic("none", avx2));
    assert_true(mos::openblas_core_generic("Sandybridge", avx512));
    assert_false(mos::openblas_core_generic("Sandybridge", avx2));
    assert_false(mos::openblas_core_generic("Haswell", avx512));
    assert_false(mos::openblas_core_generic("Zen", avx512));
    assert_false(mos::openblas_core_generic("SkylakeX", avx512));
    assert_false(mos::openblas_core_generic("Cooperlake", avx512));
    assert_false(mos::openblas_core_generic("SapphireRapids", avx512));

    mos::auto_forget();
    const Case c{"auto class", mos::make_gemm(false, true, 256, 256, 256, 256, 256, 256, 1.0f, 1.0f)};
    Buffers in = make_buffers(c, 11), once = in, ref = in;
    assert_int_equal(static_cast<int>(mos::auto_known(c.g, 1)),
                     static_cast<int>(mos::openblas_exclusion().empty() ? Backend::Auto : Backend::OneDNN));
    run(Backend::Auto, c, once, GemmType::F32);  // calibrates, then runs once (beta = 1: C accumulates once)
    const Backend chosen = mos::auto_known(c.g, 1);
    assert_true(chosen == Backend::OneDNN || chosen == Backend::OpenBLAS);
    run(chosen, c, ref, GemmType::F32);
    assert_memory_equal(once.C.data(), ref.C.data(), once.C.size() * sizeof(float));
    // Same class (sizes round up to the same powers of two): same choice, no new timing.
    const double spent = mos::auto_calibration_seconds();
    const Case near{"auto class near", mos::make_gemm(false, true, 200, 250, 130, 130, 130, 250)};
    Buffers n1 = make_buffers(near, 12);
    run(Backend::Auto, near, n1, GemmType::F32);
    assert_true(mos::auto_calibration_seconds() == spent);
    assert_int_equal(static_cast<int>(mos::auto_known(near.g, 1)), static_cast<int>(chosen));
    const std::string report = mos::auto_report();
    assert_true(report.rfind("gemm_auto=", 0) == 0);
    if (mos::openblas_exclusion().empty())
        assert_non_null(std::strstr(report.c_str(), "gemm_auto_class=NT f32 256x256x256"));
    Gemm b16 = c.g;
    b16.type = GemmType::BF16;
    if (mos::bf16_active(Backend::OneDNN))
        assert_int_equal(static_cast<int>(mos::auto_known(b16, 1)), static_cast<int>(Backend::OneDNN));
    mos::auto_forget();
    assert_int_equal(static_cast<int>(mos::auto_known(c.g, 1)),
                     static_cast<int>(mos::openblas_exclusion().empty() ? Backend::Auto : Backend::OneDNN));
    assert_int_equal(static_cast<int>(mos::parse_backend("auto")), static_cast<int>(Backend::Auto));
    assert_string_equal(mos::backend_name(Backend::Auto), "auto");
}

// Auto's precision of bf16 batched products: timed at a class's first product
// (into scratch: beta = 1 accumulates once), kept for the class, reported, and
// the product is the chosen precision's bit for bit; unbatched bf16 products
// and f32 products are never retyped.
void test_auto_bf16_batched(void **) {
    mos::auto_forget();
    Case c{"attention QK^T batched", mos::make_gemm(false, true, 9, 11, 16, 64, 64, 11, 0.25f, 1.0f), 4, 16, 16, 99};
    c.g.type = GemmType::BF16;
    Buffers in = make_buffers(c, 21), once = in, ref = in;
    run(Backend::Auto, c, once, GemmType::BF16);
    const double spent = mos::auto_calibration_seconds();
    const GemmType t = mos::auto_batched_type(c.g, c.batch, in.A.data(), c.sa, in.B.data(), c.sb,
                                              in.C.data() + kPad, c.sc);
    assert_true(mos::auto_calibration_seconds() == spent);  // cached: nothing timed
    if (!mos::bf16_active(Backend::Auto)) {
        assert_int_equal(static_cast<int>(t), static_cast<int>(GemmType::BF16));  // untouched: runs as f32
        run(Backend::Auto, c, ref, GemmType::F32);
    } else if (t == GemmType::BF16) {
        run(Backend::OneDNN, c, ref, GemmType::BF16);
    } else {
        Gemm f = c.g;
        f.type = GemmType::F32;
        run(mos::auto_known(f, c.batch), c, ref, GemmType::F32);
    }
    assert_memory_equal(once.C.data(), ref.C.data(), once.C.size() * sizeof(float));
    if (mos::bf16_active(Backend::Auto)) {
        const std::string report = mos::auto_report();
        assert_non_null(std::strstr(report.c_str(), "gemm_auto_class=NT bf16 9x11x16 batch 4"));
        assert_non_null(std::strstr(report.c_str(), "bf16 batched products in bf16 or f32"));
    }
    Gemm one = c.g, f32 = c.g;
    f32.type = GemmType::F32;
    assert_int_equal(static_cast<int>(mos::auto_batched_type(one, 1, in.A.data(), 0, in.B.data(), 0, in.C.data(), 0)),
                     static_cast<int>(GemmType::BF16));
    assert_int_equal(static_cast<int>(mos::auto_batched_type(f32, c.batch, in.A.data(), c.sa, in.B.data(), c.sb,
                                                             in.C.data() + kPad, c.sc)),
                     static_cast<int>(GemmType::F32));
    mos::auto_forget();
}

// bf16 really runs in bf16 where the CPU supports it (the error is bf16-sized),
// and the forced fallback is bit-identical to the f32 GEMM.
void test_bf16_fallback(void **) {
    const Case c{"fallback", mos::make_gemm(false, true, 64, 80, 200, 200, 256, 80)};
    Buffers in = make_buffers(c, 99);
    Buffers f32 = in, b16 = in, forced = in;
    run(Backend::OneDNN, c, f32, GemmType::F32);
    run(Backend::OneDNN, c, b16, GemmType::BF16);
    if (mos::cpu_features().bf16 && mos::bf16_active(Backend::OneDNN)) {
        assert_true(std::memcmp(f32.C.data(), b16.C.data(), f32.C.size() * sizeof(float)) != 0);
    }
    mos::set_bf16_disabled(true);
    assert_false(mos::bf16_active(Backend::OneDNN));
    run(Backend::OneDNN, c, forced, GemmType::BF16);
    mos::set_bf16_disabled(false);
    assert_memory_equal(f32.C.data(), forced.C.data(), f32.C.size() * sizeof(float));
    assert_false(mos::bf16_active(Backend::OpenBLAS));
    assert_false(mos::bf16_active(Backend::Reference));
}

// Repeated calls (cached primitives, reused bf16 scratch) give the same result.
void test_cache_repeat(void **) {
    const Case c{"repeat", mos::make_gemm(false, true, 33, 48, 70, 70, 80, 48)};
    for (GemmType t : {GemmType::F32, GemmType::BF16}) {
        Buffers in = make_buffers(c, 7), x = in, y = in;
        run(Backend::OneDNN, c, x, t);
        run(Backend::OneDNN, c, y, t);
        assert_memory_equal(x.C.data(), y.C.data(), x.C.size() * sizeof(float));
    }
}

// Operands converted beforehand (Bf16Operands, as a training step passes
// them) give the products the bits of the conversion inside the call, for
// every form and leading dimension, one operand or both pre-converted; where
// bf16 is not active the copies are ignored and the products are f32's.
void test_bf16_preconverted(void **) {
    for (const Case &c : cases()) {
        if (c.batch != 1 || c.g.K == 0) continue;
        const Gemm &g = c.g;
        const int64_t ar = g.trans_a ? g.K : g.M, ac = g.trans_a ? g.M : g.K;
        const int64_t br = g.trans_b ? g.N : g.K, bc = g.trans_b ? g.K : g.N;
        const Buffers in = make_buffers(c, 11);
        std::vector<uint16_t> a16(static_cast<size_t>(ar * ac)), b16(static_cast<size_t>(br * bc));
        mos::bf16_convert(a16.data(), in.A.data(), 1, ar, ac, g.lda, 0);
        mos::bf16_convert(b16.data(), in.B.data(), 1, br, bc, g.ldb, 0);
        Gemm t = g;
        t.type = GemmType::BF16;
        Buffers want = in;
        mos::gemm(t, want.A.data(), want.B.data(), want.C.data() + kPad);
        const mos::Bf16Operands pres[] = {{a16.data(), b16.data()}, {a16.data(), nullptr}, {nullptr, b16.data()}};
        for (const mos::Bf16Operands &pre : pres) {
            Buffers got = in;
            mos::gemm(t, got.A.data(), got.B.data(), got.C.data() + kPad, pre);
            if (std::memcmp(want.C.data(), got.C.data(), want.C.size() * sizeof(float)) != 0)
                std::fprintf(stderr, "%s: pre-converted operands change the product\n", c.name);
            assert_memory_equal(want.C.data(), got.C.data(), want.C.size() * sizeof(float));
        }
    }
}

// bf16_convert rounds to nearest even, keeps NaN a NaN, and splits large
// copies over threads (by elements, row pieces included) without changing a bit.
void test_bf16_convert(void **) {
    const int64_t rows = 7, cols = 50001, ld = 50003;  // 350K elements: split on 2+ threads
    std::vector<float> src(static_cast<size_t>(rows * ld));
    std::mt19937_64 rng(5);
    std::uniform_real_distribution<float> d(-3.0f, 3.0f);
    for (auto &x : src) x = d(rng);
    src[3] = std::nanf("");
    src[4] = 1.0f + 1.0f / 256.0f;                 // a tie: rounds to even (1.0)
    src[5] = 1.0f + 3.0f / 256.0f;                 // a tie: rounds to even (1 + 2^-6)
    std::vector<uint16_t> one(static_cast<size_t>(rows * cols)), two(one.size());
    mos::set_num_threads(1);
    mos::bf16_convert(one.data(), src.data(), 1, rows, cols, ld, 0);
    mos::set_num_threads(2);
    mos::bf16_convert(two.data(), src.data(), 1, rows, cols, ld, 0);
    assert_memory_equal(one.data(), two.data(), one.size() * sizeof(uint16_t));
    for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < cols; j++) {
            const float x = src[static_cast<size_t>(r * ld + j)];
            const uint16_t h = one[static_cast<size_t>(r * cols + j)];
            if (std::isnan(x)) {
                assert_true((h & 0x7f80u) == 0x7f80u && (h & 0x7fu) != 0);
                continue;
            }
            const float w = round_bf16(x);
            uint32_t u;
            std::memcpy(&u, &w, 4);
            assert_int_equal(h, u >> 16);
        }
    assert_int_equal(one[4], 0x3f80u);
    assert_int_equal(one[5], 0x3f82u);
}

template <typename F>
void expect_status(mos_status want, F f) {
    try {
        f();
    } catch (const mos::Error &e) {
        assert_int_equal(e.status(), want);
        assert_true(std::strlen(e.what()) > 0);
        return;
    }
    fail_msg("no mos::Error thrown");
}

void test_invalid(void **) {
    std::vector<float> a(64, 1.0f), b(64, 1.0f), c(64, 0.0f);
    for (Backend be : {Backend::Reference, Backend::OneDNN, Backend::OpenBLAS, Backend::Auto}) {
        Gemm g = mos::make_gemm(false, false, 4, 4, 4, 4, 4, 4);
        g.lda = 3;
        expect_status(MOS_INVALID_ARGUMENT, [&] { mos::gemm(be, g, a.data(), b.data(), c.data()); });
        g = mos::make_gemm(true, false, 4, 5, 3, 4, 5, 5);
        g.lda = 3;  // A^T is stored K x M: needs lda >= M = 4
        expect_status(MOS_INVALID_ARGUMENT, [&] { mos::gemm(be, g, a.data(), b.data(), c.data()); });
        g = mos::make_gemm(false, true, 4, 5, 3, 3, 2, 5);  // B^T stored N x K: ldb >= K = 3
        expect_status(MOS_INVALID_ARGUMENT, [&] { mos::gemm(be, g, a.data(), b.data(), c.data()); });
        g = mos::make_gemm(false, false, 4, 5, 3, 3, 5, 4);  // ldc < N
        expect_status(MOS_INVALID_ARGUMENT, [&] { mos::gemm(be, g, a.data(), b.data(), c.data()); });
        g = mos::make_gemm(false, false, -1, 4, 4, 4, 4, 4);
        expect_status(MOS_INVALID_ARGUMENT, [&] { mos::gemm(be, g, a.data(), b.data(), c.data()); });
        g = mos::make_gemm(false, false, 4, 4, 4, 4, 4, 4);
        expect_status(MOS_INVALID_ARGUMENT, [&] { mos::gemm(be, g, a.data(), b.data(), nullptr); });
        expect_status(MOS_INVALID_ARGUMENT, [&] { mos::gemm(be, g, nullptr, b.data(), c.data()); });
        expect_status(MOS_INVALID_ARGUMENT,
                      [&] { mos::gemm_batched(be, g, -1, a.data(), 0, b.data(), 0, c.data(), 16); });
        expect_status(MOS_INVALID_ARGUMENT,
                      [&] { mos::gemm_batched(be, g, 2, a.data(), -16, b.data(), 0, c.data(), 16); });
        g.type = static_cast<GemmType>(7);
        expect_status(MOS_INVALID_ARGUMENT, [&] { mos::gemm(be, g, a.data(), b.data(), c.data()); });
    }
    expect_status(MOS_INVALID_ARGUMENT, [] { mos::parse_backend("bogus"); });
    expect_status(MOS_INVALID_ARGUMENT, [] { mos::parse_backend(nullptr); });
    assert_int_equal(static_cast<int>(mos::parse_backend("openblas")), static_cast<int>(Backend::OpenBLAS));
    assert_string_equal(mos::backend_name(Backend::OneDNN), "onednn");
}

// The thread-count setter governs OpenMP (and so oneDNN and OpenBLAS).
void test_threads(void **) {
    const int before = mos::num_threads();
    mos::set_num_threads(1);
    assert_int_equal(mos::num_threads(), 1);
    mos::set_num_threads(0);
    assert_int_equal(mos::num_threads(), mos::max_threads());
    mos::set_num_threads(before);
}

// ThreadScope sets this thread's OpenMP and OpenBLAS counts and restores both;
// OpenBLAS's OpenMP build then follows the restored OpenMP count again; other
// threads are not affected; and GEMMs under a scope give the same results.
void test_thread_scope(void **) {
    mos::set_num_threads(2);
    std::mt19937_64 rng(7);
    std::uniform_real_distribution<float> d(-1.0f, 1.0f);
    std::vector<float> a(64 * 48), b(48 * 80);
    for (float &x : a) x = d(rng);
    for (float &x : b) x = d(rng);
    std::vector<float> c2(64 * 80), c1(64 * 80);
    const Gemm g = mos::make_gemm(false, false, 64, 80, 48, 48, 80, 80);
    mos::gemm(Backend::OneDNN, g, a.data(), b.data(), c2.data());
    {
        mos::ThreadScope one(1);
        assert_int_equal(omp_get_max_threads(), 1);
        assert_int_equal(openblas_get_num_threads(), 1);
        mos::gemm(Backend::OneDNN, g, a.data(), b.data(), c1.data());
        mos::gemm(Backend::OpenBLAS, g, a.data(), b.data(), c1.data());
        {
            mos::ThreadScope all(0);
            assert_int_equal(omp_get_max_threads(), mos::max_threads());
        }
        assert_int_equal(omp_get_max_threads(), 1);
        int other = 0;
        std::thread t([&] { other = omp_get_max_threads(); });
        t.join();
        assert_int_not_equal(other, 0);
    }
    assert_int_equal(omp_get_max_threads(), 2);
    assert_int_equal(openblas_get_num_threads(), 2);
    // A BLAS call after the scope runs with the restored count.
    mos::gemm(Backend::OpenBLAS, g, a.data(), b.data(), c1.data());
    assert_int_equal(openblas_get_num_threads(), 2);
    for (size_t i = 0; i < c1.size(); i++) assert_true(std::fabs(c1[i] - c2[i]) <= 1e-4f * (1.0f + std::fabs(c2[i])));
}

// OpenBLAS splits a batch of small products over the threads, each product on
// one thread: the same bits on 1 and on 2 threads.
void test_openblas_batch_split(void **) {
    const Case c{"heads", mos::make_gemm(false, true, 16, 16, 64, 64, 64, 16), 48, 16 * 64, 16 * 64, 16 * 16};
    Buffers in = make_buffers(c, 21), one = in, two = in;
    {
        mos::ThreadScope t(1);
        run(Backend::OpenBLAS, c, one, GemmType::F32);
    }
    {
        mos::ThreadScope t(2);
        run(Backend::OpenBLAS, c, two, GemmType::F32);
    }
    assert_memory_equal(one.C.data(), two.C.data(), one.C.size() * sizeof(float));
    compare("openblas batch split", c, in, two, 1e-5, false);
}

int expect_backend(const char *name) {
    try {
        Backend b = mos::default_backend();
        if (std::strcmp(mos::backend_name(b), name) != 0) {
            std::fprintf(stderr, "MOS_BACKEND selected %s, expected %s\n", mos::backend_name(b), name);
            return 1;
        }
        // And it computes: a 2x2 product through the default entry point.
        const float A[4] = {1, 2, 3, 4}, B[4] = {5, 6, 7, 8};
        float C[4] = {0, 0, 0, 0};
        mos::gemm(mos::make_gemm(false, false, 2, 2, 2, 2, 2, 2), A, B, C);
        const float want[4] = {19, 22, 43, 50};
        if (std::memcmp(C, want, sizeof C) != 0) return 1;
        std::printf("1..1\nok 1 - MOS_BACKEND=%s\n", name);
        return 0;
    } catch (const mos::Error &e) {
        if (std::strcmp(name, "bogus") == 0 && e.status() == MOS_INVALID_ARGUMENT) {
            std::printf("1..1\nok 1 - MOS_BACKEND=bogus rejected: %s\n", e.what());
            return 0;
        }
        std::fprintf(stderr, "unexpected error: %s\n", e.what());
        return 1;
    }
}

// Under ONEDNN_MAX_CPU_ISA=AVX2 oneDNN has no native bf16 matmul: bf16 GEMMs
// must silently run in f32 and match the f32 results bit for bit.
int expect_no_bf16() {
    if (mos::bf16_active(Backend::OneDNN)) {
        std::fprintf(stderr, "bf16 still active under the ISA limit\n");
        return 1;
    }
    const Case c{"isa fallback", mos::make_gemm(false, true, 40, 24, 50, 50, 64, 24)};
    Buffers in = make_buffers(c, 5), f = in, b = in;
    run(Backend::OneDNN, c, f, GemmType::F32);
    run(Backend::OneDNN, c, b, GemmType::BF16);
    if (std::memcmp(f.C.data(), b.C.data(), f.C.size() * sizeof(float)) != 0) return 1;
    std::printf("1..1\nok 1 - bf16 falls back to f32 without native bf16\n");
    return 0;
}

// Under OPENBLAS_CORETYPE=Prescott (OpenBLAS's SSE3 kernels, as Debian's
// 0.3.21 runs on Sapphire Rapids) auto must send none of the model's big f32
// products to OpenBLAS: a check of choices, not of timings.
int expect_openblas_excluded() {
    if (mos::openblas_core() != "Prescott") {
        std::fprintf(stderr, "OPENBLAS_CORETYPE=Prescott not in effect (core %s)\n", mos::openblas_core().c_str());
        return 1;
    }
    if (!mos::cpu_features().avx2) {
        // Prescott is no fallback on a CPU without AVX2: nothing to exclude.
        std::printf("1..0 # SKIP no AVX2: Prescott is not a generic fallback here\n");
        return 0;
    }
    if (mos::openblas_exclusion().empty()) {
        std::fprintf(stderr, "auto does not exclude OpenBLAS core Prescott\n");
        return 1;
    }
    // The training step's forms at the bench's sizes: x W^T, dy W, dy^T x, the vocabulary product.
    const Case cases[] = {
        {"fwd", mos::make_gemm(false, true, 512, 512, 256, 256, 256, 512)},
        {"dx", mos::make_gemm(false, false, 512, 256, 512, 512, 256, 256, 1.0f, 1.0f)},
        {"dw", mos::make_gemm(true, false, 512, 256, 512, 512, 256, 256, 1.0f, 1.0f)},
        {"vocab", mos::make_gemm(false, true, 512, 2048, 256, 256, 256, 2048)},
    };
    int k = 0;
    std::printf("1..%zu\n", std::size(cases));
    for (const Case &c : cases) {
        Buffers in = make_buffers(c, 3), got = in, ref = in;
        run(Backend::Auto, c, got, GemmType::F32);
        run(Backend::OneDNN, c, ref, GemmType::F32);
        const Backend b = mos::auto_known(c.g, 1);
        if (b != Backend::OneDNN || std::memcmp(got.C.data(), ref.C.data(), got.C.size() * sizeof(float)) != 0) {
            std::fprintf(stderr, "%s went to %s under Prescott\n", c.name, mos::backend_name(b));
            return 1;
        }
        std::printf("ok %d - %s: onednn\n", ++k, c.name);
    }
    if (mos::auto_calibration_seconds() != 0.0) {
        std::fprintf(stderr, "auto timed OpenBLAS although its core is excluded\n");
        return 1;
    }
    return 0;
}

}  // namespace

int main(int argc, char **argv) {
    if (argc == 3 && !std::strcmp(argv[1], "--expect-backend")) return expect_backend(argv[2]);
    if (argc == 2 && !std::strcmp(argv[1], "--expect-no-bf16")) return expect_no_bf16();
    if (argc == 2 && !std::strcmp(argv[1], "--expect-openblas-excluded")) return expect_openblas_excluded();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_onednn_f32),  cmocka_unit_test(test_onednn_bf16),  cmocka_unit_test(test_openblas_f32),
        cmocka_unit_test(test_openblas_bf16), cmocka_unit_test(test_auto_f32),   cmocka_unit_test(test_auto_bf16),
        cmocka_unit_test(test_auto_rule),   cmocka_unit_test(test_bf16_fallback), cmocka_unit_test(test_cache_repeat),
        cmocka_unit_test(test_invalid),     cmocka_unit_test(test_threads), cmocka_unit_test(test_thread_scope),
        cmocka_unit_test(test_openblas_batch_split), cmocka_unit_test(test_bf16_preconverted),
        cmocka_unit_test(test_auto_bf16_batched),
        cmocka_unit_test(test_bf16_convert),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
