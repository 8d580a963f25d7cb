/* tests/capi/test_search.c: mos/train.h and mos/search.h from plain C on a tiny
 * corpus the test writes: training through mos_train (progress, abort with a
 * checkpoint, resume), evaluation, translation of text, latency measurement,
 * latency collection and predictor training, and mos_search (determinism,
 * budgets, impossible budgets, JSON and SVG results) with their error paths. */
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

static void train_evaluate_translate(void **state) {
    (void)state;
    mos_space *space = tiny_space();
    mos_supernet_options n = MOS_SUPERNET_OPTIONS_INIT;
    n.router_hidden = 8;
    mos_train_options o = train_options(g_ckpt, 30);
    struct counts c = {0, 0, 0, 0};
    mos_supernet *net = NULL;
    assert_int_equal(mos_train(&net, space, &n, &o, count_progress, &c), MOS_OK);
    assert_non_null(net);
    assert_int_equal(c.step, 30);
    assert_int_equal(c.valid, 3);
    assert_true(c.setup >= 1);
    assert_true(mos_supernet_has_tokenizer(net));

    mos_arch *arch = NULL;
    assert_int_equal(mos_arch_create_largest(&arch, space), MOS_OK);
    mos_eval_result r;
    assert_int_equal(mos_evaluate(net, arch, g_dir, "test", "xx", "yy", 0, 2, &r), MOS_OK);
    assert_int_equal(r.sentences, 20);
    assert_true(r.tokens > 20 && r.loss > 0 && r.bleu >= 0 && r.bleu <= 100);
    assert_int_equal(mos_evaluate(net, arch, g_dir, "nosuch", "xx", "yy", 0, 0, &r), MOS_IO);
    assert_non_null(strstr(mos_last_error(), "nosuch"));

    mos_model *m = NULL;
    assert_int_equal(mos_route(net, arch, &m), MOS_OK);
    assert_true(mos_model_has_tokenizer(m));
    const char *src[] = {"red cat runs", "", "big dog sleeps"};
    mos_texts *t = NULL;
    assert_int_equal(mos_model_translate(m, src, 3, NULL, &t), MOS_OK);
    assert_int_equal(mos_texts_count(t), 3);
    for (size_t i = 0; i < 3; i++) assert_non_null(mos_texts_get(t, i));
    assert_null(mos_texts_get(t, 3));
    mos_texts_destroy(t);
    const char *bad[] = {"caf\xc3"};
    assert_int_equal(mos_model_translate(m, bad, 1, NULL, &t), MOS_INVALID_ARGUMENT);
    assert_non_null(strstr(mos_last_error(), "UTF-8"));

    mos_latency_options lo = MOS_LATENCY_OPTIONS_INIT;
    lo.runs = 3;
    lo.warmup = 1;
    mos_latency_result lr;
    assert_int_equal(mos_latency_measure(m, &lo, &lr), MOS_OK);
    assert_true(lr.mean_ms > 0 && lr.p10_ms <= lr.p90_ms && lr.runs == 3);
    lo.beam = 0;
    assert_int_equal(mos_latency_measure(m, &lo, &lr), MOS_INVALID_ARGUMENT);

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
    assert_int_equal(mos_train(&net, space, NULL, &o, count_progress, &c), MOS_ABORTED);
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
    assert_int_equal(mos_latency_collect(space, 40, 12, 3, &lo, data, NULL, NULL), MOS_OK);
    mos_predictor_report rep;
    assert_int_equal(mos_predictor_train(data, 0.25, 1, pred, &rep), MOS_OK);
    assert_int_equal(rep.train_samples + rep.heldout_samples, 12);
    assert_int_equal(rep.heldout_samples, 3);
    assert_true(isfinite(rep.mape) && rep.mape >= 0 && isfinite(rep.rmse_ms));
    assert_true(rep.kendall_tau >= -1 && rep.kendall_tau <= 1);
    mos_predictor *p = NULL;
    mos_predictor_report back;
    assert_int_equal(mos_predictor_load(&p, pred, &back), MOS_OK);
    assert_true(fabs(back.mape - rep.mape) < 1e-9);
    mos_arch *a = NULL;
    assert_int_equal(mos_arch_create_largest(&a, space), MOS_OK);
    double ms = -1;
    assert_int_equal(mos_predictor_predict(p, a, &ms), MOS_OK);
    assert_true(isfinite(ms));
    /* An arch of another space is refused. */
    mos_space *small = NULL;
    mos_arch *other = NULL;
    assert_int_equal(mos_space_create_preset(&small, "small"), MOS_OK);
    assert_int_equal(mos_arch_create_largest(&other, small), MOS_OK);
    assert_int_equal(mos_predictor_predict(p, other, &ms), MOS_INVALID_ARGUMENT);
    /* Bad files. */
    assert_int_equal(mos_predictor_train("/nonexistent.jsonl", 0.2, 1, pred, NULL), MOS_IO);
    assert_int_equal(mos_predictor_train(pred, 0.2, 1, data, NULL), MOS_FORMAT); /* binary, not JSON lines */
    mos_predictor *q = (mos_predictor *)&q;
    assert_int_equal(mos_predictor_load(&q, data, NULL), MOS_FORMAT);
    assert_null(q);
    mos_arch_destroy(a);
    mos_arch_destroy(other);
    mos_space_destroy(small);
    mos_predictor_destroy(p);
    mos_space_destroy(space);
}

