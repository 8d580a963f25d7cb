/* tests/capi/test_translate_batch.c: batch translation through the public C
 * API (mos_model_translate_batch, mos_translations, mos_translate_options
 * version 3; docs/serving.md). On the built-in supernet's smallest subnet
 * (real text, fast): results come back in input order and equal each sentence
 * translated alone whatever the batch limits and sorting; n-best lists are
 * sorted by score with the first equal to mos_model_translate's; the scores
 * follow their documented formula; max_len_factor overrides max_len_a; a
 * version 1 options struct is still read (and only up to its end); every bad
 * argument and option is refused with a message naming it; and random option
 * values are accepted exactly when they are valid; repeated and concurrent
 * calls on one model (which reuse its decoding workspaces) give what a model's
 * first call gives. MOS_BUILTIN_DIR is set by meson. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mos/mos.h"

static mos_model *g_model;

static const char *const kSentences[] = {
    "And God said, Let there be light: and there was light.",
    "Jesus wept.",
    "The waters rose fifteen cubits higher, and the mountains were covered.",
    "In the beginning God created the heaven and the earth.",
    "And the evening and the morning were the first day.",
    "Blessed are the meek: for they shall inherit the earth.",
    "He said unto them, Go ye into all the world.",
    "Love one another.",
    "And the king said, Bring me a sword. And they brought a sword before the king.",
    "The Lord is my shepherd; I shall not want.",
    "Rejoice evermore.",
    "For God so loved the world, that he gave his only begotten Son.",
};
enum { kN = sizeof kSentences / sizeof kSentences[0] };

/* The layout of mos_translate_options version 1 (libmos 0.1), as an old
 * caller compiled it: the library must read no byte past its end. */
typedef struct translate_options_v1 {
    uint32_t version;
    uint32_t beam;
    float length_penalty;
    uint32_t max_len_a;
    uint32_t max_len_b;
    uint32_t max_src_len;
    int32_t threads;
} translate_options_v1;

static int setup(void **state) {
    (void)state;
    mos_supernet *net = NULL;
    if (mos_supernet_load_builtin(&net, NULL) != MOS_OK) return -1;
    mos_space *space = NULL;
    mos_arch *arch = NULL;
    int rc = -1;
    if (mos_supernet_space(&space, net) == MOS_OK && mos_arch_create_smallest(&arch, space) == MOS_OK &&
        mos_route(&g_model, net, arch, NULL) == MOS_OK)
        rc = 0;
    mos_arch_destroy(arch);
    mos_space_destroy(space);
    mos_supernet_destroy(net);
    return rc;
}

static int teardown(void **state) {
    (void)state;
    mos_model_destroy(g_model);
    return 0;
}

/* Best translations of src[0..n) by mos_model_translate (caller destroys). */
static mos_texts *translate(const char *const *src, size_t n, const mos_translate_options *o) {
    mos_texts *out = NULL;
    assert_int_equal(mos_model_translate(&out, g_model, src, n, o), MOS_OK);
    assert_int_equal(mos_texts_count(out), n);
    return out;
}

