/* tests/capi/test_search.c: mos/train.h and mos/search.h from plain C on a tiny
 * corpus the test writes: training through mos_train (progress, abort with a
 * checkpoint, resume), evaluation of a supernet's subnet and of the routed
 * model (equal losses), model and supernet metadata, translation of text,
 * latency measurement, latency collection and predictor training, and
 * mos_search (determinism, budgets, impossible budgets, JSON and SVG results,
 * a callback that stops it early and still gets the best archs so far)
 * with their error paths. Every call that takes a thread count leaves the
 * caller's OpenMP and OpenBLAS counts as they were (thread_counts.h). */
#define _DEFAULT_SOURCE /* mkdtemp */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mos/mos.h"
#include "thread_counts.h"

static char g_dir[256];
static char g_ckpt[320];

static const char *k_space =
    "{\"format\": \"mos-space\", \"version\": 1, \"name\": \"capi-tiny\", \"qkv_dim\": 16,"
    " \"encoder\": {\"embed_dim\": [12, 16], \"layers\": [1, 2], \"ffn_dim\": [8, 16], \"heads\": [2, 4]},"
    " \"decoder\": {\"embed_dim\": [12, 16], \"layers\": [1, 2], \"ffn_dim\": [8, 16], \"self_heads\": [2, 4],"
    " \"cross_heads\": [2, 4], \"cross_k\": [1]}}";

static void path_in(char *buf, size_t cap, const char *name) { snprintf(buf, cap, "%s/%s", g_dir, name); }

/* A toy word-by-word translation corpus. */
static void write_corpus(void) {
    static const char *sw[] = {"red", "blue", "green", "cat", "dog", "bird", "runs", "sleeps", "eats", "big", "small"};
    static const char *tw[] = {"rojo", "azul", "verde", "gato", "perro", "pajaro", "corre", "duerme", "come",
                               "grande", "chico"};
    const char *splits[] = {"train", "valid", "test"};
    const int lines[] = {300, 40, 20};
    uint64_t h = 7;
    for (int s = 0; s < 3; s++) {
        char ps[320], pt[320];
        snprintf(ps, sizeof ps, "%s/%s.xx", g_dir, splits[s]);
        snprintf(pt, sizeof pt, "%s/%s.yy", g_dir, splits[s]);
        FILE *fs = fopen(ps, "w"), *ft = fopen(pt, "w");
        assert_non_null(fs);
        assert_non_null(ft);
        for (int i = 0; i < lines[s]; i++) {
            h = h * 6364136223846793005ull + 1442695040888963407ull;
            const int len = 2 + (int)((h >> 33) % 5);
            for (int j = 0; j < len; j++) {
                h = h * 6364136223846793005ull + 1442695040888963407ull;
                const int w = (int)((h >> 33) % 11);
                fprintf(fs, "%s%s", j ? " " : "", sw[w]);
                fprintf(ft, "%s%s", j ? " " : "", tw[w]);
            }
            fputc('\n', fs);
            fputc('\n', ft);
        }
        fclose(fs);
        fclose(ft);
    }
}

static mos_space *tiny_space(void) {
    mos_space *s = NULL;
    assert_int_equal(mos_space_create_json(&s, k_space, strlen(k_space)), MOS_OK);
    return s;
}

static mos_train_options train_options(const char *out, int64_t steps) {
    mos_train_options o = MOS_TRAIN_OPTIONS_INIT;
    o.data_dir = g_dir;
    o.src_lang = "xx";
    o.tgt_lang = "yy";
    o.out_path = out;
    o.vocab_size = 40;
    o.max_tokens = 256;
    o.max_len = 32;
    o.max_steps = steps;
    o.lr = 3e-3f;
    o.warmup = 4;
    o.valid_every = 10;
    o.valid_sentences = 20;
    o.threads = 1;
    return o;
}

struct counts {
    int setup, step, valid, stop_at;
};

static int count_progress(const mos_train_progress *p, void *user) {
    struct counts *c = user;
    assert_non_null(p->message);
    if (p->event == MOS_TRAIN_EVENT_SETUP) c->setup++;
    if (p->event == MOS_TRAIN_EVENT_STEP) {
        c->step++;
        assert_true(isfinite(p->loss) && p->loss > 0);
    }
    if (p->event == MOS_TRAIN_EVENT_VALID) {
        c->valid++;
        assert_true(p->valid_loss_largest > 0 && p->valid_loss_smallest > 0);
    }
    return c->stop_at > 0 && p->event == MOS_TRAIN_EVENT_STEP && p->step == c->stop_at;
}

/* The string metadata `key` of a model or supernet, in a static buffer. */
static const char *model_meta(const mos_model *m, const char *key) {
    static char buf[256];
    size_t n = 0;
    assert_int_equal(mos_model_get_meta(NULL, 0, &n, m, key), MOS_OK);
    assert_true(n >= 1 && n <= sizeof buf);
    assert_int_equal(mos_model_get_meta(buf, sizeof buf, NULL, m, key), MOS_OK);
    assert_int_equal(strlen(buf) + 1, n);
    return buf;
}

static const char *supernet_meta(const mos_supernet *net, const char *key) {
    static char buf[4096];
    assert_int_equal(mos_supernet_get_meta(buf, sizeof buf, NULL, net, key), MOS_OK);
    return buf;
}

