/* tests/capi/test_space_arch.c: mos/space.h and mos/arch.h from plain C, through
 * libmos.so only. Every function is called, with its error paths; parameter and
 * FLOP counts are checked against values worked out by hand (below) for a tiny
 * space, using the conventions of docs/model-size.md. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mos/mos.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* A space small enough to count by hand: q/k/v width 4, one encoder layer of
 * width 4 (FFN 8, 2 heads), one or two decoder layers of width 2 or 4. */
static const char *kTinySpace =
    "{\"format\": \"mos-space\", \"version\": 1, \"name\": \"tiny\", \"qkv_dim\": 4,"
    " \"encoder\": {\"embed_dim\": [4], \"layers\": [1], \"ffn_dim\": [8], \"heads\": [2]},"
    " \"decoder\": {\"embed_dim\": [2, 4], \"layers\": [1, 2], \"ffn_dim\": [6],"
    " \"self_heads\": [1], \"cross_heads\": [2], \"cross_k\": [1]}}";

/* d_enc 4, d_dec 2, one layer each. */
static const char *kTinyArch =
    "{\"encoder\": {\"embed_dim\": 4, \"layers\": [{\"ffn_dim\": 8, \"heads\": 2}]},"
    " \"decoder\": {\"embed_dim\": 2, \"layers\":"
    " [{\"ffn_dim\": 6, \"self_heads\": 1, \"cross_heads\": 2, \"cross_k\": 1}]}}";

/* A status and the last error containing every one of the given fragments. */
static void expect_error(mos_status got, mos_status want, const char *frag1, const char *frag2) {
    if (got != want) fprintf(stderr, "# status %d, message: %s\n", (int)got, mos_last_error());
    assert_int_equal(got, want);
    if (frag1 && !strstr(mos_last_error(), frag1))
        fail_msg("message '%s' lacks '%s'", mos_last_error(), frag1);
    if (frag2 && !strstr(mos_last_error(), frag2))
        fail_msg("message '%s' lacks '%s'", mos_last_error(), frag2);
}

static mos_space *preset(const char *name) {
    mos_space *s = NULL;
    assert_int_equal(mos_space_create_preset(&s, name), MOS_OK);
    assert_non_null(s);
    return s;
}

static mos_space *space_of(const char *json) {
    mos_space *s = NULL;
    assert_int_equal(mos_space_create_json(&s, json, strlen(json)), MOS_OK);
    return s;
}

static mos_arch *arch_of(const mos_space *space, const char *json) {
    mos_arch *a = NULL;
    const mos_status st = mos_arch_create_json(&a, space, json, strlen(json));
    if (st != MOS_OK) fail_msg("arch JSON rejected: %s", mos_last_error());
    return a;
}

/* The canonical JSON of a space or arch, malloc'ed. */
static char *space_json(const mos_space *s) {
    size_t n = 0;
    assert_int_equal(mos_space_to_json(NULL, 0, &n, s), MOS_OK);
    char *buf = malloc(n);
    assert_non_null(buf);
    assert_int_equal(mos_space_to_json(buf, n, NULL, s), MOS_OK);
    assert_int_equal(strlen(buf) + 1, n);
    return buf;
}

static char *arch_json(const mos_arch *a) {
    size_t n = 0;
    assert_int_equal(mos_arch_to_json(NULL, 0, &n, a), MOS_OK);
    char *buf = malloc(n);
    assert_non_null(buf);
    assert_int_equal(mos_arch_to_json(buf, n, NULL, a), MOS_OK);
    assert_int_equal(strlen(buf) + 1, n);
    return buf;
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
}

static void expect_encoding_in_unit_interval(const mos_arch *a) {
    float f[MOS_ARCH_FEATURES];
    assert_int_equal(mos_arch_encode(f, N(f), NULL, a), MOS_OK);
    for (size_t i = 0; i < N(f); i++)
        if (!(f[i] > 0.0f && f[i] <= 1.0f)) fail_msg("feature %zu = %g is outside (0, 1]", i, f[i]);
}

/* ---- spaces ---- */

static void presets(void **state) {
    (void)state;
    assert_string_equal(mos_space_preset_name(0), "hat-wmt");
    assert_string_equal(mos_space_preset_name(1), "small");
    /* NULL ends the list and keeps the last error of another call. */
    mos_space *none = NULL;
    assert_int_equal(mos_space_create_preset(&none, "medium"), MOS_INVALID_ARGUMENT);
    assert_null(mos_space_preset_name(2));
    assert_null(mos_space_preset_name((size_t)-1));
    assert_non_null(strstr(mos_last_error(), "unknown space preset 'medium'"));

    mos_space *s = preset("hat-wmt");
    char name[16];
    size_t n = 0;
    assert_int_equal(mos_space_name(name, sizeof name, &n, s), MOS_OK);
    assert_string_equal(name, "hat-wmt");
    assert_int_equal(n, 8);
    assert_int_equal(mos_space_qkv_dim(s), 512);
    /* HAT's WMT space (docs/formats.md): decoder layers 1..6, cross k 1..3, FFN 1024|2048|3072. */
    uint32_t c[8];
    assert_int_equal(mos_space_choices(c, N(c), &n, s, MOS_SPACE_DECODER_LAYERS), MOS_OK);
    assert_int_equal(n, 6);
    for (uint32_t i = 0; i < 6; i++) assert_int_equal(c[i], i + 1);
    assert_int_equal(mos_space_choices(c, N(c), &n, s, MOS_SPACE_ENCODER_FFN_DIM), MOS_OK);
    assert_int_equal(n, 3);
    assert_int_equal(c[0], 1024);
    assert_int_equal(c[2], 3072);
    assert_int_equal(mos_space_choices(NULL, 0, &n, s, MOS_SPACE_DECODER_CROSS_K), MOS_OK);
    assert_int_equal(n, 3);
    mos_space_destroy(s);

    s = preset("small");
    assert_int_equal(mos_space_qkv_dim(s), 256);
    assert_int_equal(mos_space_choices(c, N(c), &n, s, MOS_SPACE_ENCODER_LAYERS), MOS_OK);
    assert_int_equal(n, 3);
    assert_int_equal(c[0], 2);
    assert_int_equal(c[2], 4);
    mos_space_destroy(s);
    mos_space_destroy(NULL); /* harmless */
}

