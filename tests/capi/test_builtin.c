/* tests/capi/test_builtin.c: the built-in supernet through the public C API
 * (docs/builtin.md): its manifest, loading it without a path, the quality it
 * promises (the smallest subnet routed and scored on the first test verses
 * must reach the manifest's "check" BLEU minus 2), a damaged copy refused with
 * a message naming the file, unknown and malformed names, and a BF16 export
 * that loads back. MOS_BUILTIN_DIR and MOS_TEST_CORPUS are set by meson to the
 * source tree's data/builtin and data/bible-en-es. */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mos/mos.h"

static const char *env_or_fail(const char *name) {
    const char *v = getenv(name);
    if (!v || !*v) fail_msg("%s is not set (meson sets it)", name);
    return v;
}

/* The manifest as a string (caller frees). */
static char *manifest(void) {
    size_t needed = 0;
    assert_int_equal(mos_builtin_manifest(NULL, 0, &needed, NULL), MOS_OK);
    assert_true(needed > 1);
    char *buf = malloc(needed);
    assert_non_null(buf);
    assert_int_equal(mos_builtin_manifest(buf, needed, &needed, NULL), MOS_OK);
    assert_int_equal(strlen(buf) + 1, needed);
    return buf;
}

/* The number after "key": inside the object that follows "section". */
static double number_in(const char *json, const char *section, const char *key) {
    const char *s = strstr(json, section);
    assert_non_null(s);
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\":", key);
    const char *k = strstr(s, pattern);
    assert_non_null(k);
    return strtod(k + strlen(pattern), NULL);
}

static void manifest_describes_the_file(void **state) {
    (void)state;
    char *m = manifest();
    assert_non_null(strstr(m, "\"format\": \"mos-builtin-manifest\""));
    assert_non_null(strstr(m, "\"sha256\""));
    assert_non_null(strstr(m, "\"recipe\""));
    assert_non_null(strstr(m, "\"commit\""));
    const double largest = number_in(m, "\"largest\"", "bleu");
    const double smallest = number_in(m, "\"smallest\"", "bleu");
    assert_true(largest >= 25.0);
    assert_true(smallest >= 21.0);
    /* A buffer too small fails and leaves "" behind. */
    char small[8];
    size_t needed = 0;
    assert_int_equal(mos_builtin_manifest(small, sizeof small, &needed, NULL), MOS_OUT_OF_RANGE);
    assert_string_equal(small, "");
    assert_int_equal(needed, strlen(m) + 1);
    free(m);
}

static void smallest_subnet_translates_as_promised(void **state) {
    (void)state;
    char *m = manifest();
    const double want = number_in(m, "\"check\"", "bleu");
    const double sentences = number_in(m, "\"check\"", "sentences");
    const double beam = number_in(m, "\"check\"", "beam");
    free(m);

    mos_supernet *net = NULL;
    assert_int_equal(mos_supernet_load_builtin(&net, NULL), MOS_OK);
    mos_space *space = NULL;
    assert_int_equal(mos_supernet_space(&space, net), MOS_OK);
    mos_arch *arch = NULL;
    assert_int_equal(mos_arch_create_smallest(&arch, space), MOS_OK);
    mos_model *model = NULL;
    assert_int_equal(mos_route(&model, net, arch, NULL), MOS_OK);

    mos_eval_options o = MOS_EVAL_OPTIONS_INIT;
    o.split = "test";
    o.src_lang = "en";
    o.tgt_lang = "es";
    o.max_sentences = (uint32_t)sentences;
    o.bleu_beam = (uint32_t)beam;
    mos_eval_result r = MOS_EVAL_RESULT_INIT;
    assert_int_equal(mos_model_evaluate(&r, model, env_or_fail("MOS_TEST_CORPUS"), &o), MOS_OK);
    assert_int_equal(r.sentences, (uint64_t)sentences);
    print_message("# smallest subnet, %u test verses, beam %u: BLEU %.2f (manifest %.2f)\n", o.max_sentences,
                  o.bleu_beam, r.bleu, want);
    assert_true(r.bleu >= want - 2.0);

    /* Real Spanish, not an empty line. */
    const char *src[] = {"The waters rose fifteen cubits higher, and the mountains were covered."};
    mos_translate_options t = MOS_TRANSLATE_OPTIONS_INIT;
    mos_texts *out = NULL;
    assert_int_equal(mos_model_translate(&out, model, src, 1, &t), MOS_OK);
    const char *es = mos_texts_get(out, 0);
    print_message("# %s\n", es);
    assert_true(strlen(es) > 10);
    assert_true(strstr(es, "montes") != NULL || strstr(es, "aguas") != NULL || strstr(es, "codos") != NULL);
    mos_texts_destroy(out);

    mos_model_destroy(model);
    mos_arch_destroy(arch);
    mos_space_destroy(space);
    mos_supernet_destroy(net);
}