static void results_in_input_order_whatever_the_batches(void **state) {
    (void)state;
    mos_translate_options o = MOS_TRANSLATE_OPTIONS_INIT;
    o.threads = 1;
    /* Each sentence alone: the reference. */
    mos_texts *alone[kN];
    for (size_t i = 0; i < kN; i++) alone[i] = translate(&kSentences[i], 1, &o);
    /* Batches of every shape: 1..all sentences, a token limit tighter than
     * the longest sentence, sorted or not, 1 or 2 threads (batches in parallel). */
    const struct {
        uint32_t sentences, tokens;
        int32_t sort, threads;
    } shapes[] = {{32, 0, 1, 1}, {1, 0, 1, 1}, {3, 0, 0, 1}, {5, 40, 1, 2}, {32, 8, 1, 2}, {4, 0, 0, 2}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        o.max_batch_sentences = shapes[s].sentences;
        o.max_batch_tokens = shapes[s].tokens;
        o.sort_by_length = shapes[s].sort;
        o.threads = shapes[s].threads;
        mos_translations *t = NULL;
        assert_int_equal(mos_model_translate_batch(&t, g_model, kSentences, kN, &o), MOS_OK);
        assert_int_equal(mos_translations_count(t), kN);
        mos_texts *best = translate(kSentences, kN, &o);
        for (size_t i = 0; i < kN; i++) {
            assert_int_equal(mos_translations_nbest(t, i), 1);
            assert_string_equal(mos_translations_text(t, i, 0), mos_texts_get(alone[i], 0));
            assert_string_equal(mos_texts_get(best, i), mos_texts_get(alone[i], 0));
        }
        mos_texts_destroy(best);
        mos_translations_destroy(t);
    }
    for (size_t i = 0; i < kN; i++) mos_texts_destroy(alone[i]);
    /* No sentences: an empty result. */
    mos_translations *t = NULL;
    assert_int_equal(mos_model_translate_batch(&t, g_model, NULL, 0, NULL), MOS_OK);
    assert_int_equal(mos_translations_count(t), 0);
    mos_translations_destroy(t);
}

static void nbest_sorted_by_score(void **state) {
    (void)state;
    mos_translate_options o = MOS_TRANSLATE_OPTIONS_INIT;
    o.beam = 5;
    o.nbest = 5;
    o.length_penalty = 1.0f;
    mos_texts *best = translate(kSentences, kN, &o);
    mos_translations *t = NULL;
    assert_int_equal(mos_model_translate_batch(&t, g_model, kSentences, kN, &o), MOS_OK);
    size_t more_than_one = 0;
    for (size_t i = 0; i < kN; i++) {
        const size_t nb = mos_translations_nbest(t, i);
        assert_true(nb >= 1 && nb <= 5);
        more_than_one += nb > 1;
        assert_string_equal(mos_translations_text(t, i, 0), mos_texts_get(best, i));
        float prev = INFINITY;
        for (size_t k = 0; k < nb; k++) {
            float score = 1.0f, logprob = 1.0f;
            assert_int_equal(mos_translations_score(&score, &logprob, t, i, k), MOS_OK);
            assert_true(score <= prev);
            assert_true(score <= 0.0f && logprob <= 0.0f);
            /* score = logprob / (tokens + EOS)^length_penalty, here ^1. */
            const size_t tokens = mos_translations_num_tokens(t, i, k);
            assert_string_equal(mos_last_error(), "");
            assert_true(fabsf(score - logprob / (float)(tokens + 1)) <= 1e-4f * fabsf(logprob) + 1e-6f);
            assert_non_null(mos_translations_text(t, i, k));
            /* Hypotheses differ from one another. */
            for (size_t j = 0; j < k; j++)
                assert_true(strcmp(mos_translations_text(t, i, j), mos_translations_text(t, i, k)) != 0 ||
                            mos_translations_num_tokens(t, i, j) != tokens);
            prev = score;
        }
        /* Either output may be NULL. */
        float score = 0.0f;
        assert_int_equal(mos_translations_score(&score, NULL, t, i, 0), MOS_OK);
        assert_int_equal(mos_translations_score(NULL, NULL, t, i, 0), MOS_OK);
    }
    assert_true(more_than_one > kN / 2);
    mos_translations_destroy(t);
    mos_texts_destroy(best);

    /* Greedy: one hypothesis with the same scores' formula (length_penalty 0: score = logprob). */
    o.beam = 1;
    o.nbest = 1;
    o.length_penalty = 0.0f;
    assert_int_equal(mos_model_translate_batch(&t, g_model, kSentences, 2, &o), MOS_OK);
    float score = 0.0f, logprob = 1.0f;
    assert_int_equal(mos_translations_nbest(t, 1), 1);
    assert_int_equal(mos_translations_score(&score, &logprob, t, 1, 0), MOS_OK);
    assert_true(score == logprob && logprob < 0.0f);
    mos_translations_destroy(t);
    o.nbest = 2;
    assert_int_equal(mos_model_translate_batch(&t, g_model, kSentences, 2, &o), MOS_INVALID_ARGUMENT);
    assert_non_null(strstr(mos_last_error(), "nbest 2"));
    assert_null(t);
}

