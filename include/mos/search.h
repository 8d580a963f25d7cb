/* mos/search.h: latency measurement, the latency predictor, and mos_search.
 *
 * Before specialising a subnet for a service, find the best arch for the
 * service's budget on the machine that will serve it:
 *
 *     mos_search_options o = MOS_SEARCH_OPTIONS_INIT;
 *     double budgets[] = {20.0, 40.0};
 *     o.src_lang = "en"; o.tgt_lang = "es";
 *     o.budgets_ms = budgets; o.n_budgets = 2;
 *     o.predictor_path = "latency.safetensors";
 *     mos_search_result *res = NULL;
 *     if (mos_search(net, "data/bible-en-es", &o, &res, NULL, NULL) == MOS_OK) {
 *         mos_arch *best = NULL;
 *         mos_search_result_arch(res, 0, &best);   // best arch within 20 ms
 *         ...
 *     }
 *
 * Pure C (C99 and C++); part of the stable API.
 */
#ifndef MOS_SEARCH_H
#define MOS_SEARCH_H

#include <stddef.h>
#include <stdint.h>

#include "mos/arch.h"
#include "mos/base.h"
#include "mos/model.h"
#include "mos/space.h"
#include "mos/supernet.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MOS_LATENCY_OPTIONS_VERSION 1u

/* HAT's protocol: batch 1, a src_len-token source, `steps` decoder steps at
 * beam `beam`, `warmup` untimed runs, then `runs` timed runs. */
typedef struct mos_latency_options {
    uint32_t version;  /* MOS_LATENCY_OPTIONS_VERSION */
    uint32_t src_len;  /* 30 */
    uint32_t steps;    /* 30 */
    uint32_t beam;     /* 5; 1 = greedy */
    uint32_t warmup;   /* 3 */
    uint32_t runs;     /* 20 */
} mos_latency_options;

#define MOS_LATENCY_OPTIONS_INIT {MOS_LATENCY_OPTIONS_VERSION, 30u, 30u, 5u, 3u, 20u}

/* Function twin of MOS_LATENCY_OPTIONS_INIT. @since 0.1 */
MOS_API mos_status mos_latency_options_init(mos_latency_options *options);

typedef struct mos_latency_result {
    double mean_ms;   /* mean of the runs between the 10th and 90th percentiles */
    double p10_ms, p50_ms, p90_ms;
    double stdev_ms;  /* of those runs */
    uint32_t runs;
} mos_latency_result;

/* Time a model with the protocol of `options` (NULL = defaults) on the calling
 * thread's thread count. Thread-safe (but timings from concurrent calls
 * disturb each other). @since 0.1 */
MOS_API mos_status mos_latency_measure(const mos_model *model, const mos_latency_options *options,
                                       mos_latency_result *out);

/* Progress of long calls: done out of total; return non-zero to stop
 * (the call then returns MOS_ABORTED and writes nothing). */
typedef int (*mos_progress_fn)(uint64_t done, uint64_t total, const char *what, void *user);

/* Measure n archs sampled from `space` (seeded) as dense models with random
 * weights and a vocabulary of `vocab` (weights do not change the time), and
 * write the latency dataset as JSON lines to out_path: one object per arch
 * with its features, arch and latency. Returns MOS_IO, MOS_ABORTED. @since 0.1 */
MOS_API mos_status mos_latency_collect(const mos_space *space, uint32_t vocab, uint32_t n, uint64_t seed,
                                       const mos_latency_options *options, const char *out_path,
                                       mos_progress_fn progress, void *user);

typedef struct mos_predictor mos_predictor;

typedef struct mos_predictor_report {
    double mape;         /* held-out mean absolute percentage error (%) */
    double rmse_ms;      /* held-out root mean squared error (ms) */
    double kendall_tau;  /* held-out rank agreement */
    uint32_t train_samples, heldout_samples;
} mos_predictor_report;

/* Train HAT's latency predictor (MLP 3 x 400 on the 10 arch features) on a
 * dataset written by mos_latency_collect, holding out `holdout` (e.g. 0.2) of
 * the samples to report its error; save it to out_path (safetensors, with the
 * machine and thread count it was measured on). *report may be NULL.
 * Returns MOS_IO, MOS_FORMAT (dataset), MOS_INVALID_ARGUMENT. @since 0.1 */