static void space_errors(void **state) {
    (void)state;
    mos_space *s = (mos_space *)&s; /* non-NULL garbage: must be reset to NULL */
    expect_error(mos_space_create_preset(&s, "huge"), MOS_INVALID_ARGUMENT, "'huge'", "hat-wmt|small");
    assert_null(s);
    expect_error(mos_space_create_preset(NULL, "small"), MOS_INVALID_ARGUMENT,
                 "mos_space_create_preset", "out is NULL");
    expect_error(mos_space_create_preset(&s, NULL), MOS_INVALID_ARGUMENT, "name is NULL", NULL);
    expect_error(mos_space_create_json(&s, NULL, 3), MOS_INVALID_ARGUMENT, "json is NULL", NULL);
    expect_error(mos_space_create_json(NULL, "{}", 2), MOS_INVALID_ARGUMENT, "out is NULL", NULL);
    expect_error(mos_space_load(&s, NULL), MOS_INVALID_ARGUMENT, "path is NULL", NULL);
    expect_error(mos_space_load(NULL, "x.json"), MOS_INVALID_ARGUMENT, "out is NULL", NULL);
    expect_error(mos_space_to_json(NULL, 0, NULL, NULL), MOS_INVALID_ARGUMENT, "space is NULL", NULL);
    expect_error(mos_space_name(NULL, 0, NULL, NULL), MOS_INVALID_ARGUMENT, "space is NULL", NULL);
    expect_error(mos_space_choices(NULL, 0, NULL, NULL, MOS_SPACE_ENCODER_LAYERS),
                 MOS_INVALID_ARGUMENT, "space is NULL", NULL);
    assert_int_equal(mos_space_qkv_dim(NULL), 0);
    assert_non_null(strstr(mos_last_error(), "mos_space_qkv_dim: space is NULL"));

    mos_space *small = preset("small");
    size_t n = 0;
    uint32_t c[2];
    expect_error(mos_space_choices(c, N(c), &n, small, (mos_space_dim)0), MOS_INVALID_ARGUMENT,
                 "dim = 0", NULL);
    expect_error(mos_space_choices(c, N(c), &n, small, (mos_space_dim)11), MOS_INVALID_ARGUMENT,
                 "dim = 11", NULL);
    expect_error(mos_space_choices(c, N(c), &n, small, MOS_SPACE_ENCODER_FFN_DIM), MOS_OUT_OF_RANGE,
                 "4 values", NULL);
    assert_int_equal(n, 4);
    expect_error(mos_space_choices(NULL, 4, &n, small, MOS_SPACE_ENCODER_FFN_DIM),
                 MOS_INVALID_ARGUMENT, "out is NULL", NULL);
    mos_space_destroy(small);
}

static void space_json_round_trip(void **state) {
    (void)state;
    for (size_t i = 0; mos_space_preset_name(i); i++) {
        mos_space *a = preset(mos_space_preset_name(i));
        char *ja = space_json(a);
        mos_space *b = space_of(ja);
        char *jb = space_json(b);
        assert_string_equal(ja, jb);
        free(ja);
        free(jb);
        mos_space_destroy(a);
        mos_space_destroy(b);
    }
    /* The JSON need not be NUL-terminated: only len bytes are read. */
    const char *text = kTinySpace;
    char *padded = malloc(strlen(text) + 8);
    memcpy(padded, text, strlen(text));
    memcpy(padded + strlen(text), "garbage", 7);
    mos_space *s = NULL;
    assert_int_equal(mos_space_create_json(&s, padded, strlen(text)), MOS_OK);
    free(padded);
    char name[8];
    assert_int_equal(mos_space_name(name, sizeof name, NULL, s), MOS_OK);
    assert_string_equal(name, "tiny");
    mos_space_destroy(s);
}

static void space_to_json_buffer(void **state) {
    (void)state;
    mos_space *s = preset("small");
    size_t n = 0;
    assert_int_equal(mos_space_to_json(NULL, 0, &n, s), MOS_OK);
    assert_true(n > 100);
    assert_int_equal(mos_space_to_json(NULL, 0, NULL, s), MOS_OK); /* a query with no answer */
    char small_buf[16] = "unchanged";
    expect_error(mos_space_to_json(small_buf, sizeof small_buf, &n, s), MOS_OUT_OF_RANGE,
                 "cap is 16", NULL);
    assert_string_equal(small_buf, "");
    expect_error(mos_space_to_json(NULL, 5, &n, s), MOS_INVALID_ARGUMENT, "buf is NULL", NULL);
    char untouched[1] = {'x'}; /* cap 0: not even the NUL may be written */
    expect_error(mos_space_to_json(untouched, 0, &n, s), MOS_OUT_OF_RANGE, "cap is 0", NULL);
    assert_int_equal(untouched[0], 'x');
    char *buf = malloc(n);
    expect_error(mos_space_to_json(buf, n - 1, NULL, s), MOS_OUT_OF_RANGE, NULL, NULL);
    assert_int_equal(mos_space_to_json(buf, n, NULL, s), MOS_OK);
    assert_non_null(strstr(buf, "\"format\": \"mos-space\""));
    assert_non_null(strstr(buf, "\"ffn_dim\": [256, 512, 768, 1024]"));
    assert_int_equal(buf[n - 2], '\n');
    free(buf);
    mos_space_destroy(s);
}