static void max_len_factor_takes_precedence(void **state) {
    (void)state;
    mos_translate_options o = MOS_TRANSLATE_OPTIONS_INIT;
    o.max_len_a = 16;
    o.max_len_factor = 0.0f; /* the limit is then max_len_b tokens, EOS included */
    o.max_len_b = 3;
    o.beam = 2;
    mos_translations *t = NULL;
    assert_int_equal(mos_model_translate_batch(&t, g_model, kSentences, kN, &o), MOS_OK);
    for (size_t i = 0; i < kN; i++) assert_true(mos_translations_num_tokens(t, i, 0) <= 2);
    mos_translations_destroy(t);
    /* A fractional factor: floor(0.25 * source tokens) + 1. */
    o.max_len_factor = 0.25f;
    o.max_len_b = 1;
    assert_int_equal(mos_model_translate_batch(&t, g_model, kSentences, kN, &o), MOS_OK);
    mos_translate_options wide = o;
    wide.max_len_factor = -1.0f;
    wide.max_len_a = 2;
    mos_translations *w = NULL;
    assert_int_equal(mos_model_translate_batch(&w, g_model, kSentences, kN, &wide), MOS_OK);
    size_t shorter = 0;
    for (size_t i = 0; i < kN; i++) {
        assert_true(mos_translations_num_tokens(t, i, 0) <= mos_translations_num_tokens(w, i, 0));
        shorter += mos_translations_num_tokens(t, i, 0) < mos_translations_num_tokens(w, i, 0);
    }
    assert_true(shorter > kN / 2);
    mos_translations_destroy(w);
    mos_translations_destroy(t);
}

static void version_1_options_still_read(void **state) {
    (void)state;
    /* Allocated at exactly its size, so that a read past its end is a bug a
     * sanitizer build sees. */
    translate_options_v1 *v1 = malloc(sizeof *v1);
    assert_non_null(v1);
    *v1 = (translate_options_v1){1u, 3u, 0.6f, 1u, 10u, 256u, 1};
    mos_translate_options v2 = MOS_TRANSLATE_OPTIONS_INIT;
    v2.beam = 3;
    v2.threads = 1;
    const mos_translate_options *as_v1 = (const mos_translate_options *)(const void *)v1;
    mos_texts *a = NULL;
    assert_int_equal(mos_model_translate(&a, g_model, kSentences, kN, as_v1), MOS_OK);
    mos_texts *b = translate(kSentences, kN, &v2);
    mos_translations *t = NULL;
    assert_int_equal(mos_model_translate_batch(&t, g_model, kSentences, kN, as_v1), MOS_OK);
    for (size_t i = 0; i < kN; i++) {
        assert_string_equal(mos_texts_get(a, i), mos_texts_get(b, i));
        assert_string_equal(mos_translations_text(t, i, 0), mos_texts_get(b, i));
        assert_int_equal(mos_translations_nbest(t, i), 1);
    }
    int32_t ids[64];
    size_t n1 = 0, n2 = 0;
    const int32_t src[] = {40, 41, 42, 43, 44};
    assert_int_equal(mos_model_translate_ids(ids, 64, &n1, g_model, src, 5, as_v1), MOS_OK);
    assert_int_equal(mos_model_translate_ids(ids, 64, &n2, g_model, src, 5, &v2), MOS_OK);
    assert_int_equal(n1, n2);
    mos_texts_destroy(a);
    /* A version 1 struct's bad values are still refused. */
    v1->beam = 65;
    assert_int_equal(mos_model_translate(&a, g_model, kSentences, 1, as_v1), MOS_INVALID_ARGUMENT);
    assert_null(a);
    assert_non_null(strstr(mos_last_error(), "beam 65"));
    mos_translations_destroy(t);
    mos_texts_destroy(b);
    free(v1);
}

/* mos_translate_options.draft_tokens (version 3): greedy translations of
 * one sentence per batch decoded speculatively are the plain ones, scores
 * included; a version 2 struct (allocated at exactly its size) is read up to
 * its end and decodes as before. */