static void train_evaluate_translate(void **state) {
    (void)state;
    const int caller = caller_threads();
    set_caller_threads(caller);
    mos_space *space = tiny_space();
    mos_supernet_options n = MOS_SUPERNET_OPTIONS_INIT;
    n.router_hidden = 8;
    mos_train_options o = train_options(g_ckpt, 30);
    struct counts c = {0, 0, 0, 0};
    mos_supernet *net = NULL;
    assert_int_equal(mos_train(&net, space, &n, &o, count_progress, &c), MOS_OK);
    assert_caller_threads(caller);
    assert_non_null(net);
    assert_int_equal(c.step, 30);
    assert_int_equal(c.valid, 3);
    assert_true(c.setup >= 1);
    assert_true(mos_supernet_has_tokenizer(net));
    /* mos_train records the corpus languages. */
    assert_string_equal(supernet_meta(net, "src_lang"), "xx");
    assert_string_equal(supernet_meta(net, "tgt_lang"), "yy");
    assert_string_equal(supernet_meta(net, "format"), "mos-supernet");
    assert_string_equal(supernet_meta(net, "format_version"), "1");
    assert_true(strlen(supernet_meta(net, "train_state")) > 2);
    assert_string_equal(supernet_meta(net, "no such key"), "");
    char tiny[2] = "x";
    assert_int_equal(mos_supernet_get_meta(tiny, sizeof tiny, NULL, net, "src_lang"), MOS_OUT_OF_RANGE);
    assert_string_equal(tiny, "");
    assert_int_equal(mos_supernet_get_meta(tiny, sizeof tiny, NULL, net, NULL), MOS_INVALID_ARGUMENT);
    assert_int_equal(mos_supernet_get_meta(tiny, sizeof tiny, NULL, NULL, "src_lang"), MOS_INVALID_ARGUMENT);

    /* Evaluation of the supernet's largest subnet, at two thread counts. */
    mos_arch *arch = NULL;
    assert_int_equal(mos_arch_create_largest(&arch, space), MOS_OK);
    mos_eval_options eo = MOS_EVAL_OPTIONS_INIT;
    eo.split = "test";
    eo.src_lang = "xx";
    eo.tgt_lang = "yy";
    eo.bleu_beam = 2;
    eo.threads = 1;
    mos_eval_result r = MOS_EVAL_RESULT_INIT, r0 = MOS_EVAL_RESULT_INIT;
    assert_int_equal(mos_evaluate(&r, net, arch, g_dir, &eo), MOS_OK);
    assert_caller_threads(caller);
    assert_int_equal(r.version, MOS_EVAL_RESULT_VERSION);
    assert_int_equal(r.sentences, 20);
    assert_true(r.tokens > 20 && r.loss > 0 && r.nll > 0 && r.bleu >= 0 && r.bleu <= 100);
    eo.threads = 0;
    assert_int_equal(mos_evaluate(&r0, net, arch, g_dir, &eo), MOS_OK);
    assert_caller_threads(caller);
    assert_true(fabs(r0.loss - r.loss) <= 1e-4 * r.loss);
    /* Errors: a missing split, a result or options of an unknown version,
     * missing languages (NULL options are the defaults, which lack them),
     * a bad thread count, NULL arguments. */
    eo.split = "nosuch";
    assert_int_equal(mos_evaluate(&r0, net, arch, g_dir, &eo), MOS_IO);
    assert_non_null(strstr(mos_last_error(), "nosuch"));
    assert_int_equal(r0.version, MOS_EVAL_RESULT_VERSION);
    assert_true(r0.loss == 0 && r0.tokens == 0);
    eo.split = "test";
    mos_eval_result old = MOS_EVAL_RESULT_INIT;
    old.version = 99;
    assert_int_equal(mos_evaluate(&old, net, arch, g_dir, &eo), MOS_VERSION);
    assert_int_equal(old.version, 99);
    assert_int_equal(mos_evaluate(&r0, net, arch, g_dir, NULL), MOS_INVALID_ARGUMENT);
    assert_non_null(strstr(mos_last_error(), "src_lang"));
    eo.threads = -1;
    assert_int_equal(mos_evaluate(&r0, net, arch, g_dir, &eo), MOS_INVALID_ARGUMENT);
    assert_non_null(strstr(mos_last_error(), "threads -1"));
    eo.threads = 1;
    eo.bleu_beam = 65;
    assert_int_equal(mos_evaluate(&r0, net, arch, g_dir, &eo), MOS_INVALID_ARGUMENT);
    eo.bleu_beam = 2;
    eo.version = 3;
    assert_int_equal(mos_evaluate(&r0, net, arch, g_dir, &eo), MOS_VERSION);
    eo.version = MOS_EVAL_OPTIONS_VERSION;
    assert_int_equal(mos_evaluate(NULL, net, arch, g_dir, &eo), MOS_INVALID_ARGUMENT);
    assert_int_equal(mos_evaluate(&r0, NULL, arch, g_dir, &eo), MOS_INVALID_ARGUMENT);
    assert_int_equal(mos_evaluate(&r0, net, NULL, g_dir, &eo), MOS_INVALID_ARGUMENT);
    assert_int_equal(mos_evaluate(&r0, net, arch, NULL, &eo), MOS_INVALID_ARGUMENT);

    /* The routed model carries the languages and evaluates to the supernet's
     * loss and BLEU for the same arch (float tolerance), also after a save
     * and load (its label smoothing travels in the file). */
    mos_route_options ro = MOS_ROUTE_OPTIONS_INIT;
    ro.threads = 1;
    mos_model *m = NULL;
    assert_int_equal(mos_route(&m, net, arch, &ro), MOS_OK);
    assert_caller_threads(caller);
    assert_true(mos_model_has_tokenizer(m));
    assert_string_equal(model_meta(m, "src_lang"), "xx");
    assert_string_equal(model_meta(m, "tgt_lang"), "yy");
    assert_string_equal(model_meta(m, "format"), "mos-model");
    assert_string_equal(model_meta(m, "format_version"), "1");
    assert_string_equal(model_meta(m, "train_state"), "");
    assert_int_equal(mos_model_get_meta(NULL, 0, NULL, m, NULL), MOS_INVALID_ARGUMENT);
    assert_int_equal(mos_model_get_meta(NULL, 0, NULL, NULL, "src_lang"), MOS_INVALID_ARGUMENT);
    mos_eval_result rm = MOS_EVAL_RESULT_INIT;
    assert_int_equal(mos_model_evaluate(&rm, m, g_dir, &eo), MOS_OK);
    assert_caller_threads(caller);
    assert_int_equal(rm.sentences, r.sentences);
    assert_int_equal(rm.tokens, r.tokens);
    assert_true(fabs(rm.loss - r.loss) <= 1e-4 * r.loss);
    assert_true(fabs(rm.nll - r.nll) <= 1e-4 * r.nll);
    assert_true(fabs(rm.bleu - r.bleu) <= 1e-9);
    char mpath[320];
    path_in(mpath, sizeof mpath, "largest.model");
    assert_int_equal(mos_model_save(m, mpath), MOS_OK);
    mos_model *m2 = NULL;
    assert_int_equal(mos_model_load(&m2, mpath), MOS_OK);
    assert_string_equal(model_meta(m2, "tgt_lang"), "yy");
    mos_eval_result rm2 = MOS_EVAL_RESULT_INIT;
    eo.bleu_beam = 0;
    assert_int_equal(mos_model_evaluate(&rm2, m2, g_dir, &eo), MOS_OK);
    assert_true(fabs(rm2.loss - rm.loss) <= 1e-6 * rm.loss);
    assert_true(rm2.bleu == -1.0);
    mos_model_destroy(m2);
    unlink(mpath);
    eo.split = "nosuch";
    assert_int_equal(mos_model_evaluate(&rm2, m, g_dir, &eo), MOS_IO);
    eo.split = "test";
    assert_int_equal(mos_model_evaluate(&rm2, m, g_dir, NULL), MOS_INVALID_ARGUMENT);
    assert_int_equal(mos_model_evaluate(NULL, m, g_dir, &eo), MOS_INVALID_ARGUMENT);
    assert_int_equal(mos_model_evaluate(&rm2, NULL, g_dir, &eo), MOS_INVALID_ARGUMENT);
    assert_int_equal(mos_model_evaluate(&rm2, m, NULL, &eo), MOS_INVALID_ARGUMENT);

    /* Translation of text, at both thread counts; the texts getters. */
    const char *src[] = {"red cat runs", "", "big dog sleeps"};
    mos_translate_options to = MOS_TRANSLATE_OPTIONS_INIT;
    mos_texts *t = NULL, *t1 = NULL;
    assert_int_equal(mos_model_translate(&t, m, src, 3, NULL), MOS_OK);
    assert_caller_threads(caller);
    to.threads = 1;
    assert_int_equal(mos_model_translate(&t1, m, src, 3, &to), MOS_OK);
    assert_caller_threads(caller);
    assert_null(mos_texts_get(NULL, 0)); /* sets the last error ... */
    assert_int_equal(mos_texts_count(t), 3);
    assert_string_equal(mos_last_error(), ""); /* ... which a successful getter clears */
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(mos_texts_count(NULL), 0);
        assert_non_null(mos_texts_get(t, i));
        assert_string_equal(mos_last_error(), "");
        assert_string_equal(mos_texts_get(t, i), mos_texts_get(t1, i));
    }
    assert_null(mos_texts_get(t, 3));
    assert_non_null(strstr(mos_last_error(), "mos_texts_get: index 3 of 3"));
    mos_texts_destroy(t);
    mos_texts_destroy(t1);
    const char *bad[] = {"caf\xc3"};
    assert_int_equal(mos_model_translate(&t, m, bad, 1, NULL), MOS_INVALID_ARGUMENT);
    assert_non_null(strstr(mos_last_error(), "UTF-8"));
    to.threads = 1025;
    assert_int_equal(mos_model_translate(&t, m, src, 3, &to), MOS_INVALID_ARGUMENT);
    assert_non_null(strstr(mos_last_error(), "threads 1025 outside 0..1024"));
    assert_null(t);

    /* Latency: the result's version is checked, the thread count restored. */
    mos_latency_options lo = MOS_LATENCY_OPTIONS_INIT;
    lo.runs = 3;
    lo.warmup = 1;
    lo.threads = 1;
    mos_latency_result lr = MOS_LATENCY_RESULT_INIT;
    assert_int_equal(mos_latency_measure(&lr, m, &lo), MOS_OK);
    assert_caller_threads(caller);
    assert_true(lr.mean_ms > 0 && lr.p10_ms <= lr.p90_ms && lr.runs == 3);
    lr.version = 0;
    assert_int_equal(mos_latency_measure(&lr, m, &lo), MOS_VERSION);
    lr.version = MOS_LATENCY_RESULT_VERSION;
    lo.beam = 0;
    assert_int_equal(mos_latency_measure(&lr, m, &lo), MOS_INVALID_ARGUMENT);
    assert_int_equal(lr.version, MOS_LATENCY_RESULT_VERSION);
    assert_true(lr.mean_ms == 0 && lr.runs == 0);
    /* Speculative timing (version 3): greedy only, 0..15 draft tokens. */
    lo.beam = 1;
    lo.draft_tokens = 3;
    assert_int_equal(mos_latency_measure(&lr, m, &lo), MOS_OK);
    assert_true(lr.mean_ms > 0 && lr.runs == 3);
    lo.beam = 5;
    assert_int_equal(mos_latency_measure(&lr, m, &lo), MOS_INVALID_ARGUMENT);
    assert_non_null(strstr(mos_last_error(), "is greedy"));
    lo.beam = 1;
    lo.draft_tokens = 16;
    assert_int_equal(mos_latency_measure(&lr, m, &lo), MOS_INVALID_ARGUMENT);
    assert_non_null(strstr(mos_last_error(), "draft_tokens 16"));

    mos_model_destroy(m);
    mos_arch_destroy(arch);
    mos_supernet_destroy(net);
    mos_space_destroy(space);
}

