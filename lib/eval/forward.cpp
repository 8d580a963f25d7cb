// lib/eval/forward.cpp: the inference-only forward of a routed subnet for its
// validation loss (see forward.hpp). The data flow is the supernet's
// (lib/model/supernet.cpp) with dropout off, on the dense model's contiguous
// weights:
//   encoder layer:  x1 = LN(x + Attn(x));  out = LN(x1 + FFN(x1))
//   decoder layer:  y1 = LN(y + CausalAttn(y));  y2 = LN(y1 + Cross(y1, mem));
//                   out = LN(y2 + FFN(y2)),  mem = last k encoder outputs along time
//   loss:           label-smoothed cross-entropy of y_last E^T, in row blocks.
#include "eval/forward.hpp"

#include <algorithm>
#include <cstring>

#include "backend/gemm.hpp"
#include "core/error.hpp"
#include "kernels/activation.hpp"
#include "kernels/attention.hpp"
#include "kernels/common.hpp"
#include "kernels/cross_entropy.hpp"
#include "kernels/embedding.hpp"
#include "kernels/layernorm.hpp"

namespace mos {

const char *eval_precision_name(EvalPrecision p) { return p == EvalPrecision::BF16 ? "bf16" : "f32"; }

EvalPrecision effective_precision(EvalPrecision p) {
    return p == EvalPrecision::BF16 && bf16_active(default_backend()) ? EvalPrecision::BF16 : EvalPrecision::F32;
}

int64_t eval_output_rows(int64_t vocab) {
    const int64_t target = int64_t{4} << 20;  // logits per block
    return std::max<int64_t>(64, target / std::max<int64_t>(vocab, 1));
}

struct EvalWorkspace::Buffers {
    std::vector<float> enc_out;              // [Le, Ns, de]
    std::vector<float> x1, r, a, y, y1;      // [N, d] streams, residual sums, block outputs
    std::vector<float> q, k, v, o, P, h;     // attention and FFN inner buffers
    std::vector<float> mean, rstd, pos;      // LayerNorm statistics, positions
    std::vector<float> mem;                  // [B, k*S, de]
    std::vector<uint8_t> src_mask, mem_mask; // [B, S], [B, k*S]
    std::vector<float> rows, logits, lse, row_loss;  // output blocks
    std::vector<int32_t> targets;
};

EvalWorkspace::~EvalWorkspace() { delete b_; }

EvalWorkspace::Buffers &EvalWorkspace::buffers() {
    if (!b_) b_ = new Buffers;
    return *b_;
}

size_t EvalWorkspace::bytes() const {
    if (!b_) return 0;
    size_t n = 0;
    for (const std::vector<float> *v : {&b_->enc_out, &b_->x1, &b_->r, &b_->a, &b_->y, &b_->y1, &b_->q, &b_->k, &b_->v,
                                        &b_->o, &b_->P, &b_->h, &b_->mean, &b_->rstd, &b_->pos, &b_->mem, &b_->rows,
                                        &b_->logits, &b_->lse, &b_->row_loss})
        n += v->capacity() * sizeof(float);
    return n + b_->src_mask.capacity() + b_->mem_mask.capacity() + b_->targets.capacity() * sizeof(int32_t);
}

namespace {

template <typename T>
T *grow(std::vector<T> &v, int64_t n) {
    if (static_cast<int64_t>(v.size()) < n) v.resize(static_cast<size_t>(n));
    return v.data();
}

// y[N, d_out] = x[N, d_in] W[d_out, d_in]^T + b, W dense with row length ld_w.
void lin(float *y, const float *x, const float *W, const float *b, int64_t N, int64_t d_in, int64_t d_out,
         int64_t ld_w, GemmType type) {
    if (b) {
#pragma omp parallel for if (N * d_out > kern::kOmpMinWork) schedule(static)
        for (int64_t n = 0; n < N; n++) std::memcpy(y + n * d_out, b, static_cast<size_t>(d_out) * sizeof(float));
    }
    Gemm g = make_gemm(false, true, N, d_out, d_in, d_in, ld_w, d_out, 1.0f, b ? 1.0f : 0.0f);
    g.type = type;
    gemm(g, x, W, y);
}

struct Ctx {
    const DenseModel &m;
    EvalWorkspace::Buffers &w;
    GemmType type;
    int64_t Q;
    const float *P(size_t offset) const { return m.data_at(offset); }
};

// out[Nq, dq] = the attention block's projected output for queries xq [B*Tq, dq]
// over keys/values from xkv [B*Skv, dkv].
void attention_block(const Ctx &c, const AttentionTensors &t, float *out, const float *xq, int64_t dq,
                     const float *xkv, int64_t dkv, int64_t B, int64_t Tq, int64_t Skv, int64_t heads, bool causal,
                     const uint8_t *kmask) {
    const int64_t Q = c.Q, Nq = B * Tq, Nkv = B * Skv;
    float *q = grow(c.w.q, Nq * Q), *k = grow(c.w.k, Nkv * Q), *v = grow(c.w.v, Nkv * Q);
    float *o = grow(c.w.o, Nq * Q), *P = grow(c.w.P, B * heads * Tq * Skv);
    lin(q, xq, c.P(t.q_w), c.P(t.q_b), Nq, dq, Q, dq, c.type);
    lin(k, xkv, c.P(t.k_w), c.P(t.k_b), Nkv, dkv, Q, dkv, c.type);
    lin(v, xkv, c.P(t.v_w), c.P(t.v_b), Nkv, dkv, Q, dkv, c.type);
    attention_forward(o, P, q, k, v, kmask, AttentionShape{B, Tq, Skv, Q, heads, causal}, 0.0f, 0, 0);
    lin(out, o, c.P(t.out_w), c.P(t.out_b), Nq, Q, dq, Q, c.type);
}

// out[N, d] = FFN(x) = ReLU(x W1^T + b1) W2^T + b2.
void ffn_block(const Ctx &c, const FfnTensors &t, float *out, const float *x, int64_t N, int64_t d, int64_t F) {
    float *h = grow(c.w.h, N * F);
    lin(h, x, c.P(t.fc1_w), c.P(t.fc1_b), N, d, F, d, c.type);
    relu_forward(h, h, N * F);
    lin(out, h, c.P(t.fc2_w), c.P(t.fc2_b), N, F, d, F, c.type);
}

// y = LN(x + a) through the residual buffer.
void add_norm(const Ctx &c, const LayerNormTensors &t, float *y, const float *x, const float *a, int64_t N,
              int64_t d) {
    float *r = grow(c.w.r, N * d);
    residual_forward(r, x, a, N * d);
    layernorm_forward(y, grow(c.w.mean, N), grow(c.w.rstd, N), r, c.P(t.w), c.P(t.b), N, d);
}

}  // namespace

LossStats eval_forward(const DenseModel &m, EvalWorkspace &ws, const Batch &b, float eps, EvalPrecision p) {
    check(b.B > 0 && b.S > 0 && b.T > 0, MOS_INVALID_ARGUMENT, "empty batch (B=", b.B, " S=", b.S, " T=", b.T, ")");
    check(b.src && b.tgt_in && b.tgt_out, MOS_INVALID_ARGUMENT, "batch token pointers are NULL");
    check(eps >= 0.0f && eps < 1.0f, MOS_INVALID_ARGUMENT, "label smoothing ", eps, " not in [0, 1)");
    const int64_t V = m.vocab();
    for (int64_t i = 0; i < b.B * b.S; i++)
        check(b.src[i] >= 0 && b.src[i] < V, MOS_OUT_OF_RANGE, "source token ", b.src[i], " at ", i,
              " outside the vocabulary of ", V);
    for (int64_t i = 0; i < b.B * b.T; i++)
        check(b.tgt_in[i] >= 0 && b.tgt_in[i] < V && b.tgt_out[i] >= 0 && b.tgt_out[i] < V, MOS_OUT_OF_RANGE,
              "target token at ", i, " outside the vocabulary of ", V);

    const ArchDims &a = m.arch();
    EvalWorkspace::Buffers &w = ws.buffers();
    const Ctx c{m, w, effective_precision(p) == EvalPrecision::BF16 ? GemmType::BF16 : GemmType::F32, m.qkv()};
    const int64_t B = b.B, S = b.S, T = b.T, Ns = B * S, Nt = B * T;
    const int64_t de = a.enc_embed, dd = a.dec_embed, ldE = m.embed_cols();
    const int32_t pad = m.pad_id();
    const ModelTensors &mt = m.tensors();
    const float *E = m.data_at(mt.embed);
    const int64_t Le = static_cast<int64_t>(a.enc.size());

    // Encoder: layer l reads the previous output (the embedding for l = 0, in
    // x1) and writes enc_out[l].
    uint8_t *src_mask = grow(w.src_mask, Ns);
    for (int64_t i = 0; i < Ns; i++) src_mask[i] = b.src[i] == pad;
    float *pos = grow(w.pos, std::max(S, T) * std::max(de, dd));
    float *enc_out = grow(w.enc_out, Le * Ns * de);
    float *x1 = grow(w.x1, Ns * de);
    float *blk = grow(w.a, std::max(Ns * de, Nt * dd));
    sinusoid_positions(pos, 0, S, de);
    embedding_forward(x1, b.src, E, pos, B, S, de, ldE, V, pad);
    for (int64_t l = 0; l < Le; l++) {
        const EncoderLayerTensors &t = mt.enc[l];
        const float *in = l == 0 ? x1 : enc_out + (l - 1) * Ns * de;
        float *out = enc_out + l * Ns * de;
        attention_block(c, t.self_attn, blk, in, de, in, de, B, S, S, a.enc[l].self_heads, false, src_mask);
        add_norm(c, t.self_attn_ln, x1, in, blk, Ns, de);  // `in` is no longer read after this
        ffn_block(c, t.ffn, blk, x1, Ns, de, a.enc[l].ffn);
        add_norm(c, t.ffn_ln, out, x1, blk, Ns, de);
    }

    // Decoder: y holds the stream, y1 the block between self- and cross-attention.
    float *y = grow(w.y, Nt * dd), *y1 = grow(w.y1, Nt * dd);
    sinusoid_positions(pos, 0, T, dd);
    embedding_forward(y, b.tgt_in, E, pos, B, T, dd, ldE, V, pad);
    for (size_t l = 0; l < a.dec.size(); l++) {
        const DecoderLayerTensors &t = mt.dec[l];
        const LayerDims &L = a.dec[l];
        // The right-padded target needs no key mask under the causal one: a real
        // query never sees a later (pad) key.
        attention_block(c, t.self_attn, blk, y, dd, y, dd, B, T, T, L.self_heads, true, nullptr);
        add_norm(c, t.self_attn_ln, y1, y, blk, Nt, dd);
        // mem[b, j*S + s] = enc_out[Le - k + j][b, s].
        const int64_t k = L.cross_layers, kS = k * S;
        float *mem = grow(w.mem, B * kS * de);
        uint8_t *mem_mask = grow(w.mem_mask, B * kS);
        for (int64_t bi = 0; bi < B; bi++)
            for (int64_t j = 0; j < k; j++) {
                std::memcpy(mem + (bi * kS + j * S) * de, enc_out + (Le - k + j) * Ns * de + bi * S * de,
                            static_cast<size_t>(S * de) * sizeof(float));
                std::memcpy(mem_mask + bi * kS + j * S, src_mask + bi * S, static_cast<size_t>(S));
            }
        attention_block(c, t.cross_attn, blk, y1, dd, mem, de, B, T, kS, L.cross_heads, false, mem_mask);
        add_norm(c, t.cross_attn_ln, y, y1, blk, Nt, dd);
        ffn_block(c, t.ffn, blk, y, Nt, dd, L.ffn);
        add_norm(c, t.ffn_ln, y, y, blk, Nt, dd);  // the residual buffer holds y + f before y is written
    }

    // Tied output projection and loss over the non-pad target rows, in blocks.
    const int64_t R = eval_output_rows(V);
    float *rows = grow(w.rows, std::min(R, Nt) * dd);
    float *logits = grow(w.logits, std::min(R, Nt) * V);
    float *lse = grow(w.lse, std::min(R, Nt)), *row_loss = grow(w.row_loss, std::min(R, Nt));
    int32_t *targets = grow(w.targets, std::min(R, Nt));
    LossStats out;
    int64_t n = 0;
    auto flush = [&] {
        if (n == 0) return;
        lin(logits, rows, E, nullptr, n, dd, V, ldE, c.type);
        const CrossEntropyResult ce = cross_entropy_forward(lse, row_loss, nullptr, logits, targets, n, V, pad, eps);
        out.loss_sum += ce.loss;
        out.nll_sum += ce.nll;
        out.tokens += ce.tokens;
        n = 0;
    };
    for (int64_t i = 0; i < Nt; i++) {
        if (b.tgt_out[i] == pad) continue;
        std::memcpy(rows + n * dd, y + i * dd, static_cast<size_t>(dd) * sizeof(float));
        targets[n++] = b.tgt_out[i];
        if (n == std::min(R, Nt)) flush();
    }
    flush();
    return out;
}

}  // namespace mos
