// lib/model/supernet.cpp: forward and backward of a subnet of the MoS supernet
// (docs/supernet.md), built from the layer kernels.
//
// Data flow per encoder layer (N = B*S tokens, d = active embed, Q = qkv width,
// F = active FFN dim; all activations come from the workspace arena):
//   q,k,v = x Wq/k/v[:Q,:d]^T + b          [N, Q]
//   o     = Attention(q, k, v)             [N, Q]   (P [B, h, S, S] saved)
//   a     = o Wo[:d,:Q]^T + bo; dropout    [N, d]
//   x1    = LN(x + a)                       [N, d]
//   h     = ReLU(x1 W1mix^T + b1mix)        [N, F]   (W1mix = router mix of experts)
//   f     = h W2mix^T + b2mix; dropout      [N, d]
//   x2    = LN(x1 + f)                      [N, d]
// The decoder adds causal self-attention and cross-attention over the
// concatenation (along time) of the last k encoder outputs. Logits use the
// tied embedding. Backward runs the same steps in reverse, accumulating into
// the gradient arena.
#include "model/supernet.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <exception>
#include <functional>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "kernels/activation.hpp"
#include "kernels/attention.hpp"
#include "kernels/cross_entropy.hpp"
#include "kernels/dropout.hpp"
#include "kernels/embedding.hpp"
#include "kernels/layernorm.hpp"
#include "backend/profile.hpp"
#include "kernels/linear.hpp"
#include "kernels/memory.hpp"
#include "kernels/mos_linear.hpp"
#include "model/arch.hpp"
#include "model/space.hpp"

