// tests/grad/test_grad_attention.cpp: finite-difference checks of dq, dk and dv of
// the multi-head attention kernel: 1, 2 and 4 heads in one projection width,
// self-attention (T == S) with and without the causal mask, cross-attention
// (T != S), padded keys (including a sentence whose keys are all padding), and
// attention dropout with a fixed seed (the mask is a function of the seed, so the
// loss stays a smooth function of q, k, v and central differences apply); and the
// whole sub-layer with its sliced q/k/v/out projections at full and elastic widths.
#include "grad_common.hpp"

#include <cmath>

#include "kernels/attention.hpp"
#include "kernels/linear.hpp"

using namespace mos_test;

namespace {

struct Case {
    const char *name;
    int64_t B, T, S, Q, heads;
    bool causal;
    int pad;  // 0 none, 1 some keys of sentence 1, 2 all keys of sentence 1
    float p_drop;
};

void attention_case(const Case &c) {
    const mos::AttentionShape s{c.B, c.T, c.S, c.Q, c.heads, c.causal};
    const uint64_t seed = 1234, site = 7;
    auto q = uniform(c.B * c.T * c.Q, 101), k = uniform(c.B * c.S * c.Q, 102), v = uniform(c.B * c.S * c.Q, 103);
    auto r = uniform(c.B * c.T * c.Q, 104);
    std::vector<uint8_t> kmask(c.B * c.S, 0);
    if (c.pad == 1) {
        kmask[1 * c.S + c.S - 1] = 1;  // sentence 1: the last key and the second are padding
        kmask[1 * c.S + 1] = 1;
    } else if (c.pad == 2) {
        for (int64_t j = 0; j < c.S; j++) kmask[1 * c.S + j] = 1;
    }
    const uint8_t *km = c.pad ? kmask.data() : nullptr;
    std::vector<float> o(q.size()), P(c.B * c.heads * c.T * c.S), dq(q.size()), dk(k.size()), dv(v.size());
    std::vector<float> scratch(mos::attention_backward_scratch(s));
    auto loss = [&] {
        mos::attention_forward(o.data(), P.data(), q.data(), k.data(), v.data(), km, s, c.p_drop, seed, site);
        return dot(o.data(), r.data(), o.size());
    };
    loss();
    mos::attention_backward(dq.data(), dk.data(), dv.data(), scratch.data(), r.data(), P.data(), q.data(), k.data(),
                            v.data(), s, c.p_drop, seed, site);
    GradCheckOptions opt;
    opt.h = 3e-3;  // softmax is curved: a small step keeps the truncation error small
    opt.max_elems = 0;
    const std::string n = c.name;
    expect_grad(n + " dq", q.data(), dq.data(), q.size(), loss, opt);
    expect_grad(n + " dk", k.data(), dk.data(), k.size(), loss, opt);
    expect_grad(n + " dv", v.data(), dv.data(), v.size(), loss, opt);
    if (c.pad == 2) {
        // Sentence 1 sees no key: its output is zero and nothing flows back.
        for (int64_t i = c.T * c.Q; i < 2 * c.T * c.Q; i++) assert_true(o[i] == 0.0f && dq[i] == 0.0f);
        for (int64_t i = c.S * c.Q; i < 2 * c.S * c.Q; i++) assert_true(dk[i] == 0.0f && dv[i] == 0.0f);
    }
}

void grad_attention_self(void **) {
    for (int64_t heads : {1, 2, 4}) {
        attention_case({"self", 2, 4, 4, 8, heads, false, 0, 0.0f});
        attention_case({"self padded", 2, 4, 4, 8, heads, false, 1, 0.0f});
    }
}

void grad_attention_causal(void **) {
    for (int64_t heads : {1, 2, 4}) {
        attention_case({"causal", 2, 5, 5, 8, heads, true, 0, 0.0f});
        attention_case({"causal padded", 2, 5, 5, 8, heads, true, 1, 0.0f});
    }
}

void grad_attention_cross(void **) {
    for (int64_t heads : {1, 2, 4}) {
        attention_case({"cross", 2, 3, 6, 8, heads, false, 0, 0.0f});
        attention_case({"cross padded", 2, 3, 6, 8, heads, false, 1, 0.0f});
    }
    attention_case({"cross all padded", 2, 3, 5, 8, 2, false, 2, 0.0f});
}

void grad_attention_dropout(void **) {
    for (int64_t heads : {1, 2, 4}) {
        attention_case({"dropout self", 2, 4, 4, 8, heads, false, 1, 0.3f});
        attention_case({"dropout causal", 2, 5, 5, 8, heads, true, 1, 0.3f});
        attention_case({"dropout cross", 2, 3, 6, 8, heads, false, 1, 0.3f});
    }
}

// The attention sub-layer as the model composes it (tests/golden/mos_reference.py
// `attention`): q = x Wq[:Q, :d_q]^T + bq, k and v from mem with Wk, Wv[:Q, :d_kv],
// attention, then out = o Wo[:d_q, :Q]^T + bo; weights stored at super size D.
// Checks every weight, bias and both inputs at full and elastic widths, and that
// the entries outside the active slices get no gradient.
void attention_block_case(int64_t d_q, int64_t d_kv, int64_t heads, bool causal) {
    const int64_t D = 6, Q = 8, B = 2, T = 3, S = causal ? 3 : 4;
    const mos::AttentionShape s{B, T, S, Q, heads, causal};
    const float p = 0.2f;
    auto Wq = uniform(Q * D, 201), Wk = uniform(Q * D, 202), Wv = uniform(Q * D, 203), Wo = uniform(D * Q, 204);
    auto bq = uniform(Q, 205), bk = uniform(Q, 206), bv = uniform(Q, 207), bo = uniform(D, 208);
    auto x = uniform(B * T * d_q, 209), mem = uniform(B * S * d_kv, 210), r = uniform(B * T * d_q, 211);
    const uint8_t kmask[8] = {0, 0, 0, 1, 0, 0, 1, 1};
    std::vector<float> q(B * T * Q), k(B * S * Q), v(B * S * Q), o(B * T * Q), P(B * heads * T * S);
    std::vector<float> y(B * T * d_q), scratch(mos::attention_backward_scratch(s));
    auto loss = [&] {
        mos::linear_forward(q.data(), x.data(), Wq.data(), bq.data(), B * T, d_q, Q, D);
        mos::linear_forward(k.data(), mem.data(), Wk.data(), bk.data(), B * S, d_kv, Q, D);
        mos::linear_forward(v.data(), mem.data(), Wv.data(), bv.data(), B * S, d_kv, Q, D);
        mos::attention_forward(o.data(), P.data(), q.data(), k.data(), v.data(), kmask, s, p, 42, 5);
        mos::linear_forward(y.data(), o.data(), Wo.data(), bo.data(), B * T, Q, d_q, Q);
        return dot(y.data(), r.data(), y.size());
    };
    loss();
    std::vector<float> dWq(Wq.size()), dWk(Wk.size()), dWv(Wv.size()), dWo(Wo.size());
    std::vector<float> dbq(Q), dbk(Q), dbv(Q), dbo(D), dx(x.size()), dmem(mem.size());
    std::vector<float> dq(q.size()), dk(k.size()), dv(v.size()), dO(o.size());
    mos::linear_backward(dO.data(), dWo.data(), dbo.data(), r.data(), o.data(), Wo.data(), B * T, Q, d_q, Q);
    mos::attention_backward(dq.data(), dk.data(), dv.data(), scratch.data(), dO.data(), P.data(), q.data(), k.data(),
                            v.data(), s, p, 42, 5);
    mos::linear_backward(dx.data(), dWq.data(), dbq.data(), dq.data(), x.data(), Wq.data(), B * T, d_q, Q, D);
    mos::linear_backward(dmem.data(), dWk.data(), dbk.data(), dk.data(), mem.data(), Wk.data(), B * S, d_kv, Q, D);
    mos::linear_backward(dmem.data(), dWv.data(), dbv.data(), dv.data(), mem.data(), Wv.data(), B * S, d_kv, Q, D);
    GradCheckOptions opt;
    opt.h = 3e-3;
    opt.max_elems = 0;
    expect_grad("block dx", x.data(), dx.data(), x.size(), loss, opt);
    expect_grad("block dmem", mem.data(), dmem.data(), mem.size(), loss, opt);
    expect_grad("block dWq", Wq.data(), dWq.data(), Wq.size(), loss, opt);
    expect_grad("block dWk", Wk.data(), dWk.data(), Wk.size(), loss, opt);
    expect_grad("block dWv", Wv.data(), dWv.data(), Wv.size(), loss, opt);
    expect_grad("block dWo", Wo.data(), dWo.data(), Wo.size(), loss, opt);
    expect_grad("block dbq", bq.data(), dbq.data(), Q, loss, opt);
    expect_grad("block dbk", bk.data(), dbk.data(), Q, loss, opt);
    expect_grad("block dbv", bv.data(), dbv.data(), Q, loss, opt);
    expect_grad("block dbo", bo.data(), dbo.data(), D, loss, opt);
    expect_zero_outside("block dWq", dWq.data(), Q, D, D, Q, d_q);
    expect_zero_outside("block dWk", dWk.data(), Q, D, D, Q, d_kv);
    expect_zero_outside("block dWv", dWv.data(), Q, D, D, Q, d_kv);
    expect_zero_outside("block dWo", dWo.data(), D, Q, Q, d_q, Q);
    expect_zero_outside("block dbo", dbo.data(), 1, D, D, 1, d_q);
}

void grad_attention_block(void **) {
    attention_block_case(6, 6, 2, false);  // full widths, cross-attention
    attention_block_case(3, 5, 4, false);  // elastic widths, more heads
    attention_block_case(4, 4, 1, true);   // the causal mask at a mixed width
}

}  // namespace

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(grad_attention_self),
        cmocka_unit_test(grad_attention_causal),
        cmocka_unit_test(grad_attention_cross),
        cmocka_unit_test(grad_attention_dropout),
        cmocka_unit_test(grad_attention_block),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
