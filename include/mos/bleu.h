/* mos/bleu.h: corpus BLEU compatible with sacreBLEU 2.x defaults.
 *
 * Scores one hypothesis per reference with the 13a tokenizer (mteval-v13a), n-gram
 * orders 1..4 counted over the whole corpus, the brevity penalty and 'exp'
 * smoothing, case-sensitive: the same number `sacrebleu REF < HYP` prints.
 *
 *     mos_bleu_score s = MOS_BLEU_SCORE_INIT;
 *     const char *hyp[] = {"the cat sat on the mat"};
 *     const char *ref[] = {"the cat sat on the mat"};
 *     if (mos_bleu_corpus(&s, hyp, ref, 1) == MOS_OK) {
 *         char line[160];
 *         mos_bleu_format(line, sizeof line, NULL, &s);  // "BLEU = 100.00 100.0/..."
 *     }
 *
 * Pure C (C99 and C++); part of the stable API. See docs/api-conventions.md.
 */
#ifndef MOS_BLEU_H
#define MOS_BLEU_H

#include <stddef.h>
#include <stdint.h>

#include "mos/base.h"
#include "mos/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Version of mos_bleu_score that this header declares. */
#define MOS_BLEU_SCORE_VERSION 1u

/* A corpus BLEU result. The caller sets `version` (MOS_BLEU_SCORE_INIT or
 * mos_bleu_score_init()); the library fills the fields that version declares.
 * Fields are only ever appended. */
typedef struct mos_bleu_score {
    uint32_t version;        /* MOS_BLEU_SCORE_VERSION */
    double score;            /* BLEU, 0..100 */
    double precisions[4];    /* n-gram precisions in percent (1..4), after smoothing */
    double bp;               /* brevity penalty */
    double ratio;            /* hyp_len / ref_len, 0 when ref_len is 0 */
    uint64_t hyp_len;        /* hypothesis tokens (13a) */
    uint64_t ref_len;        /* reference tokens (13a) */
    uint64_t correct[4];     /* clipped n-gram matches per order */
    uint64_t total[4];       /* hypothesis n-grams per order */
} mos_bleu_score;

#define MOS_BLEU_SCORE_INIT {MOS_BLEU_SCORE_VERSION, 0.0, {0.0, 0.0, 0.0, 0.0}, 0.0, 0.0, 0u, 0u, \
                             {0u, 0u, 0u, 0u}, {0u, 0u, 0u, 0u}}

/* Function twin of MOS_BLEU_SCORE_INIT: zeroes *score (padding included) and
 * sets its version. Returns MOS_INVALID_ARGUMENT if score is NULL.
 * Thread-safe. @since 0.1 */
MOS_API mos_status mos_bleu_score_init(mos_bleu_score *score);

/* Corpus BLEU of n hypotheses against n references (line i of one against line
 * i of the other). Strings are UTF-8 without newlines, NUL-terminated, read during
 * the call only. hyps and refs may be NULL only when n is 0 (an empty corpus
 * scores 0). On failure *out keeps its version and is otherwise zeroed.
 * Returns MOS_INVALID_ARGUMENT (out, hyps, refs or an element NULL),
 * MOS_VERSION (out->version unknown), MOS_OUT_OF_MEMORY.
 * Thread-safe. @since 0.1 */
MOS_API mos_status mos_bleu_corpus(mos_bleu_score *out, const char *const *hyps, const char *const *refs,
                                   size_t n);

/* Writes sacreBLEU's score line for *score into buf (NUL-terminated):
 *   "BLEU = 35.12 67.1/42.0/28.3/19.5 (BP = 1.000 ratio = 1.012 hyp_len = 12345 ref_len = 12200)"
 * *needed (if needed is not NULL) receives the size required including the NUL.
 * Call with buf NULL and cap 0 to ask for the size. Returns MOS_OUT_OF_RANGE if
 * cap is too small (buf then holds "" when cap > 0), MOS_INVALID_ARGUMENT (score
 * NULL, buf NULL with cap > 0), MOS_VERSION (score->version unknown).
 * Thread-safe. @since 0.1 */
MOS_API mos_status mos_bleu_format(char *buf, size_t cap, size_t *needed, const mos_bleu_score *score);

#ifdef __cplusplus
}
#endif

#endif /* MOS_BLEU_H */
