/* mos/train.h: training a supernet on a parallel corpus, and evaluating a subnet
 * of a supernet or a routed model.
 *
 * mos_train trains (or resumes) a supernet on a corpus directory holding
 * train.SRC / train.TGT and valid.SRC / valid.TGT (plain or .gz, one sentence
 * per line; docs/data.md). A new supernet first gets a joint SentencePiece
 * tokenizer trained on the training text. Every update samples subnets
 * (uniform or sandwich), averages their gradients and steps Adam; the largest
 * and smallest subnets are validated periodically, and the last and best
 * checkpoints are written atomically. Under MPI (a libmos built with the mpi
 * feature, in a program that initialized MPI) every rank calls mos_train with
 * the same options and the run is data-parallel (docs/training.md); this
 * header never needs mpi.h.
 *
 *     mos_train_options o = MOS_TRAIN_OPTIONS_INIT;
 *     o.data_dir = "data/bible-en-es"; o.src_lang = "en"; o.tgt_lang = "es";
 *     o.out_path = "run/supernet.safetensors"; o.max_steps = 2000;
 *     mos_supernet *net = NULL;
 *     mos_status s = mos_train(&net, space, NULL, &o, on_progress, user);
 *
 * Pure C (C99 and C++); part of the stable API.
 */
#ifndef MOS_TRAIN_H
#define MOS_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "mos/arch.h"
#include "mos/base.h"
#include "mos/space.h"
#include "mos/supernet.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum mos_sampling {
    MOS_SAMPLING_UNIFORM = 0,  /* one random subnet per update (HAT) */
    MOS_SAMPLING_SANDWICH = 1  /* largest + smallest + one random subnet (MoS) */
} mos_sampling;

typedef enum mos_schedule {
    MOS_SCHEDULE_INVERSE_SQRT = 0, /* linear warm-up, then lr * sqrt(warmup / step) */
    MOS_SCHEDULE_COSINE = 1        /* linear warm-up, then cosine to min_lr at max_steps */
} mos_schedule;

/* Precision of training's matrix products (docs/training.md). @since 0.2 */
typedef enum mos_precision {
    MOS_PRECISION_F32 = 0,  /* f32 products */
    MOS_PRECISION_BF16 = 1, /* mixed precision: bf16 products with f32 accumulation; f32 master
                               weights, gradients, Adam moments, loss and checkpoints. Products
                               run in f32 where the CPU has no native bf16 (said at SETUP) */
    MOS_PRECISION_AUTO = 2  /* bf16 where the CPU has native bf16 products (avx512_bf16, AMX),
                               else f32 */
} mos_precision;

/* 2: `precision` and `mpi_comm` appended (@since 0.2). Version 1 structs are
 * still accepted (precision f32, mpi_comm NULL). */
#define MOS_TRAIN_OPTIONS_VERSION 2u

typedef struct mos_train_options {
    uint32_t version;          /* MOS_TRAIN_OPTIONS_VERSION */
    const char *data_dir;      /* corpus directory (required) */
    const char *src_lang;      /* e.g. "en" (required) */
    const char *tgt_lang;      /* e.g. "es" (required) */
    const char *out_path;      /* last checkpoint; the best goes to "<out>.best" (required) */
    const char *resume_path;   /* continue exactly from this checkpoint, or NULL */
    uint32_t vocab_size;       /* tokenizer size for a new supernet (8000) */
    uint32_t max_tokens;       /* tokens per batch, each side (4096) */
    uint32_t max_len;          /* longer sentence pairs are skipped (128) */
    int64_t max_steps;         /* stop after this many updates; 0 = no limit (0) */
    double max_seconds;        /* stop after this much training time; 0 = no limit (0) */
    mos_sampling sampling;     /* MOS_SAMPLING_SANDWICH */
    mos_schedule schedule;     /* MOS_SCHEDULE_INVERSE_SQRT */
    float lr;                  /* peak learning rate (5e-4) */
    float min_lr;              /* cosine end (1e-6) */
    uint32_t warmup;           /* warm-up updates (4000) */
    float clip_norm;           /* gradient clipping, 0 = off (0) */
    uint32_t valid_every;      /* validate + checkpoint every N updates (500) */
    uint32_t valid_sentences;  /* validation pairs used, 0 = all (500) */
    uint64_t seed;             /* data order, subnet sampling, dropout (1) */
    int32_t threads;           /* threads of this call, 0..1024; 0 = all cores (0) */
    bool distill;              /* in-place distillation: with sandwich sampling the smaller
                                  subnets learn from the largest's outputs (false) */
    /* Version 2. */
    mos_precision precision;   /* products in f32, bf16 or auto; a resumed run keeps its
                                  checkpoint's (MOS_PRECISION_F32) @since 0.2 */
    void *mpi_comm;            /* the ranks to train on: a pointer to an MPI_Comm (duplicated;
                                  every rank of it calls mos_train with the same options), or
                                  NULL: MPI_COMM_WORLD when MPI is initialized, else this process
                                  alone (NULL). @since 0.2 */
} mos_train_options;

