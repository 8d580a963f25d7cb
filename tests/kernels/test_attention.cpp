// tests/kernels/test_attention.cpp: the optimised attention kernel against its naive
// reference (forward o and P, backward dq/dk/dv accumulated onto non-zero values)
// on every GEMM backend and several shapes, with guard floats after every output
// and scratch buffer that must survive; argument errors; a query row with no
// allowed key; causality (row t ignores keys and values after t); determinism of
// the dropout mask.
#include <cmath>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "backend/gemm.hpp"
#include "core/error.hpp"
#include "kernels/attention.hpp"

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

using mos::AttentionShape;
using mos_test::uniform;

constexpr int64_t kGuard = 16;
constexpr float kGuardValue = -7.25e33f;

// A buffer of n floats followed by kGuard guard floats.
struct Buf {
    std::vector<float> v;
    int64_t n;
    explicit Buf(int64_t n_, float fill = 0.0f) : v(n_ + kGuard, kGuardValue), n(n_) {
        for (int64_t i = 0; i < n; i++) v[i] = fill;
    }
    Buf(const std::vector<float> &init) : v(init), n(static_cast<int64_t>(init.size())) {
        v.resize(init.size() + kGuard, kGuardValue);
    }
    float *data() { return v.data(); }
    void check_guard(const char *what) const {
        for (int64_t i = n; i < n + kGuard; i++)
            if (v[i] != kGuardValue) fail_msg("%s: guard float %lld after the buffer overwritten", what, (long long)(i - n));
    }
};

void expect_close(const char *what, const Buf &got, const Buf &want, double atol, double rtol) {
    for (int64_t i = 0; i < want.n; i++) {
        const double a = got.v[i], b = want.v[i];
        if (!std::isfinite(a) || std::fabs(a - b) > atol + rtol * std::fabs(b))
            fail_msg("%s[%lld]: optimised %.8g reference %.8g", what, (long long)i, a, b);
    }
}

struct Case {
    int64_t B, T, S, Q, heads;
    bool causal, pad;
    float p_drop;
};

void compare_case(const Case &c, mos::Backend backend) {
    mos::set_default_backend(backend);
    const AttentionShape s{c.B, c.T, c.S, c.Q, c.heads, c.causal};
    const uint64_t seed = 99, site = 3;
    const auto q = uniform(c.B * c.T * c.Q, 1, -2.0f, 2.0f), k = uniform(c.B * c.S * c.Q, 2, -2.0f, 2.0f);
    const auto v = uniform(c.B * c.S * c.Q, 3), dO = uniform(c.B * c.T * c.Q, 4);
    std::vector<uint8_t> kmask(c.B * c.S, 0);
    if (c.pad)
        for (int64_t b = 0; b < c.B; b++)
            for (int64_t j = c.S - b % c.S; j < c.S; j++) kmask[b * c.S + j] = 1;  // sentence b: b pads at the end
    const uint8_t *km = c.pad ? kmask.data() : nullptr;
    const int64_t np = c.B * c.heads * c.T * c.S;

    Buf o(c.B * c.T * c.Q, 5.0f), P(np, 5.0f), o_ref(o.n), P_ref(np);
    mos::attention_forward(o.data(), P.data(), q.data(), k.data(), v.data(), km, s, c.p_drop, seed, site);
    mos::ref::attention_forward(o_ref.data(), P_ref.data(), q.data(), k.data(), v.data(), km, s, c.p_drop, seed, site);
    o.check_guard("o");
    P.check_guard("P");
    expect_close("P", P, P_ref, 1e-6, 1e-5);
    expect_close("o", o, o_ref, 2e-5, 1e-4);
    for (int64_t i = 0; i < np; i++) assert_true(P.v[i] >= 0.0f && P.v[i] <= 1.0f);

    // Gradients accumulate onto existing values; both versions start from the same ones.
    Buf dq(uniform(q.size(), 6)), dk(uniform(k.size(), 7)), dv(uniform(v.size(), 8));
    Buf dq_ref = dq, dk_ref = dk, dv_ref = dv;
    const int64_t ns = static_cast<int64_t>(mos::attention_backward_scratch(s));
    assert_int_equal(ns, 2 * np);
    Buf scratch(ns, 1.0f);
    mos::attention_backward(dq.data(), dk.data(), dv.data(), scratch.data(), dO.data(), P.data(), q.data(), k.data(),
                            v.data(), s, c.p_drop, seed, site);
    mos::ref::attention_backward(dq_ref.data(), dk_ref.data(), dv_ref.data(), nullptr, dO.data(), P_ref.data(),
                                 q.data(), k.data(), v.data(), s, c.p_drop, seed, site);
    for (const Buf *b : {&dq, &dk, &dv, &scratch}) b->check_guard("backward output");
    expect_close("dq", dq, dq_ref, 5e-5, 2e-4);
    expect_close("dk", dk, dk_ref, 5e-5, 2e-4);
    expect_close("dv", dv, dv_ref, 5e-5, 2e-4);

    // Each gradient alone (the others NULL) gives the same values as the full call.
    Buf dq1(uniform(q.size(), 6)), dk1(uniform(k.size(), 7)), dv1(uniform(v.size(), 8));
    mos::attention_backward(dq1.data(), nullptr, nullptr, scratch.data(), dO.data(), P.data(), q.data(), k.data(),
                            v.data(), s, c.p_drop, seed, site);
    mos::attention_backward(nullptr, dk1.data(), nullptr, scratch.data(), dO.data(), P.data(), q.data(), k.data(),
                            v.data(), s, c.p_drop, seed, site);
    mos::attention_backward(nullptr, nullptr, dv1.data(), scratch.data(), dO.data(), P.data(), q.data(), k.data(),
                            v.data(), s, c.p_drop, seed, site);
    expect_close("dq alone", dq1, dq, 0.0, 0.0);
    expect_close("dk alone", dk1, dk, 0.0, 0.0);
    expect_close("dv alone", dv1, dv, 0.0, 0.0);
}

