// lib/model/params.cpp: builds the supernet tensor table (docs/supernet.md).
#include "model/params.hpp"

#include "core/error.hpp"
#include "model/arch.hpp"

namespace mos {

namespace {
constexpr size_t kAlign = 16;          // 64-byte alignment of every tensor
}  // namespace

const char *routing_name(Routing r) {
    switch (r) {
    case Routing::None: return "none";
    case Routing::Layer: return "layer";
    case Routing::Neuron: return "neuron";
    }
    return "unknown";
}

Routing parse_routing(const std::string &s) {
    if (s == "none") return Routing::None;
    if (s == "layer") return Routing::Layer;
    if (s == "neuron") return Routing::Neuron;
    fail(MOS_INVALID_ARGUMENT, "unknown routing '", s, "'; allowed none|layer|neuron");
}

size_t ParamTable::add(std::string name, std::vector<int64_t> shape) {
    size_t n = 1;
    for (int64_t d : shape) n *= static_cast<size_t>(d);
    const size_t offset = total_;
    ParamInfo p{std::move(name), std::move(shape), offset, n};
    total_ += (n + kAlign - 1) / kAlign * kAlign;
    index_.emplace(p.name, params_.size());
    params_.push_back(std::move(p));
    return offset;
}

const ParamInfo *ParamTable::find(const std::string &name) const {
    auto it = index_.find(name);
    return it == index_.end() ? nullptr : &params_[it->second];
}

const ParamInfo &ParamTable::at(const std::string &name) const {
    const ParamInfo *p = find(name);
    if (!p) fail(MOS_INTERNAL, "no supernet tensor named '", name, "'");
    return *p;
}

AttentionTensors add_attention_tensors(const AddTensor &add, const std::string &p, int64_t Q, int64_t dq,
                                       int64_t dkv) {
    AttentionTensors t;
    t.q_w = add(p + ".q.weight", {Q, dq});
    t.q_b = add(p + ".q.bias", {Q});
    t.k_w = add(p + ".k.weight", {Q, dkv});
    t.k_b = add(p + ".k.bias", {Q});
    t.v_w = add(p + ".v.weight", {Q, dkv});
    t.v_b = add(p + ".v.bias", {Q});
    t.out_w = add(p + ".out.weight", {dq, Q});
    t.out_b = add(p + ".out.bias", {dq});
    return t;
}

LayerNormTensors add_layernorm_tensors(const AddTensor &add, const std::string &p, int64_t d) {
    LayerNormTensors t;
    t.w = add(p + ".weight", {d});
    t.b = add(p + ".bias", {d});
    return t;
}

ModelTensors add_model_tensors(const AddTensor &add, const AddFfn &ffn, int64_t vocab, int64_t embed_cols,
                               int64_t Q, int64_t de, int64_t dd, size_t enc_layers, size_t dec_layers) {
    ModelTensors T;
    T.embed = add("embed.weight", {vocab, embed_cols});
    for (size_t l = 0; l < enc_layers; l++) {
        const std::string p = "encoder.layers." + std::to_string(l);
        EncoderLayerTensors t;
        t.self_attn = add_attention_tensors(add, p + ".self_attn", Q, de, de);
        t.self_attn_ln = add_layernorm_tensors(add, p + ".self_attn_ln", de);
        t.ffn = ffn(p, de, false, l);
        t.ffn_ln = add_layernorm_tensors(add, p + ".ffn_ln", de);
        T.enc.push_back(t);
    }
    for (size_t l = 0; l < dec_layers; l++) {
        const std::string p = "decoder.layers." + std::to_string(l);
        DecoderLayerTensors t;
        t.self_attn = add_attention_tensors(add, p + ".self_attn", Q, dd, dd);
        t.self_attn_ln = add_layernorm_tensors(add, p + ".self_attn_ln", dd);
        t.cross_attn = add_attention_tensors(add, p + ".cross_attn", Q, dd, de);
        t.cross_attn_ln = add_layernorm_tensors(add, p + ".cross_attn_ln", dd);
        t.ffn = ffn(p, dd, true, l);
        t.ffn_ln = add_layernorm_tensors(add, p + ".ffn_ln", dd);
        T.dec.push_back(t);
    }
    return T;
}

ParamTable::ParamTable(const SuperDims &s, int64_t V, Routing routing, int64_t m, int64_t H) {
    check(routing != Routing::None || m == 1, MOS_INVALID_ARGUMENT,
          "routing none needs exactly 1 expert, got ", m);
    const AddTensor put = [this](const std::string &n, std::vector<int64_t> sh) { return add(n, std::move(sh)); };
    auto router = [&](const std::string &p, int64_t outputs) {
        RouterTensors r;
        r.w1 = add(p + ".w1", {H, kArchFeatures});  // the router reads the arch encoding
        r.b1 = add(p + ".b1", {H});
        r.w2 = add(p + ".w2", {outputs, H});
        r.b2 = add(p + ".b2", {outputs});
        return r;
    };
    // m experts at the largest FFN width of the encoder or the decoder.
    const AddFfn ffn = [&](const std::string &p, int64_t d, bool decoder, size_t) {
        const int64_t Fm = decoder ? s.dec_ffn : s.enc_ffn;
        FfnTensors f;
        f.fc1_w = add(p + ".fc1.weight", {m, Fm, d});
        f.fc1_b = add(p + ".fc1.bias", {m, Fm});
        f.fc2_w = add(p + ".fc2.weight", {m, d, Fm});
        f.fc2_b = add(p + ".fc2.bias", {m, d});
        if (routing == Routing::Layer) f.router = router(p + ".router", m);
        if (routing == Routing::Neuron) {
            f.fc1_router = router(p + ".fc1.router", m * Fm);
            f.fc2_router = router(p + ".fc2.router", m * d);
        }
        return f;
    };
    tensors_ = add_model_tensors(put, ffn, V, s.embed(), s.qkv, s.enc_embed, s.dec_embed,
                                 static_cast<size_t>(s.enc_layers), static_cast<size_t>(s.dec_layers));
}

}  // namespace mos
