// tests/decode/test_engine.cpp: the decoding engine (lib/decode/engine.hpp,
// search.hpp, serve_model.hpp) against the reference decoder (lib/model/dense
// and decode/beam.hpp) on routed models of a small test space whose archs mix
// widths, head counts (head dims 8 and 16) and cross_k 1 and 2:
//  * f32: teacher-forced logits equal the reference to 1e-4 of their scale;
//    greedy and beam outputs equal the reference decoder's, token for token;
//  * bf16 and int8: logits within stated tolerances of f32, outputs valid;
//  * beam reorder by path equals reordering by copying (dense_reorder);
//    dropping rows leaves the other rows' results unchanged;
//  * batch plans honour the sentence and token limits;
//  * a batch decodes as each sentence alone; translate_many returns results
//    in input order for any batch limits and thread count; n-best lists are
//    ordered and their scores are the hypotheses' teacher-forced scores;
//  * model files in every precision round-trip; conversions; argument errors;
//  * logits and search results are the same bits on 1, 2 and 3 threads (a
//    step of a few rows runs on a team of threads, engine.cpp);
//  * a block of positions (speculative decoding's check) gives the statistics
//    of single steps, across rewinds; speculative greedy decoding gives the
//    greedy search's tokens and scores, with a good and with a poor draft.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "backend/threads.hpp"
#include "core/error.hpp"
#include "data/tokens.hpp"
#include "decode/beam.hpp"
#include "decode/engine.hpp"
#include "decode/search.hpp"
#include "decode/speculative.hpp"
#include "io/safetensors.hpp"
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

const char *kSpace = R"({"format": "mos-space", "version": 1, "name": "test-decode", "qkv_dim": 32,
  "encoder": {"embed_dim": [24, 32], "layers": [2, 3], "ffn_dim": [16, 48], "heads": [2, 4]},
  "decoder": {"embed_dim": [24, 32], "layers": [1, 2], "ffn_dim": [16, 48], "self_heads": [2, 4],
              "cross_heads": [2, 4], "cross_k": [1, 2]}})";

constexpr int kVocab = 83;  // not a multiple of 64: the output layer's last group is partial

mos::SupernetBundle g_net;
mos::Space g_space;

// Archs covering the dimensions: the largest, the smallest, and samples
// (enc 32 / dec 24 and the reverse, cross_k 2, mixed heads).
std::vector<mos::Arch> archs() {
    std::vector<mos::Arch> a{mos::arch_largest(g_space), mos::arch_smallest(g_space)};
    for (uint64_t seed : {3, 11, 29}) a.push_back(mos::arch_sample(g_space, seed));
    return a;
}

std::vector<std::vector<int32_t>> sources() {
    return {{5, 6, 7, 8, 9, 10}, {11, 12}, {20, 21, 22, 23, 40, 41, 42, 43, 44}, {70}, {30, 31, 32, 33, 34}};
}

// Max |a - b| over max |b|.
double rel_err(const std::vector<float> &a, const std::vector<float> &b, double *scale) {
    double err = 0.0, s = 0.0;
    for (size_t i = 0; i < a.size(); i++) {
        err = std::max(err, std::fabs(static_cast<double>(a[i]) - b[i]));
        s = std::max(s, std::fabs(static_cast<double>(b[i])));
    }
    *scale = s;
    return err / std::max(s, 1e-30);
}

// A padded batch of sources (EOS appended) and decoder inputs.
struct TestBatch {
    std::vector<int32_t> src, tin, tout;
    mos::Batch b;
};
TestBatch make_batch() {
    const auto srcs = sources();
    TestBatch t;
    int64_t S = 0;
    for (const auto &s : srcs) S = std::max<int64_t>(S, static_cast<int64_t>(s.size()) + 1);
    const int64_t B = static_cast<int64_t>(srcs.size()), T = 7;
    t.src.assign(B * S, 0);
    t.tin.assign(B * T, 0);
    t.tout.assign(B * T, 0);
    for (int64_t b = 0; b < B; b++) {
        for (size_t i = 0; i < srcs[b].size(); i++) t.src[b * S + i] = srcs[b][i];
        t.src[b * S + srcs[b].size()] = mos::kEos;
        t.tin[b * T] = mos::kEos;
        for (int64_t j = 1; j < T - b % 3; j++) t.tin[b * T + j] = static_cast<int32_t>(4 + (b * 7 + j * 5) % 70);
    }
    t.b = mos::Batch{B, S, T, t.src.data(), t.tin.data(), t.tout.data()};
    return t;
}

void f32_logits_equal_reference(void **) {
    const TestBatch tb = make_batch();
    for (const mos::Arch &a : archs()) {
        const mos::ModelBundle mb = mos::route_bundle(g_net, a);
        const mos::DenseModel dense = mos::route(*g_net.net, mos::arch_dims(g_space, a));
        const std::vector<float> want = mos::dense_teacher_forced_logits(dense, tb.b);
        const std::vector<float> got = mos::engine_teacher_forced_logits(*mb.model, tb.b);
        double scale = 0.0;
        const double err = rel_err(got, want, &scale);
        std::printf("# f32 engine logits: max rel err %.3g (scale %.3g)\n", err, scale);
        assert_true(err <= 1e-4);
        // to_dense gives back the routed f32 model exactly.
        const mos::DenseModel back = mb.model->to_dense();
        for (const std::string &n : dense.names())
            assert_memory_equal(back.data(n), dense.data(n), dense.tensor(n).numel * sizeof(float));
    }
}

