// tests/eval/test_eval_forward.cpp: the inference-only forward of a routed
// subnet (lib/eval/forward) against the supernet's own forward pass without
// dropout, for every routing mode and several archs of a tiny space: in f32
// the loss and NLL sums agree to float rounding and the token counts exactly;
// in bf16 they agree to bf16 rounding (or exactly, where the CPU has no
// native bf16 and the products run in f32). Also: a vocabulary large enough
// that the output projection runs in several row blocks, workspace reuse
// across batch shapes, mean_loss over batches, and the argument errors.
#include <cmath>
#include <vector>

#include "backend/gemm.hpp"
#include "core/error.hpp"
#include "core/rng.hpp"
#include "data/tokens.hpp"
#include "eval/forward.hpp"
#include "eval/loss.hpp"
#include "model/arch.hpp"
#include "model/dense.hpp"
#include "model/space.hpp"
#include "model/supernet.hpp"

// cmocka (through the data tests' helpers: expect_error) last: it defines a fail() macro.
#include "../data/test_common.hpp"

namespace {

const char *kTinySpace = R"({"format": "mos-space", "version": 1, "name": "test-tiny", "qkv_dim": 16,
  "encoder": {"embed_dim": [12, 16], "layers": [2, 3], "ffn_dim": [8, 24], "heads": [2, 4]},
  "decoder": {"embed_dim": [12, 16], "layers": [1, 2], "ffn_dim": [8, 24], "self_heads": [2, 4],
              "cross_heads": [2, 4], "cross_k": [1, 2]}})";

mos::Supernet make_net(const mos::Space &space, mos::Routing routing, int64_t vocab) {
    mos::SupernetConfig c;
    c.dims = mos::super_dims(space);
    c.vocab = vocab;
    c.routing = routing;
    c.experts = routing == mos::Routing::None ? 1 : 2;
    c.router_hidden = 8;
    c.seed = 11;
    return mos::Supernet(c);
}

// A right-padded batch of B sentences of random lengths up to S / T.
struct OwnedBatch {
    std::vector<int32_t> src, tin, tout;
    mos::Batch b;
};
OwnedBatch make_batch(int64_t B, int64_t S, int64_t T, int64_t V, uint64_t seed) {
    mos::Rng rng(seed);
    OwnedBatch o;
    o.src.assign(B * S, mos::kPad);
    o.tin.assign(B * T, mos::kPad);
    o.tout.assign(B * T, mos::kPad);
    for (int64_t r = 0; r < B; r++) {
        const int64_t s = r == 0 ? S : 1 + static_cast<int64_t>(rng.below(S));
        const int64_t t = r == 0 ? T : 1 + static_cast<int64_t>(rng.below(T));
        for (int64_t i = 0; i < s; i++)
            o.src[r * S + i] = i + 1 == s ? mos::kEos : mos::kSpecialTokens + rng.below(V - mos::kSpecialTokens);
        std::vector<int32_t> y(t);
        for (int64_t i = 0; i < t; i++)
            y[i] = i + 1 == t ? mos::kEos : mos::kSpecialTokens + rng.below(V - mos::kSpecialTokens);
        for (int64_t i = 0; i < t; i++) {
            o.tout[r * T + i] = y[i];
            o.tin[r * T + i] = i == 0 ? mos::kEos : y[i - 1];
        }
    }
    o.b.B = B;
    o.b.S = S;
    o.b.T = T;
    o.b.src = o.src.data();
    o.b.tgt_in = o.tin.data();
    o.b.tgt_out = o.tout.data();
    return o;
}

void expect_close(double got, double want, double rel, const char *what) {
    const double err = std::fabs(got - want) / std::max(1e-9, std::fabs(want));
    if (err > rel) print_error("%s: got %.9g, want %.9g (relative error %.3g > %.3g)\n", what, got, want, err, rel);
    assert_true(err <= rel);
}