static void space_bad_json(void **state) {
    (void)state;
    static const struct {
        const char *json;
        mos_status status;
        const char *frag;
    } cases[] = {
        {"", MOS_FORMAT, "not JSON"},
        {"{\"qkv_dim\": ", MOS_FORMAT, "not JSON"},
        {"[1, 2]", MOS_FORMAT, "expected a JSON object"},
        {"{\"qkv_dim\": 1e999}", MOS_FORMAT, "not JSON"},
        {"{\"qkv_dim\": \"big\"}", MOS_FORMAT, "qkv_dim: expected an integer"},
        {"{\"qkv_dim\": 8}", MOS_FORMAT, "encoder: missing"},
        {"{\"qkv_dim\": 8, \"colour\": 1}", MOS_FORMAT, "unknown field 'colour'"},
        {"{\"format\": \"mos-arch\"}", MOS_FORMAT, "expected \"mos-space\""},
        {"{\"version\": 2}", MOS_VERSION, "version = 2"},
        {"{\"version\": \"1\"}", MOS_FORMAT, "version: expected an integer"},
    };
    /* A huge value is echoed only in part. */
    char huge[4200];
    int len = snprintf(huge, sizeof huge, "{\"qkv_dim\": \"");
    memset(huge + len, 'x', 4000);
    snprintf(huge + len + 4000, sizeof huge - (size_t)len - 4000, "\"}");
    mos_space *none = NULL;
    expect_error(mos_space_create_json(&none, huge, strlen(huge)), MOS_FORMAT, "qkv_dim: expected an integer",
                 "xxx...");
    assert_true(strlen(mos_last_error()) < 200);
    for (size_t i = 0; i < N(cases); i++) {
        mos_space *s = NULL;
        expect_error(mos_space_create_json(&s, cases[i].json, strlen(cases[i].json)), cases[i].status,
                     "mos_space_create_json", cases[i].frag);
        assert_null(s);
    }
    /* Well-formed JSON, invalid space: the message names the field. */
    const char *heads3 =
        "{\"qkv_dim\": 8, \"encoder\": {\"embed_dim\": [4], \"layers\": [1], \"ffn_dim\": [8],"
        " \"heads\": [3]}, \"decoder\": {\"embed_dim\": [4], \"layers\": [1], \"ffn_dim\": [8],"
        " \"self_heads\": [1], \"cross_heads\": [1], \"cross_k\": [1]}}";
    mos_space *s = NULL;
    expect_error(mos_space_create_json(&s, heads3, strlen(heads3)), MOS_FORMAT,
                 "encoder.heads: 3 does not divide qkv_dim 8", NULL);
    const char *descending =
        "{\"qkv_dim\": 8, \"encoder\": {\"embed_dim\": [4], \"layers\": [1], \"ffn_dim\": [8, 4],"
        " \"heads\": [1]}, \"decoder\": {\"embed_dim\": [4], \"layers\": [1], \"ffn_dim\": [8],"
        " \"self_heads\": [1], \"cross_heads\": [1], \"cross_k\": [1]}}";
    expect_error(mos_space_create_json(&s, descending, strlen(descending)), MOS_FORMAT,
                 "encoder.ffn_dim", "ascending");
    const char *deep_k =
        "{\"qkv_dim\": 8, \"encoder\": {\"embed_dim\": [4], \"layers\": [1, 2], \"ffn_dim\": [8],"
        " \"heads\": [1]}, \"decoder\": {\"embed_dim\": [4], \"layers\": [1], \"ffn_dim\": [8],"
        " \"self_heads\": [1], \"cross_heads\": [1], \"cross_k\": [2]}}";
    expect_error(mos_space_create_json(&s, deep_k, strlen(deep_k)), MOS_FORMAT, "decoder.cross_k: 2",
                 NULL);
}

static void space_files(void **state) {
    (void)state;
    mos_space *s = NULL;
    expect_error(mos_space_load(&s, "no/such/space.json"), MOS_IO, "no/such/space.json",
                 "No such file");
    assert_null(s);
    const char *path = "test_space_arch.space.json";
    write_file(path, kTinySpace);
    assert_int_equal(mos_space_load(&s, path), MOS_OK);
    assert_int_equal(mos_space_qkv_dim(s), 4);
    mos_space_destroy(s);
    write_file(path, "{\"qkv_dim\": 4,");
    expect_error(mos_space_load(&s, path), MOS_FORMAT, path, "not JSON");
    remove(path);
}

/* ---- archs ---- */

