// tests/model/test_mixed_precision.cpp: the supernet's bf16 mixed-precision
// passes (Workspace::set_matmul_type(BF16): bf16 products with f32
// accumulation, everything else f32) against the f32 passes on the same
// weights, batch and dropout masks: loss, logits and every parameter gradient
// within bf16 tolerances, for each routing; where the CPU has no native bf16
// (or it is turned off) bf16 must give the f32 results bit for bit; and the
// operands' bf16 copies reused across products give the per-product
// conversion's results bit for bit.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "backend/gemm.hpp"
#include "backend/threads.hpp"
#include "model/arch.hpp"
#include "model/bundle.hpp"
#include "model/space.hpp"
#include "model/supernet.hpp"

// cmocka last: it defines a fail() macro that would clash with mos::fail.
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
extern "C" {
#include <cmocka.h>
}

namespace {

const char *kSpace = R"({"format": "mos-space", "version": 1, "name": "test-mp", "qkv_dim": 32,
  "encoder": {"embed_dim": [24, 32], "layers": [1, 2], "ffn_dim": [32, 64], "heads": [2, 4]},
  "decoder": {"embed_dim": [24, 32], "layers": [1, 2], "ffn_dim": [32, 64], "self_heads": [2, 4],
              "cross_heads": [2, 4], "cross_k": [1]}})";

struct Pass {
    mos::LossStats loss;
    std::vector<float> logits, grads;
};

struct Setup {
    mos::Space space = mos::space_from_json(kSpace);
    int64_t B = 4, S = 11, T = 9;
    int32_t V = 96;
    std::vector<int32_t> src, tin, tout;
    mos::Batch batch;
    Setup() {
        std::mt19937 rng(17);
        src.resize(static_cast<size_t>(B * S));
        tin.resize(static_cast<size_t>(B * T));
        tout.resize(static_cast<size_t>(B * T));
        for (auto &x : src) x = 4 + static_cast<int32_t>(rng() % (V - 4));
        for (auto &x : tin) x = 4 + static_cast<int32_t>(rng() % (V - 4));
        for (auto &x : tout) x = 4 + static_cast<int32_t>(rng() % (V - 4));
        // Some padding (pad id 0, SupernetConfig's default) at the ends of rows.
        src[S - 1] = src[S - 2] = 0;
        tout[2 * T - 1] = 0;
        batch = mos::Batch{B, S, T, src.data(), tin.data(), tout.data()};
    }
};

// teacher: distillation targets [B*T, V] (the soft cross-entropy's backward), or NULL.
Pass run_in(mos::Workspace &ws, mos::SupernetBundle &b, const Setup &s, const mos::ArchDims &dims,
            mos::GemmType t, const float *teacher = nullptr) {
    ws.set_matmul_type(t);
    b.net->zero_grad();
    Pass p;
    p.loss = b.net->forward(ws, dims, s.batch, true, 99, teacher);  // train: dropout on, same masks both times
    const float *lg = b.net->logits(ws);
    p.logits.assign(lg, lg + s.B * s.T * s.V);
    b.net->backward(ws, 1.0f / static_cast<float>(p.loss.tokens));
    const float *g = b.net->grad_data();
    p.grads.assign(g, g + b.net->param_floats());
    return p;
}

Pass run(mos::SupernetBundle &b, const Setup &s, const mos::ArchDims &dims, mos::GemmType t,
         const float *teacher = nullptr) {
    mos::Workspace ws(*b.net, s.B * s.S, s.B * s.T, s.S > s.T ? s.S : s.T);
    return run_in(ws, b, s, dims, t, teacher);
}

void assert_same(const Pass &a, const Pass &b) {
    assert_true(a.loss.loss_sum == b.loss.loss_sum);
    assert_memory_equal(a.logits.data(), b.logits.data(), a.logits.size() * sizeof(float));
    assert_memory_equal(a.grads.data(), b.grads.data(), a.grads.size() * sizeof(float));
}

// ||a - b|| / ||b|| over [lo, hi).
double rel_l2(const std::vector<float> &a, const std::vector<float> &b, size_t lo, size_t hi) {
    double d = 0, n = 0;
    for (size_t i = lo; i < hi; i++) {
        const double e = static_cast<double>(a[i]) - b[i];
        d += e * e;
        n += static_cast<double>(b[i]) * b[i];
    }
    return n > 0 ? std::sqrt(d / n) : std::sqrt(d);
}

