// tests/grad/test_grad_layers.cpp: finite-difference checks of every input and
// weight gradient of the embedding, sliced linear (and tied output projection),
// LayerNorm, ReLU, residual, dropout and label-smoothed cross-entropy kernels, at
// full, smallest and mixed elastic sizes; entries outside the active slice must get
// exactly zero gradient.
#include "grad_common.hpp"

#include <cmath>

#include "kernels/activation.hpp"
#include "kernels/cross_entropy.hpp"
#include "kernels/dropout.hpp"
#include "kernels/embedding.hpp"
#include "kernels/layernorm.hpp"
#include "kernels/linear.hpp"

using namespace mos_test;

namespace {

struct LinCase {
    int64_t d_out, d_in;
};
constexpr int64_t kDout = 6, kDin = 5, kN = 3;

void linear_case(const LinCase &c, bool bias) {
    auto W = uniform(kDout * kDin, 1), b = uniform(kDout, 2), x = uniform(kN * c.d_in, 3);
    auto r = uniform(kN * c.d_out, 4);
    std::vector<float> y(kN * c.d_out), dx(x.size()), dW(W.size()), db(b.size());
    const float *bp = bias ? b.data() : nullptr;
    auto loss = [&] {
        mos::linear_forward(y.data(), x.data(), W.data(), bp, kN, c.d_in, c.d_out, kDin);
        return dot(y.data(), r.data(), y.size());
    };
    loss();
    mos::linear_backward(dx.data(), dW.data(), bias ? db.data() : nullptr, r.data(), x.data(), W.data(),
                         kN, c.d_in, c.d_out, kDin);
    expect_grad("linear dx", x.data(), dx.data(), x.size(), loss);
    expect_grad("linear dW", W.data(), dW.data(), W.size(), loss);
    expect_zero_outside("linear dW", dW.data(), kDout, kDin, kDin, c.d_out, c.d_in);
    if (bias) {
        expect_grad("linear db", b.data(), db.data(), b.size(), loss);
        expect_zero_outside("linear db", db.data(), 1, kDout, kDout, 1, c.d_out);
    }
}

void grad_linear(void **) {
    for (LinCase c : {LinCase{kDout, kDin}, LinCase{1, 1}, LinCase{4, kDin}, LinCase{kDout, 2}, LinCase{3, 4}})
        for (bool bias : {true, false}) linear_case(c, bias);
}

// Tied output projection: logits[N, V] = x[N, d] E[:V, :d]^T with E the [V, D_max] table.
void grad_tied_projection(void **) {
    const int64_t V = 7, Dm = 8;
    for (int64_t d : {Dm, int64_t(4)}) {
        auto E = uniform(V * Dm, 11), x = uniform(kN * d, 12), r = uniform(kN * V, 13);
        std::vector<float> y(kN * V), dx(x.size()), dE(E.size());
        auto loss = [&] {
            mos::linear_forward(y.data(), x.data(), E.data(), nullptr, kN, d, V, Dm);
            return dot(y.data(), r.data(), y.size());
        };
        loss();
        // The shape: logit[n, v] = <x[n, :d], E[v, :d]>.
        for (int64_t n = 0; n < kN; n++)
            for (int64_t v = 0; v < V; v++) {
                double s = 0.0;
                for (int64_t k = 0; k < d; k++) s += double(x[n * d + k]) * E[v * Dm + k];
                assert_true(std::fabs(s - y[n * V + v]) < 1e-5);
            }
        mos::linear_backward(dx.data(), dE.data(), nullptr, r.data(), x.data(), E.data(), kN, d, V, Dm);
        expect_grad("tied dx", x.data(), dx.data(), x.size(), loss);
        expect_grad("tied dE", E.data(), dE.data(), E.size(), loss);
        expect_zero_outside("tied dE", dE.data(), V, Dm, Dm, V, d);
    }
}

void grad_embedding(void **) {
    const int64_t B = 2, T = 3, V = 7, Dm = 8;
    const int32_t pad = 1;
    const int32_t tokens[B * T] = {3, 5, 3, 0, 6, pad};
    for (int64_t d : {Dm, int64_t(2), int64_t(6)}) {
        auto table = uniform(V * Dm, 21), r = uniform(B * T * d, 22);
        std::vector<float> pos(T * d), out(B * T * d), dtable(table.size());
        mos::sinusoid_positions(pos.data(), pad + 1, T, d);
        auto loss = [&] {
            mos::embedding_forward(out.data(), tokens, table.data(), pos.data(), B, T, d, Dm, V, pad);
            return dot(out.data(), r.data(), out.size());
        };
        loss();
        for (int64_t k = 0; k < d; k++) assert_true(out[5 * d + k] == 0.0f);  // pad row
        mos::embedding_backward(dtable.data(), r.data(), tokens, B, T, d, Dm, V, pad);
        expect_grad("embedding dtable", table.data(), dtable.data(), table.size(), loss);
        expect_zero_outside("embedding dtable", dtable.data(), V, Dm, Dm, V, d);
        for (int64_t k = 0; k < Dm; k++) {
            assert_true(dtable[pad * Dm + k] == 0.0f);  // the pad row learns nothing
            assert_true(dtable[2 * Dm + k] == 0.0f);    // token 2 does not occur
        }
    }
}

void grad_layernorm(void **) {
    const int64_t Dm = 8;
    for (int64_t d : {Dm, int64_t(3), int64_t(5)}) {
        auto x = uniform(kN * d, 31), r = uniform(kN * d, 32);
        auto gamma = uniform(Dm, 33, 0.5f, 1.5f), beta = uniform(Dm, 34);
        std::vector<float> y(x.size()), mean(kN), rstd(kN), dx(x.size()), dg(Dm), dbt(Dm);
        auto loss = [&] {
            mos::layernorm_forward(y.data(), mean.data(), rstd.data(), x.data(), gamma.data(), beta.data(), kN, d);
            return dot(y.data(), r.data(), y.size());
        };
        loss();
        mos::layernorm_backward(dx.data(), dg.data(), dbt.data(), r.data(), x.data(), mean.data(), rstd.data(),
                                gamma.data(), kN, d);
        GradCheckOptions o;
        o.h = 2e-3;  // LayerNorm is curved: a smaller step keeps the truncation error small
        expect_grad("layernorm dx", x.data(), dx.data(), x.size(), loss, o);
        expect_grad("layernorm dgamma", gamma.data(), dg.data(), Dm, loss, o);
        expect_grad("layernorm dbeta", beta.data(), dbt.data(), Dm, loss, o);
        expect_zero_outside("layernorm dgamma", dg.data(), 1, Dm, Dm, 1, d);
        expect_zero_outside("layernorm dbeta", dbt.data(), 1, Dm, Dm, 1, d);
    }
}

void grad_relu_residual(void **) {
    const int64_t n = 40;
    auto x = uniform(n, 41), a = uniform(n, 42), r = uniform(n, 43);
    for (auto &v : x)
        if (std::fabs(v) < 0.05f) v = 0.3f;  // keep finite differences off the kink
    std::vector<float> y(n), s(n), dx(n), da(n), db(n);
    auto loss = [&] {
        mos::residual_forward(s.data(), x.data(), a.data(), n);
        mos::relu_forward(y.data(), s.data(), n);
        return dot(y.data(), r.data(), n);
    };
    for (auto &v : a) v *= 0.01f;  // small residual so x + a keeps x's sign pattern away from 0
    loss();
    std::vector<float> ds(n);
    mos::relu_backward(ds.data(), r.data(), y.data(), n);
    mos::residual_backward(dx.data(), da.data(), ds.data(), n);
    expect_grad("relu/residual dx", x.data(), dx.data(), n, loss);
    expect_grad("relu/residual da", a.data(), da.data(), n, loss);
}

void grad_dropout(void **) {
    const int64_t n = 50;
    const mos::DropoutKey key{7, 3, 1};
    for (float p : {0.0f, 0.3f}) {
        auto x = uniform(n, 51), r = uniform(n, 52);
        std::vector<float> y(n), dx(n);
        auto loss = [&] {
            mos::dropout_forward(y.data(), x.data(), n, p, key);
            return dot(y.data(), r.data(), n);
        };
        loss();
        mos::dropout_backward(dx.data(), r.data(), n, p, key);
        expect_grad("dropout dx", x.data(), dx.data(), n, loss);
    }
}

void grad_cross_entropy(void **) {
    const int64_t N = 5, V = 7;
    const int32_t pad = 1;
    const int32_t targets[N] = {3, pad, 0, 6, pad};
    for (float scale : {1.0f, 0.25f}) {
        auto z = uniform(N * V, 61, -3.0f, 3.0f);
        std::vector<float> lse(N), rl(N), dz(z.size());
        auto loss = [&] {
            return scale * mos::cross_entropy_forward(lse.data(), rl.data(), nullptr, z.data(), targets, N, V,
                                                      pad, mos::kLabelSmoothing)
                               .loss;
        };
        loss();
        mos::cross_entropy_backward(dz.data(), lse.data(), z.data(), targets, N, V, pad, mos::kLabelSmoothing,
                                    scale);
        expect_grad("cross_entropy dlogits", z.data(), dz.data(), z.size(), loss);
        for (int64_t v = 0; v < V; v++) assert_true(dz[1 * V + v] == 0.0f && dz[4 * V + v] == 0.0f);
    }
}

// Distillation loss against a teacher distribution, and softmax_rows making one.
void grad_soft_cross_entropy(void **) {
    const int64_t N = 4, V = 6;
    const int32_t pad = 2;
    const int32_t targets[N] = {0, pad, 5, 3};
    auto tz = uniform(N * V, 71, -2.0f, 2.0f);
    std::vector<float> tlse(N), trow(N), teacher(N * V);
    mos::cross_entropy_forward(tlse.data(), trow.data(), nullptr, tz.data(), targets, N, V, pad, 0.0f);
    mos::softmax_rows(teacher.data(), tz.data(), tlse.data(), targets, N, V, pad);
    for (int64_t n = 0; n < N; n++) {
        double s = 0;
        for (int64_t v = 0; v < V; v++) s += teacher[n * V + v];
        assert_true(n == 1 ? s == 0.0 : std::fabs(s - 1.0) < 1e-5);
    }
    auto z = uniform(N * V, 72, -3.0f, 3.0f);
    std::vector<float> lse(N), row(N), dz(z.size());
    const float scale = 0.5f;
    auto loss = [&] {
        return scale * mos::soft_cross_entropy_forward(lse.data(), row.data(), z.data(), teacher.data(), targets, N, V,
                                                       pad);
    };
    const double l = loss() / scale;
    assert_true(std::fabs(l - mos::ref::soft_cross_entropy_forward(z.data(), teacher.data(), targets, N, V, pad)) <
                1e-4 * std::fabs(l));
    mos::soft_cross_entropy_backward(dz.data(), lse.data(), z.data(), teacher.data(), targets, N, V, pad, scale);
    expect_grad("soft_cross_entropy dlogits", z.data(), dz.data(), z.size(), loss);
    for (int64_t v = 0; v < V; v++) assert_true(dz[1 * V + v] == 0.0f);
}

}  // namespace

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(grad_linear),        cmocka_unit_test(grad_tied_projection),
        cmocka_unit_test(grad_embedding),     cmocka_unit_test(grad_layernorm),
        cmocka_unit_test(grad_relu_residual), cmocka_unit_test(grad_dropout),
        cmocka_unit_test(grad_cross_entropy), cmocka_unit_test(grad_soft_cross_entropy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