static void largest_and_smallest(void **state) {
    (void)state;
    for (size_t i = 0; mos_space_preset_name(i); i++) {
        mos_space *s = preset(mos_space_preset_name(i));
        mos_arch *big = NULL, *tiny = NULL;
        assert_int_equal(mos_arch_create_largest(&big, s), MOS_OK);
        assert_int_equal(mos_arch_create_smallest(&tiny, s), MOS_OK);
        assert_int_equal(mos_arch_validate(big, s), MOS_OK);
        assert_int_equal(mos_arch_validate(tiny, s), MOS_OK);
        uint64_t pb = 0, pt = 0, fb = 0, ft = 0;
        assert_int_equal(mos_arch_params(&pb, big, 8000), MOS_OK);
        assert_int_equal(mos_arch_params(&pt, tiny, 8000), MOS_OK);
        assert_true(pb > pt);
        assert_int_equal(mos_arch_flops(&fb, big, 8000, 30, 30), MOS_OK);
        assert_int_equal(mos_arch_flops(&ft, tiny, 8000, 30, 30), MOS_OK);
        assert_true(fb > ft);
        float f[MOS_ARCH_FEATURES];
        assert_int_equal(mos_arch_encode(f, N(f), NULL, big), MOS_OK);
        for (size_t k = 0; k < N(f); k++) assert_float_equal(f[k], 1.0f, 0.0f);
        expect_encoding_in_unit_interval(tiny);
        mos_arch_destroy(big);
        mos_arch_destroy(tiny);
        mos_space_destroy(s);
    }
    /* hat-wmt largest: 640 wide, 6 + 6 layers, FFN 3072, 8 heads, k = 3. */
    mos_space *s = preset("hat-wmt");
    mos_arch *a = NULL;
    assert_int_equal(mos_arch_create_largest(&a, s), MOS_OK);
    assert_int_equal(mos_arch_encoder_layers(a), 6);
    assert_int_equal(mos_arch_decoder_layers(a), 6);
    assert_int_equal(mos_arch_encoder_embed_dim(a), 640);
    assert_int_equal(mos_arch_decoder_embed_dim(a), 640);
    uint32_t ffn = 0, self = 0, cross = 0, k = 0;
    assert_int_equal(mos_arch_decoder_layer(&ffn, &self, &cross, &k, a, 5), MOS_OK);
    assert_int_equal(ffn, 3072);
    assert_int_equal(self, 8);
    assert_int_equal(cross, 8);
    assert_int_equal(k, 3);
    mos_arch_destroy(a);
    assert_int_equal(mos_arch_create_smallest(&a, s), MOS_OK);
    assert_int_equal(mos_arch_decoder_layers(a), 1);
    assert_int_equal(mos_arch_encoder_layer(&ffn, &self, a, 0), MOS_OK);
    assert_int_equal(ffn, 1024);
    assert_int_equal(self, 4);
    mos_arch_destroy(a);
    mos_space_destroy(s);
}

static void sample_is_deterministic(void **state) {
    (void)state;
    mos_space *s = preset("hat-wmt");
    char *first = NULL;
    int distinct = 0;
    for (uint64_t seed = 0; seed < 20; seed++) {
        mos_arch *a = NULL, *b = NULL;
        assert_int_equal(mos_arch_sample(&a, s, seed), MOS_OK);
        assert_int_equal(mos_arch_sample(&b, s, seed), MOS_OK);
        char *ja = arch_json(a), *jb = arch_json(b);
        assert_string_equal(ja, jb);
        assert_int_equal(mos_arch_validate(a, s), MOS_OK);
        expect_encoding_in_unit_interval(a);
        if (!first)
            first = ja;
        else {
            distinct += strcmp(first, ja) != 0;
            free(ja);
        }
        free(jb);
        mos_arch_destroy(a);
        mos_arch_destroy(b);
    }
    assert_true(distinct >= 15); /* 2*2*6*(3*2)^6*(3*2*2*3)^d layouts: repeats are rare */
    free(first);
    mos_space_destroy(s);
}

static void arch_json_round_trip(void **state) {
    (void)state;
    mos_space *s = preset("small");
    for (uint64_t seed = 1; seed <= 5; seed++) {
        mos_arch *a = NULL;
        assert_int_equal(mos_arch_sample(&a, s, seed), MOS_OK);
        char *ja = arch_json(a);
        mos_arch *b = arch_of(s, ja);
        char *jb = arch_json(b);
        assert_string_equal(ja, jb);
        assert_non_null(strstr(ja, "\"format\": \"mos-arch\""));
        free(ja);
        free(jb);
        mos_arch_destroy(a);
        mos_arch_destroy(b);
    }
    /* Arch files too. */
    mos_arch *a = NULL;
    assert_int_equal(mos_arch_create_largest(&a, s), MOS_OK);
    char *ja = arch_json(a);
    const char *path = "test_space_arch.arch.json";
    write_file(path, ja);
    mos_arch *b = NULL;
    assert_int_equal(mos_arch_load(&b, s, path), MOS_OK);
    char *jb = arch_json(b);
    assert_string_equal(ja, jb);
    mos_arch_destroy(b);
    remove(path);
    expect_error(mos_arch_load(&b, s, path), MOS_IO, path, NULL);
    assert_null(b);
    free(ja);
    free(jb);
    mos_arch_destroy(a);
    mos_space_destroy(s);
}

