// lib/eval/forward.hpp: the inference-only forward of a routed subnet over a
// teacher-forced batch, for its validation loss (the search's fitness,
// docs/search.md, "Fitness").
//
// It computes what Supernet::forward(train = false) computes for the same arch
// (the label-smoothed loss and the NLL summed over target tokens) on the dense
// model route() makes of it, without keeping anything for a backward pass:
//   * the FFN mixes are computed once per subnet (by route()), not once per
//     batch, and every weight is read contiguously;
//   * activations live in one set of buffers reused layer after layer; the
//     encoder keeps only its layers' outputs (cross-attention reads them);
//   * the tied output projection and the loss run over blocks of target rows,
//     so the [tokens, V] logits never exist whole (130 MB for a 4,096-token
//     batch over 8,000 pieces);
//   * with EvalPrecision::BF16 every linear layer and the output projection
//     take bf16 inputs with f32 accumulation where the CPU has avx512_bf16
//     (backend/gemm.hpp), else they run in f32.
// In f32 it equals the supernet's forward up to summation order
// (tests/eval/test_eval_forward.cpp).
//
// A DenseModel is read only: several threads may evaluate one model, each
// with its own EvalWorkspace.
#pragma once

#include <cstdint>
#include <vector>

#include "data/batch.hpp"
#include "model/dense.hpp"
#include "model/supernet.hpp"

namespace mos {

enum class EvalPrecision : int {
    F32 = 0,
    BF16 = 1,  // bf16 inputs, f32 accumulation; f32 where the CPU lacks avx512_bf16
};

// "f32" | "bf16".
const char *eval_precision_name(EvalPrecision p);
// The precision products really run in here: BF16 only where bf16 GEMMs are
// native on this CPU (backend/gemm.hpp, bf16_active).
EvalPrecision effective_precision(EvalPrecision p);

// Activation buffers of eval_forward, grown to the largest batch seen and
// reused; one thread at a time.
class EvalWorkspace {
public:
    EvalWorkspace() = default;
    EvalWorkspace(const EvalWorkspace &) = delete;
    EvalWorkspace &operator=(const EvalWorkspace &) = delete;

    // Bytes held now (for reports and tests).
    size_t bytes() const;

    struct Buffers;  // forward.cpp
    Buffers &buffers();

    ~EvalWorkspace();

private:
    Buffers *b_ = nullptr;
};

// Target rows per block of the output projection and loss: about 4 M logits
// (16 MB) per block, at least 64 rows.
int64_t eval_output_rows(int64_t vocab);

// Loss sums of the dense model `m` on the teacher-forced batch `b` (tokens =
// its non-pad targets), with label smoothing `eps` (the supernet's). Batch
// tokens outside the vocabulary are MOS_OUT_OF_RANGE naming them.
LossStats eval_forward(const DenseModel &m, EvalWorkspace &ws, const Batch &b, float eps, EvalPrecision p);

}  // namespace mos
