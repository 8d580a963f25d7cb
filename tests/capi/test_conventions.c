/* tests/capi/test_conventions.c: the promises of docs/api-conventions.md that
 * hold across the whole C API, checked from plain C:
 *  - every options and result struct's _INIT macro and its _init() function
 *    give the same bytes (and _init(NULL) is an error naming the function);
 *  - every value getter of a handle returns 0 / false / NULL and sets the last
 *    error for a NULL handle, and clears the last error when it succeeds;
 *  - the static lookups (status strings, routing names, preset names, the
 *    feature count) leave the last error alone, so a caller may use them while
 *    reporting a failure.
 * (Getters of texts and search results, which need a trained supernet, are
 * checked in test_search.c.) */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "mos/mos.h"

/* _INIT against _init(). The macro's value is taken from a static object:
 * static initialisation sets every padding byte to zero (C11 6.7.9p10),
 * whereas the padding of an automatic struct after `x = (T)INIT` or
 * `T x = INIT` is unspecified (C11 6.2.6.1p6), so only the static object has
 * fully determined bytes. The function's result is written over a 0xA5
 * pattern: if the function left any byte alone (padding included) the pattern
 * would show. So the comparison covers every field and says that _init()
 * writes zero padding, making options structs comparable byte by byte.
 *
 * Byte for byte with one exception: a string field ("valid" in
 * MOS_SEARCH_OPTIONS_INIT) points at a string literal, which the test and the
 * library each hold at their own address. Those fields (listed per type as
 * byte offsets) are compared as strings, and then their pointer bytes are
 * taken from the function's result so that memcmp judges everything else.
 * (tests/abi/check_init.py checks that this list names every _INIT macro of
 * the headers.) */
#define END ((size_t)-1)
static const size_t no_strings[] = {END};

static void same_bytes(const void *expect, const void *got, size_t size, const size_t *strings) {
    unsigned char cmp[512];
    assert_true(size <= sizeof cmp);
    memcpy(cmp, expect, size);
    for (const size_t *off = strings; *off != END; off++) {
        const char *e = NULL, *g = NULL;
        memcpy(&e, (const unsigned char *)expect + *off, sizeof e);
        memcpy(&g, (const unsigned char *)got + *off, sizeof g);
        if (e == NULL || g == NULL)
            assert_ptr_equal(e, g);
        else
            assert_string_equal(e, g);
        memcpy(cmp + *off, &g, sizeof g);
    }
    assert_memory_equal(cmp, got, size);
}

