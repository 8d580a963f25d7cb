// tests/train/test_train.cpp: the training loop and decoding on a tiny corpus
// written by the test:
//  * resume is exact: N updates in one run equal N/2 + N/2 with a checkpoint
//    and a resume in between (weights and Adam moments bit for bit), in f32
//    and in bf16 mixed precision (which stays close to f32);
//  * training lowers the loss; a stop request writes a checkpoint;
//  * in-place distillation trains the smaller subnets from the largest's outputs;
//  * run_training (mos_train's entry) checks every option before reading the
//    corpus, starts, stops, resumes, and rejects bad resumes; the corpus
//    languages travel in checkpoints and routed models;
//  * the schedules have their documented values;
//  * decoding: beam 1 equals a hand-written greedy loop over dense_step, and a
//    batch of sentences decodes as each sentence alone (padding does not leak);
//  * teams (train_step_teams): the batch split over 1, 2 and 3 teams of one
//    thread gives the single-workspace update's gradient and loss up to rounding
//    (without dropout), an empty shard included, and errors name the problem.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <omp.h>
#include <unistd.h>
#include <vector>

#include "backend/gemm.hpp"
#include "backend/threads.hpp"
#include "core/error.hpp"
#include "decode/beam.hpp"
#include "decode/search.hpp"
#include "model/bundle.hpp"
#include "train/step.hpp"
#include "train/trainer.hpp"

#include "../common/toy_corpus.hpp"

// cmocka (through the data tests' helpers: TempDir) last: it defines a fail() macro.
#include "../data/test_common.hpp"

