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
 *     if (mos_search(&res, net, "data/bible-en-es", &o, NULL, NULL) == MOS_OK) {
 *         mos_arch *best = NULL;
 *         mos_search_result_arch(&best, res, 0);   // best arch within 20 ms
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

#define MOS_LATENCY_OPTIONS_VERSION 3u

/* HAT's protocol: batch 1, a src_len-token source, `steps` decoder steps at
 * beam `beam`, `warmup` untimed runs, then `runs` timed runs, on `threads`
 * threads. NULL options mean the defaults shown. */
typedef struct mos_latency_options {
    uint32_t version;  /* MOS_LATENCY_OPTIONS_VERSION */
    uint32_t src_len;  /* 30 */
    uint32_t steps;    /* 30 */
    uint32_t beam;     /* 5; 1 = greedy */
    uint32_t warmup;   /* 3 */
    uint32_t runs;     /* 20 */
    int32_t threads;   /* threads of the timed decoding, 0..1024; 0 = all cores (0) */
    /* Version 2, @since 0.3 (docs/search.md, "Latency predictor"): */
    uint32_t passes;   /* mos_latency_collect: at most this many times every arch is
                          timed, each time in other groups; fewer once the labels are
                          steady (docs/search.md); 1..16 (5; a version 1 struct
                          collects in 1 pass); mos_latency_measure ignores it */
    uint32_t max_seconds; /* mos_latency_collect: no pass after the first starts that would
                             end (judged by the slowest pass so far) past this many seconds
                             from the start (240); 0 = no limit */
    /* Version 3, @since 0.3 (docs/serving.md, "Speculative decoding"): */
    uint32_t draft_tokens; /* greedy only: time speculative decoding with this many draft
                              tokens per check, as mos_translate_options.draft_tokens serves
                              (the same output); where serving would ignore it, so does the
                              timing. Recorded in datasets. 0..15; 0 = off (0) */
} mos_latency_options;

#define MOS_LATENCY_OPTIONS_INIT {MOS_LATENCY_OPTIONS_VERSION, 30u, 30u, 5u, 3u, 20u, 0, 5u, 240u, 0u}

/* Function twin of MOS_LATENCY_OPTIONS_INIT. Thread-safe. @since 0.1 */
MOS_API mos_status mos_latency_options_init(mos_latency_options *options);

/* Version of mos_latency_result that this header declares. */
#define MOS_LATENCY_RESULT_VERSION 1u

/* A latency measurement. The caller sets `version` (MOS_LATENCY_RESULT_INIT or
 * mos_latency_result_init()); the library fills the fields that version
 * declares. Fields are only ever appended. */
typedef struct mos_latency_result {
    uint32_t version;  /* MOS_LATENCY_RESULT_VERSION */
    double mean_ms;    /* the latency: median of the runs not disturbed by other load
                          (more than 10% above the median; docs/search.md) */
    double p10_ms, p50_ms, p90_ms;  /* of all timed runs */
    double stdev_ms;   /* of the runs kept */
    uint32_t runs;
} mos_latency_result;

#define MOS_LATENCY_RESULT_INIT {MOS_LATENCY_RESULT_VERSION, 0.0, 0.0, 0.0, 0.0, 0.0, 0u}

/* Function twin of MOS_LATENCY_RESULT_INIT: zeroes *result (padding included)
 * and sets its version. Thread-safe. @since 0.1 */
MOS_API mos_status mos_latency_result_init(mos_latency_result *result);

/* Time `model` with the protocol of `options` (NULL = defaults) into *out,
 * whose version the caller sets. Runs with options->threads threads and
 * restores the caller's thread counts; on one thread each run is timed by the
 * thread's CPU time (equal to wall time on an idle machine, not inflated by
 * other processes' load), on more by wall time. Returns MOS_VERSION (out->version or
 * options->version unknown), MOS_INVALID_ARGUMENT (an option out of range).
 * On failure *out keeps its version and is otherwise zeroed. Thread-safe (but
 * timings from concurrent calls disturb each other). @since 0.1 */
MOS_API mos_status mos_latency_measure(mos_latency_result *out, const mos_model *model,
                                       const mos_latency_options *options);

/* Progress of long calls: done out of total; return non-zero to stop
 * (the call then returns MOS_ABORTED and writes nothing). */
typedef int (*mos_progress_fn)(uint64_t done, uint64_t total, const char *what, void *user);

/* Measure n archs sampled from `space` (seeded) as dense models with random
 * weights and a vocabulary of `vocab` (weights do not change the time) with
 * the protocol and thread count of `options` (NULL = defaults), and write the
 * latency dataset as JSON lines to out_path: a header (machine, thread count,
 * precision, vocabulary, protocol, space, how noisy the machine was, the
 * per-operation timings of the cost model), then one object per arch with its
 * arch and latency. Archs are timed interleaved in groups, options->passes
 * times each in other groups, disturbed runs left out and redone, the groups'
 * drift fitted out (docs/search.md). On one thread runs are timed by the
 * thread's CPU time, so that other processes' load does not inflate them.
 * `progress` (may be NULL) hears of every group of archs timed (total: n x
 * passes). Returns MOS_IO,
 * MOS_ABORTED, MOS_VERSION, MOS_INVALID_ARGUMENT. Thread-safe. @since 0.1 */
MOS_API mos_status mos_latency_collect(const mos_space *space, uint32_t vocab, uint32_t n, uint64_t seed,
                                       const mos_latency_options *options, const char *out_path,
                                       mos_progress_fn progress, void *user);

typedef struct mos_predictor mos_predictor;

#define MOS_PREDICTOR_TRAIN_OPTIONS_VERSION 2u

/* Kinds of latency predictor (docs/search.md, "Latency predictor"). Values
 * are stable and only appended. @since 0.2 */
typedef enum mos_predictor_kind {
    MOS_PREDICTOR_DEFAULT = 0, /* the kind that measured best: MOS_PREDICTOR_LINEAR */
    MOS_PREDICTOR_LINEAR = 1,  /* ridge regression on the rich features */
    MOS_PREDICTOR_MLP = 2,     /* HAT's MLP (3 x 400) on its 10 features */
    MOS_PREDICTOR_COST = 3     /* sum of per-operation timings, calibrated */
} mos_predictor_kind;

/* Options of mos_predictor_train. NULL options mean the defaults shown.
 * Version 1 (without `kind`) is still accepted and trains the default kind. */
typedef struct mos_predictor_train_options {
    uint32_t version;  /* MOS_PREDICTOR_TRAIN_OPTIONS_VERSION */
    double holdout;    /* fraction of the samples held out to measure the error, [0, 0.9) (0.2) */
    uint64_t seed;     /* hold-out split and weight initialisation (1) */
    int32_t kind;      /* a mos_predictor_kind (MOS_PREDICTOR_DEFAULT); @since 0.2 */
} mos_predictor_train_options;

#define MOS_PREDICTOR_TRAIN_OPTIONS_INIT {MOS_PREDICTOR_TRAIN_OPTIONS_VERSION, 0.2, 1u, 0}

/* Function twin of MOS_PREDICTOR_TRAIN_OPTIONS_INIT. Thread-safe. @since 0.1 */
MOS_API mos_status mos_predictor_train_options_init(mos_predictor_train_options *options);

/* Version of mos_predictor_report that this header declares. */
#define MOS_PREDICTOR_REPORT_VERSION 1u

/* The held-out error of a latency predictor. The caller sets `version`
 * (MOS_PREDICTOR_REPORT_INIT or mos_predictor_report_init()); the library
 * fills the fields that version declares. Fields are only ever appended. */
typedef struct mos_predictor_report {
    uint32_t version;    /* MOS_PREDICTOR_REPORT_VERSION */
    double mape;         /* held-out mean absolute percentage error (%) */
    double rmse_ms;      /* held-out root mean squared error (ms) */
    double kendall_tau;  /* held-out rank agreement */
    uint32_t train_samples, heldout_samples;
} mos_predictor_report;

#define MOS_PREDICTOR_REPORT_INIT {MOS_PREDICTOR_REPORT_VERSION, 0.0, 0.0, 0.0, 0u, 0u}

/* Function twin of MOS_PREDICTOR_REPORT_INIT: zeroes *report (padding
 * included) and sets its version. Thread-safe. @since 0.1 */
MOS_API mos_status mos_predictor_report_init(mos_predictor_report *report);

/* Train a latency predictor of options->kind (by default the linear model on
 * the rich features; HAT's MLP and the per-operation cost model on request)
 * on a dataset written by mos_latency_collect (dataset_path), holding out
 * options->holdout of the samples to report its error in *report (may be
 * NULL; its version set by the caller), and save it to out_path
 * (safetensors, with the machine, thread count, precision and vocabulary
 * the dataset was measured with). With nothing held out (heldout_samples 0)
 * the report is the training error. Returns MOS_IO, MOS_FORMAT (dataset),
 * MOS_VERSION (report or options), MOS_INVALID_ARGUMENT (an option out of
 * range, an unknown kind, the cost model on a dataset without an operation
 * table). Thread-safe. @since 0.1 */
MOS_API mos_status mos_predictor_train(mos_predictor_report *report, const char *dataset_path, const char *out_path,
                                       const mos_predictor_train_options *options);

/* Load a predictor into *out (NULL on failure); *report (may be NULL; its
 * version set by the caller) receives its recorded error. Returns MOS_IO,
 * MOS_FORMAT, MOS_VERSION. Thread-safe. @since 0.1 */
MOS_API mos_status mos_predictor_load(mos_predictor **out, mos_predictor_report *report, const char *path);
/* Predicted latency (ms) of an arch of the predictor's space into *ms.
 * MOS_INVALID_ARGUMENT for an arch of another space. Thread-safe. @since 0.1 */
MOS_API mos_status mos_predictor_predict(double *ms, const mos_predictor *p, const mos_arch *arch);
/* Destroying NULL does nothing. @since 0.1 */
MOS_API void mos_predictor_destroy(mos_predictor *p);

/* 2: `mpi_comm` appended (@since 0.2). 3: `screen_sentences`,
 * `promote_fraction`, `fitness_precision`, `patience`, `min_delta`,
 * `seed_archs` and `parent_sigmas` appended (@since 0.2). Version 1 and 2
 * structs are still accepted and search as before: mpi_comm NULL (version 1),
 * no racing, f32 fitness, every iteration run, every budget from random
 * archs. */
#define MOS_SEARCH_OPTIONS_VERSION 3u

/* Precision of the search's fitness products (docs/search.md, "Racing and
 * precision"). Values are stable and only appended. @since 0.2 */
typedef enum mos_fitness_precision {
    MOS_FITNESS_F32 = 0,  /* f32 products */
    MOS_FITNESS_BF16 = 1, /* bf16 inputs, f32 accumulation; f32 where the CPU has no native bf16 */
    MOS_FITNESS_AUTO = 2  /* bf16 where the CPU has native bf16 products (avx512_bf16 or AMX), else f32 */
} mos_fitness_precision;

/* Options of mos_search. NULL options mean the defaults shown, which lack the
 * required languages. */
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
    int32_t threads;             /* threads of the search (fitness, measured latency), 0..1024;
                                    0 = all cores (0) */
    /* Version 2. */
    void *mpi_comm;              /* the ranks to search on: a pointer to an MPI_Comm (duplicated;
                                    every rank of it calls mos_search with the same arguments and
                                    gets the same result; the fitness evaluations are spread over
                                    the ranks), or NULL: MPI_COMM_WORLD when MPI is initialized,
                                    else this process alone (NULL). @since 0.2 */
    /* Version 3. */
    uint32_t screen_sentences;   /* racing: every new arch is first scored on the first
                                    screen_sentences pairs of the subset and only the promising
                                    ones on all valid_sentences; 0 = off, every arch fully scored
                                    (50). @since 0.2 */
    double promote_fraction;     /* racing: the fraction of each generation's screened archs, best
                                    screened loss first, that are fully scored, (0, 1] (0.25); archs
                                    whose calibrated estimate beats the generation's best are
                                    fully scored too. @since 0.2 */
    int32_t fitness_precision;   /* a mos_fitness_precision (MOS_FITNESS_AUTO); each budget's best
                                    arch is re-scored in f32, so reported fitness is f32. @since 0.2 */
    uint32_t patience;           /* stop a budget's evolution once `patience` iterations in a row
                                    improved its best fitness by less than min_delta; its result
                                    then says "converged" (and is complete); 0 = run every
                                    iteration (4). @since 0.2 */
    double min_delta;            /* the improvement in nats that resets the patience, >= 0
                                    (0.002). @since 0.2 */
    uint32_t seed_archs;         /* several budgets: each later budget's first population holds
                                    up to seed_archs of the best fully scored archs that meet it,
                                    then random ones; 0 = random archs only (25). @since 0.2 */
    double parent_sigmas;        /* racing: once `parents` members of a generation are fully
                                    scored, fully score only the archs whose calibrated estimate
                                    less parent_sigmas residual deviations of the calibration
                                    beats the fitness of the parents-th best; < 0 = off, the
                                    promote_fraction rule throughout (-1). @since 0.2 */
} mos_search_options;