void reduced_precision_logits(void **) {
    const TestBatch tb = make_batch();
    for (const mos::Arch &a : archs()) {
        const mos::ModelBundle f = mos::route_bundle(g_net, a);
        const std::vector<float> ref = mos::engine_teacher_forced_logits(*f.model, tb.b);
        for (Precision p : {Precision::BF16, Precision::I8}) {
            for (bool emulate : {false, true}) {
                mos::PrecisionOptions po;
                po.precision = p;
                po.allow_emulation = emulate;
                const mos::ModelBundle m = mos::route_bundle(g_net, a, po);
                assert_int_equal(static_cast<int>(m.model->stored_precision()), static_cast<int>(p));
                const std::vector<float> got = mos::engine_teacher_forced_logits(*m.model, tb.b);
                double scale = 0.0;
                const double err = rel_err(got, ref, &scale);
                std::printf("# %s (computing in %s): logits max rel err %.3g\n", mos::precision_name(p),
                            mos::precision_name(m.model->precision()), err);
                // bf16 keeps 8 bits of every weight and activation, int8 7 bits
                // of weights and 8 of activations (per row).
                assert_true(err <= (p == Precision::BF16 ? 2e-2 : 5e-2));
            }
        }
    }
}

void search_equals_reference(void **) {
    const auto srcs = sources();
    for (const mos::Arch &a : archs()) {
        const mos::ModelBundle mb = mos::route_bundle(g_net, a);
        const mos::DenseModel dense = mb.model->to_dense();
        for (int beam : {1, 2, 5}) {
            mos::DecodeOptions o;
            o.beam = beam;
            o.max_len_a = 1.5f;
            o.max_len_b = 3;
            const auto want = mos::ref::translate_batch(dense, srcs, o);
            const auto got = mos::translate_batch(*mb.model, srcs, o);
            for (size_t i = 0; i < srcs.size(); i++) {
                if (got[i] != want[i]) {
                    std::fprintf(stderr, "beam %d sentence %zu: engine", beam, i);
                    for (int32_t x : got[i]) std::fprintf(stderr, " %d", x);
                    std::fprintf(stderr, "; reference");
                    for (int32_t x : want[i]) std::fprintf(stderr, " %d", x);
                    std::fprintf(stderr, "\n");
                }
                assert_true(got[i] == want[i]);
            }
            // A batch decodes as each sentence alone.
            for (size_t i = 0; i < srcs.size(); i++) assert_true(mos::translate_batch(*mb.model, {srcs[i]}, o)[0] == got[i]);
        }
    }
}

// Random beam reorders: the engine (paths) and the reference (copies) agree.
void reorder_by_path(void **) {
    const mos::Arch a = mos::arch_sample(g_space, 11);
    const mos::ModelBundle mb = mos::route_bundle(g_net, a);
    const mos::DenseModel dense = mb.model->to_dense();
    const std::vector<int32_t> src = {5, 6, 7, 8, mos::kEos};
    const int64_t k = 4, steps = 6, V = kVocab;
    mos::DecodeState ref(dense, k, 5, steps);
    mos::dense_encode(ref, dense, src.data(), 1, 5);
    std::vector<int64_t> rows(k, 0);
    mos::dense_expand_rows(ref, dense, rows.data(), k);
    mos::EngineState st;
    st.reserve(*mb.model, 1, k, 5, steps);
    mos::engine_encode(st, *mb.model, src.data(), 1, 5);
    mos::engine_set_rows(st, rows.data(), k);
    std::vector<int32_t> tok(k);
    uint64_t h = 7;
    for (int64_t t = 0; t < steps; t++) {
        for (int64_t r = 0; r < k; r++) tok[r] = static_cast<int32_t>(4 + (t * 13 + r * 7) % 60);
        const float *lr = mos::dense_step(ref, dense, tok.data());
        const std::vector<float> want(lr, lr + k * V);
        const float *lg = mos::engine_step_logits(st, *mb.model, tok.data());
        const std::vector<float> got(lg, lg + k * V);
        double scale = 0.0;
        assert_true(rel_err(got, want, &scale) <= 1e-4);
        std::vector<int64_t> from(k);
        for (int64_t r = 0; r < k; r++) {
            h = h * 6364136223846793005ull + 1442695040888963407ull;
            from[r] = static_cast<int64_t>((h >> 33) % k);
        }
        mos::dense_reorder(ref, dense, from.data(), k);
        mos::engine_reorder(st, from.data(), k);
    }
}

// Dropping rows (finished sentences) leaves the remaining rows' logits as they
// would have been.
void dropping_rows(void **) {
    const mos::ModelBundle mb = mos::route_bundle(g_net, mos::arch_largest(g_space));
    const mos::ServeModel &m = *mb.model;
    const std::vector<int32_t> src = {5, 6, 7, mos::kEos, 9, 10, 11, mos::kEos};  // two sentences of 4
    mos::EngineState a, b;
    for (mos::EngineState *s : {&a, &b}) {
        s->reserve(m, 2, 4, 4, 4);
        mos::engine_encode(*s, m, src.data(), 2, 4);
        const int64_t rows[4] = {0, 0, 1, 1};
        mos::engine_set_rows(*s, rows, 4);
    }
    const int32_t tok4[4] = {3, 3, 3, 3};
    mos::engine_step_logits(a, m, tok4);
    mos::engine_step_logits(b, m, tok4);
    // a keeps all rows; b drops sentence 0's rows and keeps 3 <- 2, 2 <- 3.
    const int64_t keep_all[4] = {1, 0, 3, 2}, keep_two[2] = {3, 2};
    mos::engine_reorder(a, keep_all, 4);
    mos::engine_reorder(b, keep_two, 2);
    assert_int_equal(b.rows(), 2);
    assert_int_equal(b.src_of()[0], 1);
    const int32_t next4[4] = {9, 10, 11, 12}, next2[2] = {11, 12};
    const float *la = mos::engine_step_logits(a, m, next4);
    const std::vector<float> want(la + 2 * kVocab, la + 4 * kVocab);
    const float *lb = mos::engine_step_logits(b, m, next2);
    assert_memory_equal(lb, want.data(), want.size() * sizeof(float));
}

