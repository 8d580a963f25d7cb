// tests/decode/test_engine_builtin.cpp: the decoding engine on real sentences:
// the built-in supernet (data/builtin, docs/builtin.md) routed into its space's
// largest arch and one mid-size arch, the first test verses of
// data/bible-en-es. At f32 the engine's teacher-forced logits equal the
// reference dense decoder's to 1e-4 of their scale, and its greedy and beam-5
// outputs equal the reference decoder's token for token; bf16 and int8 models
// stay within the stated logit tolerances and translate most verses alike.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "data/corpus.hpp"
#include "data/tokenizer.hpp"
#include "data/tokens.hpp"
#include "decode/beam.hpp"
#include "decode/engine.hpp"
#include "decode/search.hpp"
#include "model/builtin.hpp"
#include "model/bundle.hpp"

// cmocka last: it defines a fail() macro that would clash with mos::fail.
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
extern "C" {
#include <cmocka.h>
}

namespace {

using mos::Precision;

constexpr size_t kSentences = 12;

mos::SupernetBundle g_net;
std::vector<std::vector<int32_t>> g_src;   // token ids of the test verses
std::vector<std::vector<int32_t>> g_tgt;   // of their references

std::vector<mos::Arch> archs() {
    const mos::Arch big = mos::arch_largest(g_net.space);
    // A mid-size arch: a sample of the space (fixed seed).
    return {big, mos::arch_sample(g_net.space, 7)};
}

// A batch of the verses with their references as teacher-forced decoder input.
struct RealBatch {
    std::vector<int32_t> src, tin;
    mos::Batch b;
};
RealBatch real_batch(int32_t pad) {
    RealBatch r;
    int64_t S = 0, T = 0;
    for (size_t i = 0; i < g_src.size(); i++) {
        S = std::max<int64_t>(S, static_cast<int64_t>(g_src[i].size()) + 1);
        T = std::max<int64_t>(T, static_cast<int64_t>(g_tgt[i].size()) + 1);
    }
    const int64_t B = static_cast<int64_t>(g_src.size());
    r.src.assign(static_cast<size_t>(B * S), pad);
    r.tin.assign(static_cast<size_t>(B * T), pad);
    for (int64_t b = 0; b < B; b++) {
        std::copy(g_src[b].begin(), g_src[b].end(), r.src.begin() + b * S);
        r.src[b * S + static_cast<int64_t>(g_src[b].size())] = mos::kEos;
        r.tin[b * T] = mos::kEos;
        std::copy(g_tgt[b].begin(), g_tgt[b].end(), r.tin.begin() + b * T + 1);
    }
    r.b = mos::Batch{B, S, T, r.src.data(), r.tin.data(), r.tin.data()};
    return r;
}

double rel_err(const std::vector<float> &a, const std::vector<float> &b) {
    double err = 0.0, s = 0.0;
    for (size_t i = 0; i < a.size(); i++) {
        err = std::max(err, std::fabs(static_cast<double>(a[i]) - b[i]));
        s = std::max(s, std::fabs(static_cast<double>(b[i])));
    }
    return err / std::max(s, 1e-30);
}

void f32_equals_reference(void **) {
    for (const mos::Arch &a : archs()) {
        const mos::ModelBundle mb = mos::route_bundle(g_net, a);
        const mos::DenseModel dense = mos::route(*g_net.net, mos::arch_dims(g_net.space, a));
        const RealBatch rb = real_batch(dense.pad_id());
        const double err = rel_err(mos::engine_teacher_forced_logits(*mb.model, rb.b),
                                   mos::dense_teacher_forced_logits(dense, rb.b));
        const mos::ArchDims d = mos::arch_dims(g_net.space, a);
        std::printf("# arch enc %zu x %lld, dec %zu x %lld: f32 engine logits, max rel err %.3g\n", d.enc.size(),
                    static_cast<long long>(d.enc_embed), d.dec.size(), static_cast<long long>(d.dec_embed), err);
        assert_true(err <= 1e-4);
        for (int beam : {1, 5}) {
            mos::DecodeOptions o;
            o.beam = beam;
            const auto want = mos::ref::translate_batch(dense, g_src, o);
            const auto got = mos::translate_batch(*mb.model, g_src, o);
            for (size_t i = 0; i < g_src.size(); i++) assert_true(got[i] == want[i]);
        }
    }
}

void reduced_precisions(void **) {
    const mos::Arch a = mos::arch_largest(g_net.space);
    const mos::ModelBundle f = mos::route_bundle(g_net, a);
    const RealBatch rb = real_batch(f.model->pad_id());
    const std::vector<float> ref = mos::engine_teacher_forced_logits(*f.model, rb.b);
    mos::DecodeOptions o;
    o.beam = 5;
    const auto want = mos::translate_batch(*f.model, g_src, o);
    for (Precision p : {Precision::BF16, Precision::I8}) {
        mos::PrecisionOptions po;
        po.precision = p;
        const mos::ModelBundle m = mos::route_bundle(g_net, a, po);
        const double err = rel_err(mos::engine_teacher_forced_logits(*m.model, rb.b), ref);
        const auto got = mos::translate_batch(*m.model, g_src, o);
        size_t same = 0;
        for (size_t i = 0; i < g_src.size(); i++) same += got[i] == want[i];
        std::printf("# %s (computing in %s): logits max rel err %.3g; %zu of %zu verses as f32\n",
                    mos::precision_name(p), mos::precision_name(m.model->precision()), err, same, g_src.size());
        assert_true(err <= (p == Precision::BF16 ? 2e-2 : 5e-2));
        // A trained model's translations hardly move: most verses come out
        // identical (the BLEU figures are in docs/benchmarks.md).
        assert_true(same * 2 >= g_src.size());
    }
}

int setup(void **) {
    try {
        g_net = mos::load_builtin("");
        const char *corpus = std::getenv("MOS_TEST_CORPUS");
        if (corpus == nullptr) {
            std::fprintf(stderr, "MOS_TEST_CORPUS is not set\n");
            return -1;
        }
        const mos::Tokenizer tok = mos::Tokenizer::load(g_net.tokenizer);
        const mos::ParallelText t = mos::read_parallel(corpus, "test", "en", "es");
        for (size_t i = 0; i < t.src.size() && g_src.size() < kSentences; i++) {
            g_src.push_back(tok.encode(t.src[i]));
            g_tgt.push_back(tok.encode(t.tgt[i]));
        }
    } catch (const mos::Error &e) {
        std::fprintf(stderr, "setup: %s\n", e.what());
        return -1;
    }
    return g_src.size() == kSentences ? 0 : -1;
}

}  // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(f32_equals_reference),
        cmocka_unit_test(reduced_precisions),
    };
    return cmocka_run_group_tests(tests, setup, nullptr);
}