namespace mos {

namespace {
// Dropout sites get distinct RNG streams: site = layer * 16 + slot.
enum DropSlot : uint64_t {
    kDropEmbed = 0, kDropSelf = 1, kDropCross = 2, kDropFfn = 3,
    kDropSelfP = 4, kDropCrossP = 5,
};
uint64_t site(bool decoder, int64_t layer, DropSlot slot) {
    return (decoder ? 1000u : 0u) + static_cast<uint64_t>(layer + 1) * 16u + slot;
}
}  // namespace

// ---------------------------------------------------------------------------
// Saved activations

// An attention block's weight operands as its products read them: bf16
// copies of the projections' active slices (NULL unless bf16 is on). A
// forward makes its own or takes them from SharedWeights.
struct AttnWeights {
    uint16_t *wq16 = nullptr, *wk16 = nullptr, *wv16 = nullptr;  // [Q, d_q], [Q, d_kv] x2
    uint16_t *wo16 = nullptr;                                    // [d_q, Q]
};

struct AttnAct : AttnWeights {
    float *q = nullptr, *k = nullptr, *v = nullptr;  // [N_q, Q], [N_kv, Q] x2
    float *o = nullptr;                              // [N_q, Q]
    float *P = nullptr;                              // [B, h, T_q, S_kv]
    float *a = nullptr;                              // [N_q, d] projected output (after dropout)
    int64_t heads = 0, Tq = 0, Skv = 0;
    // bf16 copies (only where Workspace::State::bf16 is on, else NULL), made in
    // the forward and reused by the backward: the inputs (xkv16 = xq16 for
    // self-attention) and o.
    uint16_t *xq16 = nullptr, *xkv16 = nullptr, *o16 = nullptr;  // [N_q, d_q], [N_kv, d_kv], [N_q, Q]
};

// An FFN's weights as its products read them: the routers' outputs, the mixed
// matrices and their bf16 copies (NULL unless bf16 is on). A forward makes its
// own or takes them from SharedWeights.
struct FfnWeights {
    float *alpha1 = nullptr, *alpha2 = nullptr;   // layer: alpha1 = alpha2 [m]; neuron: [F, m], [d, m]
    float *hid1 = nullptr, *hid2 = nullptr;       // router hidden [H]
    float *W1 = nullptr, *b1 = nullptr;           // mixed [F, d], [F]
    float *W2 = nullptr, *b2 = nullptr;           // mixed [d, F], [d]
    uint16_t *W1_16 = nullptr, *W2_16 = nullptr;  // [F, d], [d, F]
};

struct FfnAct : FfnWeights {
    float *h = nullptr;                           // ReLU(fc1) [N, F]
    float *f = nullptr;                           // fc2 output after dropout [N, d]
    int64_t F = 0;
    // bf16 copies (NULL unless bf16 is on): fc1's input and fc2's input ReLU(fc1).
    uint16_t *x16 = nullptr, *h16 = nullptr;      // [N, d], [N, F]
};

struct LnAct {
    float *x = nullptr;     // LN input (residual sum) [N, d]
    float *y = nullptr;     // LN output [N, d]
    float *mean = nullptr;  // [N]
    float *rstd = nullptr;  // [N]
};

struct EncLayerAct {
    float *in = nullptr;  // layer input [N, d] (previous layer's output)
    AttnAct self;
    LnAct ln1;
    FfnAct ffn;
    LnAct ln2;  // ln2.y = layer output
};

struct DecLayerAct {
    float *in = nullptr;
    AttnAct self;
    LnAct ln1;
    float *mem = nullptr;        // concatenated encoder outputs [B, k*S, de]
    uint8_t *mem_mask = nullptr; // [B, k*S], 1 = padding
    AttnAct cross;
    LnAct ln2;
    FfnAct ffn;
    LnAct ln3;
};

// Sinusoidal positions of one (length, width), kept across forwards: they
// depend on nothing else, and recomputing T*d sines and cosines per forward
// is serial work.
struct PositionCache {
    std::vector<float> table;
    int64_t T = -1, d = -1;
    const float *get(int64_t T_, int64_t d_) {
        if (T_ != T || d_ != d) {
            table.resize(static_cast<size_t>(T_ * d_));
            sinusoid_positions(table.data(), 0, T_, d_);
            T = T_;
            d = d_;
        }
        return table.data();
    }
};

struct Workspace::State {
    bool valid = false;
    bool train = false;
    uint64_t seed = 0;
    GemmType mm = GemmType::F32;    // precision of the last forward's products
    PositionCache src_positions, tgt_positions;
    ArchDims arch;
    Batch batch;
    uint8_t *src_mask = nullptr;    // [B, S], 1 = padding
    const float *pos_src = nullptr; // [S, de] sinusoidal positions (src_positions)
    const float *pos_tgt = nullptr; // [T, dd] (tgt_positions)
    uint8_t *tgt_nomask = nullptr;  // [B, T], all 0 (causal mask handles the future)
    float *enc_emb = nullptr;       // [Ns, de]
    float *dec_emb = nullptr;       // [Nt, dd]
    std::vector<EncLayerAct> enc;
    std::vector<DecLayerAct> dec;
    float *logits = nullptr;        // [Nt, V]
    float *lse = nullptr;           // [Nt] log-sum-exp of each logits row
    float *row_loss = nullptr;      // [Nt] smoothed loss of each target token
    const float *teacher = nullptr; // [Nt, V] distillation targets of the last forward, or NULL
    uint16_t *y16 = nullptr;        // bf16 copies of the output projection's input [Nt, dd]
    uint16_t *E16 = nullptr;        // and of its weight, the embedding's slice [V, dd]
    uint16_t *dlogits16 = nullptr;  // the logits gradient's copy [Nt, V], written by the loss
    LossStats loss;
    const SharedWeights::State *shared = nullptr;  // the weights the last forward read, or NULL (its own)
    size_t forward_mark = 0;
    // bf16 copies of the products' operands (docs/training.md), in their own
    // arena made at the first forward that wants them: an f32 workspace
    // never holds them.
    bool bf16 = false;              // the last forward made copies
    size_t bf16_floats = 0;         // the arena's size for the largest arch and batch
    Arena bf16_arena;
    uint64_t shared_generation = 0; // of `shared` when the forward read it
};

// The weights of one prepared subnet (see supernet.hpp): of the AttnAct /
// FfnAct records, only their AttnWeights / FfnWeights parts (and FfnAct::F).
struct SharedWeights::State {
    const Supernet *net = nullptr;
    bool valid = false;
    uint64_t generation = 0;  // counts prepare() calls: a backward checks its forward's
    bool bf16 = false;
    ArchDims arch;
    std::vector<AttnAct> enc_self, dec_self, dec_cross;  // the weights' bf16 copies
    std::vector<FfnAct> enc_ffn, dec_ffn;                // router outputs, mixed weights, bf16 copies
    uint16_t *E16 = nullptr;                             // the embedding's slice [V, dd] in bf16
    // Where each FFN's gradient block (mixed_block) sits in a team's buffer.
    std::vector<size_t> enc_mixed, dec_mixed;
    size_t mixed_used = 0;    // floats of those blocks for this arch
    size_t mixed_max = 0;     // for the largest arch
    size_t bf16_floats = 0;   // arena16's size for the largest arch
    Arena arena, arena16;     // f32 and bf16 weights
    Arena scratch;            // mix_backward's, one layer at a time
};

// ---------------------------------------------------------------------------
// Supernet

Supernet::Supernet(const SupernetConfig &cfg) : cfg_(cfg) {
    const SuperDims &d = cfg.dims;
    check(cfg.vocab > 3, MOS_INVALID_ARGUMENT, "vocabulary size ", cfg.vocab, " is too small");
    check(d.enc_embed > 0 && d.dec_embed > 0 && d.qkv > 0 && d.enc_ffn > 0 && d.dec_ffn > 0 && d.enc_layers > 0 &&
              d.dec_layers > 0 && d.max_heads > 0 && d.max_cross_layers > 0,
          MOS_INVALID_ARGUMENT, "supernet super sizes must be positive");
    check(cfg.experts >= 1 && cfg.experts <= 64, MOS_INVALID_ARGUMENT, "experts = ", cfg.experts,
          "; allowed 1..64");
    check(cfg.routing != Routing::None || cfg.experts == 1, MOS_INVALID_ARGUMENT,
          "routing none is weight sharing and needs experts = 1, got ", cfg.experts);
    check(cfg.router_hidden >= 1 && cfg.router_hidden <= 4096, MOS_INVALID_ARGUMENT,
          "router hidden size ", cfg.router_hidden, "; allowed 1..4096");
    check(cfg.dropout >= 0.0f && cfg.dropout < 1.0f, MOS_INVALID_ARGUMENT, "dropout ", cfg.dropout,
          " not in [0, 1)");
    check(cfg.attn_dropout >= 0.0f && cfg.attn_dropout < 1.0f, MOS_INVALID_ARGUMENT,
          "attention dropout ", cfg.attn_dropout, " not in [0, 1)");
    check(cfg.label_smoothing >= 0.0f && cfg.label_smoothing < 1.0f, MOS_INVALID_ARGUMENT,
          "label smoothing ", cfg.label_smoothing, " not in [0, 1)");
    check(cfg.pad_id >= 0 && cfg.pad_id < cfg.vocab, MOS_INVALID_ARGUMENT, "pad id ", cfg.pad_id,
          " outside the vocabulary");
    table_ = ParamTable(d, cfg.vocab, cfg.routing, cfg.experts, cfg.router_hidden);
    params_ = Arena("parameters", table_.total_floats());
    params_.alloc_zero(table_.total_floats());
    init_weights();
}

float *Supernet::grad_data() {
    if (grads_.capacity() == 0) {
        grads_ = Arena("gradients", table_.total_floats());
        // First touched by the threads that zero and update it (zero_grad).
        zero_floats(grads_.alloc(table_.total_floats()), static_cast<int64_t>(table_.total_floats()));
    }
    return grads_.base();
}

// Parallel, in the same static split as Adam's loop over the same arena, so
// the pages each thread zeroes are the ones it updates (docs/benchmarks.md).
void Supernet::zero_grad() { zero_floats(grad_data(), static_cast<int64_t>(table_.total_floats())); }

namespace {
bool ends_with(const std::string &s, const char *suffix) {
    const size_t n = std::strlen(suffix);
    return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}
}  // namespace

void Supernet::init_weights() {
    // One stream over every tensor in table order (lib/core/rng.hpp).
    Rng rng(cfg_.seed * 0x2545F4914F6CDD1Dull + 17);
    for (const ParamInfo &p : table_.all()) {
        float *w = params_.base() + p.offset;
        if (p.name == "embed.weight") {
            // fairseq: N(0, D^-1/2), padding row zero.
            const double sd = 1.0 / std::sqrt(static_cast<double>(p.shape[1]));
            for (size_t i = 0; i < p.numel; i++) w[i] = static_cast<float>(rng.normal() * sd);
            std::memset(w + cfg_.pad_id * p.shape[1], 0, p.shape[1] * sizeof(float));
        } else if (ends_with(p.name, "_ln.weight")) {
            for (size_t i = 0; i < p.numel; i++) w[i] = 1.0f;
        } else if (p.shape.size() >= 2) {
            // Xavier uniform over the (super) fan-in and fan-out of one matrix.
            const int64_t fan_out = p.shape[p.shape.size() - 2], fan_in = p.shape.back();
            const double a = std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
            for (size_t i = 0; i < p.numel; i++) w[i] = static_cast<float>((2.0 * rng.uniform() - 1.0) * a);
        } else {
            std::memset(w, 0, p.numel * sizeof(float));
        }
    }
}

void Supernet::check_arch(const ArchDims &a) const {
    const SuperDims &d = cfg_.dims;
    check(a.enc_embed >= 2 && a.enc_embed <= d.enc_embed, MOS_OUT_OF_RANGE, "encoder embed dim ",
          a.enc_embed, " outside 2..", d.enc_embed);
    check(a.dec_embed >= 2 && a.dec_embed <= d.dec_embed, MOS_OUT_OF_RANGE, "decoder embed dim ",
          a.dec_embed, " outside 2..", d.dec_embed);
    check(!a.enc.empty() && static_cast<int64_t>(a.enc.size()) <= d.enc_layers, MOS_OUT_OF_RANGE,
          "encoder layers ", a.enc.size(), " outside 1..", d.enc_layers);
    check(!a.dec.empty() && static_cast<int64_t>(a.dec.size()) <= d.dec_layers, MOS_OUT_OF_RANGE,
          "decoder layers ", a.dec.size(), " outside 1..", d.dec_layers);
    auto heads_ok = [&](int64_t h) { return h >= 1 && h <= d.max_heads && d.qkv % h == 0; };
    for (size_t l = 0; l < a.enc.size(); l++) {
        check(a.enc[l].ffn >= 1 && a.enc[l].ffn <= d.enc_ffn, MOS_OUT_OF_RANGE, "encoder layer ", l,
              " ffn dim ", a.enc[l].ffn, " outside 1..", d.enc_ffn);
        check(heads_ok(a.enc[l].self_heads), MOS_OUT_OF_RANGE, "encoder layer ", l, " heads ",
              a.enc[l].self_heads, " must divide ", d.qkv, " and be at most ", d.max_heads);
    }
    for (size_t l = 0; l < a.dec.size(); l++) {
        const LayerDims &x = a.dec[l];
        check(x.ffn >= 1 && x.ffn <= d.dec_ffn, MOS_OUT_OF_RANGE, "decoder layer ", l, " ffn dim ", x.ffn,
              " outside 1..", d.dec_ffn);
        check(heads_ok(x.self_heads), MOS_OUT_OF_RANGE, "decoder layer ", l, " self heads ",
              x.self_heads, " must divide ", d.qkv, " and be at most ", d.max_heads);
        check(heads_ok(x.cross_heads), MOS_OUT_OF_RANGE, "decoder layer ", l, " cross heads ",
              x.cross_heads, " must divide ", d.qkv, " and be at most ", d.max_heads);
        check(x.cross_layers >= 1 && x.cross_layers <= static_cast<int64_t>(a.enc.size()),
              MOS_OUT_OF_RANGE, "decoder layer ", l, " cross layers ", x.cross_layers,
              " outside 1..", a.enc.size(), " (the encoder layers of this arch)");
    }
}

// ---------------------------------------------------------------------------
// Workspace

namespace {

// Allocation of every activation of one forward, used both to size the arena
// (on a counting pass with the largest arch and batch) and for real.
struct Alloc {
    Arena *arena;
    bool counting;
    size_t count = 0;
    float *f(size_t n) {
        if (counting) {
            count += (n + 15) / 16 * 16;
            return nullptr;
        }
        return arena->alloc(n);
    }
    uint8_t *u8(size_t n) { return reinterpret_cast<uint8_t *>(f((n + 3) / 4)); }
    uint16_t *h(size_t n) { return reinterpret_cast<uint16_t *>(f((n + 1) / 2)); }
};

// bf16 copies, when h16 is not NULL (a second Alloc over the bf16 arena).
uint16_t *maybe16(Alloc *h16, int64_t n) { return h16 ? h16->h(static_cast<size_t>(n)) : nullptr; }

void alloc_attn(Alloc &al, Alloc *h16, AttnAct &s, int64_t B, int64_t Tq, int64_t Skv, int64_t Q, int64_t heads,
                int64_t d, int64_t d_kv, bool self) {
    s.heads = heads;
    s.Tq = Tq;
    s.Skv = Skv;
    s.q = al.f(B * Tq * Q);
    s.k = al.f(B * Skv * Q);
    s.v = al.f(B * Skv * Q);
    s.o = al.f(B * Tq * Q);
    s.P = al.f(B * heads * Tq * Skv);
    s.a = al.f(B * Tq * d);
    s.xq16 = maybe16(h16, B * Tq * d);
    s.xkv16 = self ? s.xq16 : maybe16(h16, B * Skv * d_kv);
    s.o16 = maybe16(h16, B * Tq * Q);
}

// The weight operands' bf16 copies of one attention block.
void alloc_attn_weights(Alloc *h16, AttnAct &s, int64_t Q, int64_t d, int64_t d_kv) {
    s.wq16 = maybe16(h16, Q * d);
    s.wk16 = maybe16(h16, Q * d_kv);
    s.wv16 = maybe16(h16, Q * d_kv);
    s.wo16 = maybe16(h16, d * Q);
}

void alloc_ln(Alloc &al, LnAct &s, int64_t N, int64_t d) {
    s.x = al.f(N * d);
    s.y = al.f(N * d);
    s.mean = al.f(N);
    s.rstd = al.f(N);
}

// The FFN's weights as a forward uses them: router outputs, mixed matrices
// and their bf16 copies.
void alloc_ffn_weights(Alloc &al, Alloc *h16, FfnAct &s, const SupernetConfig &cfg, int64_t d, int64_t F) {
    const int64_t m = cfg.experts, H = cfg.router_hidden;
    s.F = F;
    if (cfg.routing == Routing::Neuron) {
        s.alpha1 = al.f(F * m);
        s.alpha2 = al.f(d * m);
        s.hid1 = al.f(H);
        s.hid2 = al.f(H);
    } else {
        s.alpha1 = al.f(m);
        s.alpha2 = s.alpha1;
        s.hid1 = al.f(H);
        s.hid2 = s.hid1;
    }
    s.W1 = al.f(F * d);
    s.b1 = al.f(F);
    s.W2 = al.f(d * F);
    s.b2 = al.f(d);
    s.W1_16 = maybe16(h16, F * d);
    s.W2_16 = maybe16(h16, d * F);
}

// The FFN's activations; its weights from `shared` when given, else allocated.
void alloc_ffn(Alloc &al, Alloc *h16, FfnAct &s, const SupernetConfig &cfg, int64_t N, int64_t d, int64_t F,
               const FfnAct *shared) {
    if (shared)
        static_cast<FfnWeights &>(s) = *shared;
    else
        alloc_ffn_weights(al, h16, s, cfg, d, F);
    s.F = F;
    s.h = al.f(N * F);
    s.f = al.f(N * d);
    s.x16 = maybe16(h16, N * d);
    s.h16 = maybe16(h16, N * F);
}

// Floats of one FFN's gradient block: d(W1) [F, d], d(b1) [F], d(W2) [d, F], d(b2) [d].
int64_t mixed_block(int64_t d, int64_t F) { return 2 * F * d + F + d; }

// The weights of subnet a as its forwards use them (SharedWeights::State).
void plan_weights(Alloc &al, Alloc *h16, SharedWeights::State &sw, const SupernetConfig &cfg, const ArchDims &a) {
    const int64_t Q = cfg.dims.qkv, de = a.enc_embed, dd = a.dec_embed;
    sw.enc_self.assign(a.enc.size(), AttnAct{});
    sw.enc_ffn.assign(a.enc.size(), FfnAct{});
    sw.enc_mixed.assign(a.enc.size(), 0);
    sw.dec_self.assign(a.dec.size(), AttnAct{});
    sw.dec_cross.assign(a.dec.size(), AttnAct{});
    sw.dec_ffn.assign(a.dec.size(), FfnAct{});
    sw.dec_mixed.assign(a.dec.size(), 0);
    size_t off = 0;
    auto block = [&off](int64_t d, int64_t F) {
        const size_t at = off;
        off += (static_cast<size_t>(mixed_block(d, F)) + 15) / 16 * 16;
        return at;
    };
    for (size_t l = 0; l < a.enc.size(); l++) {
        alloc_attn_weights(h16, sw.enc_self[l], Q, de, de);
        alloc_ffn_weights(al, h16, sw.enc_ffn[l], cfg, de, a.enc[l].ffn);
        sw.enc_mixed[l] = block(de, a.enc[l].ffn);
    }
    for (size_t l = 0; l < a.dec.size(); l++) {
        alloc_attn_weights(h16, sw.dec_self[l], Q, dd, dd);
        alloc_attn_weights(h16, sw.dec_cross[l], Q, dd, de);
        alloc_ffn_weights(al, h16, sw.dec_ffn[l], cfg, dd, a.dec[l].ffn);
        sw.dec_mixed[l] = block(dd, a.dec[l].ffn);
    }
    sw.E16 = maybe16(h16, cfg.vocab * dd);
    sw.mixed_used = off;
}

// h16: where the bf16 copies go, or NULL for none. sh: the shared weights the
// forward reads (then only activations are allocated), or NULL.
void plan(Alloc &al, Alloc *h16, Workspace::State &st, const SupernetConfig &cfg, const ArchDims &a, int64_t B,
          int64_t S, int64_t T, const SharedWeights::State *sh) {
    const int64_t Ns = B * S, Nt = B * T, Q = cfg.dims.qkv;
    const int64_t de = a.enc_embed, dd = a.dec_embed;
    st.src_mask = al.u8(Ns);
    st.tgt_nomask = al.u8(Nt);
    st.enc_emb = al.f(Ns * de);
    st.enc.assign(a.enc.size(), EncLayerAct{});
    for (size_t l = 0; l < a.enc.size(); l++) {
        EncLayerAct &L = st.enc[l];
        alloc_attn(al, h16, L.self, B, S, S, Q, a.enc[l].self_heads, de, de, true);
        if (sh)
            static_cast<AttnWeights &>(L.self) = sh->enc_self[l];
        else
            alloc_attn_weights(h16, L.self, Q, de, de);
        alloc_ln(al, L.ln1, Ns, de);
        alloc_ffn(al, h16, L.ffn, cfg, Ns, de, a.enc[l].ffn, sh ? &sh->enc_ffn[l] : nullptr);
        alloc_ln(al, L.ln2, Ns, de);
    }
    st.dec_emb = al.f(Nt * dd);
    st.dec.assign(a.dec.size(), DecLayerAct{});
    for (size_t l = 0; l < a.dec.size(); l++) {
        DecLayerAct &L = st.dec[l];
        const int64_t kS = a.dec[l].cross_layers * S;
        alloc_attn(al, h16, L.self, B, T, T, Q, a.dec[l].self_heads, dd, dd, true);
        alloc_ln(al, L.ln1, Nt, dd);
        L.mem = al.f(B * kS * de);
        L.mem_mask = al.u8(B * kS);
        alloc_attn(al, h16, L.cross, B, T, kS, Q, a.dec[l].cross_heads, dd, de, false);
        if (sh) {
            static_cast<AttnWeights &>(L.self) = sh->dec_self[l];
            static_cast<AttnWeights &>(L.cross) = sh->dec_cross[l];
        } else {
            alloc_attn_weights(h16, L.self, Q, dd, dd);
            alloc_attn_weights(h16, L.cross, Q, dd, de);
        }
        alloc_ln(al, L.ln2, Nt, dd);
        alloc_ffn(al, h16, L.ffn, cfg, Nt, dd, a.dec[l].ffn, sh ? &sh->dec_ffn[l] : nullptr);
        alloc_ln(al, L.ln3, Nt, dd);
    }
    st.logits = al.f(Nt * cfg.vocab);
    st.lse = al.f(Nt);
    st.row_loss = al.f(Nt);
    st.y16 = maybe16(h16, Nt * dd);
    st.E16 = sh ? sh->E16 : maybe16(h16, cfg.vocab * dd);
    st.dlogits16 = maybe16(h16, Nt * cfg.vocab);
}

// Scratch of backward: activation gradients of the widest tensors plus kernel
// scratch, allocated after the forward's saved activations.
size_t backward_scratch_floats(const SupernetConfig &cfg, int64_t Ns, int64_t Nt, int64_t max_len) {
    // A generous bound of the peak of backward(): the gradient of the decoder
    // stream and of every encoder output, a layer's block gradients, the FFN's
    // and the attention's inner buffers (see ffn_backward / attn_backward).
    const SuperDims &d = cfg.dims;
    const size_t D = static_cast<size_t>(d.embed()), Q = static_cast<size_t>(d.qkv);
    const size_t F = static_cast<size_t>(d.ffn()), m = static_cast<size_t>(cfg.experts);
    const size_t H = static_cast<size_t>(cfg.router_hidden), L = static_cast<size_t>(max_len);
    const size_t N = static_cast<size_t>(Ns > Nt ? Ns : Nt);
    const size_t B = N / L + 1;
    const size_t kS = static_cast<size_t>(d.max_cross_layers) * L, Nkv = B * kS;
    const size_t FD = F > D ? F : D;
    size_t n = 0;
    n += N * static_cast<size_t>(cfg.vocab);                  // dlogits
    n += 12 * N * D;                                          // stream, block and dropout grads
    n += static_cast<size_t>(d.enc_layers) * N * D;           // d of every encoder output
    n += 4 * N * Q + 4 * Nkv * Q + Nkv * D;                   // attention dO, dq, dk, dv, d mem
    n += 2 * N * F + 4 * F * D + 4 * FD;                      // FFN dh, dpre, mixed dW, db
    n += 4 * m * FD + 2 * H + 64;                             // dalpha, router scratch
    n += 2 * static_cast<size_t>(d.max_heads) * B * L * (kS > L ? kS : L);  // attention scratch
    return n + 4096;
}

// The largest arch: every layer at super size, the most heads, the deepest
// cross-attention.
ArchDims largest_dims(const SuperDims &d) {
    ArchDims big;
    big.enc_embed = d.enc_embed;
    big.dec_embed = d.dec_embed;
    big.enc.assign(d.enc_layers, LayerDims{d.enc_ffn, d.max_heads, 0, 0});
    big.dec.assign(d.dec_layers, LayerDims{d.dec_ffn, d.max_heads, d.max_heads,
                                           d.max_cross_layers < d.enc_layers ? d.max_cross_layers : d.enc_layers});
    return big;
}

bool same_dims(const ArchDims &x, const ArchDims &y) {
    auto same = [](const std::vector<LayerDims> &p, const std::vector<LayerDims> &q) {
        if (p.size() != q.size()) return false;
        for (size_t i = 0; i < p.size(); i++)
            if (p[i].ffn != q[i].ffn || p[i].self_heads != q[i].self_heads || p[i].cross_heads != q[i].cross_heads ||
                p[i].cross_layers != q[i].cross_layers)
                return false;
        return true;
    };
    return x.enc_embed == y.enc_embed && x.dec_embed == y.dec_embed && same(x.enc, y.enc) && same(x.dec, y.dec) &&
           x.encoding == y.encoding;
}

}  // namespace

Workspace::Workspace(const Supernet &net, int64_t max_src_tokens, int64_t max_tgt_tokens, int64_t max_len)
    : max_src_(max_src_tokens), max_tgt_(max_tgt_tokens), max_len_(max_len), state_(new State) {
    check(max_src_tokens > 0 && max_tgt_tokens > 0 && max_len > 0, MOS_INVALID_ARGUMENT,
          "workspace sizes must be positive");
    const SupernetConfig &cfg = net.config();
    const ArchDims big = largest_dims(cfg.dims);
    // Worst case of B*S*S attention: B = tokens / len rows of len tokens.
    const int64_t Bs = (max_src_tokens + max_len - 1) / max_len, Bt = (max_tgt_tokens + max_len - 1) / max_len;
    const int64_t B = Bs > Bt ? Bs : Bt;
    Alloc counter{nullptr, true}, counter16{nullptr, true};
    State scratch_state;
    plan(counter, &counter16, scratch_state, cfg, big, B, max_len, max_len, nullptr);
    size_t total = counter.count + backward_scratch_floats(cfg, B * max_len, B * max_len, max_len);
    arena_ = Arena("activations", total);
    state_->bf16_floats = counter16.count;
}

Workspace::~Workspace() = default;

SharedWeights::SharedWeights(const Supernet &net) : state_(new State) {
    const SupernetConfig &cfg = net.config();
    const ArchDims big = largest_dims(cfg.dims);
    Alloc counter{nullptr, true}, counter16{nullptr, true};
    State sizes;
    plan_weights(counter, &counter16, sizes, cfg, big);
    State &st = *state_;
    st.net = &net;
    st.arena = Arena("shared weights", counter.count);
    st.bf16_floats = counter16.count;
    st.mixed_max = sizes.mixed_used;
    // One layer of mix_backward: both dalphas, both mixes' scratch and the
    // router's, at super size under the routing that needs the most.
    const int64_t m = cfg.experts, H = cfg.router_hidden, F = cfg.dims.ffn(), D = cfg.dims.embed();
    const MosShape s1{m, F, D, F, D, MosRouting::NeuronWise}, s2{m, D, F, D, F, MosRouting::NeuronWise};
    const size_t router = std::max({router_backward_scratch(router_shape_for(s1, kArchFeatures, H)),
                                    router_backward_scratch(router_shape_for(s2, kArchFeatures, H)),
                                    router_backward_scratch(RouterShape{kArchFeatures, H, m, 1, 1})});
    st.scratch = Arena("mix backward scratch", static_cast<size_t>(4 * m * (F + D)) + router + 1024);
}

SharedWeights::~SharedWeights() = default;

size_t SharedWeights::mixed_floats() const { return state_->mixed_max; }
size_t SharedWeights::mixed_used() const { return state_->valid ? state_->mixed_used : 0; }

// ---------------------------------------------------------------------------
// Forward

namespace {

struct Ctx {
    const Supernet &net;
    const SupernetConfig &cfg;
    const ArchDims &a;
    bool train;
    uint64_t seed;
    GemmType mm;  // precision of the products
    bool shared = false;  // the weights come prepared (SharedWeights): no mixing, no weight conversions
    const float *P(size_t offset) const { return net.param_at(offset); }
};

// dst = bf16(src[:rows, :cols]) (ld) when dst is not NULL (bf16 copies on):
// the one conversion of an operand that a forward product and the backward's
// products all read. Returns dst.
const uint16_t *to16(uint16_t *dst, const float *src, int64_t rows, int64_t cols, int64_t ld) {
    if (dst) {
        PhaseScope scope(Phase::Convert);
        bf16_convert(dst, src, 1, rows, cols, ld, rows * ld);
    }
    return dst;
}

// Router + mix of one FFN (both linears) with the layer's tensors t.
void ffn_mix_forward(const Ctx &c, FfnAct &s, const FfnTensors &t, int64_t d, int64_t D, int64_t Fm) {
    const int64_t m = c.cfg.experts, H = c.cfg.router_hidden;
    const float *e = c.a.encoding.data();
    MosShape s1{m, s.F, d, Fm, D, MosRouting::LayerWise};
    MosShape s2{m, d, s.F, D, Fm, MosRouting::LayerWise};
    switch (c.cfg.routing) {
    case Routing::None:
        s.alpha1[0] = 1.0f;
        break;
    case Routing::Layer: {
        RouterShape r{kArchFeatures, H, m, 1, 1};
        const RouterTensors &rt = t.router;
        router_forward(s.alpha1, s.hid1, e, c.P(rt.w1), c.P(rt.b1), c.P(rt.w2), c.P(rt.b2), r);
        break;
    }
    case Routing::Neuron: {
        s1.routing = s2.routing = MosRouting::NeuronWise;
        RouterShape r1 = router_shape_for(s1, kArchFeatures, H);
        RouterShape r2 = router_shape_for(s2, kArchFeatures, H);
        const RouterTensors &t1 = t.fc1_router, &t2 = t.fc2_router;
        router_forward(s.alpha1, s.hid1, e, c.P(t1.w1), c.P(t1.b1), c.P(t1.w2), c.P(t1.b2), r1);
        router_forward(s.alpha2, s.hid2, e, c.P(t2.w1), c.P(t2.b1), c.P(t2.w2), c.P(t2.b2), r2);
        break;
    }
    }
    mos_mix_forward(s.W1, s.b1, s.alpha1, c.P(t.fc1_w), c.P(t.fc1_b), s1);
    mos_mix_forward(s.W2, s.b2, s.alpha2, c.P(t.fc2_w), c.P(t.fc2_b), s2);
}

// The FFN's weights as its products read them: the routers, the mixes and
// the mixed matrices' bf16 copies.
void ffn_weights(const Ctx &c, FfnAct &s, const FfnTensors &t, int64_t d, int64_t D, int64_t Fm) {
    ffn_mix_forward(c, s, t, d, D, Fm);
    to16(s.W1_16, s.W1, s.F, d, d);
    to16(s.W2_16, s.W2, d, s.F, s.F);
}

// out = LN(x + f(x)) for the FFN block.
void ffn_forward(const Ctx &c, FfnAct &s, LnAct &ln, const float *x, int64_t N, int64_t d, int64_t D,
                 int64_t Fm, const FfnTensors &t, const LayerNormTensors &lt, uint64_t drop_site) {
    if (!c.shared) ffn_weights(c, s, t, d, D, Fm);
    linear_forward(s.h, x, s.W1, s.b1, N, d, s.F, d, c.mm, LinearBf16{to16(s.x16, x, N, d, d), s.W1_16});
    relu_forward(s.h, s.h, N * s.F);
    linear_forward(s.f, s.h, s.W2, s.b2, N, s.F, d, s.F, c.mm, LinearBf16{to16(s.h16, s.h, N, s.F, s.F), s.W2_16});
    if (c.train) dropout_forward(s.f, s.f, N * d, dropout_rate(c.cfg.dropout, d, D), DropoutKey{c.seed, 0, drop_site});
    residual_forward(ln.x, x, s.f, N * d);
    layernorm_forward(ln.y, ln.mean, ln.rstd, ln.x, c.P(lt.w), c.P(lt.b), N, d);
}

// bf16 copies of an attention block's weight operands (their active slices).
void attn_weights16(const Ctx &c, AttnAct &s, const AttentionTensors &t, int64_t d_q, int64_t d_kv, int64_t ld_q,
                    int64_t ld_kv) {
    const int64_t Q = c.cfg.dims.qkv;
    to16(s.wq16, c.P(t.q_w), Q, d_q, ld_q);
    to16(s.wk16, c.P(t.k_w), Q, d_kv, ld_kv);
    to16(s.wv16, c.P(t.v_w), Q, d_kv, ld_kv);
    to16(s.wo16, c.P(t.out_w), d_q, Q, Q);
}

// Attention block up to its projected, dropped-out output s.a.
void attn_forward(const Ctx &c, AttnAct &s, const float *xq, const float *xkv, const uint8_t *kmask,
                  int64_t B, int64_t d_q, int64_t d_kv, int64_t ld_q, int64_t ld_kv, bool causal,
                  const AttentionTensors &t, uint64_t drop_site, uint64_t pdrop_site) {
    const int64_t Q = c.cfg.dims.qkv, Nq = B * s.Tq, Nkv = B * s.Skv;
    // Self-attention: xkv16 is xq16, one copy for the three projections.
    to16(s.xq16, xq, Nq, d_q, d_q);
    if (s.xkv16 != s.xq16) to16(s.xkv16, xkv, Nkv, d_kv, d_kv);
    if (!c.shared) attn_weights16(c, s, t, d_q, d_kv, ld_q, ld_kv);
    linear_forward(s.q, xq, c.P(t.q_w), c.P(t.q_b), Nq, d_q, Q, ld_q, c.mm, LinearBf16{s.xq16, s.wq16});
    linear_forward(s.k, xkv, c.P(t.k_w), c.P(t.k_b), Nkv, d_kv, Q, ld_kv, c.mm, LinearBf16{s.xkv16, s.wk16});
    linear_forward(s.v, xkv, c.P(t.v_w), c.P(t.v_b), Nkv, d_kv, Q, ld_kv, c.mm, LinearBf16{s.xkv16, s.wv16});
    AttentionShape as{B, s.Tq, s.Skv, Q, s.heads, causal};
    const float pa = c.train ? c.cfg.attn_dropout : 0.0f;
    attention_forward(s.o, s.P, s.q, s.k, s.v, kmask, as, pa, c.seed, pdrop_site, c.mm);
    linear_forward(s.a, s.o, c.P(t.out_w), c.P(t.out_b), Nq, Q, d_q, Q, c.mm,
                   LinearBf16{to16(s.o16, s.o, Nq, Q, Q), s.wo16});
    if (c.train)
        dropout_forward(s.a, s.a, Nq * d_q, dropout_rate(c.cfg.dropout, d_q, ld_q), DropoutKey{c.seed, 0, drop_site});
}

}  // namespace

LossStats Supernet::forward(Workspace &ws, const ArchDims &a, const Batch &b, bool train,
                            uint64_t dropout_seed, const float *teacher, const SharedWeights *shared) const {
    check_arch(a);
    const SharedWeights::State *sh = shared ? &shared->state() : nullptr;
    if (sh) {
        check(sh->valid && sh->net == this, MOS_INVALID_ARGUMENT, "shared weights not prepared for this supernet");
        check(same_dims(sh->arch, a), MOS_INVALID_ARGUMENT, "shared weights prepared for another subnet");
        check(sh->bf16 == bf16_copies_wanted(ws.matmul_type()), MOS_INVALID_ARGUMENT,
              "shared weights prepared for another precision of the products");
    }
    check(b.B > 0 && b.S > 0 && b.T > 0, MOS_INVALID_ARGUMENT, "empty batch (B=", b.B, " S=", b.S,
          " T=", b.T, ")");
    check(b.src && b.tgt_in && b.tgt_out, MOS_INVALID_ARGUMENT, "batch token pointers are NULL");
    check(b.S <= ws.max_len() && b.T <= ws.max_len(), MOS_OUT_OF_RANGE, "sentence length ",
          b.S > b.T ? b.S : b.T, " exceeds the workspace's ", ws.max_len());
    check(b.B * b.S <= ws.max_src_tokens() && b.B * b.T <= ws.max_tgt_tokens(), MOS_OUT_OF_RANGE,
          "batch of ", b.B * b.S, " source / ", b.B * b.T, " target tokens exceeds the workspace's ",
          ws.max_src_tokens(), " / ", ws.max_tgt_tokens());
    const int64_t V = cfg_.vocab;
    for (int64_t i = 0; i < b.B * b.S; i++)
        check(b.src[i] >= 0 && b.src[i] < V, MOS_OUT_OF_RANGE, "source token ", b.src[i], " at ", i,
              " outside the vocabulary of ", V);
    for (int64_t i = 0; i < b.B * b.T; i++)
        check(b.tgt_in[i] >= 0 && b.tgt_in[i] < V && b.tgt_out[i] >= 0 && b.tgt_out[i] < V,
              MOS_OUT_OF_RANGE, "target token at ", i, " outside the vocabulary of ", V);

    Workspace::State &st = ws.state();
    st.valid = false;
    ws.arena().reset();
    Alloc al{&ws.arena(), false};
    st.bf16 = bf16_copies_wanted(ws.matmul_type());
    if (st.bf16 && st.bf16_arena.capacity() == 0) st.bf16_arena = Arena("bf16 operands", st.bf16_floats);
    st.bf16_arena.reset();
    Alloc al16{&st.bf16_arena, false};
    plan(al, st.bf16 ? &al16 : nullptr, st, cfg_, a, b.B, b.S, b.T, sh);
    st.shared = sh;
    st.shared_generation = sh ? sh->generation : 0;
    st.forward_mark = ws.arena().mark();
    st.arch = a;
    st.batch = b;
    st.train = train;
    st.seed = dropout_seed;
    st.mm = ws.matmul_type();

    const SuperDims &D = cfg_.dims;
    const int64_t Ns = b.B * b.S, Nt = b.B * b.T, de = a.enc_embed, dd = a.dec_embed;
    const int64_t ldE = D.embed();
    const float *E = param_at(tensors().embed);
    Ctx c{*this, cfg_, a, train, dropout_seed, st.mm, sh != nullptr};

    for (int64_t i = 0; i < Ns; i++) st.src_mask[i] = b.src[i] == cfg_.pad_id;
    std::memset(st.tgt_nomask, 0, Nt);

    // Encoder.
    st.pos_src = st.src_positions.get(b.S, de);
    embedding_forward(st.enc_emb, b.src, E, st.pos_src, b.B, b.S, de, ldE, V, cfg_.pad_id);
    if (train)
        dropout_forward(st.enc_emb, st.enc_emb, Ns * de, dropout_rate(cfg_.dropout, de, D.enc_embed),
                        DropoutKey{dropout_seed, 0, site(false, -1, kDropEmbed)});
    const float *x = st.enc_emb;
    for (size_t l = 0; l < a.enc.size(); l++) {
        EncLayerAct &L = st.enc[l];
        const EncoderLayerTensors &T = tensors().enc[l];
        L.in = const_cast<float *>(x);
        attn_forward(c, L.self, x, x, st.src_mask, b.B, de, de, D.enc_embed, D.enc_embed, false, T.self_attn,
                     site(false, l, kDropSelf), site(false, l, kDropSelfP));
        residual_forward(L.ln1.x, x, L.self.a, Ns * de);
        layernorm_forward(L.ln1.y, L.ln1.mean, L.ln1.rstd, L.ln1.x, param_at(T.self_attn_ln.w),
                          param_at(T.self_attn_ln.b), Ns, de);
        ffn_forward(c, L.ffn, L.ln2, L.ln1.y, Ns, de, D.enc_embed, D.enc_ffn, T.ffn, T.ffn_ln,
                    site(false, l, kDropFfn));
        x = L.ln2.y;
    }

    // Decoder.
    st.pos_tgt = st.tgt_positions.get(b.T, dd);
    embedding_forward(st.dec_emb, b.tgt_in, E, st.pos_tgt, b.B, b.T, dd, ldE, V, cfg_.pad_id);
    if (train)
        dropout_forward(st.dec_emb, st.dec_emb, Nt * dd, dropout_rate(cfg_.dropout, dd, D.dec_embed),
                        DropoutKey{dropout_seed, 0, site(true, -1, kDropEmbed)});
    const float *y = st.dec_emb;
    const int64_t Le = static_cast<int64_t>(a.enc.size());
    for (size_t l = 0; l < a.dec.size(); l++) {
        DecLayerAct &L = st.dec[l];
        const DecoderLayerTensors &T = tensors().dec[l];
        L.in = const_cast<float *>(y);
        attn_forward(c, L.self, y, y, st.tgt_nomask, b.B, dd, dd, D.dec_embed, D.dec_embed, true, T.self_attn,
                     site(true, l, kDropSelf), site(true, l, kDropSelfP));
        residual_forward(L.ln1.x, y, L.self.a, Nt * dd);
        layernorm_forward(L.ln1.y, L.ln1.mean, L.ln1.rstd, L.ln1.x, param_at(T.self_attn_ln.w),
                          param_at(T.self_attn_ln.b), Nt, dd);
        // mem[b, j*S + s] = enc_out[Le - k + j][b, s]: the last k encoder layers along time.
        const int64_t k = a.dec[l].cross_layers, kS = k * b.S;
        std::vector<const float *> outs(static_cast<size_t>(k));
        for (int64_t j = 0; j < k; j++) outs[j] = st.enc[Le - k + j].ln2.y;
        concat_time(L.mem, outs.data(), k, b.B, b.S, de);
        for (int64_t bi = 0; bi < b.B; bi++)
            for (int64_t j = 0; j < k; j++) std::memcpy(L.mem_mask + bi * kS + j * b.S, st.src_mask + bi * b.S, b.S);
        attn_forward(c, L.cross, L.ln1.y, L.mem, L.mem_mask, b.B, dd, de, D.dec_embed, D.enc_embed, false,
                     T.cross_attn, site(true, l, kDropCross), site(true, l, kDropCrossP));
        residual_forward(L.ln2.x, L.ln1.y, L.cross.a, Nt * dd);
        layernorm_forward(L.ln2.y, L.ln2.mean, L.ln2.rstd, L.ln2.x, param_at(T.cross_attn_ln.w),
                          param_at(T.cross_attn_ln.b), Nt, dd);
        ffn_forward(c, L.ffn, L.ln3, L.ln2.y, Nt, dd, D.dec_embed, D.dec_ffn, T.ffn, T.ffn_ln,
                    site(true, l, kDropFfn));
        y = L.ln3.y;
    }

    // Tied output projection and loss.
    linear_forward(st.logits, y, E, nullptr, Nt, dd, V, ldE, st.mm,
                   LinearBf16{to16(st.y16, y, Nt, dd, dd), sh ? st.E16 : to16(st.E16, E, V, dd, ldE)});
    CrossEntropyResult ce = cross_entropy_forward(st.lse, st.row_loss, nullptr, st.logits, b.tgt_out, Nt, V, cfg_.pad_id,
                                                  cfg_.label_smoothing);
    st.loss = LossStats{ce.loss, ce.nll, ce.tokens};
    st.teacher = teacher;
    if (teacher) st.loss.distill_sum = soft_cross_entropy_forward(st.lse, st.row_loss, st.logits, teacher, b.tgt_out, Nt, V, cfg_.pad_id);
    st.valid = true;
    return st.loss;
}

void Supernet::teacher_probs(const Workspace &ws, float *probs) const {
    const Workspace::State &st = ws.state();
    check(st.valid, MOS_INVALID_ARGUMENT, "no forward pass in this workspace");
    softmax_rows(probs, st.logits, st.lse, st.batch.tgt_out, st.batch.B * st.batch.T, cfg_.vocab, cfg_.pad_id);
}

const float *Supernet::logits(const Workspace &ws) const {
    check(ws.state().valid, MOS_INVALID_ARGUMENT, "no forward pass in this workspace");
    return ws.state().logits;
}

// ---------------------------------------------------------------------------
// Backward

namespace {

struct BwdCtx {
    Supernet &net;
    const SupernetConfig &cfg;
    const ArchDims &a;
    bool train;
    uint64_t seed;
    GemmType mm;  // the forward's precision
    Arena &arena;
    float *grads;  // where this backward accumulates (the net's gradients or a team's own)
    const float *P(size_t offset) { return net.param_at(offset); }
    float *G(size_t offset) { return grads + offset; }
    // A buffer the next kernel writes in full (GradMode::Overwrite): not zeroed.
    float *fresh(int64_t n) { return arena.alloc(static_cast<size_t>(n)); }
    // A buffer that kernels accumulate into: zeroed in parallel.
    float *zeroed(int64_t n) {
        float *p = arena.alloc(static_cast<size_t>(n));
        zero_floats(p, n);
        return p;
    }
};

// Through the mixes of one FFN into its experts and the router outputs
// alpha, then through the routers: blk is the FFN's gradient block
// (mixed_block: d(W1), d(b1), d(W2), d(b2) of the mixed weights).
void ffn_mix_backward(BwdCtx &c, const FfnAct &s, const FfnTensors &t, const float *blk, int64_t d, int64_t D,
                      int64_t Fm) {
    const size_t mark = c.arena.mark();
    const int64_t m = c.cfg.experts, H = c.cfg.router_hidden, F = s.F;
    const float *dW1 = blk, *db1 = dW1 + F * d, *dW2 = db1 + F, *db2 = dW2 + d * F;
    MosShape s1{m, F, d, Fm, D, MosRouting::LayerWise};
    MosShape s2{m, d, F, D, Fm, MosRouting::LayerWise};
    if (c.cfg.routing == Routing::Neuron) s1.routing = s2.routing = MosRouting::NeuronWise;
    const bool routed = c.cfg.routing != Routing::None;
    float *dalpha1 = routed ? c.zeroed(mos_alpha_size(s1)) : nullptr;
    float *dalpha2 = c.cfg.routing == Routing::Neuron ? c.zeroed(mos_alpha_size(s2)) : dalpha1;
    float *scratch1 = c.arena.alloc(mos_mix_backward_scratch(s1) + 1);
    float *scratch2 = c.arena.alloc(mos_mix_backward_scratch(s2) + 1);
    mos_mix_backward(c.G(t.fc1_w), c.G(t.fc1_b), dalpha1, scratch1, dW1, db1, s.alpha1, c.P(t.fc1_w), c.P(t.fc1_b),
                     s1);
    mos_mix_backward(c.G(t.fc2_w), c.G(t.fc2_b), dalpha2, scratch2, dW2, db2, s.alpha2, c.P(t.fc2_w), c.P(t.fc2_b),
                     s2);
    const float *e = c.a.encoding.data();
    if (c.cfg.routing == Routing::Layer) {
        RouterShape r{kArchFeatures, H, m, 1, 1};
        float *rs = c.arena.alloc(router_backward_scratch(r));
        const RouterTensors &rt = t.router;
        router_backward(c.G(rt.w1), c.G(rt.b1), c.G(rt.w2), c.G(rt.b2), rs, dalpha1, s.alpha1, s.hid1, e,
                        c.P(rt.w1), c.P(rt.w2), r);
    } else if (c.cfg.routing == Routing::Neuron) {
        const RouterShape r1 = router_shape_for(s1, kArchFeatures, H);
        const RouterShape r2 = router_shape_for(s2, kArchFeatures, H);
        float *rs = c.arena.alloc(router_backward_scratch(r1) > router_backward_scratch(r2)
                                      ? router_backward_scratch(r1)
                                      : router_backward_scratch(r2));
        const RouterTensors &t1 = t.fc1_router, &t2 = t.fc2_router;
        router_backward(c.G(t1.w1), c.G(t1.b1), c.G(t1.w2), c.G(t1.b2), rs, dalpha1, s.alpha1, s.hid1, e,
                        c.P(t1.w1), c.P(t1.w2), r1);
        router_backward(c.G(t2.w1), c.G(t2.b1), c.G(t2.w2), c.G(t2.b2), rs, dalpha2, s.alpha2, s.hid2, e,
                        c.P(t2.w1), c.P(t2.w2), r2);
    }
    c.arena.rewind(mark);
}

// Given d(out) of LN(x + f(x)) for the FFN block, writes dx = d(x) (both the
// residual path and the FFN's). Every activation gradient goes into a buffer
// its producer overwrites: no buffer is zeroed first. With `blk` (this FFN's
// block of a team's buffer, after a forward with shared weights) the gradient
// of the mixed weights is left there for mix_backward; otherwise it goes
// through the mixes and routers at once.
void ffn_backward(BwdCtx &c, float *dx, const float *dout, FfnAct &s, LnAct &ln, const float *x,
                  int64_t N, int64_t d, int64_t D, int64_t Fm, const FfnTensors &t, const LayerNormTensors &lt,
                  uint64_t drop_site, float *blk) {
    const size_t mark = c.arena.mark();
    const int64_t F = s.F;
    // Through the LayerNorm: dx = dr = d(x + f), the residual path's share.
    layernorm_backward(dx, c.G(lt.w), c.G(lt.b), dout, ln.x, ln.mean, ln.rstd, c.P(lt.w), N, d, GradMode::Overwrite);
    // df = dropout'(dr): the forward's mask on a copy (dx keeps dr).
    const float *df = dx;
    if (c.train) {
        float *dd = c.fresh(N * d);
        dropout_forward(dd, dx, N * d, dropout_rate(c.cfg.dropout, d, D), DropoutKey{c.seed, 0, drop_site});
        df = dd;
    }
    // Deferred (shared weights): add to the caller's block, which sums every shard a team runs.
    const bool deferred = blk != nullptr;
    if (!deferred) blk = c.zeroed(mixed_block(d, F));
    float *dW1 = blk, *db1 = dW1 + F * d, *dW2 = db1 + F, *db2 = dW2 + d * F;
    // fc2: h [N, F] -> f [N, d] with the mixed W2 [d, F]; dh through the ReLU in place.
    float *dh = c.fresh(N * F);
    linear_backward(dh, dW2, db2, df, s.h, s.W2, N, F, d, F, GradMode::Overwrite, c.mm, LinearBf16{s.h16, s.W2_16});
    relu_grad_mask(dh, s.h, N * F);
    linear_backward(dx, dW1, db1, dh, x, s.W1, N, d, F, d, GradMode::Accumulate, c.mm, LinearBf16{s.x16, s.W1_16});
    if (!deferred) ffn_mix_backward(c, s, t, blk, d, D, Fm);
    c.arena.rewind(mark);
}

// Backward of an attention block given da = d(s.a) (before dropout):
// accumulates into dxq, and into dxkv (or writes dxkv with kv_mode =
// Overwrite; dxkv may equal dxq for self-attention, then Accumulate). dxq may
// alias da: da is read in full (dropout, output projection) before dxq is
// written.
void attn_backward(BwdCtx &c, float *dxq, float *dxkv, const float *da, AttnAct &s, const float *xq,
                   const float *xkv, int64_t B, int64_t d_q, int64_t d_kv, int64_t ld_q, int64_t ld_kv,
                   bool causal, const AttentionTensors &t, uint64_t drop_site, uint64_t pdrop_site,
                   GradMode kv_mode) {
    const size_t mark = c.arena.mark();
    const int64_t Q = c.cfg.dims.qkv, Nq = B * s.Tq, Nkv = B * s.Skv;
    if (c.train) {
        float *dd = c.fresh(Nq * d_q);
        dropout_forward(dd, da, Nq * d_q, dropout_rate(c.cfg.dropout, d_q, ld_q), DropoutKey{c.seed, 0, drop_site});
        da = dd;
    }
    float *dO = c.fresh(Nq * Q);
    linear_backward(dO, c.G(t.out_w), c.G(t.out_b), da, s.o, c.P(t.out_w), Nq, Q, d_q, Q, GradMode::Overwrite, c.mm,
                    LinearBf16{s.o16, s.wo16});
    float *dq = c.fresh(Nq * Q), *dk = c.fresh(Nkv * Q), *dv = c.fresh(Nkv * Q);
    AttentionShape as{B, s.Tq, s.Skv, Q, s.heads, causal};
    float *ascratch = c.arena.alloc(attention_backward_scratch(as) + 1);
    const float pa = c.train ? c.cfg.attn_dropout : 0.0f;
    attention_backward(dq, dk, dv, ascratch, dO, s.P, s.q, s.k, s.v, as, pa, c.seed, pdrop_site, GradMode::Overwrite,
                       c.mm);
    linear_backward(dxq, c.G(t.q_w), c.G(t.q_b), dq, xq, c.P(t.q_w), Nq, d_q, Q, ld_q, GradMode::Accumulate, c.mm,
                    LinearBf16{s.xq16, s.wq16});
    linear_backward(dxkv, c.G(t.k_w), c.G(t.k_b), dk, xkv, c.P(t.k_w), Nkv, d_kv, Q, ld_kv, kv_mode, c.mm,
                    LinearBf16{s.xkv16, s.wk16});
    linear_backward(dxkv, c.G(t.v_w), c.G(t.v_b), dv, xkv, c.P(t.v_w), Nkv, d_kv, Q, ld_kv, GradMode::Accumulate,
                    c.mm, LinearBf16{s.xkv16, s.wv16});
    c.arena.rewind(mark);
}

}  // namespace

void Supernet::backward(Workspace &ws, float scale, float *grads, float *mixed) {
    Workspace::State &st = ws.state();
    check(st.valid, MOS_INVALID_ARGUMENT, "backward without a forward pass in this workspace");
    if (st.shared) {
        check(mixed != nullptr, MOS_INVALID_ARGUMENT,
              "backward after a forward with shared weights needs a buffer for the mixed weights' gradient");
        check(st.shared->valid && st.shared->generation == st.shared_generation, MOS_INVALID_ARGUMENT,
              "the shared weights of this forward were prepared again before its backward");
    } else {
        check(mixed == nullptr, MOS_INVALID_ARGUMENT,
              "a buffer for the mixed weights' gradient is for a forward with shared weights");
    }
    if (grads == nullptr) grads = grad_data();
    ws.arena().rewind(st.forward_mark);
    const ArchDims &a = st.arch;
    const Batch &b = st.batch;
    const SuperDims &D = cfg_.dims;
    const int64_t Ns = b.B * b.S, Nt = b.B * b.T, de = a.enc_embed, dd = a.dec_embed, V = cfg_.vocab;
    const int64_t ldE = D.embed();
    Arena &ar = ws.arena();
    BwdCtx c{*this, cfg_, a, st.train, st.seed, st.mm, ar, grads};
    auto enc_blk = [&](int64_t l) { return mixed ? mixed + st.shared->enc_mixed[l] : nullptr; };
    auto dec_blk = [&](int64_t l) { return mixed ? mixed + st.shared->dec_mixed[l] : nullptr; };

    // Loss -> logits -> final decoder output and the tied embedding.
    float *dlogits = c.fresh(Nt * V);
    if (st.teacher)
        soft_cross_entropy_backward(dlogits, st.lse, st.logits, st.teacher, b.tgt_out, Nt, V, cfg_.pad_id, scale,
                                    GradMode::Overwrite, st.dlogits16);
    else
        cross_entropy_backward(dlogits, st.lse, st.logits, b.tgt_out, Nt, V, cfg_.pad_id, cfg_.label_smoothing, scale,
                               GradMode::Overwrite, st.dlogits16);
    float *dy = c.fresh(Nt * dd);
    const float *y_last = st.dec.back().ln3.y;
    float *dE = c.G(tensors().embed);
    linear_backward(dy, dE, nullptr, dlogits, y_last, param_at(tensors().embed), Nt, dd, V, ldE, GradMode::Overwrite,
                    st.mm, LinearBf16{st.y16, st.E16, st.dlogits16});

    // Gradients of every encoder layer's output (cross-attention reads them).
    const int64_t Le = static_cast<int64_t>(a.enc.size());
    std::vector<float *> denc(Le);
    for (int64_t l = 0; l < Le; l++) denc[l] = c.zeroed(Ns * de);

    for (int64_t l = static_cast<int64_t>(a.dec.size()) - 1; l >= 0; l--) {
        DecLayerAct &L = st.dec[l];
        const DecoderLayerTensors &T = tensors().dec[l];
        const size_t mark = ar.mark();
        // FFN block: dy is d(ln3.y); d2 = d(ln2.y).
        float *d2 = c.fresh(Nt * dd);
        ffn_backward(c, d2, dy, L.ffn, L.ln3, L.ln2.y, Nt, dd, D.dec_embed, D.dec_ffn, T.ffn, T.ffn_ln,
                     site(true, l, kDropFfn), dec_blk(l));
        // Cross-attention block: d1 = d(ln1.y) = dr2 (residual) + the attention's
        // share; dr2 = d(ln1.y + cross) written by the LayerNorm into d1 first.
        float *d1 = c.fresh(Nt * dd);
        layernorm_backward(d1, c.G(T.cross_attn_ln.w), c.G(T.cross_attn_ln.b), d2, L.ln2.x, L.ln2.mean,
                           L.ln2.rstd, param_at(T.cross_attn_ln.w), Nt, dd, GradMode::Overwrite);
        const int64_t k = a.dec[l].cross_layers, kS = k * b.S;
        float *dmem = c.fresh(b.B * kS * de);
        attn_backward(c, d1, dmem, d1, L.cross, L.ln1.y, L.mem, b.B, dd, de, D.dec_embed, D.enc_embed, false,
                      T.cross_attn, site(true, l, kDropCross), site(true, l, kDropCrossP), GradMode::Overwrite);
        std::vector<float *> outs(static_cast<size_t>(k));
        for (int64_t j = 0; j < k; j++) outs[j] = denc[Le - k + j];
        split_time_add(outs.data(), dmem, k, b.B, b.S, de);
        // Self-attention block: d1 is d(ln1.y); dy = d(layer input) = dr1 + the attention's share.
        layernorm_backward(dy, c.G(T.self_attn_ln.w), c.G(T.self_attn_ln.b), d1, L.ln1.x, L.ln1.mean,
                           L.ln1.rstd, param_at(T.self_attn_ln.w), Nt, dd, GradMode::Overwrite);
        attn_backward(c, dy, dy, dy, L.self, L.in, L.in, b.B, dd, dd, D.dec_embed, D.dec_embed, true, T.self_attn,
                      site(true, l, kDropSelf), site(true, l, kDropSelfP), GradMode::Accumulate);
        ar.rewind(mark);
    }
    // Decoder embedding.
    if (st.train) {
        float *t = c.fresh(Nt * dd);
        dropout_forward(t, dy, Nt * dd, dropout_rate(cfg_.dropout, dd, D.dec_embed),
                        DropoutKey{st.seed, 0, site(true, -1, kDropEmbed)});
        dy = t;
    }
    embedding_backward(dE, dy, b.tgt_in, b.B, b.T, dd, ldE, V, cfg_.pad_id);

    // Encoder, from the last layer down; denc[l] holds d(output of layer l).
    for (int64_t l = Le - 1; l >= 0; l--) {
        EncLayerAct &L = st.enc[l];
        const EncoderLayerTensors &T = tensors().enc[l];
        const size_t mark = ar.mark();
        float *d1 = c.fresh(Ns * de);
        ffn_backward(c, d1, denc[l], L.ffn, L.ln2, L.ln1.y, Ns, de, D.enc_embed, D.enc_ffn, T.ffn, T.ffn_ln,
                     site(false, l, kDropFfn), enc_blk(l));
        // dr1 = d(x + attention); d(layer input) = dr1 + the attention's share,
        // added to what the decoder's cross-attention left in denc[l - 1].
        float *dr1 = c.fresh(Ns * de);
        layernorm_backward(dr1, c.G(T.self_attn_ln.w), c.G(T.self_attn_ln.b), d1, L.ln1.x, L.ln1.mean,
                           L.ln1.rstd, param_at(T.self_attn_ln.w), Ns, de, GradMode::Overwrite);
        float *din = l > 0 ? denc[l - 1] : nullptr;
        if (din) {
            add_floats(din, dr1, Ns * de);
        } else {
            din = c.fresh(Ns * de);
            copy_floats(din, dr1, Ns * de);
        }
        attn_backward(c, din, din, dr1, L.self, L.in, L.in, b.B, de, de, D.enc_embed, D.enc_embed, false, T.self_attn,
                      site(false, l, kDropSelf), site(false, l, kDropSelfP), GradMode::Accumulate);
        if (l == 0) {
            if (st.train) {
                float *t = c.fresh(Ns * de);
                dropout_forward(t, din, Ns * de, dropout_rate(cfg_.dropout, de, D.enc_embed),
                                DropoutKey{st.seed, 0, site(false, -1, kDropEmbed)});
                din = t;
            }
            embedding_backward(dE, din, b.src, b.B, b.S, de, ldE, V, cfg_.pad_id);
        }
        ar.rewind(mark);
    }
}

// ---------------------------------------------------------------------------
// Shared weights of a data-parallel update

void Supernet::prepare(SharedWeights &sw, const ArchDims &a, GemmType mm) const {
    check_arch(a);
    SharedWeights::State &st = sw.state();
    check(st.net == this, MOS_INVALID_ARGUMENT, "shared weights made for another supernet");
    st.valid = false;
    st.generation++;
    st.bf16 = bf16_copies_wanted(mm);
    if (st.bf16 && st.arena16.capacity() == 0) st.arena16 = Arena("shared bf16 weights", st.bf16_floats);
    st.arena.reset();
    st.arena16.reset();
    Alloc al{&st.arena, false}, al16{&st.arena16, false};
    plan_weights(al, st.bf16 ? &al16 : nullptr, st, cfg_, a);
    st.arch = a;
    const SuperDims &D = cfg_.dims;
    const int64_t de = a.enc_embed, dd = a.dec_embed;
    const Ctx c{*this, cfg_, st.arch, false, 0, mm, false};
    // Every layer's weights are independent work: one job each (FFNs, the
    // largest, first), the embedding's bf16 copy in row blocks, all in one
    // parallel region. Split op by op instead, each of the hundred-odd small
    // routers, mixes and conversions of a subnet was its own region, and on
    // 16 threads waking the team for each cost more than the work.
    std::vector<std::function<void()>> jobs;
    for (size_t l = 0; l < a.enc.size(); l++)
        jobs.emplace_back([&, l] { ffn_weights(c, st.enc_ffn[l], tensors().enc[l].ffn, de, D.enc_embed, D.enc_ffn); });
    for (size_t l = 0; l < a.dec.size(); l++)
        jobs.emplace_back([&, l] { ffn_weights(c, st.dec_ffn[l], tensors().dec[l].ffn, dd, D.dec_embed, D.dec_ffn); });
    if (st.bf16) {
        for (size_t l = 0; l < a.enc.size(); l++)
            jobs.emplace_back([&, l] {
                attn_weights16(c, st.enc_self[l], tensors().enc[l].self_attn, de, de, D.enc_embed, D.enc_embed);
            });
        for (size_t l = 0; l < a.dec.size(); l++) {
            jobs.emplace_back([&, l] {
                attn_weights16(c, st.dec_self[l], tensors().dec[l].self_attn, dd, dd, D.dec_embed, D.dec_embed);
            });
            jobs.emplace_back([&, l] {
                attn_weights16(c, st.dec_cross[l], tensors().dec[l].cross_attn, dd, de, D.dec_embed, D.enc_embed);
            });
        }
        const int64_t V = cfg_.vocab;
        for (int64_t r0 = 0; r0 < V; r0 += 1024) {
            const int64_t rows = std::min<int64_t>(1024, V - r0);  // by value: this scope ends before the jobs run
            jobs.emplace_back([&, r0, rows] {
                to16(st.E16 + r0 * dd, param_at(tensors().embed) + r0 * D.embed(), rows, dd, D.embed());
            });
        }
    }
    const int64_t count = static_cast<int64_t>(jobs.size());
    std::exception_ptr error;
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t j = 0; j < count; j++) {
        try {
            jobs[static_cast<size_t>(j)]();
        } catch (...) {
#pragma omp critical(mos_prepare)
            if (!error) error = std::current_exception();
        }
    }
    if (error) std::rethrow_exception(error);
    st.valid = true;
}