// The eval forward of the routed arch against Supernet::forward(train = false).
void check_arch(const mos::Supernet &net, const mos::Space &space, const mos::Arch &arch, const OwnedBatch &ob,
                mos::EvalWorkspace &ews) {
    const mos::ArchDims dims = mos::arch_dims(space, arch);
    mos::Workspace ws(net, ob.b.B * ob.b.S, ob.b.B * ob.b.T, std::max(ob.b.S, ob.b.T));
    const mos::LossStats ref = net.forward(ws, dims, ob.b, false, 0);
    const mos::DenseModel m = mos::route(net, dims);
    const float eps = net.config().label_smoothing;
    const mos::LossStats f32 = mos::eval_forward(m, ews, ob.b, eps, mos::EvalPrecision::F32);
    assert_int_equal(f32.tokens, ref.tokens);
    expect_close(f32.loss_sum, ref.loss_sum, 2e-5, "f32 loss");
    expect_close(f32.nll_sum, ref.nll_sum, 2e-5, "f32 nll");
    const mos::LossStats bf = mos::eval_forward(m, ews, ob.b, eps, mos::EvalPrecision::BF16);
    assert_int_equal(bf.tokens, ref.tokens);
    if (mos::effective_precision(mos::EvalPrecision::BF16) == mos::EvalPrecision::BF16) {
        expect_close(bf.loss_sum, ref.loss_sum, 2e-2, "bf16 loss");
        expect_close(bf.nll_sum, ref.nll_sum, 2e-2, "bf16 nll");
    } else {
        assert_true(bf.loss_sum == f32.loss_sum && bf.nll_sum == f32.nll_sum);
    }
}

void matches_supernet(void **) {
    const mos::Space space = mos::space_from_json(kTinySpace);
    for (mos::Routing routing : {mos::Routing::None, mos::Routing::Layer, mos::Routing::Neuron}) {
        const mos::Supernet net = make_net(space, routing, 50);
        mos::EvalWorkspace ews;  // reused across archs and batch shapes
        const OwnedBatch small = make_batch(3, 7, 6, 50, 1);
        const OwnedBatch wide = make_batch(5, 11, 13, 50, 2);
        mos::Rng rng(5);
        std::vector<mos::Arch> archs{mos::arch_largest(space), mos::arch_smallest(space)};
        for (int i = 0; i < 4; i++) archs.push_back(mos::arch_sample(space, rng));
        for (const mos::Arch &a : archs) {
            check_arch(net, space, a, small, ews);
            check_arch(net, space, a, wide, ews);
        }
        assert_true(ews.bytes() > 0);
    }
}

// 70,000 pieces: 64 target rows per block, so a batch of 90 target rows (some
// of them padding) runs the output projection in two blocks.
void output_blocks(void **) {
    assert_int_equal(mos::eval_output_rows(70000), 64);
    assert_int_equal(mos::eval_output_rows(8000), 524);
    const mos::Space space = mos::space_from_json(kTinySpace);
    const mos::Supernet net = make_net(space, mos::Routing::Neuron, 70000);
    const OwnedBatch ob = make_batch(3, 9, 30, 70000, 3);
    mos::EvalWorkspace ews;
    check_arch(net, space, mos::arch_largest(space), ob, ews);
}

