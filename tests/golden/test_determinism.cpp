// tests/golden/test_determinism.cpp: pins the exact bits of everything libmos
// draws from a seed, so that a refactoring cannot silently change what a seed
// means (a training run resumed from a checkpoint must continue on the same
// data order, subnets and dropout masks, and a seed must name the same initial
// weights): the raw generator stream, seeded arch sampling / mutation /
// crossover, the subnets of an update, the batcher's shuffled batches, the
// initial weights of a tiny supernet for each routing mode, and dropout masks.
//
// The expected values were recorded from this code before its generators were
// merged into lib/core/rng.hpp; they are integers or hashes of exact bit
// patterns (FNV-1a over bytes), never float tolerances. Run with --print to see
// the values this build computes.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "data/batcher.hpp"
#include "kernels/dropout.hpp"
#include "model/arch.hpp"
#include "model/space.hpp"
#include "model/supernet.hpp"
#include "train/step.hpp"

// cmocka last (it defines a fail() macro); its 1.1 headers carry no extern "C".
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
extern "C" {
#include <cmocka.h>
}

namespace {

bool g_print = false;

// FNV-1a, 64 bits.
struct Hash {
    uint64_t h = 0xcbf29ce484222325ull;
    void bytes(const void *p, size_t n) {
        const unsigned char *c = static_cast<const unsigned char *>(p);
        for (size_t i = 0; i < n; i++) {
            h ^= c[i];
            h *= 0x100000001b3ull;
        }
    }
    void str(const std::string &s) { bytes(s.data(), s.size()); }
    void u64(uint64_t v) { bytes(&v, sizeof v); }
};

// Compares, or prints the value for recording with --print.
void expect(const char *what, uint64_t got, uint64_t want) {
    if (g_print) {
        std::printf("# %s = 0x%016llxull\n", what, static_cast<unsigned long long>(got));
        return;
    }
    if (got != want)
        std::fprintf(stderr, "%s: got 0x%016llx, expected 0x%016llx\n", what, static_cast<unsigned long long>(got),
                     static_cast<unsigned long long>(want));
    assert_true(got == want);
}

const char *kTinySpace = R"({"format": "mos-space", "version": 1, "name": "test-tiny", "qkv_dim": 16,
  "encoder": {"embed_dim": [12, 16], "layers": [1, 2], "ffn_dim": [8, 16], "heads": [2, 4]},
  "decoder": {"embed_dim": [12, 16], "layers": [1, 2], "ffn_dim": [8, 16], "self_heads": [2, 4],
              "cross_heads": [2, 4], "cross_k": [1]}})";

void rng_stream(void **) {
    mos::Rng r(42);
    Hash h;
    for (int i = 0; i < 64; i++) h.u64(r.next());
    for (uint64_t n : {1ull, 2ull, 3ull, 7ull, 1000ull, 0x8000000000000001ull}) h.u64(r.below(n));
    for (int i = 0; i < 16; i++) {
        const double u = r.uniform();
        h.bytes(&u, sizeof u);
    }
    h.u64(r.state());
    expect("rng_stream", h.h, 0x09c56a81e1cc3f02ull);
    mos::Rng zero(0);
    expect("rng_first_of_seed_0", zero.next(), 0xe220a8397b1dcdafull);
}

void arch_sampling(void **) {
    const mos::Space s = mos::space_preset("small");
    Hash h;
    mos::Rng rng(7);
    std::vector<mos::Arch> archs;
    for (int i = 0; i < 20; i++) archs.push_back(mos::arch_sample(s, rng));
    for (const mos::Arch &a : archs) h.str(mos::arch_to_json(a));
    expect("arch_sample_stream", h.h, 0x374122244436e154ull);

    Hash hs;
    for (uint64_t seed = 0; seed < 8; seed++) hs.str(mos::arch_to_json(mos::arch_sample(s, seed)));
    expect("arch_sample_seeds", hs.h, 0xeb9dd7f6b172a6c5ull);

    Hash hm;
    mos::Rng evo(11);
    for (size_t i = 0; i + 1 < archs.size(); i++) {
        hm.str(mos::arch_to_json(mos::arch_mutate(s, archs[i], 0.3, evo)));
        hm.str(mos::arch_to_json(mos::arch_crossover(s, archs[i], archs[i + 1], evo)));
    }
    hm.u64(evo.state());
    expect("arch_mutate_crossover", hm.h, 0x66c9ea56282ee765ull);
}

void update_subnets(void **) {
    const mos::Space s = mos::space_from_json(kTinySpace);
    Hash h;
    // The trainer's sampling RNG starts at seed * 0x9E3779B97F4A7C15 + 1.
    const uint64_t seed = 5;
    mos::Rng rng(seed * 0x9E3779B97F4A7C15ull + 1);
    for (int step = 0; step < 10; step++)
        for (mos::Sampling m : {mos::Sampling::Uniform, mos::Sampling::Sandwich})
            for (const mos::Arch &a : mos::sample_update_archs(s, m, rng)) h.str(mos::arch_to_json(a));
    h.u64(rng.state());
    expect("sample_update_archs", h.h, 0x97d90ad575972569ull);
}

