/* tests/capi/test_supernet.c: mos/supernet.h and mos/model.h from plain C:
 * creating supernets in every routing mode, routing archs into models, saving
 * and loading both, decoding token ids, per-call thread counts that leave the
 * caller's as they were, and every error path (NULL arguments, bad options,
 * archs of another space, missing and corrupt files); models at every
 * precision (f32, bf16, int8) routed, converted, saved and loaded. */
#define _DEFAULT_SOURCE /* mkdtemp */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>

#include "mos/mos.h"
#include "thread_counts.h"

#define VOCAB 48u

static char g_dir[256];

static void path_in(char *buf, size_t cap, const char *name) { snprintf(buf, cap, "%s/%s", g_dir, name); }

static mos_space *small_space(void) {
    mos_space *s = NULL;
    assert_int_equal(mos_space_create_preset(&s, "small"), MOS_OK);
    return s;
}

static mos_supernet *make_net(mos_space *space, mos_routing routing, uint32_t experts) {
    mos_supernet_options o = MOS_SUPERNET_OPTIONS_INIT;
    o.routing = routing;
    o.experts = experts;
    o.vocab_size = VOCAB;
    o.router_hidden = 16;
    mos_supernet *net = NULL;
    assert_int_equal(mos_supernet_create(&net, space, &o), MOS_OK);
    assert_non_null(net);
    return net;
}

static void options_defaults(void **state) {
    (void)state;
    mos_supernet_options a = MOS_SUPERNET_OPTIONS_INIT, b;
    memset(&b, 0xff, sizeof b);
    assert_int_equal(mos_supernet_options_init(&b), MOS_OK);
    assert_int_equal(a.version, b.version);
    assert_int_equal(a.routing, b.routing);
    assert_int_equal(a.experts, b.experts);
    assert_int_equal(a.router_hidden, 128);
    assert_int_equal(mos_supernet_options_init(NULL), MOS_INVALID_ARGUMENT);
    mos_translate_options t;
    assert_int_equal(mos_translate_options_init(&t), MOS_OK);
    assert_int_equal(t.beam, 4);
    assert_string_equal(mos_routing_name(MOS_ROUTING_LAYER), "layer");
    assert_string_equal(mos_routing_name((mos_routing)42), "unknown");
    mos_routing r;
    assert_int_equal(mos_routing_parse(&r, "neuron"), MOS_OK);
    assert_int_equal(r, MOS_ROUTING_NEURON);
    assert_int_equal(mos_routing_parse(&r, "bogus"), MOS_INVALID_ARGUMENT);
    assert_non_null(strstr(mos_last_error(), "bogus"));
}

static void create_errors(void **state) {
    (void)state;
    mos_space *space = small_space();
    mos_supernet *net = (mos_supernet *)&net;
    mos_supernet_options o = MOS_SUPERNET_OPTIONS_INIT;
    o.vocab_size = VOCAB;
    assert_int_equal(mos_supernet_create(NULL, space, &o), MOS_INVALID_ARGUMENT);
    assert_int_equal(mos_supernet_create(&net, NULL, &o), MOS_INVALID_ARGUMENT);
    assert_null(net);
    o.vocab_size = 0;
    assert_int_equal(mos_supernet_create(&net, space, &o), MOS_INVALID_ARGUMENT);
    assert_non_null(strstr(mos_last_error(), "vocab"));
    o.vocab_size = VOCAB;
    o.routing = MOS_ROUTING_NONE; /* weight sharing needs one expert */
    o.experts = 2;
    assert_int_equal(mos_supernet_create(&net, space, &o), MOS_INVALID_ARGUMENT);
    assert_non_null(strstr(mos_last_error(), "experts"));
    o = (mos_supernet_options)MOS_SUPERNET_OPTIONS_INIT;
    o.vocab_size = VOCAB;
    o.experts = 0;
    assert_int_equal(mos_supernet_create(&net, space, &o), MOS_INVALID_ARGUMENT);
    o.experts = 2;
    o.dropout = 1.5f;
    assert_int_equal(mos_supernet_create(&net, space, &o), MOS_INVALID_ARGUMENT);
    o.dropout = 0.1f;
    o.version = 99;
    assert_int_equal(mos_supernet_create(&net, space, &o), MOS_VERSION);
    o.version = MOS_SUPERNET_OPTIONS_VERSION;
    o.tokenizer_path = "/nonexistent/spm.model";
    assert_int_equal(mos_supernet_create(&net, space, &o), MOS_IO);
    assert_null(net);
    mos_supernet_destroy(NULL);
    mos_space_destroy(space);
}

