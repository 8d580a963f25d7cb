/* mos/model.h: specialised (routed) models and translation.
 *
 * A mos_model is a plain dense encoder-decoder Transformer at exactly one
 * architecture's sizes, made by mos_route (mos/supernet.h) or loaded from a
 * file. It carries the SentencePiece tokenizer of its supernet, so it
 * translates raw text on its own. A model never changes after creation: any
 * number of threads may translate with one model at once (a service doing so
 * should set `threads` = 1 per call, docs/threading.md).
 *
 *     mos_model *m = NULL;
 *     mos_model_load(&m, "en-es.model");
 *     mos_translate_options o = MOS_TRANSLATE_OPTIONS_INIT;
 *     o.beam = 5;
 *     mos_texts *out = NULL;
 *     const char *src[] = {"In the beginning God created the heaven and the earth."};
 *     if (mos_model_translate(&out, m, src, 1, &o) == MOS_OK)
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

/* Number of strings. Returns 0 and sets mos_last_error() if texts is NULL;
 * otherwise clears it. Thread-safe. @since 0.1 */
MOS_API size_t mos_texts_count(const mos_texts *texts);
/* The i-th string (NUL-terminated), borrowed until mos_texts_destroy. Returns
 * NULL and sets mos_last_error() if texts is NULL or i is out of range;
 * otherwise clears it. Thread-safe. @since 0.1 */
MOS_API const char *mos_texts_get(const mos_texts *texts, size_t i);
/* Destroying NULL does nothing. @since 0.1 */
MOS_API void mos_texts_destroy(mos_texts *texts);

/* Load a model file (safetensors, format "mos-model"). Returns MOS_IO,
 * MOS_FORMAT (naming the first problem), MOS_VERSION. On failure *out is NULL.
 * Thread-safe. @since 0.1 */
MOS_API mos_status mos_model_load(mos_model **out, const char *path);
/* Write the model atomically to `path`. Returns MOS_IO. Thread-safe. @since 0.1 */
MOS_API mos_status mos_model_save(const mos_model *model, const char *path);
/* Destroying NULL does nothing. @since 0.1 */
MOS_API void mos_model_destroy(mos_model *model);

#define MOS_CONVERT_OPTIONS_VERSION 1u

/* Options of mos_model_convert. NULL options mean the defaults shown.
 * @since 0.2 */
typedef struct mos_convert_options {
    uint32_t version;  /* MOS_CONVERT_OPTIONS_VERSION */
    mos_dtype dtype;   /* the new model's precision: F32, BF16 or INT8 (MOS_DTYPE_F32) */
    int32_t emulate;   /* as mos_route_options.emulate (0) */
} mos_convert_options;

#define MOS_CONVERT_OPTIONS_INIT {MOS_CONVERT_OPTIONS_VERSION, MOS_DTYPE_F32, 0}

/* Function twin of MOS_CONVERT_OPTIONS_INIT. Thread-safe. @since 0.2 */
MOS_API mos_status mos_convert_options_init(mos_convert_options *options);

/* A new model *out: `model` at precision options->dtype (docs/serving.md).
 * f32 -> bf16 rounds every weight matrix to nearest even, -> int8 quantises
 * each per output channel; bf16 and int8 widen exactly to f32 (converting a
 * reduced model back does not restore the original weights). The new model
 * is saved (mos_model_save) with its precision and loads in it. Returns
 * MOS_VERSION, MOS_INVALID_ARGUMENT (a dtype or emulate value outside the enum
 * or 0|1). On failure *out is NULL. Thread-safe. @since 0.2 */
MOS_API mos_status mos_model_convert(mos_model **out, const mos_model *model, const mos_convert_options *options);

/* A new handle to the model's arch (destroy with mos_arch_destroy). On
 * failure *out is NULL. Thread-safe. @since 0.1 */
MOS_API mos_status mos_model_arch(mos_arch **out, const mos_model *model);
/* Getters: the number of weights of the dense model, its vocabulary size, and
 * whether it carries a tokenizer (needed by mos_model_translate). Return
 * 0 / false and set mos_last_error() if model is NULL; otherwise clear it.
 * Thread-safe. @since 0.1 */
MOS_API uint64_t mos_model_num_params(const mos_model *model);
MOS_API uint32_t mos_model_vocab_size(const mos_model *model);
MOS_API bool mos_model_has_tokenizer(const mos_model *model);

