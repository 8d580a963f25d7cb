// tests/kernels/test_layers.cpp: the vectorised element-wise kernels (linear bias
// and bias gradient, LayerNorm, ReLU, residual, dropout, cross-entropy and the
// teacher softmax) against their naive references at model widths, so that the
// 8-lane loops, their scalar tails and the column chunks of the gradient
// reductions all run (the finite-difference tests in tests/grad use widths below
// one vector), and the reductions are bit for bit the same for 1, 2 and 3 threads;
// and the Adam update against a double-precision loop of its formula.
// Widths: 256 and 192 (the `small` space), 1024, and odd ones (37, 203, 1003).
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "backend/gemm.hpp"
#include "core/error.hpp"
#include "kernels/activation.hpp"
#include "kernels/adam.hpp"
#include "kernels/cross_entropy.hpp"
#include "kernels/dropout.hpp"
#include "kernels/layernorm.hpp"
#include "kernels/linear.hpp"

#include <omp.h>

// cmocka last: it defines a fail() macro that would clash with mos::fail.
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
extern "C" {
#include <cmocka.h>
}

#include "../grad/gradcheck.hpp"

namespace {

using mos_test::uniform;

const int64_t kWidths[] = {256, 192, 1024, 37, 203};

// |got - want| <= tol * (1 + |want|) everywhere, with the worst index in the message.
void expect_close(const std::string &what, const float *got, const float *want, size_t n, double tol) {
    double worst = 0.0;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        const double e = std::fabs(static_cast<double>(got[i]) - want[i]) / (1.0 + std::fabs(want[i]));
        if (!(e <= worst)) {
            worst = e;
            at = i;
        }
    }
    if (!(worst <= tol)) {
        std::fprintf(stderr, "%s: index %zu got %.9g want %.9g (relative error %.3g > %.3g)\n", what.c_str(), at,
                     got[at], want[at], worst, tol);
        fail();
    }
}

void linear_bias_matches_reference(void **) {
    const int64_t N = 67;
    for (int64_t d_out : kWidths) {
        const int64_t d_in = 40, ld = 48;
        auto W = uniform(d_out * ld, 1), b = uniform(d_out, 2), x = uniform(N * d_in, 3), dy = uniform(N * d_out, 4);
        std::vector<float> y(N * d_out), yr(N * d_out);
        mos::linear_forward(y.data(), x.data(), W.data(), b.data(), N, d_in, d_out, ld);
        mos::ref::linear_forward(yr.data(), x.data(), W.data(), b.data(), N, d_in, d_out, ld);
        expect_close("linear y, d_out " + std::to_string(d_out), y.data(), yr.data(), y.size(), 1e-5);
        auto db = uniform(d_out, 5), dbr = db;  // accumulates onto what is there
        std::vector<float> dx(N * d_in), dxr(N * d_in), dW(d_out * ld), dWr(d_out * ld);
        mos::linear_backward(dx.data(), dW.data(), db.data(), dy.data(), x.data(), W.data(), N, d_in, d_out, ld);
        mos::ref::linear_backward(dxr.data(), dWr.data(), dbr.data(), dy.data(), x.data(), W.data(), N, d_in, d_out,
                                  ld);
        expect_close("linear db, d_out " + std::to_string(d_out), db.data(), dbr.data(), db.size(), 1e-5);
        // dx sums d_out products: f32 GEMM rounding grows with it (the GEMMs have their own tests).
        expect_close("linear dx, d_out " + std::to_string(d_out), dx.data(), dxr.data(), dx.size(), 1e-4);
        expect_close("linear dW, d_out " + std::to_string(d_out), dW.data(), dWr.data(), dW.size(), 1e-5);
    }
}

