// lib/model/dense.cpp: routing a subnet into a dense model, and the dense
// model's inference forward (full-sequence encoder, step-wise decoder with a
// key/value cache for self-attention and precomputed cross-attention keys and
// values; docs/supernet.md, "Routing into a dense model").
#include "model/dense.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.hpp"
#include "kernels/activation.hpp"
#include "kernels/attention.hpp"
#include "kernels/cross_entropy.hpp"
#include "kernels/embedding.hpp"
#include "kernels/layernorm.hpp"
#include "kernels/linear.hpp"
#include "kernels/mos_linear.hpp"

namespace mos {

// ---------------------------------------------------------------------------
// DenseModel

size_t DenseModel::add(const std::string &name, std::vector<int64_t> shape) {
    size_t n = 1;
    for (int64_t d : shape) n *= static_cast<size_t>(d);
    const size_t offset = total_;
    tensors_.emplace(name, Tensor{std::move(shape), offset, n});
    names_.push_back(name);
    total_ += (n + 15) / 16 * 16;
    return offset;
}

DenseModel::DenseModel(const ArchDims &a, int64_t vocab, int64_t qkv, int32_t pad_id, bool zero)
    : arch_(a), vocab_(vocab), qkv_(qkv), pad_id_(pad_id) {
    check(vocab > 0 && qkv > 0, MOS_INVALID_ARGUMENT, "dense model needs vocab and qkv > 0");
    check(!a.enc.empty() && !a.dec.empty(), MOS_INVALID_ARGUMENT, "dense model needs layers");
    const AddTensor put = [this](const std::string &n, std::vector<int64_t> sh) { return add(n, std::move(sh)); };
    // Two dense linears at the layer's own FFN width.
    const AddFfn ffn = [&](const std::string &p, int64_t d, bool decoder, size_t l) {
        const int64_t F = decoder ? a.dec[l].ffn : a.enc[l].ffn;
        FfnTensors f;
        f.fc1_w = add(p + ".fc1.weight", {F, d});
        f.fc1_b = add(p + ".fc1.bias", {F});
        f.fc2_w = add(p + ".fc2.weight", {d, F});
        f.fc2_b = add(p + ".fc2.bias", {d});
        return f;
    };
    offsets_ = add_model_tensors(put, ffn, vocab, embed_cols(), qkv, a.enc_embed, a.dec_embed, a.enc.size(),
                                 a.dec.size());
    weights_ = Arena("dense model", total_);
    if (zero)
        weights_.alloc_zero(total_);
    else
        weights_.alloc(total_);
}

const DenseModel::Tensor &DenseModel::tensor(const std::string &name) const {
    auto it = tensors_.find(name);
    if (it == tensors_.end()) fail(MOS_INTERNAL, "dense model has no tensor '", name, "'");
    return it->second;
}

size_t DenseModel::num_weights() const {
    size_t n = 0;
    for (const auto &kv : tensors_) n += kv.second.numel;
    return n;
}

// ---------------------------------------------------------------------------
// route

namespace {

// Copy the top-left [rows, cols] slice of a row-major [R, C] tensor.
void copy_slice(float *dst, const float *src, int64_t rows, int64_t cols, int64_t C) {
    for (int64_t r = 0; r < rows; r++) std::memcpy(dst + r * cols, src + r * C, cols * sizeof(float));
}

void copy_prefix(float *dst, const float *src, int64_t n) { std::memcpy(dst, src, n * sizeof(float)); }

// An attention block at query width dq <= Dq and key/value width dkv <= Dkv:
// q, k, v weights [Q, d] from [Q, D], the output projection [dq, Q] from [Dq, Q].
void route_attention(DenseModel &m, const Supernet &net, const AttentionTensors &dst, const AttentionTensors &src,
                     int64_t Q, int64_t dq, int64_t Dq, int64_t dkv, int64_t Dkv) {
    copy_slice(m.data_at(dst.q_w), net.param_at(src.q_w), Q, dq, Dq);
    copy_prefix(m.data_at(dst.q_b), net.param_at(src.q_b), Q);
    copy_slice(m.data_at(dst.k_w), net.param_at(src.k_w), Q, dkv, Dkv);
    copy_prefix(m.data_at(dst.k_b), net.param_at(src.k_b), Q);
    copy_slice(m.data_at(dst.v_w), net.param_at(src.v_w), Q, dkv, Dkv);
    copy_prefix(m.data_at(dst.v_b), net.param_at(src.v_b), Q);
    copy_slice(m.data_at(dst.out_w), net.param_at(src.out_w), dq, Q, Q);
    copy_prefix(m.data_at(dst.out_b), net.param_at(src.out_b), dq);
}

void route_layernorm(DenseModel &m, const Supernet &net, const LayerNormTensors &dst, const LayerNormTensors &src,
                     int64_t d) {
    copy_prefix(m.data_at(dst.w), net.param_at(src.w), d);
    copy_prefix(m.data_at(dst.b), net.param_at(src.b), d);
}

// The FFN's two MoS linears mixed into dense ones: the router outputs are
// constants of the arch, so each mix is computed once.
void route_ffn(DenseModel &m, const Supernet &net, const FfnTensors &dst, const FfnTensors &src, int64_t d, int64_t D,
               int64_t F, int64_t Fm) {
    const SupernetConfig &cfg = net.config();
    const int64_t E = cfg.experts, H = cfg.router_hidden;
    const float *e = m.arch().encoding.data();
    MosShape s1{E, F, d, Fm, D, MosRouting::LayerWise};
    MosShape s2{E, d, F, D, Fm, MosRouting::LayerWise};
    std::vector<float> a1, a2, hid(static_cast<size_t>(H));
    switch (cfg.routing) {
    case Routing::None:
        a1.assign(1, 1.0f);
        a2 = a1;
        break;
    case Routing::Layer: {
        a1.resize(static_cast<size_t>(E));
        RouterShape r{kArchFeatures, H, E, 1, 1};
        const RouterTensors &t = src.router;
        router_forward(a1.data(), hid.data(), e, net.param_at(t.w1), net.param_at(t.b1), net.param_at(t.w2),
                       net.param_at(t.b2), r);
        a2 = a1;
        break;
    }
    case Routing::Neuron: {
        s1.routing = s2.routing = MosRouting::NeuronWise;
        a1.resize(static_cast<size_t>(mos_alpha_size(s1)));
        a2.resize(static_cast<size_t>(mos_alpha_size(s2)));
        const RouterTensors &t1 = src.fc1_router, &t2 = src.fc2_router;
        router_forward(a1.data(), hid.data(), e, net.param_at(t1.w1), net.param_at(t1.b1), net.param_at(t1.w2),
                       net.param_at(t1.b2), router_shape_for(s1, kArchFeatures, H));
        router_forward(a2.data(), hid.data(), e, net.param_at(t2.w1), net.param_at(t2.b1), net.param_at(t2.w2),
                       net.param_at(t2.b2), router_shape_for(s2, kArchFeatures, H));
        break;
    }
    }
    mos_mix_forward(m.data_at(dst.fc1_w), m.data_at(dst.fc1_b), a1.data(), net.param_at(src.fc1_w),
                    net.param_at(src.fc1_b), s1);
    mos_mix_forward(m.data_at(dst.fc2_w), m.data_at(dst.fc2_b), a2.data(), net.param_at(src.fc2_w),
                    net.param_at(src.fc2_b), s2);
}

}  // namespace

DenseModel route(const Supernet &net, const ArchDims &a) {
    net.check_arch(a);
    const SupernetConfig &cfg = net.config();
    const SuperDims &D = cfg.dims;
    DenseModel m(a, cfg.vocab, D.qkv, cfg.pad_id, /*zero=*/false);  // every tensor is written below
    const ModelTensors &dst = m.tensors(), &src = net.tensors();
    const int64_t Q = D.qkv, de = a.enc_embed, dd = a.dec_embed;
    copy_slice(m.data_at(dst.embed), net.param_at(src.embed), cfg.vocab, m.embed_cols(), D.embed());
    for (size_t l = 0; l < a.enc.size(); l++) {
        const EncoderLayerTensors &t = dst.enc[l], &s = src.enc[l];
        route_attention(m, net, t.self_attn, s.self_attn, Q, de, D.enc_embed, de, D.enc_embed);
        route_layernorm(m, net, t.self_attn_ln, s.self_attn_ln, de);
        route_ffn(m, net, t.ffn, s.ffn, de, D.enc_embed, a.enc[l].ffn, D.enc_ffn);
        route_layernorm(m, net, t.ffn_ln, s.ffn_ln, de);
    }
    for (size_t l = 0; l < a.dec.size(); l++) {
        const DecoderLayerTensors &t = dst.dec[l], &s = src.dec[l];
        route_attention(m, net, t.self_attn, s.self_attn, Q, dd, D.dec_embed, dd, D.dec_embed);
        route_layernorm(m, net, t.self_attn_ln, s.self_attn_ln, dd);
        route_attention(m, net, t.cross_attn, s.cross_attn, Q, dd, D.dec_embed, de, D.enc_embed);
        route_layernorm(m, net, t.cross_attn_ln, s.cross_attn_ln, dd);
        route_ffn(m, net, t.ffn, s.ffn, dd, D.dec_embed, a.dec[l].ffn, D.dec_ffn);
        route_layernorm(m, net, t.ffn_ln, s.ffn_ln, dd);
    }
    return m;
}

// ---------------------------------------------------------------------------
// Decoding

struct DecodeState::Impl {
    int64_t B = 0, S = 0, rows = 0, t = 0;
    std::vector<int64_t> src_of;               // decoder row -> source sentence
    std::vector<uint8_t> src_mask;             // [B, S], 1 = padding
    std::vector<std::vector<float>> ck, cv;    // per decoder layer: [B, k*S, Q]
    std::vector<std::vector<float>> sk, sv;    // per decoder layer: [rows, max_steps, Q]
    std::vector<float> tmp_cache;              // reorder scratch [rows, max_steps, Q]
    std::vector<float> pos;                    // [max_steps, dd]
    // Encoder scratch [max_src_tokens, *].
    std::vector<float> ex, eq, ek, ev, eo, ea, er, eh, eP, emean, erstd;
    std::vector<std::vector<float>> enc_out;   // per encoder layer [B*S, de]
    std::vector<float> mem;                    // [B, k*S, de] concatenated encoder outputs
    std::vector<uint8_t> mem_mask;             // [k*S] mask of one row's memory
    // Decoder step scratch [rows, *].
    std::vector<float> x, q, kt, vt, o, a, r, h, mean, rstd, scores, logits;
};

DecodeState::DecodeState(const DenseModel &m, int64_t rows, int64_t max_src, int64_t max_steps)
    : rows_(rows), max_src_(max_src), max_steps_(max_steps), impl_(new Impl) {
    check(rows > 0 && max_src > 0 && max_steps > 0, MOS_INVALID_ARGUMENT,
          "decode state sizes must be positive (rows ", rows, ", source ", max_src, ", steps ", max_steps, ")");
    const ArchDims &a = m.arch();
    const int64_t Q = m.qkv(), de = a.enc_embed, dd = a.dec_embed, V = m.vocab();
    int64_t Fmax = 0, hmax = 0, kmax = 0;
    for (const LayerDims &l : a.enc) {
        Fmax = std::max(Fmax, l.ffn);
        hmax = std::max(hmax, l.self_heads);
    }
    for (const LayerDims &l : a.dec) {
        Fmax = std::max(Fmax, l.ffn);
        hmax = std::max({hmax, l.self_heads, l.cross_heads});
        kmax = std::max(kmax, l.cross_layers);
    }
    Impl &s = *impl_;
    const size_t Ns = static_cast<size_t>(rows * max_src);  // at most `rows` sentences
    const size_t Dm = static_cast<size_t>(std::max(de, dd));
    s.src_of.assign(rows, 0);
    s.src_mask.assign(Ns, 0);
    s.ck.assign(a.dec.size(), {});
    s.cv.assign(a.dec.size(), {});
    s.sk.assign(a.dec.size(), std::vector<float>(static_cast<size_t>(rows * max_steps * Q)));
    s.sv.assign(a.dec.size(), std::vector<float>(static_cast<size_t>(rows * max_steps * Q)));
    for (size_t l = 0; l < a.dec.size(); l++) {
        s.ck[l].resize(Ns * a.dec[l].cross_layers * Q);
        s.cv[l].resize(Ns * a.dec[l].cross_layers * Q);
    }
    s.tmp_cache.resize(static_cast<size_t>(rows * max_steps * Q));
    s.pos.resize(static_cast<size_t>(std::max(max_steps, max_src)) * Dm);
    for (auto *v : {&s.ex, &s.ea, &s.er}) v->resize(Ns * de);
    for (auto *v : {&s.eq, &s.ek, &s.ev, &s.eo}) v->resize(Ns * kmax * Q + Ns * Q);
    s.eh.resize(Ns * Fmax);
    s.eP.resize(static_cast<size_t>(rows * hmax * max_src) * max_src * std::max<int64_t>(kmax, 1));
    s.emean.resize(Ns);
    s.erstd.resize(Ns);
    s.enc_out.assign(a.enc.size(), std::vector<float>(Ns * de));
    for (auto *v : {&s.x, &s.a, &s.r}) v->resize(static_cast<size_t>(rows) * Dm);
    for (auto *v : {&s.q, &s.kt, &s.vt, &s.o}) v->resize(static_cast<size_t>(rows * Q));
    s.mem.resize(Ns * std::max<int64_t>(kmax, 1) * de);
    s.mem_mask.resize(static_cast<size_t>(std::max<int64_t>(kmax, 1) * max_src));
    s.h.resize(static_cast<size_t>(rows * Fmax));
    s.mean.resize(rows);
    s.rstd.resize(rows);
    s.scores.resize(static_cast<size_t>(std::max(max_steps, kmax * max_src)));
    s.logits.resize(static_cast<size_t>(rows * V));
}

DecodeState::~DecodeState() { delete impl_; }

namespace {

void attn_block_full(const DenseModel &m, const AttentionTensors &t, DecodeState::Impl &s, const float *x,
                     int64_t B, int64_t S, int64_t d, int64_t heads, const uint8_t *mask, float *out) {
    const int64_t Q = m.qkv(), N = B * S;
    linear_forward(s.eq.data(), x, m.data_at(t.q_w), m.data_at(t.q_b), N, d, Q, d);
    linear_forward(s.ek.data(), x, m.data_at(t.k_w), m.data_at(t.k_b), N, d, Q, d);
    linear_forward(s.ev.data(), x, m.data_at(t.v_w), m.data_at(t.v_b), N, d, Q, d);
    AttentionShape as{B, S, S, Q, heads, false};
    attention_forward(s.eo.data(), s.eP.data(), s.eq.data(), s.ek.data(), s.ev.data(), mask, as, 0.0f, 0, 0);
    linear_forward(out, s.eo.data(), m.data_at(t.out_w), m.data_at(t.out_b), N, Q, d, Q);
}

void ffn_block(const DenseModel &m, const FfnTensors &t, float *h, const float *x, int64_t N, int64_t d, int64_t F,
               float *out) {
    linear_forward(h, x, m.data_at(t.fc1_w), m.data_at(t.fc1_b), N, d, F, d);
    relu_forward(h, h, N * F);
    linear_forward(out, h, m.data_at(t.fc2_w), m.data_at(t.fc2_b), N, F, d, F);
}

// x = LN(x + a) with the LayerNorm t.
void add_norm(const DenseModel &m, const LayerNormTensors &t, float *x, const float *a, float *r, float *mean,
              float *rstd, int64_t N, int64_t d) {
    residual_forward(r, x, a, N * d);
    layernorm_forward(x, mean, rstd, r, m.data_at(t.w), m.data_at(t.b), N, d);
}

}  // namespace

void attend_one(float *o, const float *q, const float *K, const float *Vv, const uint8_t *mask, int64_t n,
                int64_t Q, int64_t heads, float *scores) {
    const int64_t hd = Q / heads;
    const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
    for (int64_t h = 0; h < heads; h++) {
        const float *qh = q + h * hd;
        float mx = -INFINITY;
        for (int64_t j = 0; j < n; j++) {
            if (mask && mask[j]) {
                scores[j] = -INFINITY;
                continue;
            }
            const float *kj = K + j * Q + h * hd;
            float sdot = 0.0f;
            for (int64_t i = 0; i < hd; i++) sdot += qh[i] * kj[i];
            scores[j] = sdot * scale;
            mx = std::max(mx, scores[j]);
        }
        float *oh = o + h * hd;
        std::fill(oh, oh + hd, 0.0f);
        if (mx == -INFINITY) continue;  // every key masked: output zero, never NaN
        float sum = 0.0f;
        for (int64_t j = 0; j < n; j++) {
            const float e = scores[j] == -INFINITY ? 0.0f : std::exp(scores[j] - mx);
            scores[j] = e;
            sum += e;
        }
        const float inv = 1.0f / sum;
        for (int64_t j = 0; j < n; j++) {
            if (scores[j] == 0.0f) continue;
            const float w = scores[j] * inv;
            const float *vj = Vv + j * Q + h * hd;
            for (int64_t i = 0; i < hd; i++) oh[i] += w * vj[i];
        }
    }
}

void dense_encode(DecodeState &ds, const DenseModel &m, const int32_t *src, int64_t B, int64_t S) {
    DecodeState::Impl &s = ds.impl();
    check(src != nullptr, MOS_INVALID_ARGUMENT, "source tokens are NULL");
    check(B > 0 && S > 0, MOS_INVALID_ARGUMENT, "empty source batch (B=", B, " S=", S, ")");
    check(B <= ds.rows() && S <= ds.max_src(), MOS_OUT_OF_RANGE, "source batch ", B, "x", S,
          " exceeds the decode state's ", ds.rows(), "x", ds.max_src());
    const ArchDims &a = m.arch();
    const int64_t de = a.enc_embed, dd = a.dec_embed, Q = m.qkv(), N = B * S, V = m.vocab();
    for (int64_t i = 0; i < N; i++)
        check(src[i] >= 0 && src[i] < V, MOS_OUT_OF_RANGE, "source token ", src[i], " outside the vocabulary of ", V);
    s.B = B;
    s.S = S;
    s.rows = B;
    s.t = 0;
    for (int64_t r = 0; r < B; r++) s.src_of[r] = r;
    for (int64_t i = 0; i < N; i++) s.src_mask[i] = src[i] == m.pad_id();
    sinusoid_positions(s.pos.data(), 0, S, de);
    const ModelTensors &mt = m.tensors();
    embedding_forward(s.ex.data(), src, m.data_at(mt.embed), s.pos.data(), B, S, de, m.embed_cols(), V, m.pad_id());
    for (size_t l = 0; l < a.enc.size(); l++) {
        const EncoderLayerTensors &T = mt.enc[l];
        attn_block_full(m, T.self_attn, s, s.ex.data(), B, S, de, a.enc[l].self_heads, s.src_mask.data(),
                        s.ea.data());
        add_norm(m, T.self_attn_ln, s.ex.data(), s.ea.data(), s.er.data(), s.emean.data(), s.erstd.data(), N, de);
        ffn_block(m, T.ffn, s.eh.data(), s.ex.data(), N, de, a.enc[l].ffn, s.ea.data());
        add_norm(m, T.ffn_ln, s.ex.data(), s.ea.data(), s.er.data(), s.emean.data(), s.erstd.data(), N, de);
        std::memcpy(s.enc_out[l].data(), s.ex.data(), N * de * sizeof(float));
    }
    // Cross-attention keys/values: memory = last k encoder outputs along time.
    const int64_t Le = static_cast<int64_t>(a.enc.size());
    for (size_t l = 0; l < a.dec.size(); l++) {
        const AttentionTensors &t = mt.dec[l].cross_attn;
        const int64_t k = a.dec[l].cross_layers, kS = k * S;
        float *mem = s.mem.data();
        for (int64_t b = 0; b < B; b++)
            for (int64_t j = 0; j < k; j++)
                std::memcpy(mem + (b * kS + j * S) * de, s.enc_out[Le - k + j].data() + b * S * de,
                            S * de * sizeof(float));
        linear_forward(s.ck[l].data(), mem, m.data_at(t.k_w), m.data_at(t.k_b), B * kS, de, Q, de);
        linear_forward(s.cv[l].data(), mem, m.data_at(t.v_w), m.data_at(t.v_b), B * kS, de, Q, de);
    }
    sinusoid_positions(s.pos.data(), 0, ds.max_steps(), dd);
}

void dense_expand_rows(DecodeState &ds, const DenseModel &m, const int64_t *src_of, int64_t rows) {
    DecodeState::Impl &s = ds.impl();
    check(s.t == 0, MOS_INVALID_ARGUMENT, "rows can only be expanded before the first decoder step");
    check(rows > 0 && rows <= ds.rows(), MOS_OUT_OF_RANGE, "decoder rows ", rows, " outside 1..", ds.rows());
    for (int64_t r = 0; r < rows; r++) {
        check(src_of[r] >= 0 && src_of[r] < s.B, MOS_OUT_OF_RANGE, "row ", r, " maps to sentence ", src_of[r],
              " of ", s.B);
        s.src_of[r] = src_of[r];
    }
    s.rows = rows;
}

const float *dense_step(DecodeState &ds, const DenseModel &m, const int32_t *tokens) {
    DecodeState::Impl &s = ds.impl();
    check(s.B > 0, MOS_INVALID_ARGUMENT, "decoder step before encoding a source");
    check(s.t < ds.max_steps(), MOS_OUT_OF_RANGE, "decoder step ", s.t + 1, " exceeds the state's ",
          ds.max_steps(), " steps");
    const ArchDims &a = m.arch();
    const int64_t R = s.rows, dd = a.dec_embed, Q = m.qkv(), V = m.vocab(), t = s.t;
    const int64_t steps = ds.max_steps();
    for (int64_t r = 0; r < R; r++)
        check(tokens[r] >= 0 && tokens[r] < V, MOS_OUT_OF_RANGE, "target token ", tokens[r],
              " outside the vocabulary of ", V);
    const ModelTensors &mt = m.tensors();
    embedding_forward(s.x.data(), tokens, m.data_at(mt.embed), s.pos.data() + t * dd, R, 1, dd, m.embed_cols(), V,
                      m.pad_id());
    for (size_t l = 0; l < a.dec.size(); l++) {
        const DecoderLayerTensors &T = mt.dec[l];
        const LayerDims &L = a.dec[l];
        // Self-attention: append k, v of this position to the cache, attend to 0..t.
        const AttentionTensors &sa = T.self_attn;
        linear_forward(s.q.data(), s.x.data(), m.data_at(sa.q_w), m.data_at(sa.q_b), R, dd, Q, dd);
        linear_forward(s.kt.data(), s.x.data(), m.data_at(sa.k_w), m.data_at(sa.k_b), R, dd, Q, dd);
        linear_forward(s.vt.data(), s.x.data(), m.data_at(sa.v_w), m.data_at(sa.v_b), R, dd, Q, dd);
        for (int64_t r = 0; r < R; r++) {
            std::memcpy(s.sk[l].data() + (r * steps + t) * Q, s.kt.data() + r * Q, Q * sizeof(float));
            std::memcpy(s.sv[l].data() + (r * steps + t) * Q, s.vt.data() + r * Q, Q * sizeof(float));
        }
        for (int64_t r = 0; r < R; r++)
            attend_one(s.o.data() + r * Q, s.q.data() + r * Q, s.sk[l].data() + r * steps * Q,
                       s.sv[l].data() + r * steps * Q, nullptr, t + 1, Q, L.self_heads, s.scores.data());
        linear_forward(s.a.data(), s.o.data(), m.data_at(sa.out_w), m.data_at(sa.out_b), R, Q, dd, Q);
        add_norm(m, T.self_attn_ln, s.x.data(), s.a.data(), s.r.data(), s.mean.data(), s.rstd.data(), R, dd);
        // Cross-attention over the precomputed memory of this row's sentence.
        const AttentionTensors &ca = T.cross_attn;
        const int64_t kS = L.cross_layers * s.S;
        linear_forward(s.q.data(), s.x.data(), m.data_at(ca.q_w), m.data_at(ca.q_b), R, dd, Q, dd);
        for (int64_t r = 0; r < R; r++) {
            const int64_t b = s.src_of[r];
            // The mask of the concatenated memory repeats the source mask k times.
            for (int64_t j = 0; j < L.cross_layers; j++)
                std::memcpy(s.mem_mask.data() + j * s.S, s.src_mask.data() + b * s.S, s.S);
            attend_one(s.o.data() + r * Q, s.q.data() + r * Q, s.ck[l].data() + b * kS * Q,
                       s.cv[l].data() + b * kS * Q, s.mem_mask.data(), kS, Q, L.cross_heads, s.scores.data());
        }
        linear_forward(s.a.data(), s.o.data(), m.data_at(ca.out_w), m.data_at(ca.out_b), R, Q, dd, Q);
        add_norm(m, T.cross_attn_ln, s.x.data(), s.a.data(), s.r.data(), s.mean.data(), s.rstd.data(), R, dd);
        ffn_block(m, T.ffn, s.h.data(), s.x.data(), R, dd, L.ffn, s.a.data());
        add_norm(m, T.ffn_ln, s.x.data(), s.a.data(), s.r.data(), s.mean.data(), s.rstd.data(), R, dd);
    }
    linear_forward(s.logits.data(), s.x.data(), m.data_at(mt.embed), nullptr, R, dd, V, m.embed_cols());
    s.t++;
    return s.logits.data();
}

void dense_reorder(DecodeState &ds, const DenseModel &m, const int64_t *from, int64_t rows) {
    DecodeState::Impl &s = ds.impl();
    check(rows > 0 && rows <= ds.rows(), MOS_OUT_OF_RANGE, "decoder rows ", rows, " outside 1..", ds.rows());
    const int64_t Q = m.qkv(), steps = ds.max_steps(), n = s.t * Q;
    std::vector<int64_t> src_of(s.src_of.begin(), s.src_of.begin() + s.rows);
    for (int64_t r = 0; r < rows; r++)
        check(from[r] >= 0 && from[r] < s.rows, MOS_OUT_OF_RANGE, "reorder source row ", from[r], " outside 0..",
              s.rows - 1);
    for (auto *cache : {&s.sk, &s.sv})
        for (auto &layer : *cache) {
            for (int64_t r = 0; r < rows; r++)
                std::memcpy(s.tmp_cache.data() + r * steps * Q, layer.data() + from[r] * steps * Q, n * sizeof(float));
            for (int64_t r = 0; r < rows; r++)
                std::memcpy(layer.data() + r * steps * Q, s.tmp_cache.data() + r * steps * Q, n * sizeof(float));
        }
    for (int64_t r = 0; r < rows; r++) s.src_of[r] = src_of[from[r]];
    s.rows = rows;
}

std::vector<float> dense_teacher_forced_logits(const DenseModel &m, const Batch &b) {
    DecodeState st(m, b.B, b.S, b.T);
    dense_encode(st, m, b.src, b.B, b.S);
    const int64_t V = m.vocab();
    std::vector<float> out(static_cast<size_t>(b.B * b.T * V));
    std::vector<int32_t> tok(static_cast<size_t>(b.B));
    for (int64_t t = 0; t < b.T; t++) {
        for (int64_t r = 0; r < b.B; r++) tok[r] = b.tgt_in[r * b.T + t];
        const float *lg = dense_step(st, m, tok.data());
        for (int64_t r = 0; r < b.B; r++)
            std::memcpy(out.data() + (r * b.T + t) * V, lg + r * V, V * sizeof(float));
    }
    return out;
}

LossStats dense_teacher_forced_loss(const DenseModel &m, const Batch &b, float label_smoothing) {
    LossStats r;
    if (b.B == 0 || b.T == 0) return r;
    DecodeState st(m, b.B, b.S, b.T);
    dense_encode(st, m, b.src, b.B, b.S);
    const int64_t V = m.vocab();
    std::vector<int32_t> tok(static_cast<size_t>(b.B)), tgt(static_cast<size_t>(b.B));
    std::vector<float> lse(static_cast<size_t>(b.B)), row(static_cast<size_t>(b.B));
    for (int64_t t = 0; t < b.T; t++) {
        for (int64_t i = 0; i < b.B; i++) {
            tok[i] = b.tgt_in[i * b.T + t];
            tgt[i] = b.tgt_out[i * b.T + t];
        }
        const float *lg = dense_step(st, m, tok.data());
        const CrossEntropyResult ce =
            cross_entropy_forward(lse.data(), row.data(), nullptr, lg, tgt.data(), b.B, V, m.pad_id(), label_smoothing);
        r.loss_sum += ce.loss;
        r.nll_sum += ce.nll;
        r.tokens += ce.tokens;
    }
    return r;
}

}  // namespace mos