namespace {

std::string g_dir;

const char *kSpace = kToySpace;

mos::TrainConfig config(const std::string &out, int64_t steps) { return toy_train_config(g_dir, out, steps); }

mos::SupernetConfig net_config() {
    mos::SupernetConfig n;
    n.routing = mos::Routing::Neuron;
    n.experts = 2;
    n.router_hidden = 8;
    n.dropout = 0.1f;
    n.seed = 3;
    return n;
}

mos::SupernetBundle fresh(const mos::TrainConfig &c) {
    return mos::make_trainable(mos::space_from_json(kSpace), net_config(), c, nullptr);
}

// f() throws mos::Error with `status` and a message containing `part`.
template <typename F>
void expect_error(mos_status status, const char *part, F f) {
    try {
        f();
    } catch (const mos::Error &e) {
        if (e.status() != status || std::strstr(e.what(), part) == nullptr)
            fail_msg("status %d '%s', expected %d with '%s'", e.status(), e.what(), status, part);
        return;
    }
    fail_msg("no error, expected one with '%s'", part);
}

// N updates equal N/2 + N/2 with a checkpoint and resume in between, bit for
// bit, in `precision`; the resumed half is given f32 and must take the
// checkpoint's precision (train_state). Returns the uninterrupted run.
mos::SupernetBundle check_resume_exact(mos::TrainPrecision precision, const char *tag) {
    mos::set_num_threads(1);
    const std::string a = g_dir + "/a" + tag + ".safetensors", b = g_dir + "/b" + tag + ".safetensors";
    mos::TrainConfig ca = config(a, 8), cb = config(b, 4), cr = config(b, 8);
    ca.precision = cb.precision = precision;
    cr.precision = mos::TrainPrecision::F32;
    mos::SupernetBundle one = fresh(ca);
    assert_true(mos::train(one, ca, nullptr));

    mos::SupernetBundle two = fresh(cb);
    assert_true(mos::train(two, cb, nullptr));
    mos::SupernetBundle resumed = mos::load_supernet(b);
    assert_true(mos::train(resumed, cr, nullptr));

    const size_t n = one.net->param_floats();
    assert_int_equal(n, resumed.net->param_floats());
    assert_int_equal(std::memcmp(one.net->param_data(), resumed.net->param_data(), n * sizeof(float)), 0);
    assert_int_equal(one.adam_m.size(), resumed.adam_m.size());
    assert_int_equal(std::memcmp(one.adam_m.data(), resumed.adam_m.data(), n * sizeof(float)), 0);
    assert_int_equal(std::memcmp(one.adam_v.data(), resumed.adam_v.data(), n * sizeof(float)), 0);
    // And the run moved the weights at all.
    mos::SupernetBundle init = fresh(ca);
    assert_int_not_equal(std::memcmp(one.net->param_data(), init.net->param_data(), n * sizeof(float)), 0);
    return one;
}

void resume_is_exact(void **) { check_resume_exact(mos::TrainPrecision::F32, "f32"); }

// bf16 mixed precision: checkpoints hold f32 weights and moments and say
// "precision": "bf16"; resume is exact; where bf16 products are native the run
// differs from the f32 one (the products really ran in bf16) but stays close.
void resume_is_exact_bf16(void **) {
    mos::SupernetBundle b16 = check_resume_exact(mos::TrainPrecision::BF16, "bf16");
    mos::SupernetBundle f32 = check_resume_exact(mos::TrainPrecision::F32, "f32b");
    const auto state = b16.meta.find("train_state");
    assert_true(state != b16.meta.end());
    std::string why;
    const bool native = mos::resolve_train_precision(mos::TrainPrecision::Auto, &why) == mos::GemmType::BF16;
    assert_non_null(std::strstr(state->second.c_str(), native ? "\"precision\":\"bf16\"" : "\"precision\":\"f32\""));
    const size_t n = b16.net->param_floats();
    const float *x = b16.net->param_data(), *y = f32.net->param_data();
    double diff = 0, norm = 0;
    for (size_t i = 0; i < n; i++) {
        diff += (static_cast<double>(x[i]) - y[i]) * (static_cast<double>(x[i]) - y[i]);
        norm += static_cast<double>(y[i]) * y[i];
    }
    if (native) assert_true(diff > 0);
    else assert_true(diff == 0);
    // 8 updates at lr 3e-3 from the same start: the weights stay within 1% (relative L2).
    assert_true(std::sqrt(diff) <= 0.01 * std::sqrt(norm));
}

void loss_goes_down_and_stop_saves(void **) {
    const std::string out = g_dir + "/c.safetensors";
    mos::TrainConfig c = config(out, 60);
    c.valid_every = 30;
    mos::SupernetBundle b = fresh(c);
    std::vector<double> valid;
    int64_t steps_seen = 0;
    assert_true(mos::train(b, c, [&](const mos::TrainProgress &p) {
        if (p.event == mos::TrainEvent::Valid) valid.push_back(p.valid_largest);
        if (p.event == mos::TrainEvent::Step) steps_seen = p.step;
        return true;
    }));
    assert_int_equal(steps_seen, 60);
    assert_int_equal(valid.size(), 2);
    assert_true(valid[1] < valid[0]);
    assert_true(access((out + ".best").c_str(), F_OK) == 0);

    // A stop request after 3 updates writes a checkpoint at update 3.
    const std::string out2 = g_dir + "/d.safetensors";
    mos::SupernetBundle s = fresh(config(out2, 50));
    assert_false(mos::train(s, config(out2, 50), [](const mos::TrainProgress &p) {
        return !(p.event == mos::TrainEvent::Step && p.step == 3);
    }));
    const mos::SupernetBundle back = mos::load_supernet(out2);
    assert_non_null(std::strstr(back.meta.at("train_state").c_str(), "\"step\":3"));
}

void distillation(void **) {
    const std::string out = g_dir + "/kd.safetensors";
    mos::TrainConfig c = config(out, 40);
    c.distill = true;
    c.valid_every = 20;
    mos::SupernetBundle b = fresh(c);
    std::vector<double> valid;
    assert_true(mos::train(b, c, [&](const mos::TrainProgress &p) {
        if (p.event == mos::TrainEvent::Valid) valid.push_back(p.valid_smallest);
        return true;
    }));
    assert_int_equal(valid.size(), 2);
    assert_true(valid[1] < valid[0]);
    assert_non_null(std::strstr(mos::load_supernet(out).meta.at("train_state").c_str(), "\"distill\":true"));
    // The teacher is the largest subnet of a sandwich: uniform sampling has none.
    // Rejected before a tokenizer is trained, and by train() itself.
    mos::TrainConfig bad = c;
    bad.sampling = mos::Sampling::Uniform;
    expect_error(MOS_INVALID_ARGUMENT, "sandwich", [&] { fresh(bad); });
    mos::SupernetBundle u = fresh(c);
    expect_error(MOS_INVALID_ARGUMENT, "sandwich", [&] { mos::train(u, bad, nullptr); });
}

// run_training, mos_train's one entry: options are checked before the corpus
// is read; a fresh run, a stop, a resume, and the resume errors.
void run_training_entry(void **) {
    const mos::Space space = mos::space_from_json(kSpace);
    const mos::SupernetConfig net = net_config();
    mos::TrainConfig bad = config(g_dir + "/never.safetensors", 2);
    bad.data_dir = g_dir + "/no-such-corpus";
    bad.max_len = 1;
    // MOS_INVALID_ARGUMENT, not MOS_IO: the options come before the missing corpus.
    expect_error(MOS_INVALID_ARGUMENT, "max_len", [&] { mos::run_training(bad, &space, &net, "", nullptr); });
    bad.max_len = 32;
    bad.vocab_size = 8;
    expect_error(MOS_INVALID_ARGUMENT, "vocab_size", [&] { mos::run_training(bad, &space, &net, "", nullptr); });
    // The supernet's vocabulary, when given, is the tokenizer's size and is checked too.
    mos::SupernetConfig tiny_vocab = net;
    tiny_vocab.vocab = 5;
    expect_error(MOS_INVALID_ARGUMENT, "vocab_size",
                 [&] { mos::run_training(config(g_dir + "/never.safetensors", 2), &space, &tiny_vocab, "", nullptr); });
    expect_error(MOS_INVALID_ARGUMENT, "space",
                 [&] { mos::run_training(config(g_dir + "/never.safetensors", 2), nullptr, &net, "", nullptr); });

    // A fresh run stopped after its first update, then resumed to the end.
    const std::string out = g_dir + "/entry.safetensors";
    mos::TrainRun first = mos::run_training(config(out, 3), &space, &net, "", [](const mos::TrainProgress &p) {
        return p.event != mos::TrainEvent::Step;
    });
    assert_true(first.stopped);
    assert_int_equal(first.bundle.net->config().vocab, 40);
    assert_non_null(std::strstr(first.bundle.meta.at("train_state").c_str(), "\"step\":1"));
    mos::TrainRun resumed = mos::run_training(config(out, 3), nullptr, nullptr, out, nullptr);
    assert_false(resumed.stopped);
    assert_non_null(std::strstr(resumed.bundle.meta.at("train_state").c_str(), "\"step\":3"));
    // The corpus languages travel in the checkpoint and into routed models.
    const mos::SupernetBundle saved = mos::load_supernet(out);
    assert_string_equal(saved.meta.at(mos::kSrcLangKey).c_str(), "xx");
    assert_string_equal(saved.meta.at(mos::kTgtLangKey).c_str(), "yy");
    const mos::ModelBundle routed = mos::route_bundle(saved, mos::arch_smallest(space));
    assert_string_equal(routed.src_lang.c_str(), "xx");
    mos::save_model(g_dir + "/entry-model.safetensors", routed);
    const mos::ModelBundle loaded = mos::load_model(g_dir + "/entry-model.safetensors");
    assert_string_equal(loaded.src_lang.c_str(), "xx");
    assert_string_equal(loaded.tgt_lang.c_str(), "yy");
    expect_error(MOS_INVALID_ARGUMENT, "none may be given",
                 [&] { mos::run_training(config(out, 4), &space, nullptr, out, nullptr); });
    // A checkpoint without training state cannot be resumed.
    const std::string plain = g_dir + "/plain.safetensors";
    mos::SupernetConfig with_vocab = net;
    with_vocab.vocab = 40;
    mos::save_supernet(plain, mos::make_supernet(space, with_vocab));
    // Files from before the languages were recorded load with empty ones.
    const mos::ModelBundle no_lang = mos::route_bundle(mos::load_supernet(plain), mos::arch_smallest(space));
    mos::save_model(g_dir + "/plain-model.safetensors", no_lang);
    assert_true(mos::load_model(g_dir + "/plain-model.safetensors").src_lang.empty());
    expect_error(MOS_FORMAT, "no training state", [&] { mos::run_training(config(out, 4), nullptr, nullptr, plain, nullptr); });
}

void schedules(void **) {
    mos::ScheduleConfig c;
    c.lr = 1e-3f;
    c.init_lr = 0.0f;
    c.warmup = 10;
    assert_true(std::fabs(mos::schedule_lr(c, 5) - 5e-4f) < 1e-9f);
    assert_true(std::fabs(mos::schedule_lr(c, 10) - 1e-3f) < 1e-9f);
    assert_true(std::fabs(mos::schedule_lr(c, 40) - 5e-4f) < 1e-8f);  // 1e-3 * sqrt(10/40)
    c.kind = mos::Schedule::Cosine;
    c.max_steps = 110;
    c.min_lr = 0.0f;
    assert_true(std::fabs(mos::schedule_lr(c, 60) - 5e-4f) < 1e-8f);  // half-way: (lr + min) / 2
    assert_true(std::fabs(mos::schedule_lr(c, 110)) < 1e-9f);
    c.max_steps = 5;
    bool threw = false;
    try {
        mos::check_schedule(c);
    } catch (const mos::Error &e) {
        threw = e.status() == MOS_INVALID_ARGUMENT;
    }
    assert_true(threw);
}

// Sentences of different lengths (with padding), as the trainer's batches have.
struct ToyBatch {
    int64_t B = 7, S = 6, T = 5;
    std::vector<int32_t> src, tin, tout;
    ToyBatch() : src(B * S, 0), tin(B * T, 0), tout(B * T, 0) {  // pad id 0
        for (int64_t b = 0; b < B; b++) {
            const int64_t ls = 2 + b % 5, lt = 1 + (b * 3) % 5;
            for (int64_t s = 0; s < ls; s++) src[b * S + s] = static_cast<int32_t>(4 + (b * 7 + s * 3) % 30);
            tin[b * T] = 3;
            for (int64_t t = 0; t < lt; t++) {
                tout[b * T + t] = static_cast<int32_t>(4 + (b * 5 + t * 11) % 30);
                if (t + 1 < lt) tin[b * T + t + 1] = tout[b * T + t];
            }
        }
    }
    mos::Batch rows(int64_t b0, int64_t b1) const {
        mos::Batch x;
        x.B = b1 - b0;
        x.S = S;
        x.T = T;
        x.src = src.data() + b0 * S;
        x.tgt_in = tin.data() + b0 * T;
        x.tgt_out = tout.data() + b0 * T;
        return x;
    }
};

// The team tests' supernet: a small vocabulary and no dropout, so that shards
// and one workspace compute the same update up to rounding.
mos::SupernetConfig teams_config() {
    mos::SupernetConfig n = net_config();
    n.vocab = 40;
    n.dropout = 0.0f;
    n.attn_dropout = 0.0f;
    return n;
}

// Team r trains rows [cut[r], cut[r + 1]) of tb; every workspace holds the whole batch.
struct Teams {
    std::vector<std::unique_ptr<mos::Workspace>> wss;
    std::vector<mos::TrainTeam> t;
    Teams(const mos::Supernet &net, const ToyBatch &tb, const std::vector<int64_t> &cut,
          mos::GemmType mm = mos::GemmType::F32)
        : t(cut.size() - 1) {
        for (size_t r = 0; r + 1 < cut.size(); r++) {
            wss.push_back(std::make_unique<mos::Workspace>(net, tb.B * tb.S, tb.B * tb.T, 8));
            wss.back()->set_matmul_type(mm);
            t[r].ws = wss.back().get();
            t[r].batch = tb.rows(cut[r], cut[r + 1]);
        }
    }
};

// Largest |a[i] - b[i]|, or largest |a[i]| when b is NULL.
double largest_diff(const float *a, const float *b, size_t n) {
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) worst = std::max(worst, std::fabs(static_cast<double>(a[i]) - (b ? b[i] : 0.0f)));
    return worst;
}