/* Every routing mode: route largest, smallest and sampled archs; the model's
 * arch round-trips and its parameter count equals the analytic count. */
static void route_all_modes(void **state) {
    (void)state;
    mos_space *space = small_space();
    const mos_routing modes[3] = {MOS_ROUTING_NONE, MOS_ROUTING_LAYER, MOS_ROUTING_NEURON};
    for (int i = 0; i < 3; i++) {
        mos_supernet *net = make_net(space, modes[i], modes[i] == MOS_ROUTING_NONE ? 1 : 2);
        assert_true(mos_supernet_num_params(net) > 0);
        assert_false(mos_supernet_has_tokenizer(net));
        mos_supernet_options got;
        got.version = MOS_SUPERNET_OPTIONS_VERSION;
        assert_int_equal(mos_supernet_get_options(&got, net), MOS_OK);
        assert_int_equal(got.routing, modes[i]);
        assert_int_equal(got.vocab_size, VOCAB);
        for (int a = 0; a < 4; a++) {
            mos_arch *arch = NULL;
            if (a == 0) assert_int_equal(mos_arch_create_largest(&arch, space), MOS_OK);
            else if (a == 1) assert_int_equal(mos_arch_create_smallest(&arch, space), MOS_OK);
            else assert_int_equal(mos_arch_sample(&arch, space, (uint64_t)(a * 17 + i)), MOS_OK);
            mos_model *model = NULL;
            assert_int_equal(mos_route(&model, net, arch, NULL), MOS_OK);
            assert_non_null(model);
            uint64_t analytic = 0;
            assert_int_equal(mos_arch_params(&analytic, arch, VOCAB), MOS_OK);
            assert_int_equal(mos_model_num_params(model), analytic);
            assert_int_equal(mos_model_vocab_size(model), VOCAB);
            mos_arch *back = NULL;
            assert_int_equal(mos_model_arch(&back, model), MOS_OK);
            size_t n1 = 0, n2 = 0;
            assert_int_equal(mos_arch_to_json(NULL, 0, &n1, arch), MOS_OK);
            assert_int_equal(mos_arch_to_json(NULL, 0, &n2, back), MOS_OK);
            assert_int_equal(n1, n2);
            char *j1 = malloc(n1), *j2 = malloc(n2);
            mos_arch_to_json(j1, n1, NULL, arch);
            mos_arch_to_json(j2, n2, NULL, back);
            assert_string_equal(j1, j2);
            free(j1);
            free(j2);
            mos_arch_destroy(back);
            mos_model_destroy(model);
            mos_arch_destroy(arch);
        }
        mos_supernet_destroy(net);
    }
    mos_space_destroy(space);
}