#define MOS_TRAIN_OPTIONS_INIT                                                                         \
    {MOS_TRAIN_OPTIONS_VERSION, NULL, NULL, NULL, NULL, NULL, 8000u, 4096u, 128u, 0, 0.0,            \
     MOS_SAMPLING_SANDWICH, MOS_SCHEDULE_INVERSE_SQRT, 5e-4f, 1e-6f, 4000u, 0.0f, 500u, 500u, 1u, 0, false, \
     MOS_PRECISION_F32, NULL}

/* Function twin of MOS_TRAIN_OPTIONS_INIT (version 2 since 0.2). Thread-safe. @since 0.1 */
MOS_API mos_status mos_train_options_init(mos_train_options *options);

/* What a progress report is about. */
typedef enum mos_train_event {
    MOS_TRAIN_EVENT_SETUP = 0,      /* data read / tokenizer trained; step = 0 */
    MOS_TRAIN_EVENT_STEP = 1,       /* an update finished */
    MOS_TRAIN_EVENT_VALID = 2,      /* validation finished (valid_* fields set) */
    MOS_TRAIN_EVENT_CHECKPOINT = 3  /* a checkpoint was written */
} mos_train_event;

typedef struct mos_train_progress {
    mos_train_event event;
    int64_t step;              /* updates done */
    int64_t max_steps;         /* 0 if unlimited */
    double loss;               /* label-smoothed loss per token of the last update */
    double nll;                /* negative log-likelihood per token of the last update */
    double lr;                 /* learning rate of the last update */
    double tokens_per_second;  /* target tokens per second, recent average */
    double elapsed_seconds;    /* training time, including before a resume */
    double eta_seconds;        /* estimate to max_steps / max_seconds, -1 if unknown */
    double valid_loss_largest; /* validation loss per token (nats), VALID events */
    double valid_loss_smallest;
    const char *message;       /* a line for humans (what happened), never NULL */
} mos_train_progress;

/* Return non-zero to stop: the trainer writes the last checkpoint and mos_train
 * returns MOS_ABORTED. Called on the thread that called mos_train. */
typedef int (*mos_train_progress_fn)(const mos_train_progress *progress, void *user);

/* Train a supernet. Without resume_path, a new supernet is created for `space`
 * with `net_options` (NULL = defaults; vocab_size 0 there means "from the
 * trained tokenizer"). With resume_path, space and net_options must be NULL and
 * training continues exactly where the checkpoint left off: the checkpoint's
 * seed, batching, sampling, schedule and clipping are kept (the same thread
 * count and GEMM backend choices give the same weights as an uninterrupted run:
 * pin MOS_BACKEND for that across processes, docs/benchmarks.md); limits, out_path and
 * validation settings come from `options`. Runs with options->threads
 * threads and restores the caller's thread counts (docs/threading.md). On
 * MOS_OK or MOS_ABORTED *out receives the trained supernet (the state of the
 * last checkpoint); on other errors *out is NULL.
 * Options of version 1 (without mpi_comm) are still accepted.
 * Data-parallel over MPI (options->mpi_comm, or MPI_COMM_WORLD once MPI is
 * initialized): every rank reads the corpus, the batches are formed over the
 * whole corpus and each rank computes its share of every batch; gradients are
 * summed over ranks, so the run gives the weights of one process (to float
 * rounding). Rank 0 reads the resume checkpoint, calls `progress` and writes
 * the checkpoints; the other ranks get no callback. Every rank returns the
 * same status; a rank that fails (say, a corpus file it cannot read) makes
 * every rank return its status, with a message naming the rank and the file.
 * Returns MOS_IO / MOS_FORMAT (data or checkpoint), MOS_INVALID_ARGUMENT,
 * MOS_ABORTED, MOS_VERSION, MOS_UNSUPPORTED (mpi_comm set in a library built
 * without MPI), MOS_BACKEND (an MPI call failed). The progress callback runs on
 * the calling thread. @since 0.1 */