// The batches translate_many forms honour both limits: every sentence exactly
// once, at most max_sentences per batch, at most max_tokens padded tokens
// unless the batch is one sentence longer than the limit, sorted by length
// (stably) when asked and in input order otherwise, and no batch could have
// taken the next sentence (the cut is greedy).
void batch_plans_honour_the_limits(void **) {
    uint64_t seed = 11;
    auto next = [&] {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        return static_cast<int64_t>(seed >> 33);
    };
    for (int trial = 0; trial < 200; trial++) {
        std::vector<int64_t> lengths(static_cast<size_t>(next() % 60));
        for (int64_t &l : lengths) l = 1 + next() % (trial % 2 ? 257 : 12);
        mos::BatchOptions b;
        b.max_sentences = 1 + next() % 40;
        b.max_tokens = trial % 3 == 0 ? 0 : next() % 300;
        b.sort_by_length = trial % 4 != 1;
        const mos::BatchPlan p = mos::plan_batches(lengths, b);
        std::vector<int> seen(lengths.size(), 0);
        for (size_t i : p.order) seen[i]++;
        for (int c : seen) assert_int_equal(c, 1);
        for (size_t i = 1; i < p.order.size(); i++) {
            if (b.sort_by_length) {
                assert_true(lengths[p.order[i - 1]] <= lengths[p.order[i]]);
                if (lengths[p.order[i - 1]] == lengths[p.order[i]]) assert_true(p.order[i - 1] < p.order[i]);
            } else {
                assert_int_equal(p.order[i], i);
            }
        }
        if (lengths.empty()) continue;
        size_t expect_first = 0;
        for (const auto &[first, last] : p.batches) {
            assert_int_equal(first, expect_first);
            assert_true(last > first);
            expect_first = last;
            const int64_t count = static_cast<int64_t>(last - first);
            int64_t longest = 0;
            for (size_t i = first; i < last; i++) longest = std::max(longest, lengths[p.order[i]]);
            assert_true(count <= b.max_sentences);
            if (b.max_tokens > 0 && count > 1) assert_true(count * longest <= b.max_tokens);
            if (last < lengths.size()) {
                const int64_t w = std::max(longest, lengths[p.order[last]]);
                assert_true(count + 1 > b.max_sentences || (b.max_tokens > 0 && (count + 1) * w > b.max_tokens));
            }
        }
        assert_int_equal(expect_first, lengths.size());
    }
    mos::BatchOptions bad;
    bad.max_sentences = 0;
    bool refused = false;
    try {
        mos::plan_batches({3, 4}, bad);
    } catch (const mos::Error &e) {
        refused = e.status() == MOS_INVALID_ARGUMENT && std::strstr(e.what(), "max_batch_sentences") != nullptr;
    }
    assert_true(refused);
}

void nbest_and_batches(void **) {
    const mos::ModelBundle mb = mos::route_bundle(g_net, mos::arch_sample(g_space, 3));
    const mos::ServeModel &m = *mb.model;
    std::vector<std::vector<int32_t>> srcs;
    for (int i = 0; i < 11; i++) {
        std::vector<int32_t> s;
        for (int j = 0; j < 1 + (i * 7) % 9; j++) s.push_back(static_cast<int32_t>(4 + (i * 11 + j * 3) % 75));
        srcs.push_back(s);
    }
    mos::DecodeOptions o;
    o.beam = 4;
    o.nbest = 3;
    mos::BatchOptions one;
    one.max_sentences = 1;
    const auto alone = mos::translate_many(m, srcs, o, one);
    for (int threads : {1, 2})
        for (int64_t ms : {int64_t(3), int64_t(32)})
            for (int64_t mt : {int64_t(0), int64_t(20)}) {
                mos::BatchOptions bo;
                bo.max_sentences = ms;
                bo.max_tokens = mt;
                bo.threads = threads;
                const auto got = mos::translate_many(m, srcs, o, bo);
                for (size_t i = 0; i < srcs.size(); i++) {
                    assert_int_equal(got[i].hyps.size(), alone[i].hyps.size());
                    for (size_t j = 0; j < got[i].hyps.size(); j++) {
                        assert_true(got[i].hyps[j].tokens == alone[i].hyps[j].tokens);
                        assert_true(got[i].hyps[j].score == alone[i].hyps[j].score);
                    }
                }
            }
    // n-best: ordered by score, the best equals translate_batch, and each
    // score is the hypothesis's teacher-forced log-probability / len^0.6.
    const auto best = mos::translate_batch(m, srcs, o);
    for (size_t i = 0; i < srcs.size(); i++) {
        const auto &h = alone[i].hyps;
        assert_true(!h.empty() && h.size() <= 3);
        assert_true(h[0].tokens == best[i]);
        for (size_t j = 1; j < h.size(); j++) assert_true(h[j - 1].score >= h[j].score);
        for (const mos::Hypothesis &hy : h) {
            std::vector<int32_t> src = srcs[i], tin = {mos::kEos}, tout;
            src.push_back(mos::kEos);
            tin.insert(tin.end(), hy.tokens.begin(), hy.tokens.end());
            tout = hy.tokens;
            tout.push_back(mos::kEos);
            const mos::Batch b{1, static_cast<int64_t>(src.size()), static_cast<int64_t>(tin.size()), src.data(),
                               tin.data(), tout.data()};
            const std::vector<float> lg = mos::engine_teacher_forced_logits(m, b);
            double lp = 0.0;
            for (size_t t = 0; t < tout.size(); t++) {
                const float *row = lg.data() + t * kVocab;
                double mx = row[0], s = 0.0;
                for (int v = 0; v < kVocab; v++) mx = std::max(mx, static_cast<double>(row[v]));
                for (int v = 0; v < kVocab; v++) s += std::exp(row[v] - mx);
                lp += row[tout[t]] - mx - std::log(s);
            }
            assert_true(std::fabs(lp - hy.logprob) <= 1e-3 * (1.0 + std::fabs(lp)));
            const double norm = lp / std::pow(static_cast<double>(tout.size()), 0.6);
            assert_true(std::fabs(norm - hy.score) <= 1e-3 * (1.0 + std::fabs(norm)));
        }
    }
}

