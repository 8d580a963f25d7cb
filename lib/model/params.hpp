// lib/model/params.hpp: the table of every supernet tensor (name, shape, offset)
// laid out in one arena, with gradients and Adam moments in parallel arenas of
// the same layout (llm.c style: one allocation, named pointers into it).
//
// Names and shapes are those of docs/supernet.md; checkpoints store each
// tensor under its name, and the PyTorch reference uses the same names.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

namespace mos {

enum class Routing : int { None = 0, Layer = 1, Neuron = 2 };

const char *routing_name(Routing r);
Routing parse_routing(const std::string &s);  // "none" | "layer" | "neuron"

// Super sizes of a search space, as the model needs them.
struct SuperDims {
    int64_t enc_embed = 0;   // De
    int64_t dec_embed = 0;   // Dd
    int64_t qkv = 0;         // Q (fixed)
    int64_t enc_ffn = 0;     // largest encoder FFN dim
    int64_t dec_ffn = 0;     // largest decoder FFN dim
    int64_t enc_layers = 0;  // Le
    int64_t dec_layers = 0;  // Ld
    int64_t max_heads = 0;
    int64_t max_cross_layers = 0;
    int64_t embed() const { return enc_embed > dec_embed ? enc_embed : dec_embed; }
    int64_t ffn() const { return enc_ffn > dec_ffn ? enc_ffn : dec_ffn; }
};

struct ParamInfo {
    std::string name;
    std::vector<int64_t> shape;
    size_t offset = 0;  // floats from the start of the arena
    size_t numel = 0;
};

// Where each tensor of the model sits in its arena, as an offset in floats from
// the arena's start, recorded once while the tensors are laid out (when a
// Supernet or a DenseModel is built) so that forward, backward, route and
// decoding never look a name up (llm.c keeps named pointers the same way).
// Offsets rather than pointers: the supernet's gradients and Adam moments share
// its parameters' layout, so one offset serves all of them. The offsets do not
// depend on the arch: a subnet takes leading slices of the same tensors. Names
// stay the interface of file I/O.
constexpr size_t kNoTensor = SIZE_MAX;  // a tensor this configuration does not have

struct AttentionTensors {
    size_t q_w = kNoTensor, q_b = kNoTensor, k_w = kNoTensor, k_b = kNoTensor;
    size_t v_w = kNoTensor, v_b = kNoTensor, out_w = kNoTensor, out_b = kNoTensor;
};
struct LayerNormTensors {
    size_t w = kNoTensor, b = kNoTensor;
};
// A router's two layers; all kNoTensor where the routing has no such router.
struct RouterTensors {
    size_t w1 = kNoTensor, b1 = kNoTensor, w2 = kNoTensor, b2 = kNoTensor;
};
// The FFN's two (MoS or dense) linears and their routers: `router` under
// layer-wise routing, `fc1_router` / `fc2_router` under neuron-wise routing.
struct FfnTensors {
    size_t fc1_w = kNoTensor, fc1_b = kNoTensor, fc2_w = kNoTensor, fc2_b = kNoTensor;
    RouterTensors router, fc1_router, fc2_router;
};
struct EncoderLayerTensors {
    AttentionTensors self_attn;
    LayerNormTensors self_attn_ln;
    FfnTensors ffn;
    LayerNormTensors ffn_ln;
};
struct DecoderLayerTensors {
    AttentionTensors self_attn;
    LayerNormTensors self_attn_ln;
    AttentionTensors cross_attn;
    LayerNormTensors cross_attn_ln;
    FfnTensors ffn;
    LayerNormTensors ffn_ln;
};
struct ModelTensors {
    size_t embed = kNoTensor;
    std::vector<EncoderLayerTensors> enc;
    std::vector<DecoderLayerTensors> dec;
};

// Lays out one tensor (name, shape) and returns its offset.
using AddTensor = std::function<size_t(const std::string &, std::vector<int64_t>)>;
// The tensors of one attention block (q, k, v, out projections with biases)
// and of one LayerNorm, by name and shape, shared by the supernet's table and
// the dense model: `add` lays out each, and their offsets come back.
AttentionTensors add_attention_tensors(const AddTensor &add, const std::string &prefix, int64_t qkv, int64_t d_q,
                                       int64_t d_kv);
LayerNormTensors add_layernorm_tensors(const AddTensor &add, const std::string &prefix, int64_t d);

// Lays out a whole model in the order of docs/supernet.md, for the supernet's
// table and the dense model alike: the embedding [vocab, embed_cols], then per
// encoder layer self_attn, self_attn_ln, the FFN, ffn_ln, and per decoder layer
// self_attn, self_attn_ln, cross_attn (queries of width dd, keys and values of
// width de), cross_attn_ln, the FFN, ffn_ln. `ffn` lays out one layer's FFN
// (experts and routers, or dense linears) at layer prefix `prefix`, width d.
using AddFfn = std::function<FfnTensors(const std::string &prefix, int64_t d, bool decoder, size_t layer)>;
ModelTensors add_model_tensors(const AddTensor &add, const AddFfn &ffn, int64_t vocab, int64_t embed_cols,
                               int64_t qkv, int64_t de, int64_t dd, size_t enc_layers, size_t dec_layers);

class ParamTable {
public:
    ParamTable() = default;
    ParamTable(const SuperDims &dims, int64_t vocab, Routing routing, int64_t experts,
               int64_t router_hidden);

    const std::vector<ParamInfo> &all() const { return params_; }
    // Every tensor's offset, per layer (recorded while laying them out).
    const ModelTensors &tensors() const { return tensors_; }
    // Throws MOS_INTERNAL for a name that is not in the table (a bug).
    const ParamInfo &at(const std::string &name) const;
    const ParamInfo *find(const std::string &name) const;
    size_t total_floats() const { return total_; }

private:
    size_t add(std::string name, std::vector<int64_t> shape);
    std::vector<ParamInfo> params_;
    ModelTensors tensors_;
    std::unordered_map<std::string, size_t> index_;
    size_t total_ = 0;
};

}  // namespace mos