// Runs f nested in another parallel region, where an inner region gets one
// thread (train_step_teams then runs every task on it); returns the thread
// count an inner region got.
template <class F>
int nested_one_thread(F f) {
    const int levels = omp_get_max_active_levels();
    omp_set_max_active_levels(1);
    int inner = 0;
#pragma omp parallel num_threads(2)
    if (omp_get_thread_num() == 0) {
#pragma omp parallel num_threads(3)
        inner = omp_get_num_threads();
        f();
    }
    omp_set_max_active_levels(levels);
    return inner;
}

// In-place distillation with teams: the students read the teacher rows of
// their own shard, whichever team wrote them and whichever team runs the
// student task (the last subnet's shards go in halves, so a half reads from
// inside its shard's rows). Same gradient as one workspace, with 3 threads
// and with 1 thread running every task.
void teams_distill(void **) {
    const mos::Space space = mos::space_from_json(kSpace);
    const mos::SupernetConfig n = teams_config();
    const ToyBatch tb;
    mos::Rng rng(7);
    const std::vector<mos::Arch> archs = mos::sample_update_archs(space, mos::Sampling::Sandwich, rng);
    const size_t rows = static_cast<size_t>(tb.B * tb.T * n.vocab);
    mos::SupernetBundle ref = mos::make_supernet(space, n);
    mos::Workspace ws(*ref.net, tb.B * tb.S, tb.B * tb.T, 8);
    std::vector<float> teacher_ref(rows, 0.0f);
    mos::train_step(ref, ws, archs, tb.rows(0, tb.B), 1, 1e-3f, mos::AdamConfig(), 9, teacher_ref.data());
    const size_t np = ref.net->param_floats();
    const float *g_ref = ref.net->grad_data();
    const double gmax = largest_diff(g_ref, nullptr, np);
    assert_true(gmax > 0.0);
    for (const bool one_thread : {false, true}) {
        mos::SupernetBundle b = mos::make_supernet(space, n);
        Teams teams(*b.net, tb, {0, 3, 5, 7});
        std::vector<float> teacher(rows, 0.0f);
        auto step = [&] { mos::train_step_teams(b, teams.t, archs, 1, 1e-3f, mos::AdamConfig(), 9, teacher.data()); };
        if (one_thread) {
            nested_one_thread(step);
        } else {
            mos::ThreadScope three(3);
            step();
        }
        // The teacher rows are the largest subnet's, in batch order, as with one workspace.
        const double tworst = largest_diff(teacher.data(), teacher_ref.data(), rows);
        if (tworst > 1e-5) fail_msg("teacher rows differ by %g (one thread: %d)", tworst, one_thread);
        const double worst = largest_diff(b.net->grad_data(), g_ref, np);
        if (worst > 1e-4 * gmax)
            fail_msg("distillation, 3 teams (one thread: %d): gradient differs by %g (largest gradient %g)", one_thread,
                     worst, gmax);
    }
}