static void speculative_decoding_same_output(void **state) {
    (void)state;
    mos_translate_options plain = MOS_TRANSLATE_OPTIONS_INIT;
    plain.beam = 1;
    plain.threads = 1;
    plain.max_batch_sentences = 1;
    mos_translate_options spec = plain;
    spec.draft_tokens = 5;
    mos_translations *a = NULL, *b = NULL;
    assert_int_equal(mos_model_translate_batch(&a, g_model, kSentences, kN, &plain), MOS_OK);
    assert_int_equal(mos_model_translate_batch(&b, g_model, kSentences, kN, &spec), MOS_OK);
    for (size_t i = 0; i < kN; i++) {
        assert_string_equal(mos_translations_text(a, i, 0), mos_translations_text(b, i, 0));
        float sa = 0.0f, la = 0.0f, sb = 1.0f, lb = 1.0f;
        assert_int_equal(mos_translations_score(&sa, &la, a, i, 0), MOS_OK);
        assert_int_equal(mos_translations_score(&sb, &lb, b, i, 0), MOS_OK);
        assert_memory_equal(&sa, &sb, sizeof sa);
        assert_memory_equal(&la, &lb, sizeof la);
    }
    mos_translations_destroy(b);
    const size_t v2_size = offsetof(mos_translate_options, draft_tokens);
    mos_translate_options *v2 = malloc(v2_size);
    assert_non_null(v2);
    memcpy(v2, &plain, v2_size);
    v2->version = 2u;
    assert_int_equal(mos_model_translate_batch(&b, g_model, kSentences, kN, v2), MOS_OK);
    for (size_t i = 0; i < kN; i++) assert_string_equal(mos_translations_text(a, i, 0), mos_translations_text(b, i, 0));
    mos_translations_destroy(b);
    mos_translations_destroy(a);
    free(v2);
}

/* `o` with one field changed is refused with MOS_INVALID_ARGUMENT (or `st`)
 * and a message containing `needle`, by both text entry points. */
static void refused(const mos_translate_options *o, mos_status st, const char *needle) {
    mos_translations *t = (mos_translations *)(uintptr_t)1;
    assert_int_equal(mos_model_translate_batch(&t, g_model, kSentences, 2, o), st);
    assert_null(t);
    if (!strstr(mos_last_error(), needle)) fail_msg("message '%s' lacks '%s'", mos_last_error(), needle);
    mos_texts *x = NULL;
    assert_int_equal(mos_model_translate(&x, g_model, kSentences, 2, o), st);
    assert_null(x);
    if (!strstr(mos_last_error(), needle)) fail_msg("message '%s' lacks '%s'", mos_last_error(), needle);
}