void layernorm_matches_reference(void **) {
    const int64_t N = 41;
    for (int64_t d : kWidths) {
        auto x = uniform(N * d, 11, -2.0f, 3.0f), g = uniform(d, 12, 0.5f, 1.5f), b = uniform(d, 13);
        auto dy = uniform(N * d, 14);
        std::vector<float> y(N * d), yr(N * d), mu(N), rs(N), mur(N), rsr(N);
        mos::layernorm_forward(y.data(), mu.data(), rs.data(), x.data(), g.data(), b.data(), N, d);
        mos::ref::layernorm_forward(yr.data(), mur.data(), rsr.data(), x.data(), g.data(), b.data(), N, d);
        const std::string w = ", d " + std::to_string(d);
        expect_close("layernorm y" + w, y.data(), yr.data(), y.size(), 1e-5);
        expect_close("layernorm mean" + w, mu.data(), mur.data(), N, 1e-5);
        expect_close("layernorm rstd" + w, rs.data(), rsr.data(), N, 1e-5);
        auto dx = uniform(N * d, 15), dxr = dx;  // dx accumulates
        auto dg = uniform(d, 16), dgr = dg, db = uniform(d, 17), dbr = db;
        mos::layernorm_backward(dx.data(), dg.data(), db.data(), dy.data(), x.data(), mu.data(), rs.data(), g.data(),
                                N, d);
        mos::ref::layernorm_backward(dxr.data(), dgr.data(), dbr.data(), dy.data(), x.data(), mu.data(), rs.data(),
                                     g.data(), N, d);
        expect_close("layernorm dx" + w, dx.data(), dxr.data(), dx.size(), 1e-5);
        expect_close("layernorm dgamma" + w, dg.data(), dgr.data(), dg.size(), 1e-5);
        expect_close("layernorm dbeta" + w, db.data(), dbr.data(), db.size(), 1e-5);
        // Only dbeta, only dgamma: the block kernel must honour NULL.
        auto dg2 = dgr, db2 = dbr;
        mos::layernorm_backward(nullptr, nullptr, db2.data(), dy.data(), x.data(), mu.data(), rs.data(), g.data(), N,
                                d);
        mos::layernorm_backward(nullptr, dg2.data(), nullptr, dy.data(), x.data(), mu.data(), rs.data(), g.data(), N,
                                d);
        mos::ref::layernorm_backward(nullptr, dgr.data(), dbr.data(), dy.data(), x.data(), mu.data(), rs.data(),
                                     g.data(), N, d);
        expect_close("layernorm dgamma alone" + w, dg2.data(), dgr.data(), d, 1e-5);
        expect_close("layernorm dbeta alone" + w, db2.data(), dbr.data(), d, 1e-5);
    }
}

// The bias and LayerNorm parameter gradients split their columns by the thread
// count; each column must still be summed in the same order.
void column_reductions_independent_of_threads(void **) {
    const int64_t N = 300;
    const int saved = omp_get_max_threads();
    for (int64_t d : kWidths) {
        auto dy = uniform(N * d, 31), x = uniform(N * d, 32, -2.0f, 3.0f), g = uniform(d, 33, 0.5f, 1.5f);
        std::vector<float> mu(N), rs(N), y(N * d);
        mos::layernorm_forward(y.data(), mu.data(), rs.data(), x.data(), g.data(), g.data(), N, d);
        std::vector<float> first;
        for (int t : {1, 2, 3}) {
            omp_set_num_threads(t);
            std::vector<float> out(3 * d, 0.0f);  // db, dgamma, dbeta
            mos::linear_backward(nullptr, nullptr, out.data(), dy.data(), nullptr, nullptr, N, 0, d, 0);
            mos::layernorm_backward(nullptr, out.data() + d, out.data() + 2 * d, dy.data(), x.data(), mu.data(),
                                    rs.data(), g.data(), N, d);
            if (first.empty()) first = out;
            if (std::memcmp(first.data(), out.data(), out.size() * sizeof(float)) != 0) {
                std::fprintf(stderr, "column reductions, d %lld: %d threads differ from 1 thread\n",
                             static_cast<long long>(d), t);
                omp_set_num_threads(saved);
                fail();
            }
        }
    }
    omp_set_num_threads(saved);
}

