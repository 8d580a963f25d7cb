// tests/decode/test_engine_builtin.cpp: the decoding engine on real sentences:
// the built-in supernet (data/builtin, docs/builtin.md) routed into its space's
// largest arch and one mid-size arch, the first test verses of
// data/bible-en-es. At f32 the engine's teacher-forced logits equal the
// reference dense decoder's to 1e-4 of their scale, and its greedy and beam-5
// outputs equal the reference decoder's token for token; bf16 and int8 models
// stay within the stated logit tolerances and translate most verses alike.
// Speculative greedy decoding (the model's int8 draft) gives the plain greedy
// tokens and score bits on 1 and 2 threads, a check on 2 threads with or
// without its team gives the single steps' statistics bit for bit (this
// vocabulary is large enough for the output layer to split over threads),
// and the draft's tokens are mostly kept.
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
#include "decode/speculative.hpp"
#include "backend/threads.hpp"
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

void speculative_on_real_sentences(void **) {
    const mos::ModelBundle mb = mos::route_bundle(g_net, mos::arch_largest(g_net.space));
    const mos::ServeModel &m = *mb.model;
    const std::unique_ptr<const mos::ServeModel> d = mos::make_draft(m);
    if (d == nullptr) {
        std::printf("# no int8 draft on this CPU: skipped\n");
        return;
    }
    mos::DecodeOptions plain;
    plain.beam = 1;
    mos::DecodeOptions spec = plain;
    spec.draft = d.get();
    spec.draft_tokens = 7;
    mos::DraftStats stats;
    for (int threads : {1, 2}) {
        mos::BatchOptions bo;
        bo.threads = threads;
        bo.max_sentences = 1;
        const auto want = mos::translate_many(m, g_src, plain, bo);
        const auto got = mos::translate_many(m, g_src, spec, bo);
        for (size_t i = 0; i < g_src.size(); i++) {
            assert_true(got[i].hyps[0].tokens == want[i].hyps[0].tokens);
            assert_memory_equal(&got[i].hyps[0].score, &want[i].hyps[0].score, sizeof(float));
            assert_memory_equal(&got[i].hyps[0].logprob, &want[i].hyps[0].logprob, sizeof(float));
        }
        // A check of 8 positions on this many threads, team forced on and off.
        for (auto policy : {mos::EngineState::TeamPolicy::Always, mos::EngineState::TeamPolicy::Never}) {
            const mos::ThreadScope scope(threads);
            std::vector<int32_t> src = g_src[0];
            src.push_back(mos::kEos);
            const int64_t S = static_cast<int64_t>(src.size());
            const std::vector<int32_t> &hyp = want[0].hyps[0].tokens;
            std::vector<int32_t> x{mos::kEos};
            x.insert(x.end(), hyp.begin(), hyp.begin() + static_cast<std::ptrdiff_t>(std::min<size_t>(7, hyp.size())));
            const int64_t n = static_cast<int64_t>(x.size());
            mos::EngineState one, block;
            one.reserve(m, 1, 1, S, n, 1);
            block.reserve(m, 1, n, S, n, threads);
            block.set_team_policy(policy);
            mos::engine_encode(one, m, src.data(), 1, S);
            mos::engine_encode(block, m, src.data(), 1, S);
            const mos::VocabRowStats *b = mos::engine_step_block_topk(block, m, x.data(), n, 2);
            for (int64_t j = 0; j < n; j++) {
                mos::VocabRowStats a;
                {
                    const mos::ThreadScope single(1);
                    a = mos::engine_step_topk(one, m, &x[static_cast<size_t>(j)], 2)[0];
                }
                assert_memory_equal(&a.max, &b[j].max, sizeof(float));
                assert_memory_equal(&a.sum, &b[j].sum, sizeof(float));
                assert_int_equal(a.n, b[j].n);
                assert_memory_equal(a.tok, b[j].tok, static_cast<size_t>(a.n) * sizeof(int32_t));
            }
        }
    }
    // The draft's share of kept tokens on these verses.
    mos::EngineState st, ds;
    for (const auto &s : g_src) {
        std::vector<int32_t> src = s;
        src.push_back(mos::kEos);
        const int64_t S = static_cast<int64_t>(src.size()), limit = mos::output_limit(plain, S);
        st.reserve(m, 1, 8, S, limit);
        ds.reserve(*d, 1, 1, S, limit);
        mos::engine_encode(st, m, src.data(), 1, S);
        std::vector<int32_t> out;
        mos::speculative_greedy(st, m, ds, *d, limit, 7, false, &out, &stats);
    }
    const double kept = static_cast<double>(stats.accepted) / static_cast<double>(std::max<int64_t>(stats.drafted, 1));
    std::printf("# int8 draft: %lld of %lld drafted tokens kept (%.1f%%), %lld checks\n",
                static_cast<long long>(stats.accepted), static_cast<long long>(stats.drafted), 100.0 * kept,
                static_cast<long long>(stats.checks));
    assert_true(kept > 0.8);
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
        cmocka_unit_test(speculative_on_real_sentences),
    };
    return cmocka_run_group_tests(tests, setup, nullptr);
}