void Supernet::mix_backward(const SharedWeights &sw, float *const *mixed, int count, float *grads) {
    const SharedWeights::State &st = sw.state();
    check(st.valid && st.net == this, MOS_INVALID_ARGUMENT, "mix_backward without shared weights prepared for this supernet");
    check(mixed != nullptr && count >= 1, MOS_INVALID_ARGUMENT, "mix_backward needs at least one gradient buffer");
    for (int r = 0; r < count; r++) check(mixed[r] != nullptr, MOS_INVALID_ARGUMENT, "gradient buffer ", r, " is NULL");
    if (grads == nullptr) grads = grad_data();
    // The teams' sum, in team order (the same sum on any thread count), left in mixed[0].
    float *sum = mixed[0];
    const int64_t n = static_cast<int64_t>(st.mixed_used);
    if (count > 1) {
        PhaseScope scope(Phase::Mix);
#pragma omp parallel for schedule(static)
        for (int64_t j = 0; j < n; j += 4096) {
            const int64_t e = j + 4096 < n ? j + 4096 : n;
            for (int r = 1; r < count; r++) {
                const float *src = mixed[r];
                for (int64_t k = j; k < e; k++) sum[k] += src[k];
            }
        }
    }
    const ArchDims &a = st.arch;
    const SuperDims &D = cfg_.dims;
    // mix_backward only reads the prepared weights; its scratch is the one thing it writes there.
    Arena &scratch = const_cast<SharedWeights::State &>(st).scratch;
    scratch.reset();
    BwdCtx c{*this, cfg_, a, false, 0, GemmType::F32, scratch, grads};
    for (size_t l = 0; l < a.enc.size(); l++)
        ffn_mix_backward(c, st.enc_ffn[l], tensors().enc[l].ffn, sum + st.enc_mixed[l], a.enc_embed, D.enc_embed,
                         D.enc_ffn);
    for (size_t l = 0; l < a.dec.size(); l++)
        ffn_mix_backward(c, st.dec_ffn[l], tensors().dec[l].ffn, sum + st.dec_mixed[l], a.dec_embed, D.dec_embed,
                         D.dec_ffn);
}