MOS_API mos_status mos_predictor_train(const char *dataset_path, double holdout, uint64_t seed, const char *out_path,
                                       mos_predictor_report *report);

/* Load a predictor; *report (may be NULL) receives its recorded error.
 * @since 0.1 */
MOS_API mos_status mos_predictor_load(mos_predictor **out, const char *path, mos_predictor_report *report);
/* Predicted latency (ms) of an arch of the predictor's space. @since 0.1 */
MOS_API mos_status mos_predictor_predict(const mos_predictor *p, const mos_arch *arch, double *ms);
/* Destroying NULL does nothing. @since 0.1 */
MOS_API void mos_predictor_destroy(mos_predictor *p);

#define MOS_SEARCH_OPTIONS_VERSION 1u

typedef struct mos_search_options {
    uint32_t version;            /* MOS_SEARCH_OPTIONS_VERSION */
    const char *split;           /* validation split name ("valid") */
    const char *src_lang;        /* required */
    const char *tgt_lang;        /* required */
    uint32_t valid_sentences;    /* fixed validation subset (500) */
    const double *budgets_ms;    /* latency budgets, or NULL (NULL) */
    size_t n_budgets;            /* (0) */
    uint64_t max_params;         /* 0 = no limit (0) */
    uint64_t max_flops;          /* per 30+30-token sentence pair, 0 = no limit (0) */
    const char *predictor_path;  /* latency from this predictor (NULL) */
    bool measure;                /* or measure latency here (false) */
    uint32_t population;         /* 125 */
    uint32_t parents;            /* 25 */
    uint32_t mutations;          /* 50 */
    uint32_t crossovers;         /* 50 */
    uint32_t iterations;         /* 30 */
    double mutation_prob;        /* 0.3 */
    uint64_t seed;               /* 1 */
} mos_search_options;

#define MOS_SEARCH_OPTIONS_INIT                                                                  \
    {MOS_SEARCH_OPTIONS_VERSION, "valid", NULL, NULL, 500u, NULL, 0u, 0u, 0u, NULL, false, 125u, \
     25u, 50u, 50u, 30u, 0.3, 1u}

/* Function twin of MOS_SEARCH_OPTIONS_INIT. @since 0.1 */
MOS_API mos_status mos_search_options_init(mos_search_options *options);

typedef struct mos_search_result mos_search_result;

/* Evolutionary search (HAT) of `net`'s space for the best arch per budget;
 * fitness = validation loss of the routed subnet on the first valid_sentences
 * pairs of data_dir's split. Deterministic for a seed (given the same
 * latencies). `progress` (may be NULL) is called after every iteration with
 * done/total iterations over all budgets. Returns MOS_OUT_OF_RANGE when no arch
 * meets a budget (naming the smallest achievable latency), MOS_IO / MOS_FORMAT
 * (data, predictor), MOS_ABORTED, MOS_INVALID_ARGUMENT. @since 0.1 */
MOS_API mos_status mos_search(const mos_supernet *net, const char *data_dir, const mos_search_options *options,
                              mos_search_result **out, mos_progress_fn progress, void *user);

/* Number of budgets in the result (1 when none was given). @since 0.1 */
MOS_API size_t mos_search_result_count(const mos_search_result *r);
/* The best arch for budget i (a new handle). @since 0.1 */
MOS_API mos_status mos_search_result_arch(const mos_search_result *r, size_t i, mos_arch **out);
/* Fitness (validation loss) and latency (ms) of the best arch for budget i. @since 0.1 */
MOS_API mos_status mos_search_result_scores(const mos_search_result *r, size_t i, double *fitness,
                                            double *latency_ms);
/* The whole result as JSON (budgets, best archs, Pareto front, statistics,
 * warnings) into a caller buffer. @since 0.1 */
MOS_API mos_status mos_search_result_to_json(const mos_search_result *r, char *buf, size_t cap, size_t *needed);
/* An SVG plot of validation loss against latency with the Pareto front and the
 * budgets into a caller buffer. @since 0.1 */
MOS_API mos_status mos_search_result_to_svg(const mos_search_result *r, char *buf, size_t cap, size_t *needed);
/* Destroying NULL does nothing. @since 0.1 */
MOS_API void mos_search_result_destroy(mos_search_result *r);

#ifdef __cplusplus
}
#endif

#endif /* MOS_SEARCH_H */