// 300 pairs of lengths 2..24 (eos = 3 last) from a fixed LCG.
mos::TokenizedData synthetic_pairs() {
    mos::TokenizedData d;
    uint64_t x = 2024;
    for (size_t i = 0; i < 300; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        const size_t ls = 2 + (x >> 33) % 23, lt = 2 + (x >> 17) % 23;
        mos::TokenPair p;
        for (size_t k = 0; k + 1 < ls; k++) p.src.push_back(static_cast<int32_t>(4 + (i * 7 + k) % 500));
        for (size_t k = 0; k + 1 < lt; k++) p.tgt.push_back(static_cast<int32_t>(4 + (i * 13 + k) % 500));
        p.src.push_back(3);
        p.tgt.push_back(3);
        d.pairs.push_back(std::move(p));
        d.line.push_back(i);
    }
    return d;
}

void batcher_order(void **) {
    const mos::TokenizedData d = synthetic_pairs();
    mos::BatcherOptions o;
    o.max_tokens = 96;
    o.seed = 9;
    mos::Batcher b(d, o);
    Hash h;
    h.u64(b.num_batches());
    mos::TokenBatch tb;
    // Two and a half epochs: the order of each epoch and the ids of every batch.
    const size_t n = b.num_batches() * 5 / 2;
    for (size_t i = 0; i < n; i++) {
        b.next(tb);
        h.u64(tb.B);
        h.u64(tb.S);
        h.u64(tb.T);
        h.bytes(tb.src.data(), tb.src.size() * sizeof(int32_t));
        h.bytes(tb.tgt_in.data(), tb.tgt_in.size() * sizeof(int32_t));
        h.bytes(tb.tgt_out.data(), tb.tgt_out.size() * sizeof(int32_t));
    }
    h.u64(b.position().epoch);
    h.u64(b.position().index);
    expect("batcher_batches", h.h, 0x420ceb62cb5708feull);
    Hash ho;
    for (uint64_t epoch : {0ull, 1ull, 17ull, 123456789ull})
        for (size_t i = 0; i < b.num_batches(); i++) ho.u64(b.order(epoch, i));
    expect("batcher_order", ho.h, 0xd7a0312106641cc5ull);
}

void init_weights(void **) {
    const mos::Space s = mos::space_from_json(kTinySpace);
    const struct {
        mos::Routing routing;
        int64_t experts;
        const char *name;
    } modes[] = {{mos::Routing::None, 1, "init_weights_none"},
                 {mos::Routing::Layer, 2, "init_weights_layer"},
                 {mos::Routing::Neuron, 3, "init_weights_neuron"}};
    const uint64_t want[] = {0x73650321e8838767ull, 0x8fc787b57ad40591ull, 0xe54ca4564f6f5ec8ull};
    for (size_t i = 0; i < 3; i++) {
        mos::SupernetConfig c;
        c.dims = mos::super_dims(s);
        c.vocab = 40;
        c.routing = modes[i].routing;
        c.experts = modes[i].experts;
        c.router_hidden = 8;
        c.seed = 3 + i;
        const mos::Supernet net(c);
        Hash h;
        h.u64(net.param_floats());
        h.bytes(const_cast<mos::Supernet &>(net).param_data(), net.param_floats() * sizeof(float));
        expect(modes[i].name, h.h, want[i]);
    }
}

void dropout_masks(void **) {
    const mos::DropoutKey key{0x1234567890abcdefull, 77, 1003};
    Hash h;
    for (uint64_t i = 0; i < 1000; i++) {
        const float u = mos::dropout_uniform(key, i);
        h.bytes(&u, sizeof u);
    }
    expect("dropout_uniform", h.h, 0x9ec3201a2d443709ull);
    // The vector path (8 lanes at a time plus a scalar tail) through the kernel.
    const int64_t n = 1003;
    std::vector<float> x(n, 1.0f), y(n);
    Hash hm;
    for (float p : {0.1f, 0.3f, 0.5f}) {
        mos::dropout_forward(y.data(), x.data(), n, p, mos::DropoutKey{5, 2, 17});
        for (int64_t i = 0; i < n; i++) {
            const unsigned char kept = y[i] != 0.0f;
            hm.bytes(&kept, 1);
        }
    }
    expect("dropout_masks", hm.h, 0x8fb3aaa247943173ull);
}

}  // namespace

int main(int argc, char **argv) {
    g_print = argc > 1 && std::strcmp(argv[1], "--print") == 0;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rng_stream),     cmocka_unit_test(arch_sampling), cmocka_unit_test(update_subnets),
        cmocka_unit_test(batcher_order),  cmocka_unit_test(init_weights),  cmocka_unit_test(dropout_masks),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