static void names_are_checked(void **state) {
    (void)state;
    mos_supernet *net = (mos_supernet *)1;
    assert_int_equal(mos_supernet_load_builtin(&net, "no-such-model"), MOS_IO);
    assert_null(net);
    assert_non_null(strstr(mos_last_error(), "not installed"));
    assert_non_null(strstr(mos_last_error(), "no-such-model/manifest.json"));
    assert_int_equal(mos_supernet_load_builtin(&net, "../etc"), MOS_INVALID_ARGUMENT);
    assert_int_equal(mos_supernet_load_builtin(NULL, NULL), MOS_INVALID_ARGUMENT);
    size_t needed = 0;
    assert_int_equal(mos_builtin_manifest(NULL, 0, &needed, "Bad Name"), MOS_INVALID_ARGUMENT);
    char buf[4];
    assert_int_equal(mos_builtin_manifest(NULL, sizeof buf, &needed, NULL), MOS_INVALID_ARGUMENT);
}

static int copy_file(const char *from, const char *to, long flip_at) {
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    if (!in || !out) return -1;
    char buf[1 << 16];
    size_t n;
    long pos = 0;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0) {
        if (flip_at >= pos && flip_at < pos + (long)n) buf[flip_at - pos] ^= 0x01;
        pos += (long)n;
        if (fwrite(buf, 1, n, out) != n) return -1;
    }
    fclose(in);
    return fclose(out);
}

/* One flipped bit in a copy: MOS_FORMAT, saying it is damaged and naming the file. */
static void damaged_copy_is_refused(void **state) {
    (void)state;
    const char *dir = env_or_fail("MOS_BUILTIN_DIR");
    char tmp[] = "/tmp/mos-builtin-XXXXXX";
    assert_non_null(mkdtemp(tmp));
    char sub[512], from[512], to[512];
    snprintf(sub, sizeof sub, "%s/bible-en-es", tmp);
    assert_int_equal(mkdir(sub, 0700), 0);
    snprintf(from, sizeof from, "%s/bible-en-es/manifest.json", dir);
    snprintf(to, sizeof to, "%s/manifest.json", sub);
    assert_int_equal(copy_file(from, to, -1), 0);
    snprintf(from, sizeof from, "%s/bible-en-es/supernet.safetensors", dir);
    snprintf(to, sizeof to, "%s/supernet.safetensors", sub);
    assert_int_equal(copy_file(from, to, 1000000), 0);

    setenv("MOS_BUILTIN_DIR", tmp, 1);
    mos_supernet *net = NULL;
    assert_int_equal(mos_supernet_load_builtin(&net, NULL), MOS_FORMAT);
    assert_null(net);
    assert_non_null(strstr(mos_last_error(), "damaged"));
    assert_non_null(strstr(mos_last_error(), to));
    setenv("MOS_BUILTIN_DIR", dir, 1);

    unlink(to);
    snprintf(to, sizeof to, "%s/manifest.json", sub);
    unlink(to);
    rmdir(sub);
    rmdir(tmp);
}

/* Export at BF16 and F32: both load; BF16 is about half the size. */
static void export_round_trip(void **state) {
    (void)state;
    mos_supernet *net = NULL;
    assert_int_equal(mos_supernet_load_builtin(&net, NULL), MOS_OK);
    char tmp[] = "/tmp/mos-export-XXXXXX";
    assert_non_null(mkdtemp(tmp));
    char f32[512], bf16[512];
    snprintf(f32, sizeof f32, "%s/f32.safetensors", tmp);
    snprintf(bf16, sizeof bf16, "%s/bf16.safetensors", tmp);
    mos_export_options o = MOS_EXPORT_OPTIONS_INIT;
    assert_int_equal(mos_supernet_export(net, f32, &o), MOS_OK);
    o.weights = MOS_DTYPE_BF16;
    assert_int_equal(mos_supernet_export(net, bf16, &o), MOS_OK);
    o.weights = (mos_dtype)7;
    assert_int_equal(mos_supernet_export(net, bf16, &o), MOS_INVALID_ARGUMENT);
    o.weights = MOS_DTYPE_F32;
    o.version = 99;
    assert_int_equal(mos_supernet_export(net, bf16, &o), MOS_VERSION);
    assert_int_equal(mos_supernet_export(NULL, bf16, NULL), MOS_INVALID_ARGUMENT);
    assert_int_equal(mos_supernet_export(net, NULL, NULL), MOS_INVALID_ARGUMENT);

    FILE *a = fopen(f32, "rb"), *b = fopen(bf16, "rb");
    assert_non_null(a);
    assert_non_null(b);
    fseek(a, 0, SEEK_END);
    fseek(b, 0, SEEK_END);
    const long sa = ftell(a), sb = ftell(b);
    fclose(a);
    fclose(b);
    assert_true(sb < sa * 6 / 10);
    for (int i = 0; i < 2; i++) {
        mos_supernet *back = NULL;
        assert_int_equal(mos_supernet_load(&back, i ? bf16 : f32), MOS_OK);
        assert_int_equal(mos_supernet_num_params(back), mos_supernet_num_params(net));
        mos_supernet_destroy(back);
    }
    mos_export_options d;
    assert_int_equal(mos_export_options_init(&d), MOS_OK);
    const mos_export_options init = MOS_EXPORT_OPTIONS_INIT;
    assert_memory_equal(&d, &init, sizeof d);
    unlink(f32);
    unlink(bf16);
    rmdir(tmp);
    mos_supernet_destroy(net);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(manifest_describes_the_file),
        cmocka_unit_test(smallest_subnet_translates_as_promised),
        cmocka_unit_test(names_are_checked),
        cmocka_unit_test(damaged_copy_is_refused),
        cmocka_unit_test(export_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