/* String metadata the model carries, NUL-terminated, into buf[0..cap)
 * (buffer rules as mos_space_to_json). Keys: "format" ("mos-model") and
 * "format_version" ("1"; "2" for a bf16 or int8 model), the file format it is
 * saved in; "src_lang" and "tgt_lang", the corpus languages of the supernet it
 * was routed from; "dtype" ("f32", "bf16" or "int8": its precision, @since
 * 0.2), "compute_dtype" (what it computes in on this CPU, @since 0.2) and
 * "warning" (why the two differ, "" when they do not, @since 0.2). A key
 * the model does not carry (languages of a supernet trained outside mos_train,
 * an unknown key) gives "" (an empty string, MOS_OK): an absent key is not an
 * error. Returns MOS_INVALID_ARGUMENT for a NULL model or key. Thread-safe.
 * @since 0.1 */
MOS_API mos_status mos_model_get_meta(char *buf, size_t cap, size_t *needed, const mos_model *model,
                                      const char *key);

#define MOS_TRANSLATE_OPTIONS_VERSION 3u

/* Decoding options. NULL options mean the defaults shown. Version 1 and 2
 * structs (which end before max_batch_sentences and draft_tokens) are still
 * accepted: their fields mean what they meant and the later ones take the
 * defaults shown (docs/api-conventions.md, "Options"). */
typedef struct mos_translate_options {
    uint32_t version;       /* MOS_TRANSLATE_OPTIONS_VERSION */
    uint32_t beam;          /* 1 = greedy, 2..64 = beam search (4) */
    float length_penalty;   /* beam score = logprob / length^lp (0.6) */
    uint32_t max_len_a;     /* output length limit = a * source tokens + b, 0..16 (1);
                               max_len_factor, when set, takes its place */
    uint32_t max_len_b;     /* 0..4096 (10) */
    uint32_t max_src_len;   /* longer sources are cut to this many tokens, 1..4096 (256) */
    int32_t threads;        /* threads of this call, 0..1024; 0 = all cores (0). A service
                               translating from many threads at once should pass 1
                               (docs/threading.md) */
    /* Version 2, @since 0.3 (docs/serving.md, "Batch translation"): */
    uint32_t max_batch_sentences; /* sentences per batch, 1..4096 (32) */
    uint32_t max_batch_tokens;    /* padded source tokens per batch (sentences x the longest,
                                     EOS included), 0..16777216; 0 = no token limit (0). A
                                     sentence longer than the limit gets a batch of its own */
    int32_t sort_by_length;       /* 1: batches of sentences of similar length; 0: batches in
                                     input order. Results are in input order either way (1) */
    float max_len_factor;         /* the float form of max_len_a (fairseq's max_len_a): when it
                                     is not -1 it replaces max_len_a and the limit is
                                     floor(max_len_factor * source tokens) + max_len_b;
                                     -1 or 0..16 (-1: use max_len_a) */
    uint32_t nbest;               /* hypotheses returned per sentence by
                                     mos_model_translate_batch, 1..beam (1); greedy gives 1 */
    /* Version 3, @since 0.3 (docs/serving.md, "Speculative decoding"): */
    uint32_t draft_tokens;        /* greedy (beam 1) batches of one sentence on an f32 model:
                                     an int8 copy of the model drafts this many tokens and the
                                     model checks them in one pass; the output is the same,
                                     the latency lower. The draft is made on the first such
                                     call and kept with the model (about a quarter of its
                                     weight memory). Ignored for beam search, batches of
                                     several sentences, bf16 and int8 models, and CPUs without
                                     int8 kernels. 0..15; 0 = off (0) */
} mos_translate_options;

#define MOS_TRANSLATE_OPTIONS_INIT {MOS_TRANSLATE_OPTIONS_VERSION, 4u, 0.6f, 1u, 10u, 256u, 0, 32u, 0u, 1, -1.0f, 1u, 0u}

/* Function twin of MOS_TRANSLATE_OPTIONS_INIT. Thread-safe. @since 0.1 */
MOS_API mos_status mos_translate_options_init(mos_translate_options *options);

/* Translate n sentences (UTF-8, NUL-terminated, read during the call only) with
 * greedy or beam search and a key/value cache. *out receives n translations in
 * order (on failure *out is NULL): the best hypothesis of each. Sentences are
 * decoded in batches as mos_model_translate_batch does (a sentence's
 * translation does not depend on the batch it lands in). Runs with
 * options->threads threads and restores the caller's thread counts
 * (docs/threading.md). Returns MOS_UNSUPPORTED if the model has no tokenizer,
 * MOS_INVALID_ARGUMENT (bad options, invalid UTF-8 naming the sentence),
 * MOS_VERSION. Thread-safe: any number of threads may share one model.
 * @since 0.1 */