void relu_residual_match_reference(void **) {
    for (int64_t n : {int64_t(5000), int64_t(40000), int64_t(203)}) {  // 40000 > the parallel threshold
        auto x = uniform(n, 21), a = uniform(n, 22), dy = uniform(n, 23);
        x[0] = 0.0f;  // ReLU at exactly 0: output 0, no gradient
        std::vector<float> y(n), yr(n);
        mos::relu_forward(y.data(), x.data(), n);
        mos::ref::relu_forward(yr.data(), x.data(), n);
        expect_close("relu y", y.data(), yr.data(), n, 0.0);
        auto dx = uniform(n, 24), dxr = dx;
        mos::relu_backward(dx.data(), dy.data(), y.data(), n);
        mos::ref::relu_backward(dxr.data(), dy.data(), yr.data(), n);
        expect_close("relu dx", dx.data(), dxr.data(), n, 0.0);
        // In place, as the model calls it.
        auto z = x;
        mos::relu_forward(z.data(), z.data(), n);
        expect_close("relu in place", z.data(), yr.data(), n, 0.0);
        std::vector<float> s(n), sr(n);
        mos::residual_forward(s.data(), x.data(), a.data(), n);
        for (int64_t i = 0; i < n; i++) sr[i] = x[i] + a[i];
        expect_close("residual y", s.data(), sr.data(), n, 0.0);
        auto da = uniform(n, 25), db = uniform(n, 26), dar = da, dbr = db;
        mos::residual_backward(da.data(), db.data(), dy.data(), n);
        for (int64_t i = 0; i < n; i++) {
            dar[i] += dy[i];
            dbr[i] += dy[i];
        }
        expect_close("residual da", da.data(), dar.data(), n, 0.0);
        expect_close("residual db", db.data(), dbr.data(), n, 0.0);
    }
}

// The mask is a pure function of (key, index): the kernels must reproduce the
// reference bit for bit, and backward must use the same mask as forward.
void dropout_matches_reference(void **) {
    const mos::DropoutKey key{11, 5, 2};
    for (int64_t n : {int64_t(1000), int64_t(40003)})
        for (float p : {0.0f, 0.1f, 0.3f, 0.5f}) {
            auto x = uniform(n, 31), dy = uniform(n, 32);
            std::vector<float> y(n), yr(n);
            mos::dropout_forward(y.data(), x.data(), n, p, key);
            mos::ref::dropout_forward(yr.data(), x.data(), n, p, key);
            expect_close("dropout y", y.data(), yr.data(), n, 3e-7);
            auto dx = uniform(n, 33), dxr = dx;
            mos::dropout_backward(dx.data(), dy.data(), n, p, key);
            int64_t kept = 0;
            for (int64_t i = 0; i < n; i++) {
                const bool keep = mos::dropout_uniform(key, static_cast<uint64_t>(i)) >= p;
                if (keep) dxr[i] += dy[i] / (1.0f - p);
                kept += keep;
            }
            expect_close("dropout dx", dx.data(), dxr.data(), n, 1e-6);
            // The kept fraction is 1 - p within 5 standard deviations.
            const double sd = std::sqrt(p * (1.0 - p) / static_cast<double>(n));
            assert_true(std::fabs(static_cast<double>(kept) / n - (1.0 - p)) <= 5.0 * sd + 1e-12);
        }
}

// A teacher distribution for the soft cross-entropy: uniform rows.
std::vector<float> pr0(int64_t N, int64_t V) { return std::vector<float>(static_cast<size_t>(N * V), 1.0f / V); }