static void arch_bad_json(void **state) {
    (void)state;
    mos_space *s = preset("small");
    static const struct {
        const char *json;
        mos_status status;
        const char *frag;
    } cases[] = {
        {"{", MOS_FORMAT, "not JSON"},
        {"7", MOS_FORMAT, "expected a JSON object"},
        {"{\"encoder\": {\"embed_dim\": 192}}", MOS_FORMAT, "encoder.layers: missing"},
        {"{\"encoder\": {\"embed_dim\": \"wide\", \"layers\": []}}", MOS_FORMAT,
         "encoder.embed_dim: expected an integer"},
        {"{\"encoder\": {\"embed_dim\": 192, \"layers\": [5]}}", MOS_FORMAT,
         "encoder.layers[0]: expected an object"},
        {"{\"version\": 9, \"encoder\": {}}", MOS_VERSION, "version = 9"},
        {"{\"format\": \"mos-space\"}", MOS_FORMAT, "expected \"mos-arch\""},
        {"{\"decoder\": {}, \"encoder\": {}, \"extra\": 1}", MOS_FORMAT, "unknown field 'extra'"},
    };
    for (size_t i = 0; i < N(cases); i++) {
        mos_arch *a = NULL;
        expect_error(mos_arch_create_json(&a, s, cases[i].json, strlen(cases[i].json)),
                     cases[i].status, "mos_arch_create_json", cases[i].frag);
        assert_null(a);
    }
    /* Well-formed, but a value the space does not allow. */
    const char *heads5 =
        "{\"encoder\": {\"embed_dim\": 192, \"layers\": [{\"ffn_dim\": 256, \"heads\": 2},"
        " {\"ffn_dim\": 256, \"heads\": 2}]}, \"decoder\": {\"embed_dim\": 192, \"layers\":"
        " [{\"ffn_dim\": 256, \"self_heads\": 2, \"cross_heads\": 2, \"cross_k\": 1},"
        " {\"ffn_dim\": 256, \"self_heads\": 5, \"cross_heads\": 2, \"cross_k\": 1}]}}";
    mos_arch *a = NULL;
    expect_error(mos_arch_create_json(&a, s, heads5, strlen(heads5)), MOS_OUT_OF_RANGE,
                 "decoder.layers[1].self_heads = 5", "allowed 2|4");
    const char *one_layer =
        "{\"encoder\": {\"embed_dim\": 192, \"layers\": [{\"ffn_dim\": 256, \"heads\": 2}]},"
        " \"decoder\": {\"embed_dim\": 192, \"layers\": []}}";
    expect_error(mos_arch_create_json(&a, s, one_layer, strlen(one_layer)), MOS_OUT_OF_RANGE,
                 "encoder: number of layers = 1", "allowed 2|3|4");
    mos_space_destroy(s);
}

static void arch_from_another_space(void **state) {
    (void)state;
    mos_space *hat = preset("hat-wmt"), *small = preset("small");
    mos_arch *a = NULL;
    assert_int_equal(mos_arch_create_largest(&a, hat), MOS_OK);
    expect_error(mos_arch_validate(a, small), MOS_OUT_OF_RANGE, "mos_arch_validate", "qkv_dim = 512");
    char *j = arch_json(a);
    mos_arch *b = NULL;
    expect_error(mos_arch_create_json(&b, small, j, strlen(j)), MOS_OUT_OF_RANGE, "qkv_dim = 512",
                 "allowed 256");
    assert_null(b);
    free(j);
    mos_arch_destroy(a);
    /* Same q/k/v width, different choices: the first offending field is named. */
    mos_space *wide = space_of(
        "{\"qkv_dim\": 256, \"encoder\": {\"embed_dim\": [192, 320], \"layers\": [2],"
        " \"ffn_dim\": [256], \"heads\": [2]}, \"decoder\": {\"embed_dim\": [192], \"layers\": [1],"
        " \"ffn_dim\": [256], \"self_heads\": [2], \"cross_heads\": [2], \"cross_k\": [1]}}");
    assert_int_equal(mos_arch_create_largest(&a, wide), MOS_OK);
    expect_error(mos_arch_validate(a, small), MOS_OUT_OF_RANGE, "encoder.embed_dim = 320",
                 "allowed 192|256");
    mos_arch_destroy(a);
    assert_int_equal(mos_arch_create_smallest(&a, wide), MOS_OK);
    assert_int_equal(mos_arch_validate(a, small), MOS_OK); /* also a point of `small` */
    mos_arch_destroy(a);
    mos_space_destroy(wide);
    mos_space_destroy(hat);
    mos_space_destroy(small);
}

