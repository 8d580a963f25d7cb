// lib/model/params.hpp: the table of every supernet tensor (name, shape, offset)
// laid out in one arena, with gradients and Adam moments in parallel arenas of
// the same layout (llm.c style: one allocation, named pointers into it).
//
// Names and shapes are those of docs/supernet.md; checkpoints store each
// tensor under its name, and the PyTorch reference uses the same names.
#pragma once

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

// The tensors of one attention block (q, k, v, out projections with biases)
// and of one LayerNorm, by name and shape, shared by the supernet's table and
// the dense model: `add(name, shape)` receives each.
using AddTensor = std::function<void(const std::string &, std::vector<int64_t>)>;
void add_attention_tensors(const AddTensor &add, const std::string &prefix, int64_t qkv, int64_t d_q,
                           int64_t d_kv);
void add_layernorm_tensors(const AddTensor &add, const std::string &prefix, int64_t d);

class ParamTable {
public:
    ParamTable() = default;
    ParamTable(const SuperDims &dims, int64_t vocab, Routing routing, int64_t experts,
               int64_t router_hidden);

    const std::vector<ParamInfo> &all() const { return params_; }
    // Throws MOS_INTERNAL for a name that is not in the table (a bug).
    const ParamInfo &at(const std::string &name) const;
    const ParamInfo *find(const std::string &name) const;
    size_t total_floats() const { return total_; }

private:
    void add(std::string name, std::vector<int64_t> shape);
    std::vector<ParamInfo> params_;
    std::unordered_map<std::string, size_t> index_;
    size_t total_ = 0;
};

}  // namespace mos