void teams(void **) {
    const mos::Space space = mos::space_from_json(kSpace);
    const mos::SupernetConfig n = teams_config();
    const ToyBatch tb;
    mos::Rng rng(5);
    const std::vector<mos::Arch> archs = mos::sample_update_archs(space, mos::Sampling::Sandwich, rng);
    // The reference: one workspace, the whole batch.
    mos::SupernetBundle ref = mos::make_supernet(space, n);
    mos::Workspace ws(*ref.net, tb.B * tb.S, tb.B * tb.T, 8);
    const mos::StepStats want = mos::train_step(ref, ws, archs, tb.rows(0, tb.B), 1, 1e-3f, mos::AdamConfig(), 9);
    const size_t np = ref.net->param_floats();
    const float *g_ref = ref.net->grad_data();
    const double gmax = largest_diff(g_ref, nullptr, np);
    assert_true(gmax > 0.0);
    // 1, 2 and 3 teams; the last split leaves team 2 without rows.
    const std::vector<std::vector<int64_t>> splits = {{0, 7}, {0, 3, 7}, {0, 4, 7, 7}};
    for (const std::vector<int64_t> &cut : splits) {
        mos::SupernetBundle b = mos::make_supernet(space, n);
        const int P = static_cast<int>(cut.size()) - 1;
        Teams teams(*b.net, tb, cut);
        const mos::StepStats got = mos::train_step_teams(b, teams.t, archs, 1, 1e-3f, mos::AdamConfig(), 9);
        assert_int_equal(got.tokens, want.tokens);
        assert_true(std::fabs(got.loss_sum - want.loss_sum) <= 1e-4 * std::fabs(want.loss_sum));
        assert_true(std::fabs(got.nll_sum - want.nll_sum) <= 1e-4 * std::fabs(want.nll_sum));
        const double worst = largest_diff(b.net->grad_data(), g_ref, np);
        if (worst > 1e-4 * gmax)
            fail_msg("%d teams: gradient differs by %g (largest gradient %g)", P, worst, gmax);
        // The same Adam step from the same gradient (up to rounding): parameters stay close.
        const double pworst = largest_diff(ref.net->param_data(), b.net->param_data(), np);
        assert_true(pworst <= 2.1e-3);  // at most one Adam step (lr 1e-3) apart where a gradient is near 0
    }
    // One thread for three teams (the call nested in another parallel region):
    // that thread runs every (subnet, shard) itself, adding each shard's
    // gradient to its own. Same gradient.
    {
        mos::SupernetBundle b = mos::make_supernet(space, n);
        Teams teams(*b.net, tb, {0, 2, 5, 7});
        std::vector<mos::TrainTeam> &t = teams.t;
        const int inner = nested_one_thread([&] { mos::train_step_teams(b, t, archs, 1, 1e-3f, mos::AdamConfig(), 9); });
        assert_int_equal(inner, 1);
        const double worst = largest_diff(b.net->grad_data(), g_ref, np);
        if (worst > 1e-4 * gmax) fail_msg("one thread, 3 teams: gradient differs by %g (largest gradient %g)", worst, gmax);
        // Any team may run any shard: a workspace too small for another team's shard is an error.
        mos::Workspace small(*b.net, 2 * tb.S, 2 * tb.T, 8);
        t[0].ws = &small;
        expect_error(MOS_OUT_OF_RANGE, "does not fit team 0's workspace",
                     [&] { mos::train_step_teams(b, t, archs, 2, 1e-3f, mos::AdamConfig(), 9); });
    }
    // The trainer with MOS_TRAIN_SPLIT=shards on 3 threads (3 teams, distillation on):
    // it runs, says so, and lowers the validation loss; an unknown value is an error.
    {
        const std::string out = g_dir + "/teams.safetensors";
        mos::TrainConfig c = config(out, 40);
        c.valid_every = 20;
        c.distill = true;
        mos::SupernetBundle tb2 = fresh(c);
        setenv("MOS_TRAIN_SPLIT", "shards", 1);
        std::vector<double> valid;
        std::string setup;
        {
            mos::ThreadScope three(3);
            assert_true(mos::train(tb2, c, [&](const mos::TrainProgress &p) {
                if (p.event == mos::TrainEvent::Setup) setup = p.message;
                if (p.event == mos::TrainEvent::Valid) valid.push_back(p.valid_largest);
                return true;
            }));
        }
        assert_non_null(std::strstr(setup.c_str(), "each of 3 threads trains its own shard"));
        assert_int_equal(valid.size(), 2);
        assert_true(valid[1] < valid[0]);
        setenv("MOS_TRAIN_SPLIT", "rows", 1);
        mos::SupernetBundle tb3 = fresh(config(g_dir + "/teams2.safetensors", 2));
        expect_error(MOS_INVALID_ARGUMENT, "MOS_TRAIN_SPLIT 'rows'",
                     [&] { mos::train(tb3, config(g_dir + "/teams2.safetensors", 2), nullptr); });
        unsetenv("MOS_TRAIN_SPLIT");
    }
    // bf16 products (where native): the teams share one set of bf16 weight
    // copies and still give the single-workspace gradient up to rounding. On
    // oneDNN alone: under auto a team's smaller attention products may be
    // timed faster in f32 than the whole batch's, a bf16-sized difference.
    const mos::Backend was = mos::default_backend();
    mos::set_default_backend(mos::Backend::OneDNN);
    if (mos::bf16_copies_wanted(mos::GemmType::BF16)) {
        mos::SupernetBundle r16 = mos::make_supernet(space, n);
        mos::Workspace w16(*r16.net, tb.B * tb.S, tb.B * tb.T, 8);
        w16.set_matmul_type(mos::GemmType::BF16);
        mos::train_step(r16, w16, archs, tb.rows(0, tb.B), 1, 1e-3f, mos::AdamConfig(), 9);
        mos::SupernetBundle b16 = mos::make_supernet(space, n);
        Teams teams(*b16.net, tb, {0, 3, tb.B}, mos::GemmType::BF16);
        mos::train_step_teams(b16, teams.t, archs, 1, 1e-3f, mos::AdamConfig(), 9);
        const float *g16 = r16.net->grad_data();
        const double worst = largest_diff(b16.net->grad_data(), g16, np), big = largest_diff(g16, nullptr, np);
        if (worst > 1e-4 * big) fail_msg("bf16 teams: gradient differs by %g (largest gradient %g)", worst, big);
    }
    mos::set_default_backend(was);
    // Shared weights (the teams' path, used directly): a forward refuses
    // weights prepared for another subnet; a backward after a forward with
    // them needs a mixed-gradient buffer and refuses weights prepared again
    // in between; a backward after a forward without them refuses the buffer.
    {
        mos::SupernetBundle sb = mos::make_supernet(space, n);
        mos::Supernet &net = *sb.net;
        mos::Workspace w(net, tb.B * tb.S, tb.B * tb.T, 8);
        mos::SharedWeights sw(net);
        std::vector<float> mixed(sw.mixed_floats());
        const mos::ArchDims big = mos::arch_dims(space, archs[0]), small = mos::arch_dims(space, archs[1]);
        const mos::Batch x = tb.rows(0, tb.B);
        expect_error(MOS_INVALID_ARGUMENT, "not prepared",
                     [&] { net.forward(w, big, x, false, 1, nullptr, &sw); });
        net.prepare(sw, big, mos::GemmType::F32);
        expect_error(MOS_INVALID_ARGUMENT, "another subnet",
                     [&] { net.forward(w, small, x, false, 1, nullptr, &sw); });
        // The same loss as a forward that mixes its own weights.
        const mos::LossStats own = net.forward(w, big, x, false, 1);
        const mos::LossStats shared = net.forward(w, big, x, false, 1, nullptr, &sw);
        assert_true(std::fabs(own.loss_sum - shared.loss_sum) <= 1e-6 * std::fabs(own.loss_sum));
        expect_error(MOS_INVALID_ARGUMENT, "needs a buffer", [&] { net.backward(w, 1.0f); });
        net.prepare(sw, big, mos::GemmType::F32);
        expect_error(MOS_INVALID_ARGUMENT, "prepared again", [&] { net.backward(w, 1.0f, nullptr, mixed.data()); });
        net.forward(w, big, x, false, 1);
        expect_error(MOS_INVALID_ARGUMENT, "is for a forward with shared weights",
                     [&] { net.backward(w, 1.0f, nullptr, mixed.data()); });
        float *none = nullptr;
        expect_error(MOS_INVALID_ARGUMENT, "is NULL", [&] { net.mix_backward(sw, &none, 1); });
        mos::SupernetBundle other = mos::make_supernet(space, n);
        expect_error(MOS_INVALID_ARGUMENT, "another supernet",
                     [&] { other.net->prepare(sw, big, mos::GemmType::F32); });
    }
    // Errors: no teams, a team without a workspace.
    mos::SupernetBundle b = mos::make_supernet(space, n);
    std::vector<mos::TrainTeam> none;
    expect_error(MOS_INVALID_ARGUMENT, "no team",
                 [&] { mos::train_step_teams(b, none, archs, 1, 1e-3f, mos::AdamConfig(), 1); });
    std::vector<mos::TrainTeam> bad(2);
    expect_error(MOS_INVALID_ARGUMENT, "no workspace",
                 [&] { mos::train_step_teams(b, bad, archs, 1, 1e-3f, mos::AdamConfig(), 1); });
}

