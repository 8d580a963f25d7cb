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

void ParamTable::add(std::string name, std::vector<int64_t> shape) {
    size_t n = 1;
    for (int64_t d : shape) n *= static_cast<size_t>(d);
    ParamInfo p{std::move(name), std::move(shape), total_, n};
    total_ += (n + kAlign - 1) / kAlign * kAlign;
    index_.emplace(p.name, params_.size());
    params_.push_back(std::move(p));
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

void add_attention_tensors(const AddTensor &add, const std::string &p, int64_t Q, int64_t dq, int64_t dkv) {
    add(p + ".q.weight", {Q, dq});
    add(p + ".q.bias", {Q});
    add(p + ".k.weight", {Q, dkv});
    add(p + ".k.bias", {Q});
    add(p + ".v.weight", {Q, dkv});
    add(p + ".v.bias", {Q});
    add(p + ".out.weight", {dq, Q});
    add(p + ".out.bias", {dq});
}

void add_layernorm_tensors(const AddTensor &add, const std::string &p, int64_t d) {
    add(p + ".weight", {d});
    add(p + ".bias", {d});
}

ModelTensors resolve_tensors(const FindTensor &find, size_t enc_layers, size_t dec_layers) {
    auto need = [&](const std::string &name) {
        const size_t o = find(name);
        check(o != kNoTensor, MOS_INTERNAL, "no tensor named '", name, "'");
        return o;
    };
    // The names of add_attention_tensors / add_layernorm_tensors above.
    auto attn = [&](const std::string &p) {
        AttentionTensors t;
        t.q_w = need(p + ".q.weight");
        t.q_b = need(p + ".q.bias");
        t.k_w = need(p + ".k.weight");
        t.k_b = need(p + ".k.bias");
        t.v_w = need(p + ".v.weight");
        t.v_b = need(p + ".v.bias");
        t.out_w = need(p + ".out.weight");
        t.out_b = need(p + ".out.bias");
        return t;
    };
    auto ln = [&](const std::string &p) {
        LayerNormTensors t;
        t.w = need(p + ".weight");
        t.b = need(p + ".bias");
        return t;
    };
    auto router = [&](const std::string &p) {
        RouterTensors t;
        if (find(p + ".w1") == kNoTensor) return t;
        t.w1 = need(p + ".w1");
        t.b1 = need(p + ".b1");
        t.w2 = need(p + ".w2");
        t.b2 = need(p + ".b2");
        return t;
    };
    auto ffn = [&](const std::string &p) {
        FfnTensors t;
        t.fc1_w = need(p + ".fc1.weight");
        t.fc1_b = need(p + ".fc1.bias");
        t.fc2_w = need(p + ".fc2.weight");
        t.fc2_b = need(p + ".fc2.bias");
        t.router = router(p + ".router");
        t.fc1_router = router(p + ".fc1.router");
        t.fc2_router = router(p + ".fc2.router");
        return t;
    };
    ModelTensors m;
    m.embed = need("embed.weight");
    for (size_t l = 0; l < enc_layers; l++) {
        const std::string p = "encoder.layers." + std::to_string(l);
        m.enc.push_back({attn(p + ".self_attn"), ln(p + ".self_attn_ln"), ffn(p), ln(p + ".ffn_ln")});
    }
    for (size_t l = 0; l < dec_layers; l++) {
        const std::string p = "decoder.layers." + std::to_string(l);
        m.dec.push_back({attn(p + ".self_attn"), ln(p + ".self_attn_ln"), attn(p + ".cross_attn"),
                         ln(p + ".cross_attn_ln"), ffn(p), ln(p + ".ffn_ln")});
    }
    return m;
}

ParamTable::ParamTable(const SuperDims &s, int64_t V, Routing routing, int64_t m, int64_t H) {
    check(routing != Routing::None || m == 1, MOS_INVALID_ARGUMENT,
          "routing none needs exactly 1 expert, got ", m);
    add("embed.weight", {V, s.embed()});
    const int64_t Q = s.qkv;
    const AddTensor put = [this](const std::string &n, std::vector<int64_t> sh) { add(n, std::move(sh)); };
    auto attn = [&](const std::string &p, int64_t dq, int64_t dkv) { add_attention_tensors(put, p, Q, dq, dkv); };
    auto ln = [&](const std::string &p, int64_t d) { add_layernorm_tensors(put, p, d); };
    auto router = [&](const std::string &p, int64_t outputs) {
        add(p + ".w1", {H, kArchFeatures});  // the router reads the arch encoding
        add(p + ".b1", {H});
        add(p + ".w2", {outputs, H});
        add(p + ".b2", {outputs});
    };
    auto ffn = [&](const std::string &p, int64_t d, int64_t Fm) {
        add(p + ".fc1.weight", {m, Fm, d});
        add(p + ".fc1.bias", {m, Fm});
        add(p + ".fc2.weight", {m, d, Fm});
        add(p + ".fc2.bias", {m, d});
        if (routing == Routing::Layer) router(p + ".router", m);
        if (routing == Routing::Neuron) {
            router(p + ".fc1.router", m * Fm);
            router(p + ".fc2.router", m * d);
        }
    };
    for (int64_t l = 0; l < s.enc_layers; l++) {
        const std::string p = "encoder.layers." + std::to_string(l);
        attn(p + ".self_attn", s.enc_embed, s.enc_embed);
        ln(p + ".self_attn_ln", s.enc_embed);
        ffn(p, s.enc_embed, s.enc_ffn);
        ln(p + ".ffn_ln", s.enc_embed);
    }
    for (int64_t l = 0; l < s.dec_layers; l++) {
        const std::string p = "decoder.layers." + std::to_string(l);
        attn(p + ".self_attn", s.dec_embed, s.dec_embed);
        ln(p + ".self_attn_ln", s.dec_embed);
        attn(p + ".cross_attn", s.dec_embed, s.enc_embed);
        ln(p + ".cross_attn_ln", s.dec_embed);
        ffn(p, s.dec_embed, s.dec_ffn);
        ln(p + ".ffn_ln", s.dec_embed);
    }
}

}  // namespace mos
