// lib/train/trainer.hpp: the training loop (docs/training.md) around train_step:
// corpus reading and tokenizer training, token-count batches, the learning-rate
// schedule, periodic validation of the largest and smallest subnets, last and
// best checkpoints, time/step limits, progress reports that may abort, and an
// exact resume (the checkpoint holds weights, Adam moments, step, sampling RNG
// and data position). Under MPI the same loop runs data-parallel on every rank
// (docs/training.md, "Training on many machines").
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "backend/gemm.hpp"
#include "data/tokenizer.hpp"
#include "model/bundle.hpp"
#include "train/optim.hpp"
#include "train/step.hpp"

namespace mos {

// Precision of the matrix products (mos_precision): Auto = BF16 where the CPU
// has native bf16 products, else F32 (resolve_train_precision).
enum class TrainPrecision : int { F32 = 0, BF16 = 1, Auto = 2 };

struct TrainConfig {
    std::string data_dir, src_lang, tgt_lang;
    std::string out_path;        // last checkpoint; best = out_path + ".best"
    int64_t vocab_size = 8000;   // new supernets: tokenizer size
    int64_t max_tokens = 4096;
    int64_t max_len = 128;
    int64_t max_steps = 0;
    double max_seconds = 0.0;
    Sampling sampling = Sampling::Sandwich;
    bool distill = false;        // sandwich only: smaller subnets learn from the largest's outputs
    ScheduleConfig schedule;
    AdamConfig adam;
    int64_t valid_every = 500;
    int64_t valid_sentences = 500;
    uint64_t seed = 1;
    TrainPrecision precision = TrainPrecision::F32;  // a resumed run keeps its checkpoint's
    // The ranks to train on: a pointer to the caller's MPI_Comm, or NULL for
    // MPI_COMM_WORLD when MPI is initialized and one process otherwise
    // (dist::Comm::attach). Every rank runs the same call with the same
    // options; each reads the corpus, samples the same subnets, computes its
    // shard of every batch, and the gradients are summed; only rank 0 calls
    // the callback and writes checkpoints.
    const void *mpi_comm = nullptr;
};

// The products' type for a precision: BF16 for BF16, and for Auto where bf16
// products run natively here; `why` (if not NULL) gets a phrase for the log.
GemmType resolve_train_precision(TrainPrecision p, std::string *why);

enum class TrainEvent : int { Setup = 0, Step = 1, Valid = 2, Checkpoint = 3 };

struct TrainProgress {
    TrainEvent event = TrainEvent::Step;
    int64_t step = 0, max_steps = 0;
    double loss = 0, nll = 0, lr = 0, tokens_per_second = 0;
    double elapsed = 0, eta = -1;
    double valid_largest = 0, valid_smallest = 0;
    std::string message;
};

// Returns true to continue, false to stop (a checkpoint is written first).
using TrainCallback = std::function<bool(const TrainProgress &)>;

// Validation loss per token of `arch` on (at most max_sentences of) a split;
// BLEU (or -1) of its translations when bleu_beam > 0.
struct EvalResult {
    double loss = 0, nll = 0, bleu = -1;
    int64_t sentences = 0, tokens = 0;
};
EvalResult evaluate_split(const SupernetBundle &b, const Arch &arch, const std::string &data_dir,
                          const std::string &split, const std::string &src_lang, const std::string &tgt_lang,
                          int64_t max_sentences, int bleu_beam);
// The same for a routed model and its tokenizer `tok`: the loss of its
// teacher-forced forward (mean_loss of a DenseModel, with the model's label
// smoothing) over the same batches, so that for a model routed from `b` it
// equals evaluate_split(b, arch, ...) to float tolerance, and the same BLEU.
EvalResult evaluate_model_split(const ModelBundle &m, const Tokenizer &tok, const std::string &data_dir,
                                const std::string &split, const std::string &src_lang, const std::string &tgt_lang,
                                int64_t max_sentences, int bleu_beam);

// Throws MOS_INVALID_ARGUMENT naming the first bad option of cfg. Every entry
// below calls it before any work, so a bad option fails before the corpus is
// read or a tokenizer trained.
void check_train_config(const TrainConfig &cfg);

// Trains `b` in place. `b` is a new supernet (its tokenizer is trained first if
// it has none and its vocabulary then comes from it: pass a bundle from
// make_trainable) or a loaded checkpoint carrying "train_state" (resume).
// Resuming keeps the checkpoint's data, sampling, schedule and clipping options
// (whatever cfg says), so the run continues exactly; cfg's limits, paths and
// validation settings apply. Returns false if the callback stopped training.
bool train(SupernetBundle &b, const TrainConfig &cfg, const TrainCallback &cb);

// A new bundle for training: the tokenizer (cfg.vocab_size pieces) is trained
// on cfg's corpus, the vocabulary taken from it (net.vocab is ignored), weights
// initialised.
SupernetBundle make_trainable(const Space &space, SupernetConfig net, const TrainConfig &cfg,
                              const TrainCallback &cb);

// A whole run, the one entry of mos_train. With `resume_path`, the checkpoint
// there (it must carry "train_state", MOS_FORMAT otherwise) continues exactly
// and fresh_space / fresh_cfg must be NULL. Otherwise a new supernet for
// *fresh_space with *fresh_cfg (NULL = defaults; its vocab, when not 0, is the
// tokenizer's size instead of cfg.vocab_size) starts from make_trainable.
// Every option is checked first (check_train_config). `stopped` is true when
// the callback asked to stop; the bundle is then that of the checkpoint the
// trainer wrote.
struct TrainRun {
    SupernetBundle bundle;
    bool stopped = false;
};
TrainRun run_training(const TrainConfig &cfg, const Space *fresh_space, const SupernetConfig *fresh_cfg,
                      const std::string &resume_path, const TrainCallback &cb);

}  // namespace mos