void files_and_conversions(void **) {
    const mos::Arch a = mos::arch_sample(g_space, 29);
    const mos::ModelBundle f32 = mos::route_bundle(g_net, a);
    const TestBatch tb = make_batch();
    for (Precision p : {Precision::F32, Precision::BF16, Precision::I8}) {
        mos::PrecisionOptions po;
        po.precision = p;
        const mos::ModelBundle m = mos::route_bundle(g_net, a, po);
        const std::vector<uint8_t> bytes = mos::model_to_bytes(m);
        const mos::ModelBundle back = mos::model_from_bytes(bytes.data(), bytes.size(), "test");
        assert_int_equal(static_cast<int>(back.model->stored_precision()), static_cast<int>(p));
        // The same weights: same logits, same bytes when saved again.
        const std::vector<float> l1 = mos::engine_teacher_forced_logits(*m.model, tb.b);
        const std::vector<float> l2 = mos::engine_teacher_forced_logits(*back.model, tb.b);
        assert_memory_equal(l1.data(), l2.data(), l1.size() * sizeof(float));
        const std::vector<uint8_t> again = mos::model_to_bytes(back);
        assert_true(again == bytes);
        // Converting the f32 model gives the routed model of that precision.
        const mos::ModelBundle conv = mos::convert_model(f32, po);
        assert_true(mos::model_to_bytes(conv) == bytes);
        // Back to f32: the exact widening of the reduced weights.
        mos::PrecisionOptions to32;
        const mos::ModelBundle wide = mos::convert_model(m, to32);
        const std::vector<float> lw = mos::engine_teacher_forced_logits(*wide.model, tb.b);
        double scale = 0.0;
        if (p != Precision::F32) assert_true(rel_err(lw, l1, &scale) <= (p == Precision::BF16 ? 2e-2 : 5e-2));
    }
    // Resident weights of the `small` space's largest model (vocabulary 8000):
    // bf16 half of f32, int8 under 30% (the biases and norms stay f32).
    {
        const mos::Space small = mos::space_preset("small");
        const mos::DenseModel d(mos::arch_dims(small, mos::arch_largest(small)), 8000, small.qkv_dim, 0);
        const size_t f = mos::ServeModel::from_dense(d, Precision::F32).weight_bytes();
        const double rb = static_cast<double>(mos::ServeModel::from_dense(d, Precision::BF16).weight_bytes()) / f;
        const double ri = static_cast<double>(mos::ServeModel::from_dense(d, Precision::I8).weight_bytes()) / f;
        std::printf("# small largest: f32 %zu bytes of weights; bf16 %.3f, int8 %.3f of that\n", f, rb, ri);
        assert_true(rb < 0.51 && ri < 0.27);
    }
    // A version-2 file with an unknown dtype, and an int8 file missing a
    // scale, are refused (rewritten through the container so that its
    // checksum stays valid and the model reader sees the problem).
    mos::PrecisionOptions q;
    q.precision = Precision::I8;
    const mos::ModelBundle m8 = mos::route_bundle(g_net, a, q);
    const std::vector<uint8_t> good = mos::model_to_bytes(m8);
    const mos::SafeTensors file = mos::SafeTensors::parse(good.data(), good.size(), "good");
    const auto rewrite = [&](const std::string &dtype, const std::string &drop) {
        mos::SafeTensorsWriter w;
        for (const auto &kv : file.metadata()) w.set_metadata(kv.first, kv.first == "dtype" ? dtype : kv.second);
        for (const mos::TensorInfo &t : file.tensors())
            if (t.name != drop) w.add(t.name, t.dtype, t.shape, file.bytes(t), t.nbytes());
        return w.to_bytes();
    };
    const auto refused = [](const std::vector<uint8_t> &bytes, const char *part) {
        try {
            mos::model_from_bytes(bytes.data(), bytes.size(), "bad");
        } catch (const mos::Error &e) {
            std::printf("# refused: %s\n", e.what());
            return e.status() == MOS_FORMAT && std::strstr(e.what(), part) != nullptr;
        }
        return false;
    };
    const std::vector<uint8_t> same = rewrite("int8", "");
    const mos::ModelBundle again = mos::model_from_bytes(same.data(), same.size(), "same");
    assert_int_equal(static_cast<int>(again.model->stored_precision()), static_cast<int>(Precision::I8));
    assert_true(refused(rewrite("int4", ""), "int4"));
    assert_true(refused(rewrite("int8", "decoder.layers.0.fc1.weight.scale"), "fc1.weight.scale"));
}

template <class F>
void expect_error(mos_status want, const char *part, F fn) {
    try {
        fn();
    } catch (const mos::Error &e) {
        if (e.status() != want || std::strstr(e.what(), part) == nullptr)
            fail_msg("status %d '%s', expected %d with '%s'", e.status(), e.what(), want, part);
        return;
    }
    fail_msg("no error, expected one with '%s'", part);
}