#define MOS_SEARCH_OPTIONS_INIT                                                                  \
    {MOS_SEARCH_OPTIONS_VERSION, "valid", NULL, NULL, 500u, NULL, 0u, 0u, 0u, NULL, false, 125u, \
     25u, 50u, 50u, 30u, 0.3, 1u, 0, NULL, 50u, 0.25, MOS_FITNESS_AUTO, 4u, 0.002, 25u, -1.0}

/* Function twin of MOS_SEARCH_OPTIONS_INIT (version 3 since 0.2). Thread-safe. @since 0.1 */
MOS_API mos_status mos_search_options_init(mos_search_options *options);

typedef struct mos_search_result mos_search_result;

/* Evolutionary search (HAT) of `net`'s space for the best arch per budget,
 * into *out (NULL on failure); fitness = validation loss of the routed subnet
 * on the first valid_sentences pairs of data_dir's split (with racing, only
 * the promising archs are scored on all of them; the best arch of every
 * budget always is). Deterministic for a seed (given the same latencies and
 * precision). Runs with options->threads threads and
 * restores the caller's thread counts. `progress` (may be NULL) is called
 * after every iteration with done/total iterations over all budgets; when it
 * returns non-zero the search stops there and returns MOS_ABORTED with *out
 * holding the best archs found so far: the current budget's best, and each
 * later budget's best already evaluated arch that meets it, if any (so
 * mos_search_result_count may be smaller; its JSON says "stopped": true and
 * "complete": false per such budget). Returns MOS_OUT_OF_RANGE when no arch
 * meets a budget (naming the smallest achievable latency), MOS_IO /
 * MOS_FORMAT (data, predictor), MOS_VERSION, MOS_INVALID_ARGUMENT (*out NULL
 * for all of these), MOS_UNSUPPORTED (mpi_comm set in a library built without
 * MPI), MOS_BACKEND (an MPI call failed). Under MPI (options->mpi_comm, or
 * MPI_COMM_WORLD once MPI is initialized) every rank calls mos_search with the
 * same arguments; each evaluates its share of every generation's new archs and
 * all get the same result, equal to one process's for the same seed; an error
 * or a stop on one rank is returned on every rank. Thread-safe on a supernet
 * that is not being trained. @since 0.1 */