const Case kCases[] = {
    {1, 1, 1, 4, 1, false, false, 0.0f},    // a single query and key
    {2, 5, 7, 12, 3, false, true, 0.1f},    // cross-attention, padding, dropout, odd head width
    {3, 6, 6, 16, 4, true, true, 0.2f},     // causal self-attention with padding
    {2, 9, 11, 64, 4, false, false, 0.0f},  // the shape of tests/backend's batched GEMMs
    {2, 17, 17, 32, 2, true, false, 0.3f},  // causal with dropout
    {4, 3, 20, 24, 8, false, true, 0.0f},   // short queries, long keys, head width 3
};

void forward_backward_match_reference(void **) {
    const mos::Backend saved = mos::default_backend();
    for (mos::Backend b : {mos::Backend::OneDNN, mos::Backend::OpenBLAS, mos::Backend::Auto, mos::Backend::Reference})
        for (const Case &c : kCases) compare_case(c, b);
    mos::set_default_backend(saved);
}

void expect_invalid(const char *what, const std::function<void()> &f, const char *needle) {
    try {
        f();
    } catch (const mos::Error &e) {
        assert_int_equal(e.status(), MOS_INVALID_ARGUMENT);
        if (!std::strstr(e.what(), needle)) fail_msg("%s: message '%s' does not name '%s'", what, e.what(), needle);
        return;
    }
    fail_msg("%s: no mos::Error thrown", what);
}