void compare_routing(mos::Routing r) {
    mos::set_num_threads(2);
    Setup s;
    mos::SupernetConfig cfg;
    cfg.routing = r;
    cfg.experts = r == mos::Routing::None ? 1 : 2;
    cfg.vocab = s.V;
    cfg.dropout = 0.1f;
    cfg.attn_dropout = 0.1f;
    mos::SupernetBundle b = mos::make_supernet(s.space, cfg);
    for (const mos::Arch &arch : {mos::arch_largest(s.space), mos::arch_smallest(s.space)}) {
        const mos::ArchDims dims = mos::arch_dims(s.space, arch);
        const Pass f = run(b, s, dims, mos::GemmType::F32);
        const Pass h = run(b, s, dims, mos::GemmType::BF16);
        assert_int_equal(f.loss.tokens, h.loss.tokens);
        const double dl = std::fabs(h.loss.loss_sum - f.loss.loss_sum) / std::fabs(f.loss.loss_sum);
        const double dlog = rel_l2(h.logits, f.logits, 0, f.logits.size());
        double worst = 0;
        std::string worst_name;
        for (const mos::ParamInfo &p : b.net->table().all()) {
            const double e = rel_l2(h.grads, f.grads, p.offset, p.offset + p.numel);
            // Tensors whose f32 gradient is (almost) zero carry no signal to compare.
            double n = 0;
            for (size_t i = p.offset; i < p.offset + p.numel; i++) n += std::fabs(f.grads[i]);
            if (n < 1e-6) continue;
            if (e > worst) {
                worst = e;
                worst_name = p.name;
            }
        }
        const double dg = rel_l2(h.grads, f.grads, 0, f.grads.size());
        std::printf("# routing %d: loss rel %.2e, logits rel %.2e, gradients rel %.2e (worst tensor %s %.2e)\n",
                    static_cast<int>(r), dl, dlog, dg, worst_name.c_str(), worst);
        if (mos::bf16_active(mos::default_backend())) {
            // bf16 inputs carry 8 significant bits (relative rounding 2^-9): a few
            // 1e-3 on the loss and logits, a few 1e-2 on gradients after ~20 products.
            assert_true(dl > 0 || dlog > 0);  // the products really ran in bf16
            assert_true(dl <= 5e-3);
            assert_true(dlog <= 2e-2);
            assert_true(dg <= 5e-2);
            assert_true(worst <= 2e-1);
        } else {
            assert_true(dl == 0 && dlog == 0 && dg == 0);
        }
    }
}

void bf16_none(void **) { compare_routing(mos::Routing::None); }
void bf16_layer(void **) { compare_routing(mos::Routing::Layer); }
void bf16_neuron(void **) { compare_routing(mos::Routing::Neuron); }

// With bf16 turned off (as on a CPU without it) BF16 passes are the f32 passes.
void bf16_off_is_f32(void **) {
    mos::set_num_threads(2);
    Setup s;
    mos::SupernetConfig cfg;
    cfg.routing = mos::Routing::Neuron;
    cfg.experts = 2;
    cfg.vocab = s.V;
    mos::SupernetBundle b = mos::make_supernet(s.space, cfg);
    const mos::ArchDims dims = mos::arch_dims(s.space, mos::arch_largest(s.space));
    const Pass f = run(b, s, dims, mos::GemmType::F32);
    mos::set_bf16_disabled(true);
    const Pass h = run(b, s, dims, mos::GemmType::BF16);
    mos::set_bf16_disabled(false);
    assert_same(f, h);
}

// bf16 copies of the products' operands made once per forward and reused by
// the backward (docs/training.md) give the bits of converting inside every
// product (set_bf16_reuse(false), how bf16 steps ran before): loss, logits and
// every gradient, for both routings with experts, two archs in one workspace
// (its bf16 arena reused), dropout on, with the label-smoothed loss and with
// distillation (the two losses that write the logits gradient's bf16 copy).
// Without native bf16 both are f32.
void bf16_copies_same_bits(void **) {
    mos::set_num_threads(2);
    Setup s;
    // A teacher distribution: softmax of fixed pseudo-random scores per row.
    std::vector<float> teacher(static_cast<size_t>(s.B * s.T * s.V));
    std::mt19937 rng(3);
    for (int64_t n = 0; n < s.B * s.T; n++) {
        double sum = 0;
        for (int32_t v = 0; v < s.V; v++) sum += teacher[n * s.V + v] = std::exp(static_cast<float>(rng() % 100) / 25.0f);
        for (int32_t v = 0; v < s.V; v++) teacher[n * s.V + v] = static_cast<float>(teacher[n * s.V + v] / sum);
    }
    for (mos::Routing r : {mos::Routing::Layer, mos::Routing::Neuron}) {
        mos::SupernetConfig cfg;
        cfg.routing = r;
        cfg.experts = 2;
        cfg.vocab = s.V;
        cfg.dropout = 0.1f;
        cfg.attn_dropout = 0.1f;
        mos::SupernetBundle b = mos::make_supernet(s.space, cfg);
        mos::Workspace reused(*b.net, s.B * s.S, s.B * s.T, s.S > s.T ? s.S : s.T);
        for (const mos::Arch &arch : {mos::arch_largest(s.space), mos::arch_smallest(s.space)}) {
            const mos::ArchDims dims = mos::arch_dims(s.space, arch);
            for (const float *t : {static_cast<const float *>(nullptr), static_cast<const float *>(teacher.data())}) {
                mos::set_bf16_reuse(false);
                const Pass per_call = run(b, s, dims, mos::GemmType::BF16, t);
                mos::set_bf16_reuse(true);
                const Pass copies = run_in(reused, b, s, dims, mos::GemmType::BF16, t);
                assert_same(per_call, copies);
            }
        }
    }
}

}  // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bf16_none),
        cmocka_unit_test(bf16_layer),
        cmocka_unit_test(bf16_neuron),
        cmocka_unit_test(bf16_off_is_f32),
        cmocka_unit_test(bf16_copies_same_bits),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