std::vector<std::pair<size_t, size_t>> Supernet::routed_ranges() const {
    std::vector<size_t> offsets;
    auto add_ffn = [&offsets](const FfnTensors &f) {
        for (size_t o : {f.fc1_w, f.fc1_b, f.fc2_w, f.fc2_b}) offsets.push_back(o);
        for (const RouterTensors *r : {&f.router, &f.fc1_router, &f.fc2_router})
            for (size_t o : {r->w1, r->b1, r->w2, r->b2}) offsets.push_back(o);
    };
    for (const EncoderLayerTensors &l : tensors().enc) add_ffn(l.ffn);
    for (const DecoderLayerTensors &l : tensors().dec) add_ffn(l.ffn);
    std::vector<std::pair<size_t, size_t>> ranges;
    for (const ParamInfo &p : table_.all())
        if (std::find(offsets.begin(), offsets.end(), p.offset) != offsets.end())
            ranges.emplace_back(p.offset, p.offset + p.numel);
    std::sort(ranges.begin(), ranges.end());
    // Merge neighbours.
    std::vector<std::pair<size_t, size_t>> merged;
    for (const auto &r : ranges) {
        if (!merged.empty() && merged.back().second == r.first)
            merged.back().second = r.second;
        else
            merged.push_back(r);
    }
    return merged;
}

}  // namespace mos

