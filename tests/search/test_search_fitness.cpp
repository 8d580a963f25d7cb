// tests/search/test_search_fitness.cpp: the search's fitness (subnet_fitness,
// the inference-only forward of the routed subnet) against the supernet's
// training forward without dropout (mean_loss through Supernet::forward), on
// several archs of a tiny space and every routing mode: equal mean loss and
// NLL to float tolerance, equal token counts, and the workspace reused
// across archs.
#include <algorithm>
#include <cmath>
#include <vector>

#include "core/rng.hpp"
#include "data/batcher.hpp"
#include "data/tokens.hpp"
#include "eval/loss.hpp"
#include "model/arch.hpp"
#include "model/space.hpp"
#include "model/supernet.hpp"
#include "search/search.hpp"

// cmocka (through the data tests' helpers) last: it defines a fail() macro.
#include "../data/test_common.hpp"

namespace {

const char *kTinySpace = R"({"format": "mos-space", "version": 1, "name": "test-tiny", "qkv_dim": 16,
  "encoder": {"embed_dim": [12, 16], "layers": [2, 3], "ffn_dim": [8, 24], "heads": [2, 4]},
  "decoder": {"embed_dim": [12, 16], "layers": [1, 2], "ffn_dim": [8, 24], "self_heads": [2, 4],
              "cross_heads": [2, 4], "cross_k": [1, 2]}})";

constexpr int64_t kVocab = 60;

mos::Supernet make_net(const mos::Space &space, mos::Routing routing) {
    mos::SupernetConfig c;
    c.dims = mos::super_dims(space);
    c.vocab = kVocab;
    c.routing = routing;
    c.experts = routing == mos::Routing::None ? 1 : 2;
    c.router_hidden = 8;
    c.seed = 17;
    return mos::Supernet(c);
}

// 31 random pairs of 2..12 tokens per side, in batches of at most 48 tokens.
std::vector<mos::TokenBatch> make_batches() {
    mos::TokenizedData data;
    mos::Rng rng(23);
    for (int i = 0; i < 31; i++) {
        mos::TokenPair p;
        const int s = 2 + static_cast<int>(rng.below(11)), t = 2 + static_cast<int>(rng.below(11));
        for (int j = 0; j < s; j++)
            p.src.push_back(j + 1 == s ? mos::kEos
                                       : mos::kSpecialTokens + static_cast<int32_t>(rng.below(kVocab - mos::kSpecialTokens)));
        for (int j = 0; j < t; j++)
            p.tgt.push_back(j + 1 == t ? mos::kEos
                                       : mos::kSpecialTokens + static_cast<int32_t>(rng.below(kVocab - mos::kSpecialTokens)));
        data.pairs.push_back(p);
    }
    return mos::fixed_batches(data, 48);
}

void expect_close(double got, double want, double rel, const char *what) {
    const double err = std::fabs(got - want) / std::max(1e-9, std::fabs(want));
    if (err > rel) print_error("%s: got %.9g, want %.9g (relative error %.3g > %.3g)\n", what, got, want, err, rel);
    assert_true(err <= rel);
}

void fitness_matches_training_forward(void **) {
    const mos::Space space = mos::space_from_json(kTinySpace);
    const std::vector<mos::TokenBatch> batches = make_batches();
    assert_true(batches.size() > 2);
    for (mos::Routing routing : {mos::Routing::None, mos::Routing::Layer, mos::Routing::Neuron}) {
        const mos::Supernet net = make_net(space, routing);
        mos::Workspace ws(net, 48, 48, 16);
        mos::EvalWorkspace ews;
        mos::Rng rng(3);
        std::vector<mos::Arch> archs{mos::arch_largest(space), mos::arch_smallest(space)};
        for (int i = 0; i < 4; i++) archs.push_back(mos::arch_sample(space, rng));
        for (const mos::Arch &a : archs) {
            const mos::ArchDims dims = mos::arch_dims(space, a);
            const mos::MeanLoss want = mos::mean_loss(net, ws, dims, batches);
            const mos::MeanLoss got = mos::subnet_fitness(net, dims, ews, batches);
            assert_int_equal(got.tokens, want.tokens);
            assert_true(got.tokens > 0);
            expect_close(got.loss, want.loss, 2e-5, "fitness loss");
            expect_close(got.nll, want.nll, 2e-5, "fitness nll");
        }
    }
}

}  // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fitness_matches_training_forward),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