void bad_arguments_throw(void **) {
    std::vector<float> buf(4096, 0.0f), scratch(4096);
    float *x = buf.data();
    const AttentionShape good{2, 3, 4, 8, 2, false};
    auto fwd = [&](const AttentionShape &s, float p = 0.0f) {
        return [=] { mos::attention_forward(x, x, x, x, x, nullptr, s, p, 1, 1); };
    };
    auto bwd = [&](const AttentionShape &s) {
        return [=, &scratch] {
            mos::attention_backward(x, x, x, scratch.data(), x, x, x, x, x, s, 0.0f, 1, 1);
        };
    };
    expect_invalid("Q % heads", fwd({2, 3, 4, 8, 3, false}), "heads = 3");
    expect_invalid("heads = 0", fwd({2, 3, 4, 8, 0, false}), "heads = 0");
    expect_invalid("heads < 0", bwd({2, 3, 4, 8, -2, false}), "heads = -2");
    expect_invalid("B = 0", fwd({0, 3, 4, 8, 2, false}), "B = 0");
    expect_invalid("T = 0", bwd({2, 0, 4, 8, 2, false}), "T = 0");
    expect_invalid("S = 0", fwd({2, 3, 0, 8, 2, false}), "S = 0");
    expect_invalid("Q = 0", fwd({2, 3, 4, 0, 2, false}), "Q = 0");
    expect_invalid("p = 1", fwd(good, 1.0f), "dropout");
    expect_invalid("p < 0", fwd(good, -0.1f), "dropout");
    expect_invalid("scratch size", [] { mos::attention_backward_scratch({1, 1, 1, 6, 4, false}); }, "heads = 4");
    expect_invalid("NULL q", [&] { mos::attention_forward(x, x, nullptr, x, x, nullptr, good, 0.0f, 1, 1); }, "q is NULL");
    expect_invalid("NULL P", [&] { mos::attention_forward(x, nullptr, x, x, x, nullptr, good, 0.0f, 1, 1); }, "P is NULL");
    expect_invalid("NULL o", [&] { mos::attention_forward(nullptr, x, x, x, x, nullptr, good, 0.0f, 1, 1); }, "o is NULL");
    expect_invalid("NULL dO", [&] { mos::attention_backward(x, x, x, x, nullptr, x, x, x, x, good, 0.0f, 1, 1); },
                   "dO is NULL");
    expect_invalid("NULL scratch",
                   [&] { mos::attention_backward(x, x, x, nullptr, x, x, x, x, x, good, 0.0f, 1, 1); }, "scratch is NULL");
    expect_invalid("ref Q % heads",
                   [&] { mos::ref::attention_forward(x, x, x, x, x, nullptr, {1, 2, 2, 6, 4, false}, 0.0f, 1, 1); },
                   "heads = 4");
}

// Sentence 0 has every key padded; with the causal mask, row 0 of sentence 1 only
// allows key 0, which is padded too. Those rows give P = 0, o = 0, no NaN, and no gradient.
void fully_masked_rows_are_zero(void **) {
    const AttentionShape s{2, 4, 4, 8, 2, true};
    const auto q = uniform(2 * 4 * 8, 11, -30.0f, 30.0f), k = uniform(2 * 4 * 8, 12), v = uniform(2 * 4 * 8, 13);
    const auto dO = uniform(2 * 4 * 8, 14);
    const uint8_t kmask[8] = {1, 1, 1, 1, 1, 0, 0, 0};
    for (float p : {0.0f, 0.25f}) {
        std::vector<float> o(64, 1.0f), P(2 * 2 * 4 * 4, 1.0f), dq(64), dk(64), dv(64), scratch(128, NAN);
        mos::attention_forward(o.data(), P.data(), q.data(), k.data(), v.data(), kmask, s, p, 5, 6);
        for (float x : o) assert_true(std::isfinite(x));
        for (float x : P) assert_true(std::isfinite(x));
        for (int64_t i = 0; i < 32; i++) assert_true(o[i] == 0.0f);  // sentence 0
        for (int64_t i = 0; i < 2 * 4 * 4; i++) assert_true(P[i] == 0.0f);
        for (int64_t h = 0; h < 2; h++)  // sentence 1, query 0, both heads
            for (int64_t j = 0; j < 4; j++) assert_true(P[((1 * 2 + h) * 4 + 0) * 4 + j] == 0.0f);
        for (int64_t c = 0; c < 8; c++) assert_true(o[(1 * 4 + 0) * 8 + c] == 0.0f);
        for (int64_t h = 0; h < 2; h++) {  // sentence 1, query 3 sees keys 1..3 and sums to 1
            double sum = 0.0;
            for (int64_t j = 0; j < 4; j++) sum += P[((1 * 2 + h) * 4 + 3) * 4 + j];
            assert_true(std::fabs(sum - 1.0) < 1e-5);
        }
        mos::attention_backward(dq.data(), dk.data(), dv.data(), scratch.data(), dO.data(), P.data(), q.data(),
                                k.data(), v.data(), s, p, 5, 6);
        for (int64_t i = 0; i < 64; i++)
            assert_true(std::isfinite(dq[i]) && std::isfinite(dk[i]) && std::isfinite(dv[i]));
        for (int64_t i = 0; i < 32; i++) assert_true(dq[i] == 0.0f && dk[i] == 0.0f && dv[i] == 0.0f);
        for (int64_t c = 0; c < 8; c++) assert_true(dq[(1 * 4 + 0) * 8 + c] == 0.0f);
    }
}