MOS_API mos_status mos_search(mos_search_result **out, const mos_supernet *net, const char *data_dir,
                              const mos_search_options *options, mos_progress_fn progress, void *user);

/* Number of budgets in the result (1 when none was given; fewer when the
 * search was stopped early, see mos_search). Returns 0 and sets
 * mos_last_error() if r is NULL; otherwise clears it. Thread-safe. @since 0.1 */
MOS_API size_t mos_search_result_count(const mos_search_result *r);
/* The best arch for budget i (a new handle; NULL on failure). Returns
 * MOS_OUT_OF_RANGE for i >= mos_search_result_count(r). Thread-safe. @since 0.1 */
MOS_API mos_status mos_search_result_arch(mos_arch **out, const mos_search_result *r, size_t i);
/* Fitness (validation loss) and latency (ms) of the best arch for budget i;
 * either output may be NULL. Returns MOS_OUT_OF_RANGE for a bad i.
 * Thread-safe. @since 0.1 */
MOS_API mos_status mos_search_result_scores(double *fitness, double *latency_ms, const mos_search_result *r,
                                            size_t i);
/* The whole result as JSON (budgets, best archs, Pareto front, statistics,
 * warnings; docs/search.md) into a caller buffer (rules as mos_space_to_json).
 * Thread-safe. @since 0.1 */
MOS_API mos_status mos_search_result_to_json(char *buf, size_t cap, size_t *needed, const mos_search_result *r);
/* An SVG plot of validation loss against latency with the Pareto front and the
 * budgets into a caller buffer (rules as mos_space_to_json). Thread-safe.
 * @since 0.1 */
MOS_API mos_status mos_search_result_to_svg(char *buf, size_t cap, size_t *needed, const mos_search_result *r);
/* Destroying NULL does nothing. @since 0.1 */
MOS_API void mos_search_result_destroy(mos_search_result *r);

#ifdef __cplusplus
}
#endif

#endif /* MOS_SEARCH_H */
