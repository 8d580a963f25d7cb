// lib/eval/loss.hpp: the validation loss of a subnet over fixed,
// length-ordered batches, summed over target tokens: through the supernet's
// forward pass without dropout (the trainer's validation, docs/training.md,
// and mos_evaluate), or through the inference-only forward of the routed
// model (eval/forward.hpp; the search's fitness, docs/search.md), or
// teacher-forced through the routed model's decoding cache (mos_model_evaluate).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "data/batcher.hpp"
#include "eval/forward.hpp"
#include "model/dense.hpp"
#include "model/supernet.hpp"

namespace mos {

// Evaluation sets (mos_evaluate, the search's fitness subset): batches of at
// most this many padded tokens per side...
constexpr int64_t kEvalBatchTokens = 4096;
// ...of pairs of at most this many tokens per side (eos included); longer
// pairs are left out.
constexpr int64_t kEvalMaxLen = 256;
// Sentences beam-searched together when evaluation translates a split (BLEU).
constexpr size_t kEvalTranslateGroup = 32;

// Per target token: the label-smoothed loss and the negative log-likelihood
// (nats), over `tokens` target tokens; both 0 when there are none.
struct MeanLoss {
    double loss = 0.0, nll = 0.0;
    int64_t tokens = 0;
};

// Subnet `dims` of `net` on every batch, in order, in workspace `ws` (which
// must hold the largest batch). Reads the supernet only.
MeanLoss mean_loss(const Supernet &net, Workspace &ws, const ArchDims &dims, const std::vector<TokenBatch> &batches);

// The routed model `model` on every batch, in order, with label smoothing eps
// (dense_teacher_forced_loss). For a model routed from `net` this equals the
// supernet's mean_loss of the same arch to float tolerance. Reads the model only.
MeanLoss mean_loss(const DenseModel &model, float label_smoothing, const std::vector<TokenBatch> &batches);

// The routed model `m` on every batch, in order, with the inference-only
// forward (label smoothing eps, products in precision p).
MeanLoss mean_loss(const DenseModel &m, EvalWorkspace &ws, const std::vector<TokenBatch> &batches, float eps,
                   EvalPrecision p);

}  // namespace mos
