// lib/model/supernet.hpp: the Mixture-of-Supernets encoder-decoder (docs/supernet.md,
// §3; docs/supernet.md): super-size weights in one arena, forward and backward of
// any subnet of the space on a padded token batch, and the per-call workspace.
//
// A Supernet is used by one thread at a time while training. Forward passes for
// evaluation only read the weights, so several threads may run them at once on
// a frozen supernet, each with its own Workspace.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "backend/gemm.hpp"
#include "data/batch.hpp"
#include "model/arch.hpp"
#include "model/params.hpp"
#include "tensor/arena.hpp"

namespace mos {

// The sizes of one subnet, as the model consumes them (built from an Arch).
struct LayerDims {
    int64_t ffn = 0;
    int64_t self_heads = 0;
    int64_t cross_heads = 0;   // decoder only
    int64_t cross_layers = 0;  // decoder only: attend to the last k encoder layers
};

struct ArchDims {
    int64_t enc_embed = 0, dec_embed = 0;
    std::vector<LayerDims> enc, dec;
    std::array<float, kArchFeatures> encoding{};  // router input (docs/formats.md, "Encodings")
};

struct SupernetConfig {
    SuperDims dims;
    int64_t vocab = 0;
    Routing routing = Routing::Neuron;
    int64_t experts = 2;
    int64_t router_hidden = 128;
    float dropout = 0.3f;        // p_max, scaled by d_active / d_max (HAT)
    float attn_dropout = 0.1f;
    float label_smoothing = 0.1f;
    int32_t pad_id = 0;
    uint64_t seed = 1;
};

struct LossStats {
    double loss_sum = 0.0;  // label-smoothed, summed over non-pad target tokens
    double nll_sum = 0.0;
    int64_t tokens = 0;
    double distill_sum = 0.0;  // cross-entropy against the teacher (forward with a teacher only)
};

class Workspace;
class SharedWeights;

class Supernet {
public:
    explicit Supernet(const SupernetConfig &cfg);

    const SupernetConfig &config() const { return cfg_; }
    const ParamTable &table() const { return table_; }
    // Every tensor's offset in the parameter (and gradient) arena, recorded
    // once by the table; forward, backward and route use these.
    const ModelTensors &tensors() const { return table_.tensors(); }
    float *param_at(size_t offset) { return params_.base() + offset; }
    const float *param_at(size_t offset) const { return const_cast<Arena &>(params_).base() + offset; }

    // By name (file I/O, tests); the model's own passes use tensors().
    float *param(const std::string &name) { return params_.base() + table_.at(name).offset; }
    const float *param(const std::string &name) const {
        return const_cast<Arena &>(params_).base() + table_.at(name).offset;
    }
    float *param_data() { return params_.base(); }
    size_t param_floats() const { return table_.total_floats(); }

    // Gradients (same layout as the parameters), allocated on first use.
    float *grad_data();
    float *grad(const std::string &name) { return grad_data() + table_.at(name).offset; }
    float *grad_at(size_t offset) { return grad_data() + offset; }
    void zero_grad();

    // Initialise weights (fairseq-like: Xavier-uniform linears, N(0, D^-1/2)
    // embeddings, zero biases, unit LayerNorm gains) from cfg.seed.
    void init_weights();

    // Checks that `a` fits the super sizes (MOS_OUT_OF_RANGE naming the field).
    void check_arch(const ArchDims &a) const;

    // Forward pass of subnet `a` on `batch`, keeping what backward needs in ws.
    // train = true applies dropout with `dropout_seed`. Returns the loss stats.
    // With `teacher` ([B*T, V] probabilities, e.g. the largest subnet's from
    // teacher_probs), backward follows the distillation loss against it
    // instead of the label-smoothed loss (in-place distillation, docs/training.md).
    // With `shared` (prepared by prepare() for the same arch and precision),
    // the forward reads the routers' outputs, mixed FFN weights and bf16 weight
    // copies from it instead of making its own.
    LossStats forward(Workspace &ws, const ArchDims &a, const Batch &batch, bool train,
                      uint64_t dropout_seed, const float *teacher = nullptr,
                      const SharedWeights *shared = nullptr) const;
    // The softmax of the last forward's logits into probs [B*T, V] (pad rows 0).
    void teacher_probs(const Workspace &ws, float *probs) const;
    // Logits [B*T, V] of the last forward (valid until the next call on ws).
    const float *logits(const Workspace &ws) const;

