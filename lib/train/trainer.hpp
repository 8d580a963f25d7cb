// lib/train/trainer.hpp: the training loop of DESIGN.md §4 around train_step:
// corpus reading and tokenizer training, token-count batches, the learning-rate
// schedule, periodic validation of the largest and smallest subnets, last and
// best checkpoints, time/step limits, progress reports that may abort, and an
// exact resume (the checkpoint holds weights, Adam moments, step, sampling RNG
// and data position).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "model/checkpoint.hpp"
#include "train/optim.hpp"
#include "train/step.hpp"

namespace mos {

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
};

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

// Trains `b` in place. `b` is a new supernet (its tokenizer is trained first if
// it has none and its vocabulary then comes from it: pass a bundle from
// make_trainable) or a loaded checkpoint carrying "train_state" (resume).
// Resuming keeps the checkpoint's data, sampling, schedule and clipping options
// (whatever cfg says), so the run continues exactly; cfg's limits, paths and
// validation settings apply. Returns false if the callback stopped training.
bool train(SupernetBundle &b, const TrainConfig &cfg, const TrainCallback &cb);

// A new bundle for training: the tokenizer is trained on cfg's corpus, the
// vocabulary taken from it (net.vocab is ignored), weights initialised.
SupernetBundle make_trainable(const Space &space, SupernetConfig net, const TrainConfig &cfg,
                              const TrainCallback &cb);

}  // namespace mos