static char *result_json(const mos_search_result *r) {
    size_t n = 0;
    assert_int_equal(mos_search_result_to_json(r, NULL, 0, &n), MOS_OK);
    char *s = malloc(n);
    assert_int_equal(mos_search_result_to_json(r, s, n, NULL), MOS_OK);
    return s;
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
    mos_search_result *r1 = NULL, *r2 = NULL;
    assert_int_equal(mos_search(net, g_dir, &o, &r1, NULL, NULL), MOS_OK);
    assert_int_equal(mos_search(net, g_dir, &o, &r2, NULL, NULL), MOS_OK);
    assert_int_equal(mos_search_result_count(r1), 1);
    char *j1 = result_json(r1), *j2 = result_json(r2);
    /* Deterministic for a seed (timings aside, which differ run to run). */
    const char *a1 = strstr(j1, "\"pareto\"");
    assert_non_null(a1);
    assert_int_equal(strncmp(j1, j2, (size_t)(a1 - j1)), 0);
    assert_non_null(strstr(j1, "mos-search-result"));
    free(j1);
    free(j2);
    double fit = 0, lat = 0;
    assert_int_equal(mos_search_result_scores(r1, 0, &fit, &lat), MOS_OK);
    assert_true(fit > 0 && isfinite(fit));
    mos_arch *best = NULL;
    assert_int_equal(mos_search_result_arch(r1, 0, &best), MOS_OK);
    assert_int_equal(mos_search_result_arch(r1, 1, &best), MOS_OUT_OF_RANGE);
    size_t n = 0;
    assert_int_equal(mos_search_result_to_svg(r1, NULL, 0, &n), MOS_OK);
    assert_true(n > 100);

    /* Two latency budgets with the predictor trained above; params limit too. */
    double budgets[2] = {1e9, 2e9};
    o.budgets_ms = budgets;
    o.n_budgets = 2;
    o.predictor_path = pred;
    mos_search_result *r3 = NULL;
    assert_int_equal(mos_search(net, g_dir, &o, &r3, NULL, NULL), MOS_OK);
    assert_int_equal(mos_search_result_count(r3), 2);
    /* An impossible budget names the smallest achievable latency. */
    double tiny[1] = {1e-9};
    o.budgets_ms = tiny;
    o.n_budgets = 1;
    mos_search_result *r4 = (mos_search_result *)&r4;
    assert_int_equal(mos_search(net, g_dir, &o, &r4, NULL, NULL), MOS_OUT_OF_RANGE);
    assert_null(r4);
    assert_non_null(strstr(mos_last_error(), "smallest arch has latency"));
    /* Budgets without a latency source, bad options, missing data. */
    o.predictor_path = NULL;
    assert_int_equal(mos_search(net, g_dir, &o, &r4, NULL, NULL), MOS_INVALID_ARGUMENT);
    o.n_budgets = 0;
    o.parents = 50;
    assert_int_equal(mos_search(net, g_dir, &o, &r4, NULL, NULL), MOS_INVALID_ARGUMENT);
    o.parents = 2;
    assert_int_equal(mos_search(net, "/nonexistent", &o, &r4, NULL, NULL), MOS_IO);
    o.version = 0;
    assert_int_equal(mos_search(net, g_dir, &o, &r4, NULL, NULL), MOS_VERSION);
    assert_int_equal(mos_search(NULL, g_dir, &o, &r4, NULL, NULL), MOS_INVALID_ARGUMENT);
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
