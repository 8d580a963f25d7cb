// lib/model/dense.hpp: a specialised ("routed") subnet: a standalone dense
// encoder-decoder at exactly one architecture's sizes, with no experts and no
// routers (docs/supernet.md, "Routing into a dense model"), and its inference
// forward with a key/value cache.
//
// route() computes every mixed and sliced weight of an arch from a supernet:
// for a fixed arch the router outputs are constants, so each MoS linear
// collapses into one dense matrix (Jawahar et al. 2024, §3) and serving costs
// exactly what a plain Transformer of that size costs.
//
// A DenseModel is immutable after route()/load: many threads may decode with it
// at once, each with its own DecodeState.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "model/supernet.hpp"
#include "tensor/arena.hpp"

namespace mos {

class DenseModel {
public:
    struct Tensor {
        std::vector<int64_t> shape;
        size_t offset = 0;
        size_t numel = 0;
    };

    // A model of `arch` whose tensors the caller fills: zeroed, or with
    // `zero` false left uninitialised for a caller that writes every tensor
    // (route() does: skipping the zeroing saves a pass over the whole model).
    DenseModel(const ArchDims &arch, int64_t vocab, int64_t qkv, int32_t pad_id, bool zero = true);

    const ArchDims &arch() const { return arch_; }
    int64_t vocab() const { return vocab_; }
    int64_t qkv() const { return qkv_; }
    int32_t pad_id() const { return pad_id_; }
    int64_t embed_cols() const { return arch_.enc_embed > arch_.dec_embed ? arch_.enc_embed : arch_.dec_embed; }

    // Every tensor's offset in the weight arena, recorded once at construction
    // (model/params.hpp, no routers); route() and decoding use these.
    const ModelTensors &tensors() const { return offsets_; }
    float *data_at(size_t offset) { return weights_.base() + offset; }
    const float *data_at(size_t offset) const { return const_cast<Arena &>(weights_).base() + offset; }

    // By name (file I/O): tensor names in a fixed order (docs/supernet.md,
    // without experts/routers).
    const std::vector<std::string> &names() const { return names_; }
    const Tensor &tensor(const std::string &name) const;
    float *data(const std::string &name) { return weights_.base() + tensor(name).offset; }
    const float *data(const std::string &name) const {
        return const_cast<Arena &>(weights_).base() + tensor(name).offset;
    }
    // Number of weights (the routed model's parameter count).
    size_t num_weights() const;

private:
    size_t add(const std::string &name, std::vector<int64_t> shape);
    ArchDims arch_;
    int64_t vocab_, qkv_;
    int32_t pad_id_;
    std::vector<std::string> names_;
    std::unordered_map<std::string, Tensor> tensors_;
    ModelTensors offsets_;
    size_t total_ = 0;
    Arena weights_;
};

// Collapse subnet `arch` of `net` into a dense model. Reads the supernet only
// (thread-safe on a frozen supernet).
DenseModel route(const Supernet &net, const ArchDims &arch);

// Decoding state of up to `rows` hypotheses of source sentences: encoder
// outputs, cross-attention keys/values per decoder layer, the self-attention
// key/value cache and scratch. Sized once; no allocation per step.
class DecodeState {
public:
    DecodeState(const DenseModel &model, int64_t rows, int64_t max_src, int64_t max_steps);
    ~DecodeState();
    DecodeState(const DecodeState &) = delete;
    DecodeState &operator=(const DecodeState &) = delete;

    int64_t rows() const { return rows_; }
    int64_t max_src() const { return max_src_; }
    int64_t max_steps() const { return max_steps_; }

    struct Impl;
    Impl &impl() { return *impl_; }

private:
    int64_t rows_, max_src_, max_steps_;
    Impl *impl_;
};

// Encode `B` source sentences [B, S] (padded with pad_id) into the state; the
// decoder rows are then B (one hypothesis per sentence). Resets the cache.
void dense_encode(DecodeState &st, const DenseModel &m, const int32_t *src, int64_t B, int64_t S);

// Re-map decoder rows after encode: row r continues source sentence src_of[r]
// (beam search gives each sentence `beam` rows). Only before the first step.
void dense_expand_rows(DecodeState &st, const DenseModel &m, const int64_t *src_of, int64_t rows);

// One decoder step: feed token[r] at the next position of every row, return the
// logits [rows, V] (borrowed from the state, valid until the next call).
const float *dense_step(DecodeState &st, const DenseModel &m, const int32_t *tokens);

// Keep cache rows: new row r takes the history of old row from[r] (beam reorder).
void dense_reorder(DecodeState &st, const DenseModel &m, const int64_t *from, int64_t rows);

// The attention of one decoder row at a step: query q [Q] over n cached
// keys/values K, V [n, Q] (mask [n] 1 = skip, or NULL), `heads` heads, into
// o [Q]; scores [n] is scratch. A row whose every key is masked gets o = 0.
// (The latency cost model times it on its own, search/latency_model.hpp.)
void attend_one(float *o, const float *q, const float *K, const float *V, const uint8_t *mask, int64_t n, int64_t Q,
                int64_t heads, float *scores);

// Teacher-forced logits [B*T, V] for a batch, step by step through the cache
// (used to check route() against the supernet).
std::vector<float> dense_teacher_forced_logits(const DenseModel &m, const Batch &b);

// The teacher-forced loss of a batch: the label-smoothed cross-entropy (eps =
// label_smoothing) and the NLL of every non-pad target, summed, computed step
// by step through the cache like dense_teacher_forced_logits but keeping only
// one step's logits [B, V] at a time. Equals the supernet's forward loss of the
// routed arch to float tolerance (docs/supernet.md, "Loss"). distill_sum is 0.
LossStats dense_teacher_forced_loss(const DenseModel &m, const Batch &b, float label_smoothing);

}  // namespace mos