#define CHECK_INIT(T, MACRO, FN, STRINGS)                   \
    do {                                                    \
        static const T expect = MACRO;                      \
        T got;                                              \
        memset(&got, 0xA5, sizeof got);                     \
        assert_int_equal(FN(&got), MOS_OK);                 \
        same_bytes(&expect, &got, sizeof got, STRINGS);     \
        assert_string_equal(mos_last_error(), "");          \
        assert_int_equal(FN(NULL), MOS_INVALID_ARGUMENT);   \
        assert_non_null(strstr(mos_last_error(), #FN));     \
    } while (0)

static void init_twins(void **state) {
    (void)state;
    static const size_t supernet_strings[] = {offsetof(mos_supernet_options, tokenizer_path), END};
    static const size_t search_strings[] = {offsetof(mos_search_options, split), offsetof(mos_search_options, src_lang),
                                            offsetof(mos_search_options, tgt_lang),
                                            offsetof(mos_search_options, predictor_path), END};
    static const size_t train_strings[] = {offsetof(mos_train_options, data_dir), offsetof(mos_train_options, src_lang),
                                           offsetof(mos_train_options, tgt_lang), offsetof(mos_train_options, out_path),
                                           offsetof(mos_train_options, resume_path), END};
    static const size_t eval_strings[] = {offsetof(mos_eval_options, split), offsetof(mos_eval_options, src_lang),
                                          offsetof(mos_eval_options, tgt_lang), END};
    CHECK_INIT(mos_bleu_score, MOS_BLEU_SCORE_INIT, mos_bleu_score_init, no_strings);
    CHECK_INIT(mos_supernet_options, MOS_SUPERNET_OPTIONS_INIT, mos_supernet_options_init, supernet_strings);
    CHECK_INIT(mos_export_options, MOS_EXPORT_OPTIONS_INIT, mos_export_options_init, no_strings);
    CHECK_INIT(mos_route_options, MOS_ROUTE_OPTIONS_INIT, mos_route_options_init, no_strings);
    CHECK_INIT(mos_convert_options, MOS_CONVERT_OPTIONS_INIT, mos_convert_options_init, no_strings);
    CHECK_INIT(mos_translate_options, MOS_TRANSLATE_OPTIONS_INIT, mos_translate_options_init, no_strings);
    CHECK_INIT(mos_latency_options, MOS_LATENCY_OPTIONS_INIT, mos_latency_options_init, no_strings);
    CHECK_INIT(mos_latency_result, MOS_LATENCY_RESULT_INIT, mos_latency_result_init, no_strings);
    CHECK_INIT(mos_predictor_train_options, MOS_PREDICTOR_TRAIN_OPTIONS_INIT, mos_predictor_train_options_init,
               no_strings);
    CHECK_INIT(mos_predictor_report, MOS_PREDICTOR_REPORT_INIT, mos_predictor_report_init, no_strings);
    CHECK_INIT(mos_search_options, MOS_SEARCH_OPTIONS_INIT, mos_search_options_init, search_strings);
    CHECK_INIT(mos_train_options, MOS_TRAIN_OPTIONS_INIT, mos_train_options_init, train_strings);
    CHECK_INIT(mos_eval_options, MOS_EVAL_OPTIONS_INIT, mos_eval_options_init, eval_strings);
    CHECK_INIT(mos_eval_result, MOS_EVAL_RESULT_INIT, mos_eval_result_init, no_strings);
}

/* The first field of every versioned struct is its version, set by both. */
static void versions_first(void **state) {
    (void)state;
    const mos_route_options r = MOS_ROUTE_OPTIONS_INIT;
    const mos_eval_options e = MOS_EVAL_OPTIONS_INIT;
    const mos_eval_result er = MOS_EVAL_RESULT_INIT;
    const mos_latency_result lr = MOS_LATENCY_RESULT_INIT;
    const mos_predictor_report pr = MOS_PREDICTOR_REPORT_INIT;
    const mos_predictor_train_options pt = MOS_PREDICTOR_TRAIN_OPTIONS_INIT;
    assert_int_equal(r.version, MOS_ROUTE_OPTIONS_VERSION);
    assert_int_equal(r.threads, 0);
    assert_int_equal(r.dtype, MOS_DTYPE_F32);
    assert_int_equal(r.emulate, 0);
    const mos_convert_options c = MOS_CONVERT_OPTIONS_INIT;
    assert_int_equal(c.version, MOS_CONVERT_OPTIONS_VERSION);
    assert_int_equal(c.dtype, MOS_DTYPE_F32);
    assert_int_equal(e.version, MOS_EVAL_OPTIONS_VERSION);
    assert_string_equal(e.split, "valid");
    assert_int_equal(er.version, MOS_EVAL_RESULT_VERSION);
    assert_int_equal(lr.version, MOS_LATENCY_RESULT_VERSION);
    assert_int_equal(pr.version, MOS_PREDICTOR_REPORT_VERSION);
    assert_int_equal(pt.version, MOS_PREDICTOR_TRAIN_OPTIONS_VERSION);
    assert_true(pt.holdout > 0.19 && pt.holdout < 0.21);
    const mos_translate_options t = MOS_TRANSLATE_OPTIONS_INIT;
    const mos_latency_options l = MOS_LATENCY_OPTIONS_INIT;
    const mos_search_options s = MOS_SEARCH_OPTIONS_INIT;
    const mos_train_options tr = MOS_TRAIN_OPTIONS_INIT;
    assert_int_equal(t.threads, 0);
    assert_int_equal(t.version, 3u);
    assert_int_equal(t.max_batch_sentences, 32u);
    assert_int_equal(t.max_batch_tokens, 0u);
    assert_int_equal(t.sort_by_length, 1);
    assert_true(t.max_len_factor == -1.0f);
    assert_int_equal(t.nbest, 1u);
    assert_int_equal(t.draft_tokens, 0u);
    assert_int_equal(l.version, 3u);
    assert_int_equal(l.draft_tokens, 0u);
    assert_int_equal(l.threads, 0);
    assert_int_equal(s.threads, 0);
    assert_int_equal(tr.threads, 0);
}

/* A failed call leaves a message, so that a getter's success visibly clears it. */
static void provoke_error(void) {
    assert_int_equal(mos_space_create_preset(NULL, "small"), MOS_INVALID_ARGUMENT);
    assert_true(mos_last_error()[0] != '\0');
}

/* `call` on a NULL handle returns `zero` and sets an error naming `fn`. */
#define GETTER_NULL(call, zero, fn)                     \
    do {                                                \
        mos_clear_error();                              \
        assert_true((call) == (zero));                  \
        assert_non_null(strstr(mos_last_error(), fn));  \
        assert_non_null(strstr(mos_last_error(), "NULL")); \
    } while (0)

/* `call` on a valid handle clears an earlier error. */
#define GETTER_OK(call, expect)                 \
    do {                                        \
        provoke_error();                        \
        assert_true((call) == (expect));        \
        assert_string_equal(mos_last_error(), ""); \
    } while (0)

static void getters_and_last_error(void **state) {
    (void)state;
    mos_space *space = NULL;
    assert_int_equal(mos_space_create_preset(&space, "small"), MOS_OK);
    mos_arch *arch = NULL;
    assert_int_equal(mos_arch_create_largest(&arch, space), MOS_OK);
    uint32_t enc_layers = 0;
    size_t n = 0;
    assert_int_equal(mos_space_choices(NULL, 0, &n, space, MOS_SPACE_ENCODER_LAYERS), MOS_OK);
    uint32_t layers[16];
    assert_int_equal(mos_space_choices(layers, 16, NULL, space, MOS_SPACE_ENCODER_LAYERS), MOS_OK);
    enc_layers = layers[n - 1];

    GETTER_NULL(mos_space_qkv_dim(NULL), 0u, "mos_space_qkv_dim");
    GETTER_OK(mos_space_qkv_dim(space) > 0, 1);
    GETTER_NULL(mos_arch_encoder_layers(NULL), 0u, "mos_arch_encoder_layers");
    GETTER_OK(mos_arch_encoder_layers(arch), enc_layers);
    GETTER_NULL(mos_arch_decoder_layers(NULL), 0u, "mos_arch_decoder_layers");
    GETTER_OK(mos_arch_decoder_layers(arch) > 0, 1);
    GETTER_NULL(mos_arch_encoder_embed_dim(NULL), 0u, "mos_arch_encoder_embed_dim");
    GETTER_OK(mos_arch_encoder_embed_dim(arch) > 0, 1);
    GETTER_NULL(mos_arch_decoder_embed_dim(NULL), 0u, "mos_arch_decoder_embed_dim");
    GETTER_OK(mos_arch_decoder_embed_dim(arch) > 0, 1);

    mos_supernet_options o = MOS_SUPERNET_OPTIONS_INIT;
    o.vocab_size = 48;
    o.router_hidden = 16;
    mos_supernet *net = NULL;
    assert_int_equal(mos_supernet_create(&net, space, &o), MOS_OK);
    GETTER_NULL(mos_supernet_num_params(NULL), 0u, "mos_supernet_num_params");
    GETTER_OK(mos_supernet_num_params(net) > 0, 1);
    GETTER_NULL(mos_supernet_has_tokenizer(NULL), false, "mos_supernet_has_tokenizer");
    GETTER_OK(mos_supernet_has_tokenizer(net), false);

    mos_model *model = NULL;
    assert_int_equal(mos_route(&model, net, arch, NULL), MOS_OK);
    uint64_t params = 0;
    assert_int_equal(mos_arch_params(&params, arch, 48), MOS_OK);
    GETTER_NULL(mos_model_num_params(NULL), 0u, "mos_model_num_params");
    GETTER_OK(mos_model_num_params(model), params);
    GETTER_NULL(mos_model_vocab_size(NULL), 0u, "mos_model_vocab_size");
    GETTER_OK(mos_model_vocab_size(model), 48u);
    GETTER_NULL(mos_model_has_tokenizer(NULL), false, "mos_model_has_tokenizer");
    GETTER_OK(mos_model_has_tokenizer(model), false);
    GETTER_NULL(mos_texts_count(NULL), 0u, "mos_texts_count");
    GETTER_NULL(mos_texts_get(NULL, 0), NULL, "mos_texts_get");
    GETTER_NULL(mos_search_result_count(NULL), 0u, "mos_search_result_count");

    mos_model_destroy(model);
    mos_supernet_destroy(net);
    mos_arch_destroy(arch);
    mos_space_destroy(space);
}

/* Static lookups may be called while reporting a failure: they keep the message. */
static void lookups_keep_the_error(void **state) {
    (void)state;
    provoke_error();
    char before[256];
    snprintf(before, sizeof before, "%s", mos_last_error());
    assert_non_null(mos_status_str(MOS_FORMAT));
    assert_string_equal(mos_routing_name(MOS_ROUTING_LAYER), "layer");
    assert_string_equal(mos_routing_name((mos_routing)42), "unknown");
    assert_non_null(mos_space_preset_name(0));
    assert_null(mos_space_preset_name(1000));
    assert_int_equal(mos_arch_features(), MOS_ARCH_FEATURES);
    assert_true(mos_version_number() > 0);
    mos_space_destroy(NULL);
    mos_arch_destroy(NULL);
    assert_string_equal(mos_last_error(), before);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(init_twins),
        cmocka_unit_test(versions_first),
        cmocka_unit_test(getters_and_last_error),
        cmocka_unit_test(lookups_keep_the_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
