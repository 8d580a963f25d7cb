/* mos/model.h: specialised (routed) models and translation.
 *
 * A mos_model is a plain dense encoder-decoder Transformer at exactly one
 * architecture's sizes, made by mos_route (mos/supernet.h) or loaded from a
 * file. It carries the SentencePiece tokenizer of its supernet, so it
 * translates raw text on its own. A model never changes after creation: any
 * number of threads may translate with one model at once.
 *
 *     mos_model *m = NULL;
 *     mos_model_load(&m, "en-es.model");
 *     mos_translate_options o = MOS_TRANSLATE_OPTIONS_INIT;
 *     o.beam = 5;
 *     mos_texts *out = NULL;
 *     const char *src[] = {"In the beginning God created the heaven and the earth."};
 *     if (mos_model_translate(m, src, 1, &o, &out) == MOS_OK)
 *         puts(mos_texts_get(out, 0));
 *     mos_texts_destroy(out);
 *     mos_model_destroy(m);
 *
 * Pure C (C99 and C++); part of the stable API.
 */
#ifndef MOS_MODEL_H
#define MOS_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "mos/arch.h"
#include "mos/base.h"
#include "mos/supernet.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A list of UTF-8 strings returned by the library (translations). */
typedef struct mos_texts mos_texts;

/* Number of strings; 0 for NULL. @since 0.1 */
MOS_API size_t mos_texts_count(const mos_texts *texts);
/* The i-th string (NUL-terminated), borrowed until mos_texts_destroy; NULL if
 * texts is NULL or i is out of range. @since 0.1 */
MOS_API const char *mos_texts_get(const mos_texts *texts, size_t i);
/* Destroying NULL does nothing. @since 0.1 */
MOS_API void mos_texts_destroy(mos_texts *texts);

/* Load a model file (safetensors, format "mos-model"). Returns MOS_IO,
 * MOS_FORMAT (naming the first problem), MOS_VERSION. Thread-safe. @since 0.1 */
MOS_API mos_status mos_model_load(mos_model **out, const char *path);
/* Write the model atomically. Returns MOS_IO. Thread-safe. @since 0.1 */
MOS_API mos_status mos_model_save(const mos_model *model, const char *path);
/* Destroying NULL does nothing. @since 0.1 */
MOS_API void mos_model_destroy(mos_model *model);

/* A new handle to the model's arch (destroy with mos_arch_destroy). @since 0.1 */
MOS_API mos_status mos_model_arch(const mos_model *model, mos_arch **out);
/* Number of weights of the dense model; 0 for NULL. @since 0.1 */
MOS_API uint64_t mos_model_num_params(const mos_model *model);
/* Vocabulary size; 0 for NULL. @since 0.1 */
MOS_API uint32_t mos_model_vocab_size(const mos_model *model);
/* Whether the model carries a tokenizer (needed by mos_model_translate). @since 0.1 */
MOS_API bool mos_model_has_tokenizer(const mos_model *model);

#define MOS_TRANSLATE_OPTIONS_VERSION 1u

/* Decoding options. NULL options mean the defaults shown. */
typedef struct mos_translate_options {
    uint32_t version;       /* MOS_TRANSLATE_OPTIONS_VERSION */
    uint32_t beam;          /* 1 = greedy, 2..64 = beam search (4) */
    float length_penalty;   /* beam score = logprob / length^lp (0.6) */
    uint32_t max_len_a;     /* output length limit = a * source tokens + b (1) */
    uint32_t max_len_b;     /* (10) */
    uint32_t max_src_len;   /* longer sources are cut to this many tokens (256) */
} mos_translate_options;

#define MOS_TRANSLATE_OPTIONS_INIT {MOS_TRANSLATE_OPTIONS_VERSION, 4u, 0.6f, 1u, 10u, 256u}

/* Function twin of MOS_TRANSLATE_OPTIONS_INIT. @since 0.1 */
MOS_API mos_status mos_translate_options_init(mos_translate_options *options);

/* Translate n sentences (UTF-8, NUL-terminated, read during the call only) with
 * greedy or beam search and a key/value cache. *out receives n translations in
 * order. Returns MOS_UNSUPPORTED if the model has no tokenizer,
 * MOS_INVALID_ARGUMENT (bad options, invalid UTF-8 naming the sentence),
 * MOS_VERSION. Thread-safe: any number of threads may share one model.
 * @since 0.1 */
MOS_API mos_status mos_model_translate(const mos_model *model, const char *const *src, size_t n,
                                       const mos_translate_options *options, mos_texts **out);

/* Translate one sentence given as token ids (without EOS; the library appends
 * it). The output ids (without EOS) go into out[0..cap); *len receives their
 * number. If cap is too small, returns MOS_OUT_OF_RANGE with *len set and out
 * untouched (decoding is deterministic, so calling again with a larger buffer
 * gives the same ids). Ids must lie in [0, vocab). Thread-safe. @since 0.1 */
MOS_API mos_status mos_model_translate_ids(const mos_model *model, const int32_t *src, size_t n,
                                           const mos_translate_options *options, int32_t *out, size_t cap,
                                           size_t *len);

#ifdef __cplusplus
}
#endif

#endif /* MOS_MODEL_H */