static void train_abort_and_resume(void **state) {
    (void)state;
    char out[320];
    path_in(out, sizeof out, "abort.safetensors");
    mos_space *space = tiny_space();
    mos_train_options o = train_options(out, 50);
    struct counts c = {0, 0, 0, 4};
    mos_supernet *net = NULL;
    const int caller = caller_threads();
    set_caller_threads(caller);
    assert_int_equal(mos_train(&net, space, NULL, &o, count_progress, &c), MOS_ABORTED);
    assert_caller_threads(caller); /* restored on the way out of a stopped run too */
    assert_non_null(net); /* the state of the checkpoint written on the way out */
    assert_non_null(strstr(mos_last_error(), "checkpoint"));
    mos_supernet_destroy(net);
    /* Resume: continues from update 4 to 8. */
    mos_train_options r = train_options(out, 8);
    r.resume_path = out;
    struct counts c2 = {0, 0, 0, 0};
    assert_int_equal(mos_train(&net, NULL, NULL, &r, count_progress, &c2), MOS_OK);
    assert_int_equal(c2.step, 4);
    mos_supernet_destroy(net);
    /* Errors: resume with a space, missing data, bad options. */
    assert_int_equal(mos_train(&net, space, NULL, &r, NULL, NULL), MOS_INVALID_ARGUMENT);
    assert_null(net);
    mos_train_options bad = train_options(out, 5);
    bad.data_dir = "/nonexistent/corpus";
    assert_int_equal(mos_train(&net, space, NULL, &bad, NULL, NULL), MOS_IO);
    bad = train_options(out, 5);
    bad.version = 9;
    assert_int_equal(mos_train(&net, space, NULL, &bad, NULL, NULL), MOS_VERSION);
    bad = train_options(out, 5);
    bad.lr = -1.0f;
    assert_int_equal(mos_train(&net, space, NULL, &bad, NULL, NULL), MOS_INVALID_ARGUMENT);
    assert_int_equal(mos_train(NULL, space, NULL, &bad, NULL, NULL), MOS_INVALID_ARGUMENT);
    bad = train_options(out, 5);
    bad.precision = (mos_precision)7;
    assert_int_equal(mos_train(&net, space, NULL, &bad, NULL, NULL), MOS_INVALID_ARGUMENT);
    assert_non_null(strstr(mos_last_error(), "precision"));
    /* Version 1 (before `precision`) still runs, in f32; bf16 and auto run and say so at SETUP. */
    mos_precision precisions[] = {MOS_PRECISION_F32, MOS_PRECISION_BF16, MOS_PRECISION_AUTO};
    for (int i = 0; i < 4; i++) {
        mos_train_options v = train_options(out, 1);
        if (i == 3) {
            v.version = 1u;
            v.precision = (mos_precision)99; /* beyond a version 1 struct: never read */
        } else {
            v.precision = precisions[i];
        }
        struct counts cv = {0, 0, 0, 0};
        assert_int_equal(mos_train(&net, space, NULL, &v, count_progress, &cv), MOS_OK);
        assert_int_equal(cv.step, 1);
        assert_non_null(strstr(supernet_meta(net, "train_state"), i == 1 || i == 2 ? "\"precision\"" : "\"precision\":\"f32\""));
        mos_supernet_destroy(net);
        net = NULL;
    }
    mos_space_destroy(space);
    unlink(out);
}