static void route_errors(void **state) {
    (void)state;
    mos_space *space = small_space(), *other = NULL;
    assert_int_equal(mos_space_create_preset(&other, "hat-wmt"), MOS_OK);
    mos_supernet *net = make_net(space, MOS_ROUTING_NEURON, 2);
    mos_arch *arch = NULL, *foreign = NULL;
    assert_int_equal(mos_arch_create_largest(&arch, space), MOS_OK);
    assert_int_equal(mos_arch_create_largest(&foreign, other), MOS_OK);
    mos_model *model = (mos_model *)&model;
    assert_int_equal(mos_route(&model, NULL, arch, NULL), MOS_INVALID_ARGUMENT);
    assert_null(model);
    assert_int_equal(mos_route(&model, net, NULL, NULL), MOS_INVALID_ARGUMENT);
    assert_int_equal(mos_route(NULL, net, arch, NULL), MOS_INVALID_ARGUMENT);
    /* An arch of hat-wmt (embed 640) does not fit a small supernet. */
    assert_int_equal(mos_route(&model, net, foreign, NULL), MOS_OUT_OF_RANGE);
    assert_null(model);
    assert_non_null(strstr(mos_last_error(), "mos_route"));
    /* Options of an unknown version, a thread count outside 0..1024. */
    mos_route_options ro = MOS_ROUTE_OPTIONS_INIT;
    ro.version = 3;
    assert_int_equal(mos_route(&model, net, arch, &ro), MOS_VERSION);
    assert_null(model);
    ro.version = MOS_ROUTE_OPTIONS_VERSION;
    ro.threads = -3;
    assert_int_equal(mos_route(&model, net, arch, &ro), MOS_INVALID_ARGUMENT);
    assert_non_null(strstr(mos_last_error(), "threads -3 outside 0..1024"));
    assert_null(model);
    mos_arch_destroy(arch);
    mos_arch_destroy(foreign);
    mos_supernet_destroy(net);
    mos_space_destroy(space);
    mos_space_destroy(other);
}

static void meta_is(const mos_model *m, const char *key, const char *want) {
    char buf[256];
    size_t needed = 0;
    assert_int_equal(mos_model_get_meta(buf, sizeof buf, &needed, m, key), MOS_OK);
    assert_string_equal(buf, want);
}

/* Models at every precision (mos_route_options.dtype, mos_model_convert): their
 * dtype and file version, files that keep it, the same ids after a round
 * trip, version-1 route options, and bad dtype, emulate and version values. */