    // Backward of the last forward on ws: accumulates d(loss_sum * scale) into
    // the gradients (scale = 1/tokens gives the mean loss), or into `grads`
    // (param_floats() floats, the gradients' layout) when given. forward and a
    // backward into `grads` only read the net, so several threads may run them
    // at once, each on its own workspace and gradient (train_step's teams).
    // After a forward with shared weights, `mixed` (the caller's own, zeroed by
    // the caller, at least SharedWeights::mixed_used() floats of the prepared
    // subnet) is required: the backward stops at the mixed FFN weights, adds
    // their gradient to it, and leaves the experts and routers to mix_backward.
    void backward(Workspace &ws, float scale, float *grads = nullptr, float *mixed = nullptr);

    // The weights every forward of subnet `a` with products in `mm` uses,
    // computed once into `sw` (parallel over the threads of the caller).
    void prepare(SharedWeights &sw, const ArchDims &a, GemmType mm) const;
    // Sums the `count` buffers of mixed-weight gradients (backwards with
    // `mixed`, after forwards that shared `sw`; the sum is left in mixed[0])
    // and takes it through the mixes and routers into the expert and router
    // gradients (of the net, or `grads`).
    void mix_backward(const SharedWeights &sw, float *const *mixed, int count, float *grads = nullptr);
    // [begin, end) float ranges of every FFN expert, bias and router tensor in
    // the parameter layout: what mix_backward writes and a backward with
    // `mixed` leaves alone.
    std::vector<std::pair<size_t, size_t>> routed_ranges() const;

private:
    SupernetConfig cfg_;
    ParamTable table_;
    Arena params_;
    Arena grads_;
};

// The weights of one subnet as its forwards use them: the routers' outputs,
// the mixed FFN matrices and, with bf16 products, the bf16 copies of every
// product's weight operand. A data-parallel update (train_step_teams) prepares
// them once per subnet (Supernet::prepare) and its teams share them read-only,
// instead of every team mixing and converting the same weights; each team's
// backward then adds the gradient of the mixed weights to its own buffer,
// and Supernet::mix_backward takes the teams' sum through the mixes and routers
// once (docs/training.md, "Threads: products or shards"). Sized once for the
// largest subnet.
class SharedWeights {
public:
    explicit SharedWeights(const Supernet &net);
    ~SharedWeights();
    SharedWeights(const SharedWeights &) = delete;
    SharedWeights &operator=(const SharedWeights &) = delete;

    // Floats of one team's buffer of mixed-weight gradients (Supernet::backward),
    // enough for any subnet.
    size_t mixed_floats() const;
    // Floats of that buffer the prepared subnet uses (its first mixed_used(); 0
    // before prepare).
    size_t mixed_used() const;

    struct State;  // supernet.cpp
    State &state() { return *state_; }
    const State &state() const { return *state_; }

private:
    std::unique_ptr<State> state_;
};

// Activation memory of one forward/backward, sized once for the largest subnet
// and the largest batch (B*S source and B*T target tokens, S and T each at most
// max_len). A batch beyond it gives MOS_OUT_OF_RANGE.
class Workspace {
public:
    Workspace(const Supernet &net, int64_t max_src_tokens, int64_t max_tgt_tokens, int64_t max_len);
    ~Workspace();
    Workspace(const Workspace &) = delete;
    Workspace &operator=(const Workspace &) = delete;

    int64_t max_src_tokens() const { return max_src_; }
    int64_t max_tgt_tokens() const { return max_tgt_; }
    int64_t max_len() const { return max_len_; }

    // Precision of the matrix products of the forwards and backwards run in
    // this workspace: F32 (the default) or BF16, mixed precision (bf16 inputs,
    // f32 accumulation and outputs; weights, gradients, the loss and every
    // other kernel stay f32; docs/training.md). BF16 runs in f32 where the CPU
    // has no native bf16 products (bf16_active in backend/gemm.hpp). A backward
    // uses the precision its forward ran with.
    void set_matmul_type(GemmType t) { matmul_ = t; }
    GemmType matmul_type() const { return matmul_; }

    struct State;  // saved activations of the last forward (supernet.cpp)
    State &state() { return *state_; }
    const State &state() const { return *state_; }
    Arena &arena() { return arena_; }

private:
    int64_t max_src_, max_tgt_, max_len_;
    GemmType matmul_ = GemmType::F32;
    Arena arena_;
    std::unique_ptr<State> state_;
};

}  // namespace mos

// Bridges from the search-space representation (lib/model/space.hpp, arch.hpp).
namespace mos {
struct Space;
struct Arch;
SuperDims super_dims(const Space &space);
// Validates `arch` against `space` and returns its sizes and router encoding.
ArchDims arch_dims(const Space &space, const Arch &arch);
}  // namespace mos