static void latency_predictor(void **state) {
    (void)state;
    char data[320], pred[320];
    path_in(data, sizeof data, "lat.jsonl");
    path_in(pred, sizeof pred, "lat.safetensors");
    mos_space *space = tiny_space();
    mos_latency_options lo = MOS_LATENCY_OPTIONS_INIT;
    lo.runs = 2;
    lo.warmup = 0;
    lo.steps = 5;
    lo.src_len = 5;
    const int caller = caller_threads();
    set_caller_threads(caller);
    lo.threads = 1;
    assert_int_equal(mos_latency_collect(space, 40, 12, 3, &lo, data, NULL, NULL), MOS_OK);
    assert_caller_threads(caller);
    /* The dataset records the thread count it was timed with. */
    FILE *f = fopen(data, "r");
    assert_non_null(f);
    char head[4096];
    assert_non_null(fgets(head, sizeof head, f));
    fclose(f);
    assert_non_null(strstr(head, "\"threads\":1"));
    /* ... timed on one thread by its CPU time, every arch in 5 passes. */
    assert_non_null(strstr(head, "\"clock\":\"thread_cpu\""));
    assert_non_null(strstr(head, "\"passes\":5"));
    assert_non_null(strstr(head, "\"max_seconds\":240"));
    assert_non_null(strstr(head, "\"drift_correction\":\"joint\""));
    lo.threads = 2000;
    assert_int_equal(mos_latency_collect(space, 40, 12, 3, &lo, data, NULL, NULL), MOS_INVALID_ARGUMENT);
    lo.threads = 1;
    for (uint32_t passes = 0; passes <= 17; passes += 17) {
        lo.passes = passes;
        assert_int_equal(mos_latency_collect(space, 40, 12, 3, &lo, data, NULL, NULL), MOS_INVALID_ARGUMENT);
        assert_non_null(strstr(mos_last_error(), "outside 1..16"));
    }
    /* A version 1 struct (without passes) collects in one pass, as before. */
    char v1[320];
    path_in(v1, sizeof v1, "lat-v1.jsonl");
    lo.version = 1;
    lo.passes = 99; /* past a version 1 struct's end: not read */
    assert_int_equal(mos_latency_collect(space, 40, 4, 3, &lo, v1, NULL, NULL), MOS_OK);
    f = fopen(v1, "r");
    assert_non_null(f);
    assert_non_null(fgets(head, sizeof head, f));
    fclose(f);
    assert_non_null(strstr(head, "\"passes\":1"));
    assert_non_null(strstr(head, "\"max_seconds\":0"));
    assert_non_null(strstr(head, "\"drift_correction\":\"reference\""));
    remove(v1);
    lo.version = MOS_LATENCY_OPTIONS_VERSION;
    lo.passes = 5;
    mos_predictor_train_options po = MOS_PREDICTOR_TRAIN_OPTIONS_INIT;
    po.holdout = 0.25;
    mos_predictor_report rep = MOS_PREDICTOR_REPORT_INIT;
    assert_int_equal(mos_predictor_train(&rep, data, pred, &po), MOS_OK);
    assert_int_equal(rep.version, MOS_PREDICTOR_REPORT_VERSION);
    assert_int_equal(rep.train_samples + rep.heldout_samples, 12);
    assert_int_equal(rep.heldout_samples, 3);
    assert_true(isfinite(rep.mape) && rep.mape >= 0 && isfinite(rep.rmse_ms));
    assert_true(rep.kendall_tau >= -1 && rep.kendall_tau <= 1);
    /* NULL options: the defaults (holdout 0.2 of 12 samples = 2). */
    mos_predictor_report rep0 = MOS_PREDICTOR_REPORT_INIT;
    assert_int_equal(mos_predictor_train(&rep0, data, pred, NULL), MOS_OK);
    assert_int_equal(rep0.heldout_samples, 2);
    assert_int_equal(mos_predictor_train(&rep, data, pred, &po), MOS_OK);
    mos_predictor *p = NULL;
    mos_predictor_report back = MOS_PREDICTOR_REPORT_INIT;
    assert_int_equal(mos_predictor_load(&p, &back, pred), MOS_OK);
    assert_true(fabs(back.mape - rep.mape) < 1e-9);
    assert_int_equal(back.heldout_samples, 3);
    mos_predictor *p2 = (mos_predictor *)&p2;
    back.version = 7;
    assert_int_equal(mos_predictor_load(&p2, &back, pred), MOS_VERSION);
    assert_null(p2);
    assert_int_equal(mos_predictor_load(&p2, NULL, pred), MOS_OK);
    mos_predictor_destroy(p2);
    mos_arch *a = NULL;
    assert_int_equal(mos_arch_create_largest(&a, space), MOS_OK);
    double ms = -1;
    assert_int_equal(mos_predictor_predict(&ms, p, a), MOS_OK);
    assert_true(isfinite(ms));
    /* An arch of another space is refused. */
    mos_space *small = NULL;
    mos_arch *other = NULL;
    assert_int_equal(mos_space_create_preset(&small, "small"), MOS_OK);
    assert_int_equal(mos_arch_create_largest(&other, small), MOS_OK);
    assert_int_equal(mos_predictor_predict(&ms, p, other), MOS_INVALID_ARGUMENT);
    /* Bad files, options and reports. */
    assert_int_equal(mos_predictor_train(NULL, "/nonexistent.jsonl", pred, NULL), MOS_IO);
    assert_int_equal(mos_predictor_train(NULL, pred, data, NULL), MOS_FORMAT); /* binary, not JSON lines */
    po.holdout = 0.95;
    assert_int_equal(mos_predictor_train(NULL, data, pred, &po), MOS_INVALID_ARGUMENT);
    po.holdout = 0.2;
    /* Every kind trains; an unknown one is refused; version 1 options (no
     * kind) still train the default kind. */
    for (int32_t kind = MOS_PREDICTOR_DEFAULT; kind <= MOS_PREDICTOR_COST; kind++) {
        po.kind = kind;
        assert_int_equal(mos_predictor_train(&rep, data, pred, &po), MOS_OK);
        assert_true(isfinite(rep.mape) && rep.mape >= 0);
    }
    po.kind = 4;
    assert_int_equal(mos_predictor_train(NULL, data, pred, &po), MOS_INVALID_ARGUMENT);
    assert_non_null(strstr(mos_last_error(), "kind 4"));
    po.kind = -1;
    assert_int_equal(mos_predictor_train(NULL, data, pred, &po), MOS_INVALID_ARGUMENT);
    po.version = 1;
    po.kind = 4; /* not read in version 1 */
    assert_int_equal(mos_predictor_train(NULL, data, pred, &po), MOS_OK);
    po.kind = MOS_PREDICTOR_DEFAULT;
    po.version = 3;
    assert_int_equal(mos_predictor_train(NULL, data, pred, &po), MOS_VERSION);
    rep.version = 2;
    assert_int_equal(mos_predictor_train(&rep, data, pred, NULL), MOS_VERSION);
    assert_int_equal(mos_predictor_train(NULL, NULL, pred, NULL), MOS_INVALID_ARGUMENT);
    assert_int_equal(mos_predictor_train(NULL, data, NULL, NULL), MOS_INVALID_ARGUMENT);
    assert_int_equal(mos_predictor_predict(NULL, p, a), MOS_INVALID_ARGUMENT);
    mos_predictor *q = (mos_predictor *)&q;
    assert_int_equal(mos_predictor_load(&q, NULL, data), MOS_FORMAT);
    assert_null(q);
    mos_arch_destroy(a);
    mos_arch_destroy(other);
    mos_space_destroy(small);
    mos_predictor_destroy(p);
    mos_space_destroy(space);
}