void errors(void **) {
    const mos::ModelBundle mb = mos::route_bundle(g_net, mos::arch_smallest(g_space));
    const mos::ServeModel &m = *mb.model;
    mos::EngineState st;
    const int32_t src[3] = {5, 6, mos::kEos}, bad[3] = {5, kVocab, mos::kEos};
    expect_error(MOS_INVALID_ARGUMENT, "not reserved", [&] { mos::engine_encode(st, m, src, 1, 3); });
    st.reserve(m, 1, 2, 3, 2);
    expect_error(MOS_OUT_OF_RANGE, "outside the vocabulary", [&] { mos::engine_encode(st, m, bad, 1, 3); });
    expect_error(MOS_OUT_OF_RANGE, "exceeds", [&] { mos::engine_encode(st, m, src, 2, 3); });
    mos::engine_encode(st, m, src, 1, 3);
    const int64_t rows3[3] = {0, 0, 0}, rows_bad[2] = {0, 1};
    expect_error(MOS_OUT_OF_RANGE, "outside 1..2", [&] { mos::engine_set_rows(st, rows3, 3); });
    expect_error(MOS_OUT_OF_RANGE, "maps to sentence", [&] { mos::engine_set_rows(st, rows_bad, 2); });
    mos::engine_set_rows(st, rows3, 2);
    const int32_t tok[2] = {3, 3}, tok_bad[2] = {3, -1};
    expect_error(MOS_OUT_OF_RANGE, "outside the vocabulary", [&] { mos::engine_step_logits(st, m, tok_bad); });
    mos::engine_step_logits(st, m, tok);
    expect_error(MOS_INVALID_ARGUMENT, "before the first step", [&] { mos::engine_set_rows(st, rows3, 2); });
    const int64_t from_bad[2] = {0, 2};
    expect_error(MOS_OUT_OF_RANGE, "reorder source row", [&] { mos::engine_reorder(st, from_bad, 2); });
    mos::engine_step_topk(st, m, tok, 4);
    expect_error(MOS_OUT_OF_RANGE, "exceeds the engine state", [&] { mos::engine_step_topk(st, m, tok, 4); });
    mos::DecodeOptions o;
    o.nbest = 5;
    expect_error(MOS_INVALID_ARGUMENT, "nbest", [&] { mos::translate_many(m, {{5}}, o, mos::BatchOptions()); });
    o.nbest = 1;
    o.max_len_a = NAN;
    expect_error(MOS_INVALID_ARGUMENT, "max_len_a", [&] { mos::translate_batch(m, {{5}}, o); });
    mos::BatchOptions bo;
    bo.max_sentences = 0;
    expect_error(MOS_INVALID_ARGUMENT, "max_batch_sentences", [&] { mos::translate_many(m, {{5}}, mos::DecodeOptions(), bo); });
    expect_error(MOS_INVALID_ARGUMENT, "allowed f32|bf16|int8", [] { mos::parse_precision("int4"); });
    // The f32 fallback: a model computing in f32 says why, unless emulation is allowed.
    std::string w;
    assert_int_equal(static_cast<int>(mos::resolve_precision(Precision::F32, false, &w)), static_cast<int>(Precision::F32));
    assert_true(w.empty());
    if (!mos::precision_native(Precision::BF16)) {
        assert_int_equal(static_cast<int>(mos::resolve_precision(Precision::BF16, false, &w)),
                         static_cast<int>(Precision::F32));
        assert_true(w.find("avx512_bf16") != std::string::npos);
    }
    assert_int_equal(static_cast<int>(mos::resolve_precision(Precision::BF16, true, &w)),
                     static_cast<int>(Precision::BF16));
}

// The test supernet's configuration with weights from `seed`.
mos::SupernetConfig net_config(uint64_t seed) {
    mos::SupernetConfig c;
    c.vocab = kVocab;
    c.routing = mos::Routing::Neuron;
    c.experts = 2;
    c.router_hidden = 8;
    c.seed = seed;
    return c;
}

int setup(void **) {
    mos::set_num_threads(1);
    g_space = mos::space_from_json(kSpace);
    g_net = mos::make_supernet(g_space, net_config(17));
    return 0;
}

}  // namespace

// A step of a few rows runs on a team that splits every product's columns
// (engine.cpp, docs/serving.md): the logits and every hypothesis and score
// must be the same bits whatever the thread count, in every precision.
void threads_give_the_same_bits(void **) {
    const TestBatch tb = make_batch();
    const auto srcs = sources();
    for (const mos::Arch &a : archs()) {
        for (Precision p : {Precision::F32, Precision::BF16, Precision::I8}) {
            mos::PrecisionOptions po;
            po.precision = p;
            const mos::ModelBundle mb = mos::route_bundle(g_net, a, po);
            const mos::ServeModel &m = *mb.model;
            std::vector<float> lg1;
            {
                const mos::ThreadScope one(1);
                lg1 = mos::engine_teacher_forced_logits(m, tb.b);
            }
            for (int beam : {1, 5}) {
                mos::DecodeOptions o;
                o.beam = beam;
                o.nbest = beam;
                mos::BatchOptions bo;
                bo.threads = 1;
                const auto want = mos::translate_many(m, srcs, o, bo);
                for (int threads : {2, 3}) {
                    if (beam == 1) {
                        const mos::ThreadScope scope(threads);
                        const std::vector<float> lg = mos::engine_teacher_forced_logits(m, tb.b);
                        assert_int_equal(lg.size(), lg1.size());
                        assert_memory_equal(lg.data(), lg1.data(), lg.size() * sizeof(float));
                    }
                    bo.threads = threads;
                    // One batch (the team inside each step) and one sentence per batch.
                    for (int64_t ms : {int64_t(32), int64_t(1)}) {
                        bo.max_sentences = ms;
                        const auto got = mos::translate_many(m, srcs, o, bo);
                        for (size_t i = 0; i < srcs.size(); i++) {
                            assert_int_equal(got[i].hyps.size(), want[i].hyps.size());
                            for (size_t j = 0; j < got[i].hyps.size(); j++) {
                                assert_true(got[i].hyps[j].tokens == want[i].hyps[j].tokens);
                                assert_memory_equal(&got[i].hyps[j].score, &want[i].hyps[j].score, sizeof(float));
                                assert_memory_equal(&got[i].hyps[j].logprob, &want[i].hyps[j].logprob,
                                                    sizeof(float));
                            }
                        }
                    }
                    bo.max_sentences = 32;
                }
            }
        }
    }
}