static void arch_errors(void **state) {
    (void)state;
    mos_space *s = preset("small");
    mos_arch *a = NULL, *b = NULL;
    assert_int_equal(mos_arch_create_largest(&a, s), MOS_OK);
    expect_error(mos_arch_create_largest(NULL, s), MOS_INVALID_ARGUMENT, "out is NULL", NULL);
    expect_error(mos_arch_create_largest(&b, NULL), MOS_INVALID_ARGUMENT, "space is NULL", NULL);
    expect_error(mos_arch_create_smallest(NULL, s), MOS_INVALID_ARGUMENT, "out is NULL", NULL);
    expect_error(mos_arch_create_smallest(&b, NULL), MOS_INVALID_ARGUMENT, "space is NULL", NULL);
    expect_error(mos_arch_sample(NULL, s, 1), MOS_INVALID_ARGUMENT, "out is NULL", NULL);
    expect_error(mos_arch_sample(&b, NULL, 1), MOS_INVALID_ARGUMENT, "mos_arch_sample: space is NULL",
                 NULL);
    expect_error(mos_arch_create_json(&b, s, NULL, 4), MOS_INVALID_ARGUMENT, "json is NULL", NULL);
    expect_error(mos_arch_create_json(&b, NULL, "{}", 2), MOS_INVALID_ARGUMENT, "space is NULL", NULL);
    expect_error(mos_arch_create_json(NULL, s, "{}", 2), MOS_INVALID_ARGUMENT, "out is NULL", NULL);
    expect_error(mos_arch_load(&b, s, NULL), MOS_INVALID_ARGUMENT, "path is NULL", NULL);
    expect_error(mos_arch_load(&b, NULL, "a.json"), MOS_INVALID_ARGUMENT, "space is NULL", NULL);
    expect_error(mos_arch_load(NULL, s, "a.json"), MOS_INVALID_ARGUMENT, "out is NULL", NULL);
    expect_error(mos_arch_mutate(&b, NULL, 0.3, 1), MOS_INVALID_ARGUMENT, "parent is NULL", NULL);
    expect_error(mos_arch_mutate(NULL, a, 0.3, 1), MOS_INVALID_ARGUMENT, "out is NULL", NULL);
    expect_error(mos_arch_crossover(&b, a, NULL, 1), MOS_INVALID_ARGUMENT, "b is NULL", NULL);
    expect_error(mos_arch_crossover(&b, NULL, a, 1), MOS_INVALID_ARGUMENT, "a is NULL", NULL);
    expect_error(mos_arch_crossover(NULL, a, a, 1), MOS_INVALID_ARGUMENT, "out is NULL", NULL);
    expect_error(mos_arch_to_json(NULL, 0, NULL, NULL), MOS_INVALID_ARGUMENT, "arch is NULL", NULL);
    expect_error(mos_arch_validate(a, NULL), MOS_INVALID_ARGUMENT, "space is NULL", NULL);
    expect_error(mos_arch_validate(NULL, s), MOS_INVALID_ARGUMENT, "arch is NULL", NULL);
    float f[64];
    size_t n = 0;
    expect_error(mos_arch_encode(f, 10, NULL, NULL), MOS_INVALID_ARGUMENT, "arch is NULL", NULL);
    expect_error(mos_arch_encode(NULL, 10, NULL, a), MOS_INVALID_ARGUMENT, "out is NULL", NULL);
    expect_error(mos_arch_encode(f, 9, &n, a), MOS_OUT_OF_RANGE, "cap is 9", "10 values");
    assert_int_equal(n, 10);
    expect_error(mos_arch_encode_fine(f, 64, NULL, NULL), MOS_INVALID_ARGUMENT, "arch is NULL", NULL);
    expect_error(mos_arch_encode_fine(f, 3, NULL, a), MOS_OUT_OF_RANGE, "cap is 3", NULL);
    uint64_t v = 0;
    expect_error(mos_arch_params(&v, NULL, 10), MOS_INVALID_ARGUMENT, "arch is NULL", NULL);
    expect_error(mos_arch_params(NULL, a, 10), MOS_INVALID_ARGUMENT, "out is NULL", NULL);
    expect_error(mos_arch_params(&v, a, 0), MOS_INVALID_ARGUMENT, "vocabulary size is 0", NULL);
    expect_error(mos_arch_params(&v, a, (UINT64_C(1) << 32) + 1), MOS_OUT_OF_RANGE, "exceeds 2^32", NULL);
    expect_error(mos_arch_flops(&v, NULL, 10, 1, 1), MOS_INVALID_ARGUMENT, "arch is NULL", NULL);
    expect_error(mos_arch_flops(NULL, a, 10, 1, 1), MOS_INVALID_ARGUMENT, "out is NULL", NULL);
    expect_error(mos_arch_flops(&v, a, 0, 1, 1), MOS_INVALID_ARGUMENT, "vocabulary size is 0", NULL);
    expect_error(mos_arch_flops(&v, a, 10, 0, 1), MOS_INVALID_ARGUMENT, "source length is 0", NULL);
    expect_error(mos_arch_flops(&v, a, 10, 1, 0), MOS_INVALID_ARGUMENT, "target length is 0", NULL);
    expect_error(mos_arch_flops(&v, a, 10, UINT64_C(1) << 40, UINT64_C(1) << 40), MOS_OUT_OF_RANGE,
                 "overflows 64 bits", NULL);
    uint32_t x = 0;
    expect_error(mos_arch_encoder_layer(&x, &x, NULL, 0), MOS_INVALID_ARGUMENT, "arch is NULL", NULL);
    expect_error(mos_arch_encoder_layer(&x, &x, a, 4), MOS_OUT_OF_RANGE, "index 4", "4 encoder layers");
    expect_error(mos_arch_decoder_layer(&x, &x, &x, &x, NULL, 0), MOS_INVALID_ARGUMENT, "arch is NULL",
                 NULL);
    expect_error(mos_arch_decoder_layer(NULL, NULL, NULL, NULL, a, 3), MOS_OUT_OF_RANGE, "index 3",
                 "3 decoder layers");
    assert_int_equal(mos_arch_decoder_layer(NULL, NULL, NULL, NULL, a, 2), MOS_OK);
    assert_int_equal(mos_arch_encoder_layers(NULL), 0);
    assert_non_null(strstr(mos_last_error(), "mos_arch_encoder_layers: arch is NULL"));
    assert_int_equal(mos_arch_decoder_layers(NULL), 0);
    assert_non_null(strstr(mos_last_error(), "mos_arch_decoder_layers: arch is NULL"));
    assert_int_equal(mos_arch_encoder_embed_dim(NULL), 0);
    assert_non_null(strstr(mos_last_error(), "mos_arch_encoder_embed_dim"));
    assert_int_equal(mos_arch_decoder_embed_dim(NULL), 0);
    assert_non_null(strstr(mos_last_error(), "mos_arch_decoder_embed_dim"));
    mos_space *out = NULL;
    expect_error(mos_arch_space(&out, NULL), MOS_INVALID_ARGUMENT, "arch is NULL", NULL);
    expect_error(mos_arch_space(NULL, a), MOS_INVALID_ARGUMENT, "out is NULL", NULL);
    char buf[8];
    expect_error(mos_arch_to_json(buf, sizeof buf, &n, a), MOS_OUT_OF_RANGE, "cap is 8", NULL);
    assert_string_equal(buf, "");
    mos_arch_destroy(a);
    mos_arch_destroy(NULL); /* harmless */
    mos_space_destroy(s);
}