static void bad_arguments_and_options(void **state) {
    (void)state;
    const mos_translate_options d = MOS_TRANSLATE_OPTIONS_INIT;
    mos_translate_options o = d;
    o.max_batch_sentences = 0;
    refused(&o, MOS_INVALID_ARGUMENT, "max_batch_sentences 0");
    o = d;
    o.max_batch_sentences = 4097;
    refused(&o, MOS_INVALID_ARGUMENT, "max_batch_sentences 4097");
    o = d;
    o.max_batch_tokens = (1u << 24) + 1;
    refused(&o, MOS_INVALID_ARGUMENT, "max_batch_tokens");
    o = d;
    o.sort_by_length = 2;
    refused(&o, MOS_INVALID_ARGUMENT, "sort_by_length");
    o = d;
    o.max_len_factor = -0.5f;
    refused(&o, MOS_INVALID_ARGUMENT, "max_len_factor");
    o.max_len_factor = 17.0f;
    refused(&o, MOS_INVALID_ARGUMENT, "max_len_factor");
    o.max_len_factor = NAN;
    refused(&o, MOS_INVALID_ARGUMENT, "max_len_factor");
    o = d;
    o.nbest = 0;
    refused(&o, MOS_INVALID_ARGUMENT, "nbest 0");
    o.nbest = 5; /* beam 4 */
    refused(&o, MOS_INVALID_ARGUMENT, "nbest 5");
    o = d;
    o.beam = 0;
    refused(&o, MOS_INVALID_ARGUMENT, "beam");
    o = d;
    o.max_len_a = 17;
    refused(&o, MOS_INVALID_ARGUMENT, "max_len_a 17");
    o = d;
    o.max_len_a = 0;
    o.max_len_b = 0;
    refused(&o, MOS_INVALID_ARGUMENT, "both 0");
    o = d;
    o.threads = -1;
    refused(&o, MOS_INVALID_ARGUMENT, "threads -1");
    o = d;
    o.draft_tokens = 16;
    refused(&o, MOS_INVALID_ARGUMENT, "draft_tokens 16");
    o = d;
    o.version = 4;
    refused(&o, MOS_VERSION, "version 4");
    o.version = 0;
    refused(&o, MOS_VERSION, "version 0");

    /* Arguments. */
    mos_translations *t = NULL;
    assert_int_equal(mos_model_translate_batch(NULL, g_model, kSentences, 1, NULL), MOS_INVALID_ARGUMENT);
    assert_non_null(strstr(mos_last_error(), "out is NULL"));
    assert_int_equal(mos_model_translate_batch(&t, NULL, kSentences, 1, NULL), MOS_INVALID_ARGUMENT);
    assert_non_null(strstr(mos_last_error(), "model is NULL"));
    assert_int_equal(mos_model_translate_batch(&t, g_model, NULL, 1, NULL), MOS_INVALID_ARGUMENT);
    assert_non_null(strstr(mos_last_error(), "src is NULL"));
    const char *with_null[] = {"Jesus wept.", NULL};
    assert_int_equal(mos_model_translate_batch(&t, g_model, with_null, 2, NULL), MOS_INVALID_ARGUMENT);
    assert_non_null(strstr(mos_last_error(), "src[1] is NULL"));
    const char *bad_utf8[] = {"Jesus wept.", "Love \xff one another."};
    assert_int_equal(mos_model_translate_batch(&t, g_model, bad_utf8, 2, NULL), MOS_INVALID_ARGUMENT);
    assert_non_null(strstr(mos_last_error(), "src[1] is not valid UTF-8"));
    assert_null(t);
    mos_model *no_tok = NULL;
    {
        /* A model without a tokenizer cannot translate text. */
        mos_space *space = NULL;
        mos_arch *arch = NULL;
        mos_supernet *net = NULL;
        assert_int_equal(mos_space_create_preset(&space, "small"), MOS_OK);
        mos_supernet_options so = MOS_SUPERNET_OPTIONS_INIT;
        so.vocab_size = 64;
        so.router_hidden = 16;
        assert_int_equal(mos_supernet_create(&net, space, &so), MOS_OK);
        assert_int_equal(mos_arch_create_smallest(&arch, space), MOS_OK);
        assert_int_equal(mos_route(&no_tok, net, arch, NULL), MOS_OK);
        assert_int_equal(mos_model_translate_batch(&t, no_tok, kSentences, 1, NULL), MOS_UNSUPPORTED);
        assert_null(t);
        mos_model_destroy(no_tok);
        mos_arch_destroy(arch);
        mos_supernet_destroy(net);
        mos_space_destroy(space);
    }

    /* Accessors. */
    assert_int_equal(mos_model_translate_batch(&t, g_model, kSentences, 2, NULL), MOS_OK);
    assert_int_equal(mos_translations_count(NULL), 0);
    assert_non_null(strstr(mos_last_error(), "mos_translations_count"));
    assert_int_equal(mos_translations_count(t), 2);
    assert_string_equal(mos_last_error(), "");
    assert_int_equal(mos_translations_nbest(NULL, 0), 0);
    assert_non_null(strstr(mos_last_error(), "t is NULL"));
    assert_int_equal(mos_translations_nbest(t, 2), 0);
    assert_non_null(strstr(mos_last_error(), "sentence index 2 of 2"));
    assert_null(mos_translations_text(t, 2, 0));
    assert_non_null(strstr(mos_last_error(), "sentence index 2"));
    assert_null(mos_translations_text(t, 0, 1));
    assert_non_null(strstr(mos_last_error(), "hypothesis index 1 of 1"));
    assert_null(mos_translations_text(NULL, 0, 0));
    assert_int_equal(mos_translations_num_tokens(t, 0, 7), 0);
    assert_non_null(strstr(mos_last_error(), "mos_translations_num_tokens"));
    float score = 5.0f, logprob = 5.0f;
    assert_int_equal(mos_translations_score(&score, &logprob, t, 0, 1), MOS_OUT_OF_RANGE);
    assert_true(score == 5.0f && logprob == 5.0f);
    assert_int_equal(mos_translations_score(&score, &logprob, NULL, 0, 0), MOS_INVALID_ARGUMENT);
    assert_int_equal(mos_translations_score(&score, &logprob, t, 9, 0), MOS_OUT_OF_RANGE);
    mos_translations_destroy(t);
    mos_translations_destroy(NULL);
}