// Changing keys and values at positions > t0 leaves output rows 0..t0 unchanged.
void causal_rows_ignore_later_keys(void **) {
    const int64_t B = 2, T = 7, Q = 12;
    const AttentionShape s{B, T, T, Q, 3, true};
    const auto q = uniform(B * T * Q, 21);
    const auto k = uniform(B * T * Q, 22), v = uniform(B * T * Q, 23);
    for (float p : {0.0f, 0.2f}) {
        std::vector<float> o(q.size()), P(B * 3 * T * T);
        mos::attention_forward(o.data(), P.data(), q.data(), k.data(), v.data(), nullptr, s, p, 8, 9);
        for (int64_t t0 = 0; t0 < T - 1; t0++) {
            auto k2 = k, v2 = v;
            for (int64_t b = 0; b < B; b++)
                for (int64_t j = t0 + 1; j < T; j++)
                    for (int64_t c = 0; c < Q; c++) {
                        k2[(b * T + j) * Q + c] += 3.0f;
                        v2[(b * T + j) * Q + c] = -v2[(b * T + j) * Q + c] * 5.0f;
                    }
            std::vector<float> o2(q.size()), P2(P.size());
            mos::attention_forward(o2.data(), P2.data(), q.data(), k2.data(), v2.data(), nullptr, s, p, 8, 9);
            for (int64_t b = 0; b < B; b++)
                for (int64_t t = 0; t <= t0; t++)
                    for (int64_t c = 0; c < Q; c++)
                        if (std::fabs(o2[(b * T + t) * Q + c] - o[(b * T + t) * Q + c]) > 1e-6f)
                            fail_msg("row %lld changed when keys after %lld changed", (long long)t, (long long)t0);
            bool later_changed = false;
            for (int64_t c = 0; c < Q; c++) later_changed |= o2[(0 * T + T - 1) * Q + c] != o[(0 * T + T - 1) * Q + c];
            assert_true(later_changed);  // the perturbation is visible where it is allowed
        }
    }
}

// The dropout mask is a function of (seed, site): the same call repeats exactly,
// another site or seed gives another output, and P does not depend on dropout.
void dropout_is_deterministic(void **) {
    const AttentionShape s{2, 6, 6, 16, 4, false};
    const auto q = uniform(2 * 6 * 16, 31), k = uniform(2 * 6 * 16, 32), v = uniform(2 * 6 * 16, 33);
    auto run = [&](float p, uint64_t seed, uint64_t site, std::vector<float> *P) {
        std::vector<float> o(q.size());
        P->assign(2 * 4 * 6 * 6, 0.0f);
        mos::attention_forward(o.data(), P->data(), q.data(), k.data(), v.data(), nullptr, s, p, seed, site);
        return o;
    };
    std::vector<float> P0, P1, P2, P3;
    const auto base = run(0.0f, 1, 1, &P0), a = run(0.3f, 1, 1, &P1), b = run(0.3f, 1, 1, &P2);
    const auto c = run(0.3f, 1, 2, &P3), d = run(0.3f, 2, 1, &P3);
    assert_true(a == b);
    assert_true(a != c && a != d && a != base);
    assert_true(P0 == P1);
}

}  // namespace

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(forward_backward_match_reference),
        cmocka_unit_test(bad_arguments_throw),
        cmocka_unit_test(fully_masked_rows_are_zero),
        cmocka_unit_test(causal_rows_ignore_later_keys),
        cmocka_unit_test(dropout_is_deterministic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