static void mutate_and_crossover(void **state) {
    (void)state;
    mos_space *s = preset("hat-wmt");
    mos_arch *big = NULL, *tiny = NULL, *c = NULL, *d = NULL;
    assert_int_equal(mos_arch_create_largest(&big, s), MOS_OK);
    assert_int_equal(mos_arch_create_smallest(&tiny, s), MOS_OK);
    char *jbig = arch_json(big), *jtiny = arch_json(tiny);

    /* p = 0 keeps every gene; the same seed gives the same child. */
    assert_int_equal(mos_arch_mutate(&c, big, 0.0, 7), MOS_OK);
    char *jc = arch_json(c);
    assert_string_equal(jc, jbig);
    free(jc);
    mos_arch_destroy(c);
    assert_int_equal(mos_arch_mutate(&c, big, 0.3, 7), MOS_OK);
    assert_int_equal(mos_arch_mutate(&d, big, 0.3, 7), MOS_OK);
    jc = arch_json(c);
    char *jd = arch_json(d);
    assert_string_equal(jc, jd);
    assert_int_equal(mos_arch_validate(c, s), MOS_OK);
    free(jc);
    free(jd);
    mos_arch_destroy(c);
    mos_arch_destroy(d);
    /* p = 1 resamples every gene: over 10 seeds the largest arch cannot survive. */
    int changed = 0;
    for (uint64_t seed = 0; seed < 10; seed++) {
        assert_int_equal(mos_arch_mutate(&c, big, 1.0, seed), MOS_OK);
        jc = arch_json(c);
        changed += strcmp(jc, jbig) != 0;
        free(jc);
        mos_arch_destroy(c);
    }
    assert_int_equal(changed, 10);
    expect_error(mos_arch_mutate(&c, big, 1.5, 1), MOS_INVALID_ARGUMENT, "outside [0, 1]", NULL);
    expect_error(mos_arch_mutate(&c, big, -0.1, 1), MOS_INVALID_ARGUMENT, "outside [0, 1]", NULL);
    expect_error(mos_arch_mutate(&c, big, NAN, 1), MOS_INVALID_ARGUMENT, "nan", NULL);
    assert_null(c);

    /* Crossover of an arch with itself is the arch; of largest and smallest,
     * every encoder gene is one of the two (hat-wmt has 6 encoder layers). */
    assert_int_equal(mos_arch_crossover(&c, big, big, 3), MOS_OK);
    jc = arch_json(c);
    assert_string_equal(jc, jbig);
    free(jc);
    mos_arch_destroy(c);
    int from_big = 0, from_tiny = 0;
    for (uint64_t seed = 0; seed < 8; seed++) {
        assert_int_equal(mos_arch_crossover(&c, big, tiny, seed), MOS_OK);
        assert_int_equal(mos_arch_validate(c, s), MOS_OK);
        for (uint32_t i = 0; i < mos_arch_encoder_layers(c); i++) {
            uint32_t ffn = 0, heads = 0;
            assert_int_equal(mos_arch_encoder_layer(&ffn, &heads, c, i), MOS_OK);
            assert_true(ffn == 3072 || ffn == 1024);
            assert_true(heads == 8 || heads == 4);
            from_big += ffn == 3072;
            from_tiny += ffn == 1024;
        }
        assert_int_equal(mos_arch_crossover(&d, big, tiny, seed), MOS_OK);
        jc = arch_json(c);
        jd = arch_json(d);
        assert_string_equal(jc, jd);
        free(jc);
        free(jd);
        mos_arch_destroy(c);
        mos_arch_destroy(d);
    }
    assert_true(from_big > 0 && from_tiny > 0);

    mos_space *small = preset("small");
    mos_arch *other = NULL;
    assert_int_equal(mos_arch_create_largest(&other, small), MOS_OK);
    expect_error(mos_arch_crossover(&c, big, other, 1), MOS_INVALID_ARGUMENT, "different spaces", NULL);
    assert_null(c);
    mos_arch_destroy(other);
    mos_space_destroy(small);
    free(jbig);
    free(jtiny);
    mos_arch_destroy(big);
    mos_arch_destroy(tiny);
    mos_space_destroy(s);
}