void decoding(void **) {
    const mos::Space space = mos::space_from_json(kSpace);
    mos::SupernetConfig n = net_config();
    n.vocab = 40;
    mos::SupernetBundle b = mos::make_supernet(space, n);
    const mos::ModelBundle mb = mos::route_bundle(b, mos::arch_sample(space, 9));
    const mos::ServeModel &m = *mb.model;          // the decoding engine's model
    const mos::DenseModel dm = m.to_dense();       // the reference decoder's
    const std::vector<std::vector<int32_t>> srcs = {{5, 6, 7, 8, 9, 10}, {11, 12}, {20, 21, 22, 23}};
    mos::DecodeOptions o;
    o.beam = 1;
    o.max_len_a = 1;
    o.max_len_b = 3;
    const auto greedy = mos::translate_batch(m, srcs, o);
    for (size_t i = 0; i < srcs.size(); i++) {
        // Hand-written greedy loop.
        std::vector<int32_t> src = srcs[i];
        src.push_back(mos::kEos);
        const int64_t limit = static_cast<int64_t>(src.size()) + 3;
        mos::DecodeState st(dm, 1, static_cast<int64_t>(src.size()), limit);
        mos::dense_encode(st, dm, src.data(), 1, static_cast<int64_t>(src.size()));
        std::vector<int32_t> out;
        int32_t tok = mos::kEos;
        for (int64_t t = 0; t < limit; t++) {
            const float *lg = mos::dense_step(st, dm, &tok);
            int32_t best = -1;
            for (int32_t v = 0; v < m.vocab(); v++) {
                if (v == m.pad_id() || v == mos::kBos) continue;
                if (t + 1 == limit && v != mos::kEos) continue;
                if (best < 0 || lg[v] > lg[best]) best = v;
            }
            if (best == mos::kEos) break;
            out.push_back(best);
            tok = best;
        }
        if (out != greedy[i]) {
            std::fprintf(stderr, "sentence %zu: loop", i);
            for (int32_t x : out) std::fprintf(stderr, " %d", x);
            std::fprintf(stderr, "; translate_batch");
            for (int32_t x : greedy[i]) std::fprintf(stderr, " %d", x);
            std::fprintf(stderr, "\n");
        }
        assert_true(out == greedy[i]);
    }
    // Beam search: a batch decodes as each sentence alone.
    o.beam = 4;
    const auto batch = mos::translate_batch(m, srcs, o);
    for (size_t i = 0; i < srcs.size(); i++) {
        const auto alone = mos::translate_batch(m, {srcs[i]}, o);
        assert_true(alone[0] == batch[i]);
        for (int32_t t : batch[i]) assert_true(t >= 0 && t < 40 && t != mos::kEos);
    }
    o.beam = 0;
    bool threw = false;
    try {
        mos::translate_batch(m, srcs, o);
    } catch (const mos::Error &e) {
        threw = e.status() == MOS_INVALID_ARGUMENT;
    }
    assert_true(threw);
}

}  // namespace

int main() {
    const TempDir dir;  // under $TMPDIR (or /tmp), never in the working directory; removed at exit
    g_dir = dir.path;
    write_toy_corpus(g_dir, 6);
    const CMUnitTest tests[] = {
        cmocka_unit_test(schedules),
        cmocka_unit_test(decoding),
        cmocka_unit_test(teams),
        cmocka_unit_test(teams_distill),
        cmocka_unit_test(resume_is_exact),
        cmocka_unit_test(resume_is_exact_bf16),
        cmocka_unit_test(loss_goes_down_and_stop_saves),
        cmocka_unit_test(distillation),
        cmocka_unit_test(run_training_entry),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