// Two rows' top-k statistics are the same bits.
void expect_same_stats(const mos::VocabRowStats &a, const mos::VocabRowStats &b) {
    assert_memory_equal(&a.max, &b.max, sizeof(float));
    assert_memory_equal(&a.sum, &b.sum, sizeof(float));
    assert_memory_equal(&a.eos, &b.eos, sizeof(float));
    assert_int_equal(a.n, b.n);
    assert_memory_equal(a.val, b.val, static_cast<size_t>(a.n) * sizeof(float));
    assert_memory_equal(a.tok, b.tok, static_cast<size_t>(a.n) * sizeof(int32_t));
}

// The step's own team path, forced on and off (EngineState::TeamPolicy): the
// top-k statistics of every row are the same bits, step after step.
void team_steps_equal_solo_steps(void **) {
    const TestBatch tb = make_batch();
    const mos::ThreadScope scope(2);
    for (Precision p : {Precision::F32, Precision::I8}) {
        mos::PrecisionOptions po;
        po.precision = p;
        const mos::ModelBundle mb = mos::route_bundle(g_net, mos::arch_largest(g_space), po);
        const mos::ServeModel &m = *mb.model;
        mos::EngineState team, solo;
        team.set_team_policy(mos::EngineState::TeamPolicy::Always);
        solo.set_team_policy(mos::EngineState::TeamPolicy::Never);
        const int64_t B = tb.b.B, k = 3;
        std::vector<int64_t> src_of(static_cast<size_t>(B * k));
        for (int64_t r = 0; r < B * k; r++) src_of[static_cast<size_t>(r)] = r / k;
        for (mos::EngineState *st : {&team, &solo}) {
            st->reserve(m, B, B * k, tb.b.S, tb.b.T, 2);
            mos::engine_encode(*st, m, tb.b.src, B, tb.b.S);
            mos::engine_set_rows(*st, src_of.data(), B * k);
        }
        std::vector<int32_t> tok(static_cast<size_t>(B * k));
        for (int64_t t = 0; t < tb.b.T; t++) {
            for (int64_t r = 0; r < B * k; r++) tok[static_cast<size_t>(r)] = tb.b.tgt_in[(r / k) * tb.b.T + t] + static_cast<int32_t>(r % k);
            const mos::VocabRowStats *a = mos::engine_step_topk(team, m, tok.data(), 6);
            const mos::VocabRowStats *b = mos::engine_step_topk(solo, m, tok.data(), 6);
            for (int64_t r = 0; r < B * k; r++) expect_same_stats(a[r], b[r]);
        }
    }
}


// engine_step_block_topk: positions checked in blocks, with a rewind past
// wrong tokens, give the single steps' statistics of one thread, bit for bit,
// on one thread and on a team of two.
void block_steps_equal_single_steps(void **) {
    const int32_t src[5] = {11, 12, 13, 14, mos::kEos};
    const int32_t x[9] = {mos::kEos, 40, 41, 42, 43, 44, 45, 46, 47};
    for (const mos::Arch &a : archs()) {
        for (Precision p : {Precision::F32, Precision::I8}) {
            for (int threads : {1, 2}) {
                mos::PrecisionOptions po;
                po.precision = p;
                const mos::ModelBundle mb = mos::route_bundle(g_net, a, po);
                const mos::ServeModel &m = *mb.model;
                mos::EngineState single, block;
                single.reserve(m, 1, 1, 5, 9, 1);
                block.reserve(m, 1, 5, 5, 9, threads);
                block.set_team_policy(threads > 1 ? mos::EngineState::TeamPolicy::Always
                                                  : mos::EngineState::TeamPolicy::Never);
                const mos::ThreadScope scope(threads);
                mos::engine_encode(single, m, src, 1, 5);
                mos::engine_encode(block, m, src, 1, 5);
                std::vector<mos::VocabRowStats> want;
                for (int t = 0; t < 9; t++) {
                    const mos::ThreadScope one(1);
                    want.push_back(mos::engine_step_topk(single, m, &x[t], 4)[0]);
                }
                // Positions 0-2 in one block.
                const mos::VocabRowStats *s = mos::engine_step_block_topk(block, m, x, 3, 4);
                for (int j = 0; j < 3; j++) expect_same_stats(s[j], want[static_cast<size_t>(j)]);
                assert_int_equal(block.step(), 3);
                // Position 3 right, then three wrong tokens: keep one position.
                const int32_t wrong[4] = {x[3], 70, 71, 72};
                s = mos::engine_step_block_topk(block, m, wrong, 4, 4);
                expect_same_stats(s[0], want[3]);
                mos::engine_rewind(block, 4);
                // The rest, over the dropped positions' cache.
                s = mos::engine_step_block_topk(block, m, x + 4, 5, 4);
                for (int j = 0; j < 5; j++) expect_same_stats(s[j], want[static_cast<size_t>(4 + j)]);
                assert_int_equal(block.step(), 9);
                assert_int_equal(block.rows(), 1);
            }
        }
    }
}

// A supernet of other weights: drafts of the same widths that are mostly wrong.
mos::SupernetBundle other_net() { return mos::make_supernet(g_space, net_config(18)); }