static void precisions(void **state) {
    (void)state;
    char path[300];
    path_in(path, sizeof path, "int8.model");
    mos_space *space = small_space();
    mos_supernet *net = make_net(space, MOS_ROUTING_LAYER, 2);
    mos_arch *arch = NULL;
    assert_int_equal(mos_arch_sample(&arch, space, 3), MOS_OK);
    const int32_t src[] = {5, 9, 11, 7, 30, 4};
    const mos_dtype dtypes[] = {MOS_DTYPE_F32, MOS_DTYPE_BF16, MOS_DTYPE_INT8};
    const char *names[] = {"f32", "bf16", "int8"};
    mos_model *f32 = NULL;
    for (int i = 0; i < 3; i++) {
        mos_route_options ro = MOS_ROUTE_OPTIONS_INIT;
        ro.dtype = dtypes[i];
        mos_model *m = NULL, *back = NULL, *conv = NULL;
        assert_int_equal(mos_route(&m, net, arch, &ro), MOS_OK);
        meta_is(m, "dtype", names[i]);
        meta_is(m, "format_version", i == 0 ? "1" : "2");
        /* Computed natively (this CPU has the instructions) or in f32 with a warning. */
        char compute[16], warning[256];
        size_t needed = 0;
        assert_int_equal(mos_model_get_meta(compute, sizeof compute, &needed, m, "compute_dtype"), MOS_OK);
        assert_int_equal(mos_model_get_meta(warning, sizeof warning, &needed, m, "warning"), MOS_OK);
        assert_true(strcmp(compute, names[i]) == 0 ? warning[0] == 0 : warning[0] != 0);
        assert_int_equal(mos_model_save(m, path), MOS_OK);
        assert_int_equal(mos_model_load(&back, path), MOS_OK);
        meta_is(back, "dtype", names[i]);
        assert_int_equal(mos_model_num_params(back), mos_model_num_params(m));
        int32_t a[64], b[64];
        size_t na = 0, nb = 0;
        assert_int_equal(mos_model_translate_ids(a, 64, &na, m, src, 6, NULL), MOS_OK);
        assert_int_equal(mos_model_translate_ids(b, 64, &nb, back, src, 6, NULL), MOS_OK);
        assert_int_equal(na, nb);
        assert_memory_equal(a, b, na * sizeof(int32_t));
        if (i == 0) {
            f32 = m;
        } else {
            /* Converting the f32 model gives the routed model of that dtype. */
            mos_convert_options co = MOS_CONVERT_OPTIONS_INIT;
            co.dtype = dtypes[i];
            assert_int_equal(mos_model_convert(&conv, f32, &co), MOS_OK);
            meta_is(conv, "dtype", names[i]);
            assert_int_equal(mos_model_translate_ids(b, 64, &nb, conv, src, 6, NULL), MOS_OK);
            assert_int_equal(na, nb);
            assert_memory_equal(a, b, na * sizeof(int32_t));
            mos_model_destroy(conv);
            /* And back to f32 (NULL options): a version-1 file again. */
            assert_int_equal(mos_model_convert(&conv, m, NULL), MOS_OK);
            meta_is(conv, "dtype", "f32");
            meta_is(conv, "format_version", "1");
            mos_model_destroy(conv);
            mos_model_destroy(m);
        }
        mos_model_destroy(back);
    }
    /* Options of version 1 (threads only) are still read. */
    mos_route_options v1 = MOS_ROUTE_OPTIONS_INIT;
    v1.version = 1;
    v1.threads = 1;
    v1.dtype = (mos_dtype)7; /* beyond a version-1 struct: not read */
    mos_model *m = NULL;
    assert_int_equal(mos_route(&m, net, arch, &v1), MOS_OK);
    meta_is(m, "dtype", "f32");
    mos_model_destroy(m);
    /* Bad values. */
    mos_route_options ro = MOS_ROUTE_OPTIONS_INIT;
    ro.dtype = (mos_dtype)7;
    m = (mos_model *)&m;
    assert_int_equal(mos_route(&m, net, arch, &ro), MOS_INVALID_ARGUMENT);
    assert_null(m);
    assert_non_null(strstr(mos_last_error(), "options->dtype 7 is not MOS_DTYPE_F32, MOS_DTYPE_BF16 or MOS_DTYPE_INT8"));
    ro.dtype = MOS_DTYPE_INT8;
    ro.emulate = 2;
    assert_int_equal(mos_route(&m, net, arch, &ro), MOS_INVALID_ARGUMENT);
    assert_non_null(strstr(mos_last_error(), "options->emulate is 2; allowed 0|1"));
    mos_convert_options co = MOS_CONVERT_OPTIONS_INIT;
    co.dtype = (mos_dtype)-1;
    assert_int_equal(mos_model_convert(&m, f32, &co), MOS_INVALID_ARGUMENT);
    assert_null(m);
    assert_non_null(strstr(mos_last_error(), "mos_model_convert"));
    assert_non_null(strstr(mos_last_error(), "options->dtype -1"));
    co.dtype = MOS_DTYPE_BF16;
    co.emulate = -1;
    assert_int_equal(mos_model_convert(&m, f32, &co), MOS_INVALID_ARGUMENT);
    co.emulate = 0;
    co.version = 2;
    assert_int_equal(mos_model_convert(&m, f32, &co), MOS_VERSION);
    assert_int_equal(mos_model_convert(NULL, f32, NULL), MOS_INVALID_ARGUMENT);
    assert_int_equal(mos_model_convert(&m, NULL, NULL), MOS_INVALID_ARGUMENT);
    assert_null(m);
    assert_int_equal(mos_convert_options_init(NULL), MOS_INVALID_ARGUMENT);
    mos_model_destroy(f32);
    mos_arch_destroy(arch);
    mos_supernet_destroy(net);
    mos_space_destroy(space);
    unlink(path);
}