MOS_API mos_status mos_train(mos_supernet **out, const mos_space *space, const mos_supernet_options *net_options,
                             const mos_train_options *options, mos_train_progress_fn progress, void *user);

#define MOS_EVAL_OPTIONS_VERSION 1u

/* Options of mos_evaluate and mos_model_evaluate. NULL options mean the
 * defaults shown, which lack the required languages. */
typedef struct mos_eval_options {
    uint32_t version;         /* MOS_EVAL_OPTIONS_VERSION */
    const char *split;        /* split file prefix ("valid"); "test", "train", ... */
    const char *src_lang;     /* required */
    const char *tgt_lang;     /* required */
    uint32_t max_sentences;   /* use at most this many pairs of the split; 0 = all (0) */
    uint32_t bleu_beam;       /* beam of the BLEU translations, 1..64; 0 = no BLEU (0) */
    int32_t threads;          /* threads of this call, 0..1024; 0 = all cores (0) */
} mos_eval_options;

#define MOS_EVAL_OPTIONS_INIT {MOS_EVAL_OPTIONS_VERSION, "valid", NULL, NULL, 0u, 0u, 0}

/* Function twin of MOS_EVAL_OPTIONS_INIT. Thread-safe. @since 0.1 */
MOS_API mos_status mos_eval_options_init(mos_eval_options *options);

/* Version of mos_eval_result that this header declares. */
#define MOS_EVAL_RESULT_VERSION 1u

/* The result of an evaluation. The caller sets `version` (MOS_EVAL_RESULT_INIT
 * or mos_eval_result_init()); the library fills the fields that version
 * declares. Fields are only ever appended. */
typedef struct mos_eval_result {
    uint32_t version;   /* MOS_EVAL_RESULT_VERSION */
    double loss;        /* label-smoothed loss per target token */
    double nll;         /* negative log-likelihood per target token */
    double bleu;        /* corpus BLEU (sacreBLEU defaults), -1 if not computed */
    uint64_t sentences;
    uint64_t tokens;
} mos_eval_result;

#define MOS_EVAL_RESULT_INIT {MOS_EVAL_RESULT_VERSION, 0.0, 0.0, 0.0, 0u, 0u}

/* Function twin of MOS_EVAL_RESULT_INIT: zeroes *result (padding included)
 * and sets its version. Thread-safe. @since 0.1 */
MOS_API mos_status mos_eval_result_init(mos_eval_result *result);

/* Loss of subnet `arch` of `net` on split options->split ("valid", "test",
 * ...) of data_dir (at most options->max_sentences pairs, each side at most
 * 256 tokens), plus BLEU of its beam-search translations when
 * options->bleu_beam > 0, into *out (its version set by the caller). Runs with
 * options->threads threads and restores the caller's thread counts. Returns
 * MOS_IO / MOS_FORMAT (data), MOS_UNSUPPORTED (no tokenizer), MOS_VERSION,
 * MOS_INVALID_ARGUMENT. On failure *out keeps its version and is otherwise
 * zeroed. Thread-safe on a supernet not being trained. @since 0.1 */
MOS_API mos_status mos_evaluate(mos_eval_result *out, const mos_supernet *net, const mos_arch *arch,
                                const char *data_dir, const mos_eval_options *options);

/* The same for a routed model: the loss of its teacher-forced forward pass
 * with the label smoothing of the supernet it was routed from (equal to
 * mos_evaluate of that supernet and arch to float tolerance), and the BLEU of
 * its beam-search translations. Needs the model's tokenizer (MOS_UNSUPPORTED
 * otherwise). Thread-safe: the model is only read. @since 0.1 */
MOS_API mos_status mos_model_evaluate(mos_eval_result *out, const mos_model *model, const char *data_dir,
                                      const mos_eval_options *options);

#ifdef __cplusplus
}
#endif

#endif /* MOS_TRAIN_H */