void cross_entropy_matches_reference(void **) {
    const int32_t pad = 1;
    for (int64_t V : {int64_t(8000), int64_t(1003), int64_t(37)}) {
        const int64_t N = 9;
        auto z = uniform(N * V, 41, -8.0f, 8.0f);
        z[3] = 60.0f;  // a dominant logit: exp underflows to the clamp for the rest of the row
        std::vector<int32_t> t(N);
        for (int64_t n = 0; n < N; n++) t[n] = n == 4 ? pad : static_cast<int32_t>((n * 7919) % V);
        std::vector<float> lse(N), rl(N), nll(N), lser(N);
        const auto got = mos::cross_entropy_forward(lse.data(), rl.data(), nll.data(), z.data(), t.data(), N, V, pad,
                                                    0.1f);
        const auto want = mos::ref::cross_entropy_forward(lser.data(), z.data(), t.data(), N, V, pad, 0.1f);
        const std::string w = ", V " + std::to_string(V);
        expect_close("cross-entropy lse" + w, lse.data(), lser.data(), N, 1e-6);
        assert_int_equal(got.tokens, want.tokens);
        assert_true(std::fabs(got.loss - want.loss) <= 1e-5 * (1.0 + std::fabs(want.loss)));
        assert_true(std::fabs(got.nll - want.nll) <= 1e-5 * (1.0 + std::fabs(want.nll)));
        auto dz = uniform(N * V, 42), dzr = dz;
        mos::cross_entropy_backward(dz.data(), lse.data(), z.data(), t.data(), N, V, pad, 0.1f, 0.5f);
        mos::ref::cross_entropy_backward(dzr.data(), z.data(), t.data(), N, V, pad, 0.1f, 0.5f);
        expect_close("cross-entropy dlogits" + w, dz.data(), dzr.data(), dz.size(), 1e-6);
        // The bf16 copy written alongside (accumulating and overwriting, pad rows
        // included) is bf16_convert of the f32 result, bit for bit.
        for (mos::GradMode mode : {mos::GradMode::Accumulate, mos::GradMode::Overwrite}) {
            auto d32 = uniform(N * V, 43), conv = d32;
            std::vector<uint16_t> d16(static_cast<size_t>(N * V), 0xffff), want16(d16.size());
            mos::cross_entropy_backward(d32.data(), lse.data(), z.data(), t.data(), N, V, pad, 0.1f, 0.5f, mode,
                                        d16.data());
            mos::cross_entropy_backward(conv.data(), lse.data(), z.data(), t.data(), N, V, pad, 0.1f, 0.5f, mode);
            assert_memory_equal(d32.data(), conv.data(), d32.size() * sizeof(float));
            mos::bf16_convert(want16.data(), conv.data(), 1, N, V, V, 0);
            assert_memory_equal(d16.data(), want16.data(), d16.size() * sizeof(uint16_t));
            std::vector<float> tp(pr0(N, V));
            auto s32 = uniform(N * V, 44), sconv = s32;
            mos::soft_cross_entropy_backward(s32.data(), lse.data(), z.data(), tp.data(), t.data(), N, V, pad, 0.5f,
                                             mode, d16.data());
            mos::soft_cross_entropy_backward(sconv.data(), lse.data(), z.data(), tp.data(), t.data(), N, V, pad, 0.5f,
                                             mode);
            assert_memory_equal(s32.data(), sconv.data(), s32.size() * sizeof(float));
            mos::bf16_convert(want16.data(), sconv.data(), 1, N, V, V, 0);
            assert_memory_equal(d16.data(), want16.data(), d16.size() * sizeof(uint16_t));
        }
        // The teacher softmax: rows sum to 1, pad rows are 0.
        std::vector<float> pr(N * V);
        mos::softmax_rows(pr.data(), z.data(), lse.data(), t.data(), N, V, pad);
        for (int64_t n = 0; n < N; n++) {
            double s = 0.0;
            for (int64_t v = 0; v < V; v++) s += pr[n * V + v];
            if (t[n] == pad)
                assert_true(s == 0.0);
            else
                assert_true(std::fabs(s - 1.0) < 1e-5);
        }
    }
}