// Speculative greedy decoding gives the greedy search's tokens, scores and
// log-probabilities, bit for bit: with the model's own int8 draft (mostly
// right; with its int8 output layer and with the 4-bit draft head) and with
// the int8 model of other weights (mostly wrong), for 1, 3 and 15 draft
// tokens, on one thread and on two.
void speculative_equals_greedy(void **) {
    const auto srcs = sources();
    const std::vector<mos::Arch> as = archs();
    const mos::SupernetBundle net2 = other_net();
    for (size_t ai = 0; ai < as.size(); ai++) {
        const mos::ModelBundle mb = mos::route_bundle(g_net, as[ai]);
        const mos::ServeModel &m = *mb.model;
        const std::unique_ptr<const mos::ServeModel> own = mos::make_draft(m);
        if (own == nullptr) {
            std::fprintf(stderr, "# no int8 draft on this CPU: speculative decoding not tested\n");
            return;
        }
        assert_int_equal(static_cast<int>(own->precision()), static_cast<int>(Precision::I8));
        const auto own_int8 = mos::make_draft(m, mos::DraftHeadChoice::Int8);
        const auto own_nibble = mos::make_draft(m, mos::DraftHeadChoice::Nibble);
        assert_true(own_int8->draft_head() == nullptr && own_nibble->draft_head() != nullptr);
        const mos::ModelBundle other = mos::route_bundle(net2, as[ai]);
        const std::unique_ptr<const mos::ServeModel> poor = mos::make_draft(*other.model);
        mos::DecodeOptions o;
        o.beam = 1;
        o.max_len_a = 1.5f;
        o.max_len_b = 3;
        mos::BatchOptions bo;
        bo.threads = 1;
        bo.max_sentences = 1;
        const auto want = mos::translate_many(m, srcs, o, bo);
        for (const mos::ServeModel *d : {own_int8.get(), own_nibble.get(), poor.get()}) {
            for (int n : {1, 3, 15}) {
                o.draft = d;
                o.draft_tokens = n;
                for (int threads : {1, 2}) {
                    bo.threads = threads;
                    const auto got = mos::translate_many(m, srcs, o, bo);
                    for (size_t i = 0; i < srcs.size(); i++) {
                        assert_int_equal(got[i].hyps.size(), 1);
                        assert_true(got[i].hyps[0].tokens == want[i].hyps[0].tokens);
                        assert_memory_equal(&got[i].hyps[0].score, &want[i].hyps[0].score, sizeof(float));
                        assert_memory_equal(&got[i].hyps[0].logprob, &want[i].hyps[0].logprob, sizeof(float));
                    }
                }
            }
        }
        o.draft = nullptr;
        o.draft_tokens = 0;
    }
    // The protocol form (EOS stepped over, every position taken) and the
    // draft's statistics: the model's own draft is kept more often.
    const mos::ThreadScope one(1);
    const mos::ModelBundle mb = mos::route_bundle(g_net, mos::arch_largest(g_space));
    const mos::ServeModel &m = *mb.model;
    const auto own = mos::make_draft(m);
    const mos::ModelBundle other = mos::route_bundle(net2, mos::arch_largest(g_space));
    const auto poor = mos::make_draft(*other.model);
    const int32_t src[5] = {11, 12, 13, 14, mos::kEos};
    mos::EngineState st, ds;
    std::vector<int32_t> plain;
    st.reserve(m, 1, 8, 5, 20);
    mos::engine_encode(st, m, src, 1, 5);
    int32_t tok = mos::kEos;
    for (int t = 0; t < 20; t++) {
        tok = mos::engine_step_topk(st, m, &tok, 2)[0].best_except(mos::kEos, mos::kSpecialTokens);
        plain.push_back(tok);
    }
    double kept[2] = {0.0, 0.0};
    for (int i = 0; i < 2; i++) {
        const mos::ServeModel &d = i == 0 ? *own : *poor;
        ds.reserve(d, 1, 1, 5, 20);
        mos::engine_encode(st, m, src, 1, 5);
        std::vector<int32_t> got;
        mos::DraftStats ss;
        assert_true(mos::speculative_greedy(st, m, ds, d, 20, 7, true, &got, &ss) == 0.0f);
        assert_true(got == plain);
        assert_true(ss.checks >= 3 && ss.checks <= 20);  // 8 positions per check at most
        assert_true(ss.accepted <= ss.drafted);
        kept[i] = static_cast<double>(ss.accepted) / static_cast<double>(std::max<int64_t>(ss.drafted, 1));
    }
    std::fprintf(stderr, "# draft tokens kept: own int8 %.2f, other weights' %.2f\n", kept[0], kept[1]);
    assert_true(kept[0] > kept[1]);
}

// engine_step_draft: without a draft head it takes engine_step_topk's choice
// (the best token; with skip_eos the best other than EOS); with the head, a
// token of the shortlist, never pad or BOS (nor EOS with skip_eos), mostly
// the int8 output layer's own choice. Both states are fed the same tokens.
// engine_step_cache leaves the state as a draft step would: every other
// step of a third state is one, and its choices match.
void draft_steps(void **) {
    const mos::ThreadScope one(1);
    const mos::ModelBundle mb = mos::route_bundle(g_net, mos::arch_largest(g_space));
    const auto plain = mos::make_draft(*mb.model, mos::DraftHeadChoice::Int8);
    const auto head = mos::make_draft(*mb.model, mos::DraftHeadChoice::Nibble);
    if (plain == nullptr) return;
    const int32_t src[5] = {11, 12, 13, 14, mos::kEos};
    int same = 0, steps = 0;
    for (bool skip_eos : {false, true}) {
        mos::EngineState a, b, c, e;
        a.reserve(*plain, 1, 1, 5, 24);
        b.reserve(*plain, 1, 1, 5, 24);
        c.reserve(*head, 1, 1, 5, 24);
        e.reserve(*plain, 1, 1, 5, 24);
        mos::engine_encode(a, *plain, src, 1, 5);
        mos::engine_encode(b, *plain, src, 1, 5);
        mos::engine_encode(c, *head, src, 1, 5);
        mos::engine_encode(e, *plain, src, 1, 5);
        int32_t tok = mos::kEos;
        for (int t = 0; t < 24; t++) {
            const mos::VocabRowStats &rs = mos::engine_step_topk(a, *plain, &tok, 2)[0];
            const int32_t want = skip_eos ? rs.best_except(mos::kEos, mos::kSpecialTokens) : rs.tok[0];
            assert_int_equal(mos::engine_step_draft(b, *plain, tok, skip_eos), want);
            if (t % 2 == 0) {
                mos::engine_step_cache(e, *plain, tok);
            } else {
                assert_int_equal(mos::engine_step_draft(e, *plain, tok, skip_eos), want);
            }
            assert_int_equal(e.step(), b.step());
            const int32_t got = mos::engine_step_draft(c, *head, tok, skip_eos);
            assert_true(got >= 0 && got < kVocab && got != mos::kBos && got != mb.model->pad_id());
            if (skip_eos) assert_true(got != mos::kEos);
            same += got == want;
            steps++;
            tok = want == mos::kEos ? 20 + t : want;  // keep going past an end of sentence
        }
    }
    std::fprintf(stderr, "# draft head: the int8 output layer's choice in %d of %d steps\n", same, steps);
    assert_true(same * 10 >= steps * 7);
}