MOS_API mos_status mos_model_translate(mos_texts **out, const mos_model *model, const char *const *src, size_t n,
                                       const mos_translate_options *options);

/* The translations of a batch call (mos_model_translate_batch): for each
 * sentence, in input order, its options->nbest best hypotheses, best first
 * (fewer when the beam finished fewer), each with its text, its number of
 * target tokens and its scores. Immutable: any number of threads may read
 * one at once. @since 0.3 */
typedef struct mos_translations mos_translations;

/* Number of sentences. Returns 0 and sets mos_last_error() if t is NULL;
 * otherwise clears it. Thread-safe. @since 0.3 */
MOS_API size_t mos_translations_count(const mos_translations *t);
/* Number of hypotheses of sentence i: nbest, or fewer when the beam finished
 * fewer (at least 1: the length limit finishes one). Returns 0 and sets mos_last_error() if t is
 * NULL or i is out of range; otherwise clears it. Thread-safe. @since 0.3 */
MOS_API size_t mos_translations_nbest(const mos_translations *t, size_t i);
/* The text of hypothesis k of sentence i (NUL-terminated UTF-8), borrowed
 * until mos_translations_destroy; k = 0 is the best, equal to what
 * mos_model_translate returns with the same options. Returns NULL and sets
 * mos_last_error() if t is NULL or i or k is out of range; otherwise clears
 * it. Thread-safe. @since 0.3 */
MOS_API const char *mos_translations_text(const mos_translations *t, size_t i, size_t k);
/* The number of target tokens (tokenizer pieces, without EOS) of hypothesis k
 * of sentence i. Returns 0 and sets mos_last_error() if t is NULL or i or k
 * is out of range; otherwise clears it. Thread-safe. @since 0.3 */
MOS_API size_t mos_translations_num_tokens(const mos_translations *t, size_t i, size_t k);
/* The scores of hypothesis k of sentence i into *score and *logprob (either
 * may be NULL when not wanted): score is the beam's final, length-penalised
 * score, logprob / length^length_penalty with length the target tokens plus
 * EOS (greedy: the same formula), by which hypotheses are ranked; logprob is
 * the sum of the natural-log probabilities of the target tokens and EOS. Both
 * are <= 0. Returns MOS_INVALID_ARGUMENT for a NULL t, MOS_OUT_OF_RANGE naming
 * i or k; on failure the outputs are untouched. Thread-safe. @since 0.3 */
MOS_API mos_status mos_translations_score(float *score, float *logprob, const mos_translations *t, size_t i,
                                          size_t k);
/* Destroying NULL does nothing. @since 0.3 */
MOS_API void mos_translations_destroy(mos_translations *t);

/* Translate n sentences as mos_model_translate does, returning for each its
 * options->nbest best hypotheses with scores (*out, destroy with
 * mos_translations_destroy; NULL on failure). The sentences are cut into
 * batches of at most options->max_batch_sentences sentences and
 * options->max_batch_tokens padded source tokens, sorted by length first when
 * options->sort_by_length is 1; with several threads and several batches the
 * batches run in parallel, one thread each (docs/serving.md). Results come
 * back in input order. Returns MOS_UNSUPPORTED if the model has no tokenizer,
 * MOS_INVALID_ARGUMENT (a NULL sentence or invalid UTF-8 naming its index, an
 * option out of range naming it), MOS_VERSION. Thread-safe: any number of
 * threads may share one model. @since 0.3 */
MOS_API mos_status mos_model_translate_batch(mos_translations **out, const mos_model *model, const char *const *src,
                                             size_t n, const mos_translate_options *options);

/* Translate one sentence given as token ids (without EOS; the library appends
 * it). The output ids (without EOS) go into out[0..cap); *len receives their
 * number. If cap is too small, returns MOS_OUT_OF_RANGE with *len set and out
 * untouched (decoding is deterministic, so calling again with a larger buffer
 * gives the same ids; out = NULL, cap = 0 asks for the length). Ids must lie
 * in [0, vocab). Threads as mos_model_translate; the batch and nbest options do
 * not apply (one sentence, its best hypothesis). Thread-safe. @since 0.1 */
MOS_API mos_status mos_model_translate_ids(int32_t *out, size_t cap, size_t *len, const mos_model *model,
                                           const int32_t *src, size_t n, const mos_translate_options *options);

#ifdef __cplusplus
}
#endif

#endif /* MOS_MODEL_H */