static char *result_json(const mos_search_result *r) {
    size_t n = 0;
    assert_int_equal(mos_search_result_to_json(NULL, 0, &n, r), MOS_OK);
    char *s = malloc(n);
    assert_int_equal(mos_search_result_to_json(s, n, NULL, r), MOS_OK);
    return s;
}

/* Progress callback that asks to stop once `*(uint64_t *)user` iterations are done. */
static int stop_after(uint64_t done, uint64_t total, const char *what, void *user) {
    (void)total;
    assert_non_null(what);
    return done >= *(const uint64_t *)user ? 1 : 0;
}

static void search(void **state) {
    (void)state;
    char pred[320];
    path_in(pred, sizeof pred, "lat.safetensors");
    mos_supernet *net = NULL;
    assert_int_equal(mos_supernet_load(&net, g_ckpt), MOS_OK);
    mos_search_options o = MOS_SEARCH_OPTIONS_INIT;
    o.src_lang = "xx";
    o.tgt_lang = "yy";
    o.valid_sentences = 20;
    o.population = 10;
    o.parents = 2;
    o.mutations = 4;
    o.crossovers = 4;
    o.iterations = 3;
    o.threads = 1;
    o.fitness_precision = MOS_FITNESS_F32; /* as a version 2 struct searches */
    const int caller = caller_threads();
    set_caller_threads(caller);
    mos_search_result *r1 = NULL, *r2 = NULL;
    assert_int_equal(mos_search(&r1, net, g_dir, &o, NULL, NULL), MOS_OK);
    assert_caller_threads(caller);
    assert_int_equal(mos_search(&r2, net, g_dir, &o, NULL, NULL), MOS_OK);
    mos_clear_error();
    assert_int_equal(mos_search_result_scores(NULL, NULL, NULL, 0), MOS_INVALID_ARGUMENT);
    assert_int_equal(mos_search_result_count(r1), 1);
    assert_string_equal(mos_last_error(), "");
    char *j1 = result_json(r1), *j2 = result_json(r2);
    /* Deterministic for a seed (timings aside, which differ run to run). */
    const char *a1 = strstr(j1, "\"pareto\"");
    assert_non_null(a1);
    assert_int_equal(strncmp(j1, j2, (size_t)(a1 - j1)), 0);
    assert_non_null(strstr(j1, "mos-search-result"));
    free(j2);
    /* Racing (docs/search.md): screened on 8 of the 20 pairs, a third
     * promoted; deterministic for a seed, fewer archs fully scored. A version
     * 2 struct ignores the racing and precision fields: exactly the search
     * without racing in f32 (r1, whose options had no racing: 20 pairs are
     * fewer than the default screen of 50). */
    o.screen_sentences = 8;
    o.promote_fraction = 0.3;
    o.fitness_precision = MOS_FITNESS_F32;
    mos_search_result *rr1 = NULL, *rr2 = NULL, *rv2 = NULL;
    assert_int_equal(mos_search(&rr1, net, g_dir, &o, NULL, NULL), MOS_OK);
    assert_int_equal(mos_search(&rr2, net, g_dir, &o, NULL, NULL), MOS_OK);
    o.version = 2u;
    o.fitness_precision = MOS_FITNESS_BF16;
    assert_int_equal(mos_search(&rv2, net, g_dir, &o, NULL, NULL), MOS_OK);
    o.version = MOS_SEARCH_OPTIONS_VERSION;
    char *jr1 = result_json(rr1), *jr2 = result_json(rr2), *jv2 = result_json(rv2);
    const char *ar1 = strstr(jr1, "\"pareto\""), *av2 = strstr(jv2, "\"pareto\"");
    assert_non_null(ar1);
    assert_non_null(av2);
    assert_int_equal(strncmp(jr1, jr2, (size_t)(ar1 - jr1)), 0);
    assert_int_equal(av2 - jv2, a1 - j1);
    assert_int_equal(strncmp(jv2, j1, (size_t)(av2 - jv2)), 0);
    const char *scr = strstr(jr1, "\"archs_screened\": "), *full = strstr(jr1, "\"archs_fully_scored\": ");
    const char *full1 = strstr(j1, "\"archs_fully_scored\": ");
    assert_non_null(scr);
    assert_non_null(full);
    assert_non_null(full1);
    assert_true(atol(scr + strlen("\"archs_screened\": ")) > 0);
    assert_true(atol(full + strlen("\"archs_fully_scored\": ")) <
                atol(full1 + strlen("\"archs_fully_scored\": ")));
    assert_non_null(strstr(jr1, "\"screen_pairs\": 8"));
    assert_non_null(strstr(jv2, "\"screen_pairs\": 0"));
    assert_non_null(strstr(jv2, "\"fitness_precision\": \"f32\""));
    free(jr1);
    free(jr2);
    free(jv2);
    mos_search_result_destroy(rr1);
    mos_search_result_destroy(rr2);
    mos_search_result_destroy(rv2);
    /* bf16 fitness (f32 where not native): the winner is reported in f32. */
    o.screen_sentences = 0;
    o.fitness_precision = MOS_FITNESS_BF16;
    mos_search_result *rb = NULL;
    assert_int_equal(mos_search(&rb, net, g_dir, &o, NULL, NULL), MOS_OK);
    char *jb = result_json(rb);
    assert_true(strstr(jb, "\"fitness_precision\": \"bf16\"") != NULL ||
                strstr(jb, "\"fitness_precision\": \"f32\"") != NULL);
    assert_non_null(strstr(jb, "\"search_fitness\": "));
    free(jb);
    mos_search_result_destroy(rb);
    /* Bad racing and precision options. */
    mos_search_result *rx = (mos_search_result *)&rx;
    o.promote_fraction = 0.0;
    assert_int_equal(mos_search(&rx, net, g_dir, &o, NULL, NULL), MOS_INVALID_ARGUMENT);
    assert_null(rx);
    assert_non_null(strstr(mos_last_error(), "promote_fraction"));
    o.promote_fraction = 0.25;
    o.fitness_precision = 7;
    assert_int_equal(mos_search(&rx, net, g_dir, &o, NULL, NULL), MOS_INVALID_ARGUMENT);
    assert_non_null(strstr(mos_last_error(), "fitness_precision 7"));
    o.fitness_precision = MOS_FITNESS_AUTO;
    /* Bad convergence options name the field. */
    o.min_delta = -1.0;
    assert_int_equal(mos_search(&rx, net, g_dir, &o, NULL, NULL), MOS_INVALID_ARGUMENT);
    assert_non_null(strstr(mos_last_error(), "min_delta"));
    o.min_delta = 0.002;
    o.parent_sigmas = NAN;
    assert_int_equal(mos_search(&rx, net, g_dir, &o, NULL, NULL), MOS_INVALID_ARGUMENT);
    assert_non_null(strstr(mos_last_error(), "parent_sigmas"));
    o.parent_sigmas = -1.0;
    o.patience = 20000;
    assert_int_equal(mos_search(&rx, net, g_dir, &o, NULL, NULL), MOS_INVALID_ARGUMENT);
    assert_non_null(strstr(mos_last_error(), "patience 20000"));
    o.patience = 4;
    o.seed_archs = 200000;
    assert_int_equal(mos_search(&rx, net, g_dir, &o, NULL, NULL), MOS_INVALID_ARGUMENT);
    assert_non_null(strstr(mos_last_error(), "seed_archs 200000"));
    o.seed_archs = 25;
    /* Patience: any gain under 10 nats counts as none, so the evolution
     * stops after 1 + 1 of its 3 iterations, converged and complete; a
     * version 2 struct runs all 3 (r1 above completed them). */
    o.patience = 1;
    o.min_delta = 10.0;
    mos_search_result *rc = NULL;
    assert_int_equal(mos_search(&rc, net, g_dir, &o, NULL, NULL), MOS_OK);
    char *jc = result_json(rc);
    assert_non_null(strstr(jc, "\"end\": \"converged\""));
    assert_non_null(strstr(jc, "\"iterations\": 2,"));
    assert_non_null(strstr(jc, "\"complete\": true"));
    assert_non_null(strstr(j1, "\"end\": \"completed\""));
    assert_non_null(strstr(j1, "\"iterations\": 3,"));
    free(jc);
    mos_search_result_destroy(rc);
    o.version = 2u;
    assert_int_equal(mos_search(&rc, net, g_dir, &o, NULL, NULL), MOS_OK);
    jc = result_json(rc);
    assert_non_null(strstr(jc, "\"end\": \"completed\""));
    free(jc);
    mos_search_result_destroy(rc);
    o.version = MOS_SEARCH_OPTIONS_VERSION;
    o.patience = 4;
    o.min_delta = 0.002;
    free(j1);
    double fit = 0, lat = 0;
    assert_int_equal(mos_search_result_scores(&fit, &lat, r1, 0), MOS_OK);
    assert_true(fit > 0 && isfinite(fit));
    mos_arch *best = NULL;
    assert_int_equal(mos_search_result_arch(&best, r1, 0), MOS_OK);
    assert_non_null(best);
    /* A bad index: *out is NULL (a second variable, so `best` is not lost). */
    mos_arch *none = (mos_arch *)&none;
    assert_int_equal(mos_search_result_arch(&none, r1, 1), MOS_OUT_OF_RANGE);
    assert_null(none);
    size_t n = 0;
    assert_int_equal(mos_search_result_to_svg(NULL, 0, &n, r1), MOS_OK);
    assert_true(n > 100);

    /* Two latency budgets with the predictor trained above; params limit too. */
    double budgets[2] = {1e9, 2e9};
    o.budgets_ms = budgets;
    o.n_budgets = 2;
    o.predictor_path = pred;
    o.threads = 0;
    mos_search_result *r3 = NULL;
    assert_int_equal(mos_search(&r3, net, g_dir, &o, NULL, NULL), MOS_OK);
    assert_caller_threads(caller);
    assert_int_equal(mos_search_result_count(r3), 2);
    o.threads = 1;
    /* Stopped by the callback after the first of 3 iterations of budget 1:
     * MOS_ABORTED, and the result holds the best so far for both budgets
     * (the second one from the archs already evaluated), marked as stopped. */
    const uint64_t one = 1;
    mos_search_result *rs = NULL;
    assert_int_equal(mos_search(&rs, net, g_dir, &o, stop_after, (void *)&one), MOS_ABORTED);
    assert_non_null(strstr(mos_last_error(), "best archs found so far"));
    assert_non_null(rs);
    assert_int_equal(mos_search_result_count(rs), 2);
    double sfit = 0, slat = 0;
    assert_int_equal(mos_search_result_scores(&sfit, &slat, rs, 0), MOS_OK);
    assert_true(sfit > 0 && isfinite(sfit) && slat > 0 && slat <= budgets[0]);
    assert_int_equal(mos_search_result_scores(&sfit, &slat, rs, 1), MOS_OK);
    assert_true(sfit > 0 && isfinite(sfit) && slat <= budgets[1]);
    mos_arch *sbest = NULL;
    assert_int_equal(mos_search_result_arch(&sbest, rs, 0), MOS_OK);
    mos_arch_destroy(sbest);
    char *js = result_json(rs), *j3 = result_json(r3);
    assert_non_null(strstr(js, "\"stopped\": true"));
    assert_non_null(strstr(js, "\"complete\": false"));
    assert_non_null(strstr(j3, "\"stopped\": false"));
    /* Fewer archs evaluated than the whole search (10 initial ones only). */
    const char *ne = strstr(js, "\"archs_evaluated\": "), *n3 = strstr(j3, "\"archs_evaluated\": ");
    assert_non_null(ne);
    assert_non_null(n3);
    const size_t key = strlen("\"archs_evaluated\": ");
    assert_true(atol(ne + key) >= 1 && atol(ne + key) < atol(n3 + key));
    free(js);
    free(j3);
    mos_search_result_destroy(rs);
    /* A callback that never stops changes nothing. */
    const uint64_t never = UINT64_MAX;
    assert_int_equal(mos_search(&rs, net, g_dir, &o, stop_after, (void *)&never), MOS_OK);
    assert_int_equal(mos_search_result_count(rs), 2);
    mos_search_result_destroy(rs);
    /* An impossible budget names the smallest achievable latency. */
    double tiny[1] = {1e-9};
    o.budgets_ms = tiny;
    o.n_budgets = 1;
    mos_search_result *r4 = (mos_search_result *)&r4;
    assert_int_equal(mos_search(&r4, net, g_dir, &o, NULL, NULL), MOS_OUT_OF_RANGE);
    assert_null(r4);
    assert_non_null(strstr(mos_last_error(), "smallest arch has latency"));
    /* Budgets without a latency source, bad options, missing data. */
    o.predictor_path = NULL;
    assert_int_equal(mos_search(&r4, net, g_dir, &o, NULL, NULL), MOS_INVALID_ARGUMENT);
    o.n_budgets = 0;
    o.parents = 50;
    assert_int_equal(mos_search(&r4, net, g_dir, &o, NULL, NULL), MOS_INVALID_ARGUMENT);
    o.parents = 2;
    assert_int_equal(mos_search(&r4, net, "/nonexistent", &o, NULL, NULL), MOS_IO);
    o.version = 0;
    assert_int_equal(mos_search(&r4, net, g_dir, &o, NULL, NULL), MOS_VERSION);
    o.version = MOS_SEARCH_OPTIONS_VERSION;
    o.threads = 1025;
    assert_int_equal(mos_search(&r4, net, g_dir, &o, NULL, NULL), MOS_INVALID_ARGUMENT);
    assert_non_null(strstr(mos_last_error(), "threads 1025"));
    /* A version 1 struct (before mpi_comm) is still read. */
    o.version = 1u;
    assert_int_equal(mos_search(&r4, net, g_dir, &o, NULL, NULL), MOS_INVALID_ARGUMENT);
    assert_non_null(strstr(mos_last_error(), "threads 1025"));
    o.version = MOS_SEARCH_OPTIONS_VERSION;
    o.threads = 1;
    assert_int_equal(mos_search(&r4, NULL, g_dir, &o, NULL, NULL), MOS_INVALID_ARGUMENT);
    assert_int_equal(mos_search(NULL, net, g_dir, &o, NULL, NULL), MOS_INVALID_ARGUMENT);
    /* NULL options are the defaults, which lack the languages. */
    assert_int_equal(mos_search(&r4, net, g_dir, NULL, NULL, NULL), MOS_INVALID_ARGUMENT);
    assert_non_null(strstr(mos_last_error(), "src_lang"));
    mos_arch_destroy(best);
    mos_search_result_destroy(r1);
    mos_search_result_destroy(r2);
    mos_search_result_destroy(r3);
    mos_search_result_destroy(NULL);
    mos_supernet_destroy(net);
}

int main(void) {
    snprintf(g_dir, sizeof g_dir, "%s", "test_search_XXXXXX");
    if (!mkdtemp(g_dir)) return 1;
    write_corpus();
    snprintf(g_ckpt, sizeof g_ckpt, "%s/net.safetensors", g_dir);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(train_evaluate_translate),
        cmocka_unit_test(train_abort_and_resume),
        cmocka_unit_test(latency_predictor),
        cmocka_unit_test(search),
    };
    const int rc = cmocka_run_group_tests(tests, NULL, NULL);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    if (system(cmd) != 0) return 1;
    return rc;
}