/* A small deterministic generator (xorshift32), so a failure reproduces. */
static uint32_t next(uint32_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/* Values around each field's limits, valid and not. */
static uint32_t pick_u(uint32_t *s, const uint32_t *v, size_t n) { return v[next(s) % n]; }

static void random_option_values(void **state) {
    (void)state;
    static const uint32_t beams[] = {0, 1, 2, 3, 4, 64, 65, 1000};
    static const uint32_t lens_a[] = {0, 1, 2, 16, 17};
    static const uint32_t lens_b[] = {0, 1, 2, 5, 4096, 4097};
    static const uint32_t src_lens[] = {0, 1, 2, 8, 4096, 4097};
    static const uint32_t sents[] = {0, 1, 2, 3, 4096, 4097, 0xffffffffu};
    static const uint32_t toks[] = {0, 1, 5, 30, 1u << 24, (1u << 24) + 1, 0xffffffffu};
    static const uint32_t nbests[] = {0, 1, 2, 3, 4, 5, 65};
    static const int32_t sorts[] = {0, 1, 2, -1};
    static const int32_t threads[] = {0, 1, 2, -1, 1025};
    static const float factors[] = {-1.0f, -0.5f, 0.0f, 0.3f, 1.5f, 16.0f, 16.5f, NAN, INFINITY};
    static const float lps[] = {0.0f, 0.6f, 1.0f, -1.0f, NAN};
    const char *src[] = {"Jesus wept.", "Love one another.", "Rejoice evermore."};
    uint32_t seed = 20261203u;
    size_t ok = 0, refused_n = 0;
    for (int it = 0; it < 300; it++) {
        /* Each field keeps its default or, one time in four, takes a value
         * from its list, so that about half the sets are valid. */
        mos_translate_options o = MOS_TRANSLATE_OPTIONS_INIT;
#define MAYBE(field, value) \
    do {                    \
        if (next(&seed) % 4 == 0) o.field = (value); \
    } while (0)
        MAYBE(beam, pick_u(&seed, beams, 8));
        MAYBE(max_len_a, pick_u(&seed, lens_a, 5));
        MAYBE(max_len_b, pick_u(&seed, lens_b, 6));
        MAYBE(max_src_len, pick_u(&seed, src_lens, 6));
        MAYBE(max_batch_sentences, pick_u(&seed, sents, 7));
        MAYBE(max_batch_tokens, pick_u(&seed, toks, 7));
        MAYBE(nbest, pick_u(&seed, nbests, 7));
        MAYBE(sort_by_length, sorts[next(&seed) % 4]);
        MAYBE(threads, threads[next(&seed) % 5]);
        MAYBE(max_len_factor, factors[next(&seed) % 9]);
        MAYBE(length_penalty, lps[next(&seed) % 5]);
#undef MAYBE
        /* Keep valid runs fast: short outputs. */
        if (o.max_len_b > 5 && o.max_len_b <= 4096 && next(&seed) % 4 != 0) o.max_len_b = 5;
        const bool factor_ok = o.max_len_factor == -1.0f || (o.max_len_factor >= 0.0f && o.max_len_factor <= 16.0f);
        const float a = o.max_len_factor == -1.0f ? (float)o.max_len_a : o.max_len_factor;
        const bool valid = o.beam >= 1 && o.beam <= 64 && o.max_len_a <= 16 && o.max_len_b <= 4096 &&
                           o.max_src_len >= 1 && o.max_src_len <= 4096 && o.max_batch_sentences >= 1 &&
                           o.max_batch_sentences <= 4096 && o.max_batch_tokens <= (1u << 24) &&
                           (o.sort_by_length == 0 || o.sort_by_length == 1) && o.threads >= 0 &&
                           o.threads <= 1024 && factor_ok && (a > 0.0f || o.max_len_b > 0) && o.nbest >= 1 &&
                           o.nbest <= o.beam && isfinite(o.length_penalty) && o.length_penalty >= 0.0f &&
                           o.length_penalty <= 10.0f;
        const bool long_run = valid && (o.max_len_b > 5 || o.beam > 4 || a > 2.0f);
        if (long_run) {
            o.max_len_b = 5;
            o.beam = o.nbest > 4 ? o.nbest : (o.beam > 4 ? 4 : o.beam);
            o.max_len_factor = 0.5f;
        }
        mos_translations *t = NULL;
        const mos_status st = mos_model_translate_batch(&t, g_model, src, 3, &o);
        if (valid) {
            if (st != MOS_OK) fail_msg("iteration %d: valid options refused: %s", it, mos_last_error());
            assert_int_equal(mos_translations_count(t), 3);
            for (size_t i = 0; i < 3; i++) {
                const size_t nb = mos_translations_nbest(t, i);
                assert_true(nb >= 1 && nb <= o.nbest);
            }
            ok++;
        } else {
            if (st != MOS_INVALID_ARGUMENT)
                fail_msg("iteration %d: invalid options gave %d (%s)", it, (int)st, mos_last_error());
            assert_null(t);
            assert_true(mos_last_error()[0] != '\0');
            refused_n++;
        }
        mos_translations_destroy(t);
    }
    print_message("# %zu valid option sets translated, %zu invalid ones refused\n", ok, refused_n);
    assert_true(ok >= 10 && refused_n >= 10);
}

/* Workspace reuse (docs/serving.md, "Workspaces across calls"): a model keeps
 * its decoding workspaces across calls, grown by the largest call so far. Three
 * option sets of different beams, batch sizes and thread counts. */
enum { kSets = 3, kWorkers = 4, kRounds = 3 };

static mos_translate_options option_set(int i) {
    mos_translate_options o = MOS_TRANSLATE_OPTIONS_INIT;
    const uint32_t beam[kSets] = {5, 1, 4}, nbest[kSets] = {2, 1, 4}, batch[kSets] = {32, 3, 1};
    const int32_t threads[kSets] = {1, 2, 1};
    o.beam = beam[i];
    o.nbest = nbest[i];
    o.max_batch_sentences = batch[i];
    o.threads = threads[i];
    return o;
}

/* What a model's first call gives: the translation by a fresh copy of g_model
 * (mos_model_convert to f32, which has its own, empty, workspaces). */
static mos_translations *first_call(const mos_translate_options *o) {
    mos_model *copy = NULL;
    assert_int_equal(mos_model_convert(&copy, g_model, NULL), MOS_OK);
    mos_translations *t = NULL;
    assert_int_equal(mos_model_translate_batch(&t, copy, kSentences, kN, o), MOS_OK);
    mos_model_destroy(copy);
    return t;
}

/* Whether a and b hold the same hypotheses: texts, token counts and scores
 * bit for bit. */
static bool same_translations(const mos_translations *a, const mos_translations *b) {
    if (mos_translations_count(a) != mos_translations_count(b)) return false;
    for (size_t i = 0; i < mos_translations_count(a); i++) {
        if (mos_translations_nbest(a, i) != mos_translations_nbest(b, i)) return false;
        for (size_t k = 0; k < mos_translations_nbest(a, i); k++) {
            float sa = 0, la = 0, sb = 0, lb = 0;
            if (mos_translations_score(&sa, &la, a, i, k) != MOS_OK ||
                mos_translations_score(&sb, &lb, b, i, k) != MOS_OK)
                return false;
            if (strcmp(mos_translations_text(a, i, k), mos_translations_text(b, i, k)) != 0 ||
                mos_translations_num_tokens(a, i, k) != mos_translations_num_tokens(b, i, k) ||
                memcmp(&sa, &sb, sizeof sa) != 0 || memcmp(&la, &lb, sizeof la) != 0)
                return false;
        }
    }
    return true;
}

static mos_translations *g_first[kSets];

typedef struct worker {
    int id;
    int calls, mismatches, failures;
} worker;

static void *translate_rounds(void *arg) {
    worker *w = arg;
    for (int r = 0; r < kRounds; r++) {
        const int set = (w->id + r) % kSets;
        const mos_translate_options o = option_set(set);
        mos_translations *t = NULL;
        if (mos_model_translate_batch(&t, g_model, kSentences, kN, &o) != MOS_OK) {
            w->failures++;
            continue;
        }
        w->calls++;
        if (!same_translations(t, g_first[set])) w->mismatches++;
        mos_translations_destroy(t);
    }
    return NULL;
}

static void repeated_and_concurrent_calls_equal_first_calls(void **state) {
    (void)state;
    for (int i = 0; i < kSets; i++) {
        const mos_translate_options o = option_set(i);
        g_first[i] = first_call(&o);
    }
    /* One after another, the large beam-5 call first and again after smaller
     * ones: every call equals a first call. */
    const int order[] = {0, 1, 2, 0, 2, 1};
    for (size_t j = 0; j < sizeof order / sizeof order[0]; j++) {
        const mos_translate_options o = option_set(order[j]);
        mos_translations *t = NULL;
        assert_int_equal(mos_model_translate_batch(&t, g_model, kSentences, kN, &o), MOS_OK);
        assert_true(same_translations(t, g_first[order[j]]));
        mos_translations_destroy(t);
    }
    /* Concurrently from several threads on the one model. */
    pthread_t th[kWorkers];
    worker w[kWorkers];
    for (int i = 0; i < kWorkers; i++) {
        w[i] = (worker){i, 0, 0, 0};
        assert_int_equal(pthread_create(&th[i], NULL, translate_rounds, &w[i]), 0);
    }
    for (int i = 0; i < kWorkers; i++) assert_int_equal(pthread_join(th[i], NULL), 0);
    for (int i = 0; i < kWorkers; i++) {
        assert_int_equal(w[i].failures, 0);
        assert_int_equal(w[i].calls, kRounds);
        assert_int_equal(w[i].mismatches, 0);
    }
    /* mos_model_translate_ids reuses the same workspaces. */
    const int32_t ids[] = {40, 17, 99, 250, 8};
    int32_t a[64], b[64];
    size_t na = 0, nb = 0;
    mos_model *copy = NULL;
    assert_int_equal(mos_model_convert(&copy, g_model, NULL), MOS_OK);
    const mos_translate_options o = option_set(0);
    assert_int_equal(mos_model_translate_ids(a, 64, &na, copy, ids, 5, &o), MOS_OK);
    mos_model_destroy(copy);
    assert_int_equal(mos_model_translate_ids(b, 64, &nb, g_model, ids, 5, &o), MOS_OK);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na * sizeof(int32_t));
    for (int i = 0; i < kSets; i++) mos_translations_destroy(g_first[i]);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(results_in_input_order_whatever_the_batches),
        cmocka_unit_test(nbest_sorted_by_score),
        cmocka_unit_test(max_len_factor_takes_precedence),
        cmocka_unit_test(version_1_options_still_read),
        cmocka_unit_test(speculative_decoding_same_output),
        cmocka_unit_test(bad_arguments_and_options),
        cmocka_unit_test(random_option_values),
        cmocka_unit_test(repeated_and_concurrent_calls_equal_first_calls),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