// mean_loss over batches equals the token-weighted mean of the batches.
void mean_over_batches(void **) {
    const mos::Space space = mos::space_from_json(kTinySpace);
    const mos::Supernet net = make_net(space, mos::Routing::Layer, 40);
    mos::TokenizedData data;
    mos::Rng rng(9);
    for (int i = 0; i < 23; i++) {
        mos::TokenPair p;
        const int s = 2 + static_cast<int>(rng.below(9)), t = 2 + static_cast<int>(rng.below(9));
        for (int j = 0; j < s; j++) p.src.push_back(j + 1 == s ? mos::kEos : 4 + static_cast<int32_t>(rng.below(36)));
        for (int j = 0; j < t; j++) p.tgt.push_back(j + 1 == t ? mos::kEos : 4 + static_cast<int32_t>(rng.below(36)));
        data.pairs.push_back(p);
    }
    const std::vector<mos::TokenBatch> batches = mos::fixed_batches(data, 40);
    assert_true(batches.size() > 2);
    const mos::DenseModel m = mos::route(net, mos::arch_dims(space, mos::arch_largest(space)));
    mos::EvalWorkspace ews;
    const float eps = net.config().label_smoothing;
    const mos::MeanLoss all = mos::mean_loss(m, ews, batches, eps, mos::EvalPrecision::F32);
    double loss = 0;
    int64_t tokens = 0;
    for (const mos::TokenBatch &tb : batches) {
        const mos::LossStats s = mos::eval_forward(m, ews, mos::batch_view(tb), eps, mos::EvalPrecision::F32);
        loss += s.loss_sum;
        tokens += s.tokens;
    }
    assert_int_equal(all.tokens, tokens);
    expect_close(all.loss, loss / tokens, 1e-12, "mean loss");
    // The supernet's loop gives the same mean.
    mos::Workspace ws(net, 40, 40, 16);
    const mos::MeanLoss ref = mos::mean_loss(net, ws, mos::arch_dims(space, mos::arch_largest(space)), batches);
    expect_close(all.loss, ref.loss, 2e-5, "mean loss vs supernet");
    expect_close(all.nll, ref.nll, 2e-5, "mean nll vs supernet");
}

void bad_arguments(void **) {
    const mos::Space space = mos::space_from_json(kTinySpace);
    const mos::Supernet net = make_net(space, mos::Routing::None, 30);
    const mos::DenseModel m = mos::route(net, mos::arch_dims(space, mos::arch_smallest(space)));
    mos::EvalWorkspace ews;
    OwnedBatch ob = make_batch(2, 4, 4, 30, 4);
    expect_error([&] { mos::eval_forward(m, ews, ob.b, 1.0f, mos::EvalPrecision::F32); }, MOS_INVALID_ARGUMENT,
                 "label smoothing 1");
    mos::Batch empty = ob.b;
    empty.B = 0;
    expect_error([&] { mos::eval_forward(m, ews, empty, 0.1f, mos::EvalPrecision::F32); }, MOS_INVALID_ARGUMENT,
                 "empty batch");
    mos::Batch null_src = ob.b;
    null_src.src = nullptr;
    expect_error([&] { mos::eval_forward(m, ews, null_src, 0.1f, mos::EvalPrecision::F32); }, MOS_INVALID_ARGUMENT,
                 "NULL");
    ob.src[3] = 30;
    expect_error([&] { mos::eval_forward(m, ews, ob.b, 0.1f, mos::EvalPrecision::F32); }, MOS_OUT_OF_RANGE,
                 "source token 30 at 3");
    ob.src[3] = mos::kEos;
    ob.tout[5] = -1;
    expect_error([&] { mos::eval_forward(m, ews, ob.b, 0.1f, mos::EvalPrecision::F32); }, MOS_OUT_OF_RANGE,
                 "target token at 5");
}

void precision_names(void **) {
    assert_string_equal(mos::eval_precision_name(mos::EvalPrecision::F32), "f32");
    assert_string_equal(mos::eval_precision_name(mos::EvalPrecision::BF16), "bf16");
    assert_true(mos::effective_precision(mos::EvalPrecision::F32) == mos::EvalPrecision::F32);
    // Without native bf16 the products run in f32, and say so.
    mos::set_bf16_disabled(true);
    assert_true(mos::effective_precision(mos::EvalPrecision::BF16) == mos::EvalPrecision::F32);
    mos::set_bf16_disabled(false);
}

}  // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(matches_supernet),
        cmocka_unit_test(output_blocks),
        cmocka_unit_test(mean_over_batches),
        cmocka_unit_test(bad_arguments),
        cmocka_unit_test(precision_names),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