/* ---- sizes and encodings of the tiny arch, by hand ----
 *
 * Vocabulary V = 10, q = 4, d_enc = 4, d_dec = 2; encoder FFN 8, decoder FFN 6,
 * cross-attention reads k = 1 encoder layer. A linear d_in -> d_out has
 * d_in*d_out + d_out parameters, a LayerNorm over d has 2d.
 *   embedding: V * max(4, 2) = 40
 *   encoder layer: q,k,v,out 4*(16+4) = 80; LN 8; fc1 32+8 = 40; fc2 32+4 = 36;
 *     LN 8 -> 172
 *   decoder layer: self q,k,v (8+4)*3 = 36, out 8+2 = 10, LN 4 -> 50;
 *     cross q 12, k,v from d_enc 2*(16+4) = 40, out 10, LN 4 -> 66;
 *     fc1 12+6 = 18, fc2 12+2 = 14, LN 4 -> 36;  total 152
 *   params = 40 + 172 + 152 = 364
 * FLOPs (multiply-add = 2) for S = 3 source and T = 2 target tokens:
 *   encoder: projections 2*S*4*d*q = 384; Q K^T and A V 2*2*S*S*q = 144;
 *     FFN 2*S*2*d*f = 384 -> 912
 *   decoder (K = k*S = 3 keys): self projections 2*T*4*2*4 = 128; self
 *     attention 2*2*T*T*q = 64; cross q and out 2*T*2*2*4 = 64; cross k, v over
 *     the K encoder outputs 2*K*2*4*4 = 192; cross attention 2*2*T*K*q = 96;
 *     FFN 2*T*2*2*6 = 96 -> 640
 *   output projection 2*T*d_dec*V = 80
 *   total = 912 + 640 + 80 = 1632 */
static void tiny_params_and_flops(void **state) {
    (void)state;
    mos_space *s = space_of(kTinySpace);
    mos_arch *a = arch_of(s, kTinyArch);
    uint64_t v = 0;
    assert_int_equal(mos_arch_params(&v, a, 10), MOS_OK);
    assert_int_equal(v, 364);
    assert_int_equal(mos_arch_flops(&v, a, 10, 3, 2), MOS_OK);
    assert_int_equal(v, 1632);
    /* One more vocabulary entry adds max(d_enc, d_dec) = 4 parameters and
     * 2*T*d_dec = 8 output FLOPs. */
    assert_int_equal(mos_arch_params(&v, a, 11), MOS_OK);
    assert_int_equal(v, 368);
    assert_int_equal(mos_arch_flops(&v, a, 11, 3, 2), MOS_OK);
    assert_int_equal(v, 1640);
    mos_arch_destroy(a);
    mos_space_destroy(s);
}

/* Encodings of the tiny arch: d_enc 4/4, 1/1 layers, FFN 8/8, heads 2/2,
 * d_dec 2/4, 1/2 layers, FFN 6/6, self 1/1, cross 2/2, k 1/1. The fine
 * encoding appends (ffn, heads) of the one encoder layer and (ffn, self,
 * cross, k) of the two possible decoder layers, the absent one as zeros. */
static void tiny_encodings(void **state) {
    (void)state;
    mos_space *s = space_of(kTinySpace);
    mos_arch *a = arch_of(s, kTinyArch);
    assert_int_equal(mos_arch_features(), MOS_ARCH_FEATURES);
    size_t n = 0;
    assert_int_equal(mos_arch_encode(NULL, 0, &n, a), MOS_OK);
    assert_int_equal(n, 10);
    float f[10];
    assert_int_equal(mos_arch_encode(f, N(f), NULL, a), MOS_OK);
    const float want[10] = {1, 1, 1, 1, 0.5f, 0.5f, 1, 1, 1, 1};
    for (size_t i = 0; i < N(want); i++) assert_float_equal(f[i], want[i], 0.0f);

    assert_int_equal(mos_arch_encode_fine(NULL, 0, &n, a), MOS_OK);
    assert_int_equal(n, 20);
    float g[20];
    assert_int_equal(mos_arch_encode_fine(g, N(g), &n, a), MOS_OK);
    const float want_fine[20] = {1, 1, 1, 1, 0.5f, 0.5f, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0};
    for (size_t i = 0; i < N(want_fine); i++) assert_float_equal(g[i], want_fine[i], 0.0f);
    mos_arch_destroy(a);
    mos_space_destroy(s);
}

/* An arch keeps its space alive: it works after mos_space_destroy and hands out
 * a handle to an equal space. */
static void arch_outlives_space(void **state) {
    (void)state;
    mos_space *s = preset("small");
    char *js = space_json(s);
    mos_arch *a = NULL;
    assert_int_equal(mos_arch_sample(&a, s, 11), MOS_OK);
    mos_space_destroy(s);
    expect_encoding_in_unit_interval(a);
    mos_arch *child = NULL;
    assert_int_equal(mos_arch_mutate(&child, a, 0.5, 2), MOS_OK);
    mos_space *back = NULL;
    assert_int_equal(mos_arch_space(&back, a), MOS_OK);
    char *jb = space_json(back);
    assert_string_equal(js, jb);
    assert_int_equal(mos_arch_validate(child, back), MOS_OK);
    free(js);
    free(jb);
    mos_space_destroy(back);
    mos_arch_destroy(child);
    mos_arch_destroy(a);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(presets),
        cmocka_unit_test(space_errors),
        cmocka_unit_test(space_json_round_trip),
        cmocka_unit_test(space_to_json_buffer),
        cmocka_unit_test(space_bad_json),
        cmocka_unit_test(space_files),
        cmocka_unit_test(largest_and_smallest),
        cmocka_unit_test(sample_is_deterministic),
        cmocka_unit_test(arch_json_round_trip),
        cmocka_unit_test(arch_bad_json),
        cmocka_unit_test(arch_from_another_space),
        cmocka_unit_test(arch_errors),
        cmocka_unit_test(mutate_and_crossover),
        cmocka_unit_test(tiny_params_and_flops),
        cmocka_unit_test(tiny_encodings),
        cmocka_unit_test(arch_outlives_space),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
