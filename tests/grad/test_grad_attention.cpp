// tests/grad/test_grad_attention.cpp: finite-difference checks of dq, dk and dv of
// the multi-head attention kernel: 1, 2 and 4 heads in one projection width,
// self-attention (T == S) with and without the causal mask, cross-attention
// (T != S), padded keys (including a sentence whose keys are all padding), and
// attention dropout with a fixed seed (the mask is a function of the seed, so the
// loss stays a smooth function of q, k, v and central differences apply).
#include "grad_common.hpp"

#include <cmath>

#include "kernels/attention.hpp"

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

}  // namespace

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(grad_attention_self),
        cmocka_unit_test(grad_attention_causal),
        cmocka_unit_test(grad_attention_cross),
        cmocka_unit_test(grad_attention_dropout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