/* Save and load a supernet and a model; the reloaded model decodes the same ids. */
static void save_load_and_decode(void **state) {
    (void)state;
    char snet[300], smodel[300];
    path_in(snet, sizeof snet, "net.safetensors");
    path_in(smodel, sizeof smodel, "model.safetensors");
    mos_space *space = small_space();
    mos_supernet *net = make_net(space, MOS_ROUTING_LAYER, 2);
    assert_int_equal(mos_supernet_save(net, snet), MOS_OK);
    mos_supernet *net2 = NULL;
    assert_int_equal(mos_supernet_load(&net2, snet), MOS_OK);
    assert_int_equal(mos_supernet_num_params(net2), mos_supernet_num_params(net));
    mos_space *space2 = NULL;
    assert_int_equal(mos_supernet_space(&space2, net2), MOS_OK);

    mos_arch *arch = NULL;
    assert_int_equal(mos_arch_sample(&arch, space2, 5), MOS_OK);
    mos_model *m1 = NULL, *m2 = NULL, *m3 = NULL;
    assert_int_equal(mos_route(&m1, net, arch, NULL), MOS_OK);
    assert_int_equal(mos_route(&m2, net2, arch, NULL), MOS_OK);
    assert_int_equal(mos_model_save(m2, smodel), MOS_OK);
    assert_int_equal(mos_model_load(&m3, smodel), MOS_OK);
    assert_false(mos_model_has_tokenizer(m3));

    const int32_t src[] = {5, 9, 11, 7, 30, 4};
    mos_translate_options o = MOS_TRANSLATE_OPTIONS_INIT;
    for (uint32_t beam = 1; beam <= 4; beam += 3) {
        o.beam = beam;
        int32_t out1[64], out3[64];
        size_t n1 = 0, n3 = 0;
        assert_int_equal(mos_model_translate_ids(out1, 64, &n1, m1, src, 6, &o), MOS_OK);
        assert_int_equal(mos_model_translate_ids(out3, 64, &n3, m3, src, 6, &o), MOS_OK);
        assert_int_equal(n1, n3);
        assert_true(n1 <= 6 + 10);
        for (size_t i = 0; i < n1; i++) {
            assert_int_equal(out1[i], out3[i]);
            assert_true(out1[i] >= 0 && out1[i] < (int32_t)VOCAB && out1[i] != 3);
        }
        /* Too small a buffer: MOS_OUT_OF_RANGE with the length reported. */
        if (n1 > 0) {
            size_t n = 0;
            assert_int_equal(mos_model_translate_ids(out1, n1 - 1, &n, m1, src, 6, &o), MOS_OUT_OF_RANGE);
            assert_int_equal(n, n1);
        }
    }
    /* Text translation needs a tokenizer. */
    mos_texts *texts = (mos_texts *)&texts;
    const char *sent[] = {"hello"};
    assert_int_equal(mos_model_translate(&texts, m3, sent, 1, NULL), MOS_UNSUPPORTED);
    assert_null(texts);
    assert_int_equal(mos_texts_count(NULL), 0);
    assert_null(mos_texts_get(NULL, 0));
    /* Bad ids and options. */
    const int32_t bad[] = {5, 4000};
    size_t n = 0;
    int32_t out[8];
    assert_int_equal(mos_model_translate_ids(out, 8, &n, m3, bad, 2, NULL), MOS_OUT_OF_RANGE);
    o.beam = 0;
    assert_int_equal(mos_model_translate_ids(out, 8, &n, m3, src, 6, &o), MOS_INVALID_ARGUMENT);
    o.beam = 2;
    o.version = 7;
    assert_int_equal(mos_model_translate_ids(out, 8, &n, m3, src, 6, &o), MOS_VERSION);
    assert_int_equal(mos_model_translate_ids(NULL, 0, NULL, m3, src, 6, NULL), MOS_INVALID_ARGUMENT);

    mos_model_destroy(m1);
    mos_model_destroy(m2);
    mos_model_destroy(m3);
    mos_model_destroy(NULL);
    mos_arch_destroy(arch);
    mos_space_destroy(space2);
    mos_supernet_destroy(net);
    mos_supernet_destroy(net2);
    mos_space_destroy(space);
    unlink(snet);
    unlink(smodel);
}

static void write_bytes(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
}