void speculative_errors(void **) {
    const mos::ModelBundle mb = mos::route_bundle(g_net, mos::arch_smallest(g_space));
    const mos::ServeModel &m = *mb.model;
    const int32_t src[3] = {5, 6, mos::kEos}, tok[4] = {3, 7, 8, 9};
    const int64_t rows2[2] = {0, 0};
    mos::EngineState st;
    st.reserve(m, 1, 3, 3, 8);
    mos::engine_encode(st, m, src, 1, 3);
    expect_error(MOS_OUT_OF_RANGE, "block of 4 positions", [&] { mos::engine_step_block_topk(st, m, tok, 4, 2); });
    expect_error(MOS_OUT_OF_RANGE, "rewind to step 1", [&] { mos::engine_rewind(st, 1); });
    mos::engine_set_rows(st, rows2, 2);
    expect_error(MOS_INVALID_ARGUMENT, "one row, not 2", [&] { mos::engine_step_block_topk(st, m, tok, 2, 2); });
    expect_error(MOS_INVALID_ARGUMENT, "a draft step needs a state of one row", [&] {
        mos::engine_step_draft(st, m, 3, false);
    });
    expect_error(MOS_INVALID_ARGUMENT, "a draft step needs a state of one row",
                 [&] { mos::engine_step_cache(st, m, 3); });
    {
        // A draft head from other widths' weights.
        mos::ServeModel copy = mos::ServeModel::from_dense(m.to_dense(), Precision::I8);
        const mos::DenseModel wide = mos::route_bundle(g_net, mos::arch_largest(g_space)).model->to_dense();
        expect_error(MOS_INVALID_ARGUMENT, "draft head needs the model's own output projection",
                     [&] { copy.add_draft_head(wide); });
        assert_true(copy.draft_head() == nullptr);
    }
    mos::DecodeOptions o;
    o.beam = 1;
    o.draft_tokens = mos::kMaxDraftTokens + 1;
    expect_error(MOS_INVALID_ARGUMENT, "draft tokens 16", [&] { mos::translate_batch(m, {{5}}, o); });
    // A draft of another vocabulary.
    mos::SupernetConfig c;
    c.vocab = kVocab + 1;
    c.seed = 5;
    const mos::SupernetBundle net2 = mos::make_supernet(g_space, c);
    const mos::ModelBundle mb2 = mos::route_bundle(net2, mos::arch_smallest(g_space));
    const auto d2 = mos::make_draft(*mb2.model);
    if (d2 == nullptr) return;
    o.draft = d2.get();
    o.draft_tokens = 3;
    expect_error(MOS_INVALID_ARGUMENT, "draft's vocabulary", [&] { mos::translate_batch(m, {{5}}, o); });
    // A draft of other widths.
    const auto wide = mos::make_draft(*mos::route_bundle(g_net, mos::arch_largest(g_space)).model);
    o.draft = wide.get();
    expect_error(MOS_INVALID_ARGUMENT, "same widths", [&] { mos::translate_batch(m, {{5}}, o); });
    // Options the speculative path does not serve decode as before.
    const auto bf16 = [&] {
        mos::PrecisionOptions po;
        po.precision = Precision::BF16;
        return mos::route_bundle(g_net, mos::arch_smallest(g_space), po);
    }();
    o.draft = mos::make_draft(m).release();
    const std::unique_ptr<const mos::ServeModel> hold(o.draft);
    assert_true(mos::make_draft(*bf16.model) == nullptr);
    o.beam = 2;
    mos::DecodeOptions plain = o;
    plain.draft = nullptr;
    assert_true(mos::translate_batch(m, {{5, 6}, {7}}, o) == mos::translate_batch(m, {{5, 6}, {7}}, plain));
}

int main() {
    const CMUnitTest tests[] = {
        cmocka_unit_test(f32_logits_equal_reference), cmocka_unit_test(reduced_precision_logits),
        cmocka_unit_test(search_equals_reference),    cmocka_unit_test(reorder_by_path),
        cmocka_unit_test(dropping_rows),              cmocka_unit_test(nbest_and_batches),
        cmocka_unit_test(batch_plans_honour_the_limits),
        cmocka_unit_test(files_and_conversions),      cmocka_unit_test(errors),
        cmocka_unit_test(threads_give_the_same_bits), cmocka_unit_test(team_steps_equal_solo_steps),
        cmocka_unit_test(block_steps_equal_single_steps), cmocka_unit_test(speculative_equals_greedy),
        cmocka_unit_test(draft_steps),                cmocka_unit_test(speculative_errors),
    };
    return cmocka_run_group_tests(tests, setup, nullptr);
}