// Adam against its formula in double (bias-corrected step, moments, clipping)
// over three steps, and the same bits for 1 and 3 threads.
void adam_matches_formula(void **) {
    const size_t n = 1003;
    const auto p0 = uniform(n, 31), g1 = uniform(n, 32), g2 = uniform(n, 33), g3 = uniform(n, 34, -5.0f, 5.0f);
    mos::AdamConfig cfg;
    cfg.clip_norm = 20.0f;  // the third gradient is clipped, the first two are not
    const float lr = 1e-2f;
    std::vector<double> p(p0.begin(), p0.end()), m(n, 0.0), v(n, 0.0);
    std::vector<float> pf[2] = {p0, p0}, mf[2] = {std::vector<float>(n), std::vector<float>(n)},
                       vf[2] = {std::vector<float>(n), std::vector<float>(n)};
    const std::vector<float> *grads[] = {&g1, &g2, &g3};
    for (int t = 1; t <= 3; t++) {
        const std::vector<float> &g = *grads[t - 1];
        double sq = 0.0;
        for (float x : g) sq += static_cast<double>(x) * x;
        const double norm = std::sqrt(sq);
        assert_true(std::fabs(mos::grad_norm(g.data(), n) - norm) <= 1e-12 * norm);
        const double scale = norm > cfg.clip_norm ? cfg.clip_norm / (norm + 1e-6) : 1.0;
        assert_true((t == 3) == (scale < 1.0));
        const double step = lr * std::sqrt(1.0 - std::pow(0.98, t)) / (1.0 - std::pow(0.9, t));
        for (size_t i = 0; i < n; i++) {
            const double gi = g[i] * scale;
            m[i] = 0.9 * m[i] + 0.1 * gi;
            v[i] = 0.98 * v[i] + 0.02 * gi * gi;
            p[i] -= step * m[i] / (std::sqrt(v[i]) + 1e-8);
        }
        for (int k = 0; k < 2; k++) {
            omp_set_num_threads(k == 0 ? 1 : 3);
            const double got = mos::adam_step(pf[k].data(), g.data(), mf[k].data(), vf[k].data(), n, t, lr, cfg);
            assert_true(std::fabs(got - norm) <= 1e-12 * norm);
        }
        assert_memory_equal(pf[0].data(), pf[1].data(), n * sizeof(float));
        std::vector<float> want(p.begin(), p.end());
        expect_close("adam step " + std::to_string(t), pf[0].data(), want.data(), n, 1e-5);
    }
    omp_set_num_threads(1);
    // adam_update with no clipping factor is the unclipped step (whose one-pass
    // loop also sums the norm), on any thread count.
    for (int threads : {1, 3}) {
        omp_set_num_threads(threads);
        std::vector<float> a = p0, am(n), av(n), b = p0, bm(n), bv(n);
        mos::AdamConfig plain;
        mos::adam_update(a.data(), g1.data(), am.data(), av.data(), n, 1, lr, plain);
        const double pn = mos::adam_step(b.data(), g1.data(), bm.data(), bv.data(), n, 1, lr, plain);
        assert_memory_equal(a.data(), b.data(), n * sizeof(float));
        assert_memory_equal(am.data(), bm.data(), n * sizeof(float));
        assert_memory_equal(av.data(), bv.data(), n * sizeof(float));
        const double norm = mos::grad_norm(g1.data(), n);
        assert_true(std::fabs(pn - norm) <= 1e-12 * norm);
    }
    omp_set_num_threads(1);
    std::vector<float> a = p0, am(n), av(n);
    mos::AdamConfig plain;
    try {
        mos::adam_update(a.data(), g1.data(), am.data(), av.data(), n, 0, lr, plain);
        fail_msg("step 0 accepted");
    } catch (const mos::Error &e) {
        assert_int_equal(e.status(), MOS_INVALID_ARGUMENT);
    }
}

}  // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(linear_bias_matches_reference), cmocka_unit_test(layernorm_matches_reference),
        cmocka_unit_test(column_reductions_independent_of_threads), cmocka_unit_test(relu_residual_match_reference), cmocka_unit_test(dropout_matches_reference),
        cmocka_unit_test(cross_entropy_matches_reference), cmocka_unit_test(adam_matches_formula),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