/* Missing, empty, truncated and mismatched files fail with a status, never a crash. */
static void bad_files(void **state) {
    (void)state;
    char p[300], q[300];
    path_in(p, sizeof p, "bad.safetensors");
    path_in(q, sizeof q, "good.safetensors");
    mos_supernet *net = (mos_supernet *)&net;
    mos_model *model = (mos_model *)&model;
    assert_int_equal(mos_supernet_load(&net, "/nonexistent/x.safetensors"), MOS_IO);
    assert_null(net);
    assert_int_equal(mos_model_load(&model, "/nonexistent/x.safetensors"), MOS_IO);
    assert_null(model);
    assert_int_equal(mos_supernet_load(&net, NULL), MOS_INVALID_ARGUMENT);
    write_bytes(p, "", 0);
    assert_int_equal(mos_supernet_load(&net, p), MOS_FORMAT);
    write_bytes(p, "\x10\0\0\0\0\0\0\0{\"a\":1}", 15);
    assert_int_equal(mos_model_load(&model, p), MOS_FORMAT);

    /* A real supernet file, truncated: MOS_FORMAT; loaded as a model: MOS_FORMAT. */
    mos_space *space = small_space();
    mos_supernet *good = make_net(space, MOS_ROUTING_NONE, 1);
    assert_int_equal(mos_supernet_save(good, q), MOS_OK);
    FILE *f = fopen(q, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)size);
    assert_int_equal(fread(buf, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    write_bytes(p, buf, (size_t)size / 2);
    assert_int_equal(mos_supernet_load(&net, p), MOS_FORMAT);
    assert_null(net);
    assert_int_equal(mos_model_load(&model, q), MOS_FORMAT);
    assert_non_null(strstr(mos_last_error(), "mos-model"));
    assert_int_equal(mos_supernet_save(good, "/nonexistent/dir/x.safetensors"), MOS_IO);
    free(buf);
    mos_supernet_destroy(good);
    mos_space_destroy(space);
    unlink(p);
    unlink(q);
}

/* Route, decode and time with threads = 1 and 0 (all cores): the results do
 * not depend on the count, and the caller's OpenMP and OpenBLAS counts are
 * what they were after every call. A model without a tokenizer has no
 * languages and cannot be evaluated on text. */
static void thread_counts_restored(void **state) {
    (void)state;
    mos_space *space = small_space();
    mos_supernet *net = make_net(space, MOS_ROUTING_NEURON, 2);
    mos_arch *arch = NULL;
    assert_int_equal(mos_arch_sample(&arch, space, 3), MOS_OK);
    const int caller = caller_threads();
    set_caller_threads(caller);
    mos_route_options ro = MOS_ROUTE_OPTIONS_INIT;
    mos_translate_options to = MOS_TRANSLATE_OPTIONS_INIT;
    mos_latency_options lo = MOS_LATENCY_OPTIONS_INIT;
    lo.runs = 1;
    lo.warmup = 0;
    lo.steps = 3;
    lo.src_len = 4;
    const int32_t src[] = {5, 6, 7, 8, 9};
    int32_t ids[2][64];
    size_t n[2] = {0, 0};
    for (int t = 0; t < 2; t++) {
        ro.threads = to.threads = lo.threads = t == 0 ? 1 : 0;
        mos_model *m = NULL;
        assert_int_equal(mos_route(&m, net, arch, &ro), MOS_OK);
        assert_caller_threads(caller);
        assert_int_equal(mos_model_translate_ids(ids[t], 64, &n[t], m, src, 5, &to), MOS_OK);
        assert_caller_threads(caller);
        mos_latency_result lr = MOS_LATENCY_RESULT_INIT;
        assert_int_equal(mos_latency_measure(&lr, m, &lo), MOS_OK);
        assert_caller_threads(caller);
        assert_true(lr.runs == 1 && lr.mean_ms > 0);
        /* A failing call restores them too. */
        const int32_t bad[] = {5, 4000};
        assert_int_equal(mos_model_translate_ids(ids[t], 64, &n[t], m, bad, 2, &to), MOS_OUT_OF_RANGE);
        assert_caller_threads(caller);
        assert_int_equal(mos_model_translate_ids(ids[t], 64, &n[t], m, src, 5, &to), MOS_OK);
        char lang[8] = "x";
        assert_int_equal(mos_model_get_meta(lang, sizeof lang, NULL, m, "src_lang"), MOS_OK);
        assert_string_equal(lang, "");
        mos_eval_result er = MOS_EVAL_RESULT_INIT;
        mos_eval_options eo = MOS_EVAL_OPTIONS_INIT;
        eo.src_lang = "xx";
        eo.tgt_lang = "yy";
        assert_int_equal(mos_model_evaluate(&er, m, ".", &eo), MOS_UNSUPPORTED);
        assert_non_null(strstr(mos_last_error(), "tokenizer"));
        mos_model_destroy(m);
    }
    assert_int_equal(n[0], n[1]);
    assert_memory_equal(ids[0], ids[1], n[0] * sizeof(int32_t));
    set_caller_threads(omp_get_num_procs());
    mos_arch_destroy(arch);
    mos_supernet_destroy(net);
    mos_space_destroy(space);
}

/* Routing and decoding from several threads on one frozen supernet / one model
 * give exactly what a single thread gives; each call runs on one thread, as a
 * service translating from many threads should (docs/threading.md). */
struct worker {
    const mos_supernet *net;
    const mos_arch *arch;
    const mos_model *model;
    uint64_t params;
    int32_t ids[64];
    size_t n;
    mos_status st;
};

static void *work(void *p) {
    struct worker *w = p;
    mos_model *m = NULL;
    mos_route_options ro = MOS_ROUTE_OPTIONS_INIT;
    ro.threads = 1;
    w->st = mos_route(&m, w->net, w->arch, &ro);
    if (w->st != MOS_OK) return NULL;
    w->params = mos_model_num_params(m);
    mos_model_destroy(m);
    const int32_t src[] = {7, 8, 9, 10, 11, 12, 13};
    mos_translate_options o = MOS_TRANSLATE_OPTIONS_INIT;
    o.beam = 3;
    o.threads = 1;
    w->st = mos_model_translate_ids(w->ids, 64, &w->n, w->model, src, 7, &o);
    return NULL;
}

static void concurrent_route_and_decode(void **state) {
    (void)state;
    mos_space *space = small_space();
    mos_supernet *net = make_net(space, MOS_ROUTING_NEURON, 2);
    mos_arch *arch = NULL;
    assert_int_equal(mos_arch_sample(&arch, space, 11), MOS_OK);
    mos_model *model = NULL;
    assert_int_equal(mos_route(&model, net, arch, NULL), MOS_OK);
    struct worker seq = {net, arch, model, 0, {0}, 0, MOS_OK};
    work(&seq);
    assert_int_equal(seq.st, MOS_OK);
    enum { N = 4 };
    struct worker w[N];
    pthread_t th[N];
    for (int i = 0; i < N; i++) {
        w[i] = (struct worker){net, arch, model, 0, {0}, 0, MOS_INTERNAL};
        assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].st, MOS_OK);
        assert_int_equal(w[i].params, seq.params);
        assert_int_equal(w[i].n, seq.n);
        assert_memory_equal(w[i].ids, seq.ids, seq.n * sizeof(int32_t));
    }
    mos_model_destroy(model);
    mos_arch_destroy(arch);
    mos_supernet_destroy(net);
    mos_space_destroy(space);
}

int main(void) {
    snprintf(g_dir, sizeof g_dir, "%s", "test_supernet_XXXXXX");
    if (!mkdtemp(g_dir)) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(options_defaults), cmocka_unit_test(create_errors),
        cmocka_unit_test(route_all_modes),  cmocka_unit_test(route_errors),
        cmocka_unit_test(save_load_and_decode), cmocka_unit_test(bad_files), cmocka_unit_test(precisions),
        cmocka_unit_test(thread_counts_restored), cmocka_unit_test(concurrent_route_and_decode),
    };
    const int rc = cmocka_run_group_tests(tests, NULL, NULL);
    rmdir(g_dir);
    return rc;
}