// ---------------------------------------------------------------------------
// Bridges from Space / Arch

namespace mos {

SuperDims super_dims(const Space &s) {
    SuperDims d;
    d.enc_embed = s.max_enc_embed();
    d.dec_embed = s.max_dec_embed();
    d.qkv = s.qkv_dim;
    d.enc_ffn = s.max_enc_ffn();
    d.dec_ffn = s.max_dec_ffn();
    d.enc_layers = s.max_enc_layers();
    d.dec_layers = s.max_dec_layers();
    d.max_heads = std::max({s.max_enc_heads(), s.max_dec_self_heads(), s.max_dec_cross_heads()});
    d.max_cross_layers = s.max_dec_cross_k();
    return d;
}

ArchDims arch_dims(const Space &space, const Arch &a) {
    validate(space, a);
    ArchDims d;
    d.enc_embed = a.enc_embed;
    d.dec_embed = a.dec_embed;
    for (const EncoderLayerArch &l : a.enc) d.enc.push_back(LayerDims{l.ffn_dim, l.heads, 0, 0});
    for (const DecoderLayerArch &l : a.dec)
        d.dec.push_back(LayerDims{l.ffn_dim, l.self_heads, l.cross_heads, l.cross_k});
    const std::vector<float> e = arch_encode(space, a);
    check(e.size() == d.encoding.size(), MOS_INTERNAL, "arch encoding has ", e.size(), " features");
    std::copy(e.begin(), e.end(), d.encoding.begin());
    return d;
}

}  // namespace mos
