// tests/grad/test_grad_mos.cpp: finite-difference checks of the Mixture-of-Supernets
// linear (router -> softmax -> mix -> linear, DESIGN.md §1) for m = 1, 2, 4, both
// routing modes and full / smallest / mixed elastic sizes: gradients of the input,
// every expert E_i and bias c_i, and all router weights; exact zeros outside the
// active slice; one layer-wise router feeding fc1 and fc2; m = 1 equal to the
// plain sliced linear.
#include "grad_common.hpp"

#include <cmath>

#include "kernels/activation.hpp"
#include "kernels/linear.hpp"
#include "kernels/mos_linear.hpp"

using namespace mos_test;
using mos::MosRouting;
using mos::MosShape;
using mos::RouterShape;

namespace {

constexpr int64_t kN = 3, kDout = 6, kDin = 5, kNe = 10, kH = 8;

// Router weights at super size, with the first layer's pre-activations kept at
// least 0.1 away from the ReLU kink so that finite differences stay on one side.
struct Router {
    RouterShape r;
    std::vector<float> e, W1, b1, W2, b2, dW1, db1, dW2, db2, hidden;
    Router(const RouterShape &rs, uint64_t seed) : r(rs) {
        e = uniform(kNe, seed, 0.1f, 1.0f);
        W1 = uniform(r.H * r.n_e, seed + 1, -0.5f, 0.5f);
        b1 = uniform(r.H, seed + 2);
        W2 = uniform(r.rows_max * r.m * r.H, seed + 3);
        b2 = uniform(r.rows_max * r.m, seed + 4);
        for (int64_t h = 0; h < r.H; h++) {
            double pre = b1[h];
            for (int64_t k = 0; k < r.n_e; k++) pre += double(W1[h * r.n_e + k]) * e[k];
            if (std::fabs(pre) < 0.1) b1[h] += pre >= 0 ? 0.2f : -0.2f;
        }
        dW1.assign(W1.size(), 0.0f);
        db1.assign(b1.size(), 0.0f);
        dW2.assign(W2.size(), 0.0f);
        db2.assign(b2.size(), 0.0f);
        hidden.assign(r.H, 0.0f);
    }
    void forward(float *alpha) {
        mos::router_forward(alpha, hidden.data(), e.data(), W1.data(), b1.data(), W2.data(), b2.data(), r);
    }
    void backward(const float *dalpha, const float *alpha) {
        std::vector<float> scratch(mos::router_backward_scratch(r));
        mos::router_backward(dW1.data(), db1.data(), dW2.data(), db2.data(), scratch.data(), dalpha, alpha,
                             hidden.data(), e.data(), W1.data(), W2.data(), r);
    }
    void check(const std::string &tag, const std::function<double()> &loss) {
        expect_grad(tag + " router dW1", W1.data(), dW1.data(), W1.size(), loss);
        expect_grad(tag + " router db1", b1.data(), db1.data(), b1.size(), loss);
        expect_grad(tag + " router dW2", W2.data(), dW2.data(), W2.size(), loss);
        expect_grad(tag + " router db2", b2.data(), db2.data(), b2.size(), loss);
        // Output rows of the last layer beyond rows * m (inactive neurons) get nothing.
        expect_zero_outside("router dW2", dW2.data(), r.rows_max * r.m, r.H, r.H, r.rows * r.m, r.H);
        expect_zero_outside("router db2", db2.data(), 1, r.rows_max * r.m, r.rows_max * r.m, 1, r.rows * r.m);
    }
};

struct Experts {
    MosShape s;
    std::vector<float> E, c, dE, dc;
    Experts(const MosShape &sh, uint64_t seed) : s(sh) {
        E = uniform(s.m * s.D_out * s.D_in, seed);
        c = uniform(s.m * s.D_out, seed + 1);
        dE.assign(E.size(), 0.0f);
        dc.assign(c.size(), 0.0f);
    }
    void check(const std::string &tag, const std::function<double()> &loss) {
        expect_grad(tag + " dE", E.data(), dE.data(), E.size(), loss);
        expect_grad(tag + " dc", c.data(), dc.data(), c.size(), loss);
        for (int64_t i = 0; i < s.m; i++) {
            expect_zero_outside("dE_i", dE.data() + i * s.D_out * s.D_in, s.D_out, s.D_in, s.D_in, s.d_out, s.d_in);
            expect_zero_outside("dc_i", dc.data() + i * s.D_out, 1, s.D_out, s.D_out, 1, s.d_out);
        }
    }
};

void one_case(int64_t m, MosRouting routing, int64_t d_out, int64_t d_in) {
    MosShape s;
    s.m = m, s.d_out = d_out, s.d_in = d_in, s.D_out = kDout, s.D_in = kDin, s.routing = routing;
    Router R(mos::router_shape_for(s, kNe, kH), 100 + m);
    Experts X(s, 200 + m);
    auto x = uniform(kN * d_in, 300), r = uniform(kN * d_out, 301);
    std::vector<float> alpha(mos::mos_alpha_size(s)), y(kN * d_out), Wm(d_out * d_in), bm(d_out);
    auto loss = [&] {
        R.forward(alpha.data());
        mos::mos_linear_forward(y.data(), Wm.data(), bm.data(), x.data(), alpha.data(), X.E.data(), X.c.data(), kN, s);
        return dot(y.data(), r.data(), y.size());
    };
    loss();
    std::vector<float> dx(x.size()), dalpha(alpha.size()), scratch(mos::mos_linear_backward_scratch(s));
    mos::mos_linear_backward(dx.data(), X.dE.data(), X.dc.data(), dalpha.data(), scratch.data(), r.data(), x.data(),
                             Wm.data(), alpha.data(), X.E.data(), X.c.data(), kN, s);
    R.backward(dalpha.data(), alpha.data());
    char tag[96];
    std::snprintf(tag, sizeof tag, "m=%lld %s %lldx%lld", (long long)m,
                  routing == MosRouting::NeuronWise ? "neuron" : "layer", (long long)d_out, (long long)d_in);
    expect_grad(std::string(tag) + " dx", x.data(), dx.data(), x.size(), loss);
    X.check(tag, loss);
    R.check(tag, loss);
    // dalpha on its own (alpha as a free input): the mix backward's inner products are
    // O(1) here, while through a near-uniform softmax they can be too small to judge.
    std::vector<float> alpha_free = alpha;
    auto loss_alpha = [&] {
        mos::mos_linear_forward(y.data(), Wm.data(), bm.data(), x.data(), alpha_free.data(), X.E.data(),
                                X.c.data(), kN, s);
        return dot(y.data(), r.data(), y.size());
    };
    expect_grad(std::string(tag) + " dalpha", alpha_free.data(), dalpha.data(), alpha_free.size(), loss_alpha);
    // The router on its own, with a random upstream dalpha.
    Router R2(R.r, 900 + m);
    auto ra = uniform(alpha.size(), 901);
    std::vector<float> alpha2(alpha.size());
    auto loss_router = [&] {
        R2.forward(alpha2.data());
        return dot(alpha2.data(), ra.data(), alpha2.size());
    };
    loss_router();
    R2.backward(ra.data(), alpha2.data());
    R2.check(std::string(tag) + " alone", loss_router);
    if (m == 1) {
        // softmax over one expert is exactly 1, so the router gets exactly zero gradient.
        for (float v : alpha) assert_true(v == 1.0f);
        for (float v : R.dW1) assert_true(v == 0.0f);
        for (float v : R.dW2) assert_true(v == 0.0f);
    }
}

void grad_mos_linear(void **) {
    const int64_t sizes[][2] = {{kDout, kDin}, {1, 1}, {4, kDin}, {kDout, 2}, {3, 4}};
    for (int64_t m : {1, 2, 4})
        for (MosRouting routing : {MosRouting::LayerWise, MosRouting::NeuronWise})
            for (const auto &sz : sizes) one_case(m, routing, sz[0], sz[1]);
}

// One layer-wise router feeds fc1 [D_h, D] and fc2 [D, D_h]: y = fc2(ReLU(fc1(x))).
// dalpha accumulates from both mixes before the single router backward.
void grad_layerwise_shared_router(void **) {
    const int64_t D = 5, Dh = 7;
    for (int64_t m : {2, 4}) {
        // A named array: compound literals in the range-for's list would die
        // before the loop body reads them.
        const int64_t active[2][2] = {{D, Dh}, {3, 4}};
        for (const auto &sz : active) {
            const int64_t d = sz[0], dh = sz[1];
            MosShape s1, s2;
            s1.m = s2.m = m;
            s1.d_out = dh, s1.d_in = d, s1.D_out = Dh, s1.D_in = D;
            s2.d_out = d, s2.d_in = dh, s2.D_out = D, s2.D_in = Dh;
            Router R(mos::router_shape_for(s1, kNe, kH), 400 + m);
            Experts X1(s1, 500), X2(s2, 600);
            auto x = uniform(kN * d, 700), r = uniform(kN * d, 701);
            std::vector<float> alpha(m), h(kN * dh), a(kN * dh), y(kN * d);
            std::vector<float> W1m(dh * d), b1m(dh), W2m(d * dh), b2m(d);
            auto loss = [&] {
                R.forward(alpha.data());
                mos::mos_linear_forward(h.data(), W1m.data(), b1m.data(), x.data(), alpha.data(), X1.E.data(),
                                        X1.c.data(), kN, s1);
                mos::relu_forward(a.data(), h.data(), kN * dh);
                mos::mos_linear_forward(y.data(), W2m.data(), b2m.data(), a.data(), alpha.data(), X2.E.data(),
                                        X2.c.data(), kN, s2);
                return dot(y.data(), r.data(), y.size());
            };
            loss();
            for (float v : h) assert_true(std::fabs(v) > 1e-3f);  // not on the ReLU kink
            std::vector<float> da(a.size()), dh_(h.size()), dx(x.size()), dalpha(m);
            std::vector<float> sc2(mos::mos_linear_backward_scratch(s2)), sc1(mos::mos_linear_backward_scratch(s1));
            mos::mos_linear_backward(da.data(), X2.dE.data(), X2.dc.data(), dalpha.data(), sc2.data(), r.data(),
                                     a.data(), W2m.data(), alpha.data(), X2.E.data(), X2.c.data(), kN, s2);
            mos::relu_backward(dh_.data(), da.data(), a.data(), kN * dh);
            mos::mos_linear_backward(dx.data(), X1.dE.data(), X1.dc.data(), dalpha.data(), sc1.data(), dh_.data(),
                                     x.data(), W1m.data(), alpha.data(), X1.E.data(), X1.c.data(), kN, s1);
            R.backward(dalpha.data(), alpha.data());
            GradCheckOptions o;
            o.h = 2e-3;  // the ReLU between the two mixes: small steps stay on one side
            expect_grad("ffn dx", x.data(), dx.data(), x.size(), loss, o);
            X1.check("ffn fc1", loss);
            X2.check("ffn fc2", loss);
            R.check("ffn shared", loss);
        }
    }
}

// m = 1: the mix is exactly the slice and mos_linear is the plain sliced linear.
void m1_equals_sliced_linear(void **) {
    for (MosRouting routing : {MosRouting::LayerWise, MosRouting::NeuronWise}) {
        MosShape s;
        s.m = 1, s.d_out = 4, s.d_in = 3, s.D_out = kDout, s.D_in = kDin, s.routing = routing;
        auto E = uniform(kDout * kDin, 800), c = uniform(kDout, 801), x = uniform(kN * s.d_in, 802);
        auto dy = uniform(kN * s.d_out, 803);
        std::vector<float> alpha(mos::mos_alpha_size(s), 1.0f), Wm(s.d_out * s.d_in), bm(s.d_out);
        std::vector<float> y1(kN * s.d_out), y2(y1.size());
        mos::mos_linear_forward(y1.data(), Wm.data(), bm.data(), x.data(), alpha.data(), E.data(), c.data(), kN, s);
        mos::linear_forward(y2.data(), x.data(), E.data(), c.data(), kN, s.d_in, s.d_out, kDin);
        for (int64_t j = 0; j < s.d_out; j++) {
            assert_true(bm[j] == c[j]);
            for (int64_t k = 0; k < s.d_in; k++) assert_true(Wm[j * s.d_in + k] == E[j * kDin + k]);
        }
        for (size_t i = 0; i < y1.size(); i++) assert_true(std::fabs(y1[i] - y2[i]) <= 1e-6f * (1 + std::fabs(y2[i])));
        std::vector<float> dx1(x.size()), dx2(x.size()), dE(E.size()), dW(E.size()), dc(c.size()), db(c.size());
        std::vector<float> dalpha(alpha.size()), sc(mos::mos_linear_backward_scratch(s));
        mos::mos_linear_backward(dx1.data(), dE.data(), dc.data(), dalpha.data(), sc.data(), dy.data(), x.data(),
                                 Wm.data(), alpha.data(), E.data(), c.data(), kN, s);
        mos::linear_backward(dx2.data(), dW.data(), db.data(), dy.data(), x.data(), E.data(), kN, s.d_in, s.d_out, kDin);
        for (size_t i = 0; i < dx1.size(); i++) assert_true(std::fabs(dx1[i] - dx2[i]) <= 1e-6f * (1 + std::fabs(dx2[i])));
        for (size_t i = 0; i < dE.size(); i++) assert_true(std::fabs(dE[i] - dW[i]) <= 1e-6f * (1 + std::fabs(dW[i])));
        for (size_t i = 0; i < dc.size(); i++) assert_true(std::fabs(dc[i] - db[i]) <= 1e-6f * (1 + std::fabs(db[i])));
    }
}

}  // namespace

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(grad_mos_linear),
        cmocka_unit_test(grad_layerwise_shared_router),
        cmocka_unit_test(m1_equals_sliced_linear),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
