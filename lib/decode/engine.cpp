// lib/decode/engine.cpp: the decoding engine's encoder, decoder step, fused
// output layer and beam reorder (see engine.hpp; the model's computation is
// that of lib/model/dense.cpp, docs/supernet.md).
#include "decode/engine.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.hpp"
#include "data/tokens.hpp"
#include "kernels/embedding.hpp"
#include "kernels/layernorm.hpp"

namespace mos {

namespace {

constexpr int64_t kVec = 16;  // the cross-attention memory is padded to this many keys
constexpr int64_t kGrowStep = 32;  // source and step capacities grow in multiples of this

template <class V>
void grow(V &v, int64_t n) {
    if (static_cast<int64_t>(v.size()) < n) v.resize(static_cast<size_t>(n));
}

int64_t max_ffn(const ArchDims &a) {
    int64_t f = 1;
    for (const LayerDims &l : a.enc) f = std::max(f, l.ffn);
    for (const LayerDims &l : a.dec) f = std::max(f, l.ffn);
    return f;
}

// y (+)= x W^T + b with the epilogue, on the packed matrix of `l`.
void linear(float *y, int64_t ldy, const float *x, int64_t ldx, int64_t M, const ServeModel::Linear &l,
            PackedScratch &s, bool relu = false, const float *residual = nullptr, int64_t ldr = 0) {
    PackedEpilogue e;
    e.bias = l.b.data();
    e.relu = relu;
    e.residual = residual;
    e.ldr = ldr;
    packed_linear(y, ldy, x, ldx, M, l.W, l.W.cols(), e, s);
}

void norm(float *x, float *mean, float *rstd, const ServeModel::Norm &n, int64_t N, int64_t d) {
    layernorm_forward(x, mean, rstd, x, n.w.data(), n.b.data(), N, d);
}

// Every width of m that sizes a state's buffers.
std::vector<int64_t> shape_key(const ServeModel &m) {
    const ArchDims &a = m.arch();
    std::vector<int64_t> k{a.enc_embed, a.dec_embed, m.qkv(), m.vocab(), static_cast<int64_t>(a.enc.size()),
                           static_cast<int64_t>(a.dec.size())};
    for (const LayerDims &l : a.enc) k.insert(k.end(), {l.ffn, l.self_heads});
    for (const LayerDims &l : a.dec) k.insert(k.end(), {l.ffn, l.self_heads, l.cross_heads, l.cross_layers});
    return k;
}

// Columns per block of the fused output layer: the tile of `rows` x block
// floats stays within about 32 KiB (L1), at least one 64-column group.
int64_t vocab_block(int64_t rows) {
    int64_t b = 8192 / std::max<int64_t>(rows, 1) / kGroupCols * kGroupCols;
    return std::clamp<int64_t>(b, kGroupCols, 512);
}

// The statistics sink of one thread's column range.
struct StatsSink : PackedTileSink {
    VocabRowStats *stats;
    int64_t M;
    int32_t skip_a, skip_b, eos;
    void tile(int64_t n0, int64_t n1, const float *t, int64_t ld) override {
        vocab_tile_update(stats, t, ld, M, n0, n1, skip_a, skip_b, eos);
    }
};

}  // namespace

void EngineState::reserve(const ServeModel &m, int64_t sentences, int64_t rows, int64_t max_src, int64_t max_steps,
                          int threads) {
    check(sentences > 0 && rows > 0 && max_src > 0 && max_steps > 0, MOS_INVALID_ARGUMENT,
          "engine state sizes must be positive (sentences ", sentences, ", rows ", rows, ", source ", max_src,
          ", steps ", max_steps, ")");
    if (threads <= 0) threads = omp_get_max_threads();
    std::vector<int64_t> key = shape_key(m);
    if (key != key_) {
        // A model of other widths: start from nothing.
        cap_B_ = cap_S_ = cap_R_ = cap_T_ = 0;
        lim_S_ = lim_T_ = 0;
        cap_threads_ = 0;
        enc_out_.clear();
        cross_.clear();
        kc_.clear();
        vc_.clear();
        key_ = std::move(key);
    }
    lim_S_ = std::max(lim_S_, max_src);
    lim_T_ = std::max(lim_T_, max_steps);
    const bool rebuild = sentences > cap_B_ || rows > cap_R_ || max_src > cap_S_ || max_steps > cap_T_ ||
                         threads > cap_threads_;
    if (!rebuild) return;
    // Source and step capacities grow in steps of kGrowStep: batches sorted by
    // length ask for a little more every call, and re-laying every buffer
    // (page faults on fresh memory included) each time cost more than the
    // decode of a short batch.
    const int64_t B = std::max(sentences, cap_B_), R = std::max(rows, cap_R_),
                  S = std::max((max_src + kGrowStep - 1) / kGrowStep * kGrowStep, cap_S_),
                  T = std::max((max_steps + kGrowStep - 1) / kGrowStep * kGrowStep, cap_T_);
    const int nt = std::max(threads, cap_threads_);
    const ArchDims &a = m.arch();
    const int64_t Q = m.qkv(), de = a.enc_embed, dd = a.dec_embed, V = m.vocab();
    const int64_t F = max_ffn(a), N = B * S;
    int64_t kmax = 1;
    for (const LayerDims &l : a.dec) kmax = std::max(kmax, l.cross_layers);
    const int64_t kSp_max = (kmax * S + kVec - 1) / kVec * kVec;

    grow(src_mask_, N);
    grow(src_len_, B);
    grow(enc_row_, N);
    grow(pos_enc_, S * de);
    grow(pos_dec_, T * dd);
    sinusoid_positions(pos_enc_.data(), 0, S, de);
    sinusoid_positions(pos_dec_.data(), 0, T, dd);
    const int64_t Sp = (S + kVec - 1) / kVec * kVec;
    grow(ex_, N * de);
    grow(eqkv_, N * 3 * Q);
    grow(ekt_, B * Q * Sp);
    grow(eo_, N * Q);
    grow(eh_, N * F);
    grow(emean_, N);
    grow(erstd_, N);
    grow(mem_, N * kmax * de);
    grow(ckv_, N * kmax * 2 * Q);
    enc_out_.resize(a.enc.size());
    for (auto &v : enc_out_) grow(v, N * de);
    cross_.resize(a.dec.size());
    for (size_t l = 0; l < a.dec.size(); l++) {
        const int64_t ld = (a.dec[l].cross_layers * S + kVec - 1) / kVec * kVec;
        grow(cross_[l].kt, B * Q * ld);
        grow(cross_[l].v, B * ld * Q);
        grow(cross_[l].mask, B * ld);
        grow(cross_[l].len, B);
    }
    for (auto *v : {&x_, &mean_, &rstd_}) grow(*v, R * std::max(dd, int64_t(1)));
    grow(qkv_, R * 3 * Q);
    grow(q_, R * Q);
    grow(o_, R * Q);
    grow(h_, R * F);
    grow(logits_, R * V);
    grow(scores_, kCrossRows * std::max({T, kSp_max, Sp}));  // step_attention.hpp: scratch sizes
    // The cache is indexed [time][slot]: growing the slot count re-lays it, so
    // a state only grows between calls (encode starts a new call).
    kc_.resize(a.dec.size());
    vc_.resize(a.dec.size());
    for (size_t l = 0; l < a.dec.size(); l++) {
        grow(kc_[l], T * R * Q);
        grow(vc_[l], T * R * Q);
    }
    grow(path_, R * T);
    grow(path_next_, R * T);
    grow(src_of_, R);
    grow(src_of_next_, R);
    scratch_.resize(static_cast<size_t>(nt));
    tile_.resize(static_cast<size_t>(nt));
    stats_.resize(static_cast<size_t>(nt));
    for (int i = 0; i < nt; i++) {
        scratch_[i].reserve(std::max(N * kmax, R), std::max({de, dd, F, Q}) + 4);
        grow(tile_[i], R * vocab_block(1));
        stats_[i].resize(static_cast<size_t>(R));
    }
    cap_B_ = B;
    cap_S_ = S;
    cap_R_ = R;
    cap_T_ = T;
    cap_threads_ = nt;
}

void engine_encode(EngineState &st, const ServeModel &m, const int32_t *src, int64_t B, int64_t S) {
    check(src != nullptr, MOS_INVALID_ARGUMENT, "source tokens are NULL");
    check(B > 0 && S > 0, MOS_INVALID_ARGUMENT, "empty source batch (B=", B, " S=", S, ")");
    check(st.key_ == shape_key(m), MOS_INVALID_ARGUMENT, "engine state was not reserved for this model");
    check(B <= st.cap_B_ && B <= st.cap_R_ && S <= st.lim_S_, MOS_OUT_OF_RANGE, "source batch ", B, "x", S,
          " exceeds the engine state's ", st.cap_B_, "x", st.lim_S_);
    const ArchDims &a = m.arch();
    const int64_t de = a.enc_embed, Q = m.qkv(), N = B * S, V = m.vocab();
    for (int64_t i = 0; i < N; i++)
        check(src[i] >= 0 && src[i] < V, MOS_OUT_OF_RANGE, "source token ", src[i], " outside the vocabulary of ", V);
    st.B_ = B;
    st.S_ = S;
    st.R_ = B;
    st.t_ = 0;
    const int64_t Sp = (S + kVec - 1) / kVec * kVec;
    for (int64_t r = 0; r < B; r++) st.src_of_[r] = r;
    for (int64_t b = 0; b < B; b++) {
        int64_t len = 0;
        for (int64_t s = 0; s < S; s++) {
            const bool pad = src[b * S + s] == m.pad_id();
            st.src_mask_[b * S + s] = pad;
            if (!pad) len = s + 1;
        }
        st.src_len_[b] = len;
        for (int64_t s = 0; s < S; s++) st.enc_row_[b * S + s] = b;
    }
    PackedScratch &ps = st.scratch_[0];
    float *x = st.ex_.data();
    for (int64_t b = 0; b < B; b++) m.embed_rows(x + b * S * de, src + b * S, S, de, st.pos_enc_.data(), de);
    // Self-attention of each sentence over its own keys (up to its last
    // non-pad token): the memory form of step_cross_attention.
    StepMemory self;
    self.kt = st.ekt_.data();
    self.kt_ld = Sp;
    self.kt_sentence = Q * Sp;
    self.v = st.eqkv_.data() + 2 * Q;
    self.v_ld = 3 * Q;
    self.v_sentence = S * 3 * Q;
    self.mask = st.src_mask_.data();
    self.mask_sentence = S;
    self.len = st.src_len_.data();
    for (size_t l = 0; l < a.enc.size(); l++) {
        const ServeModel::EncoderLayer &E = m.enc(l);
        linear(st.eqkv_.data(), 3 * Q, x, de, N, E.qkv, ps);
        for (int64_t b = 0; b < B; b++) {
            float *kt = st.ekt_.data() + b * Q * Sp;
            for (int64_t s = 0; s < st.src_len_[b]; s++) {
                const float *k = st.eqkv_.data() + (b * S + s) * 3 * Q + Q;
                for (int64_t d = 0; d < Q; d++) kt[d * Sp + s] = k[d];
            }
        }
        step_cross_attention(st.eo_.data(), Q, st.eqkv_.data(), 3 * Q, self, st.enc_row_.data(), N, Q,
                             a.enc[l].self_heads, st.scores_.data());
        linear(x, de, st.eo_.data(), Q, N, E.out, ps, false, x, de);
        norm(x, st.emean_.data(), st.erstd_.data(), E.attn_ln, N, de);
        linear(st.eh_.data(), a.enc[l].ffn, x, de, N, E.fc1, ps, true);
        linear(x, de, st.eh_.data(), a.enc[l].ffn, N, E.fc2, ps, false, x, de);
        norm(x, st.emean_.data(), st.erstd_.data(), E.ffn_ln, N, de);
        std::memcpy(st.enc_out_[l].data(), x, static_cast<size_t>(N * de) * sizeof(float));
    }
    // Cross-attention memory of each decoder layer: the last k encoder outputs
    // along time, each cut to the sentence's length, sentences stacked without
    // padding for one product; then keys transposed per sentence.
    const int64_t Le = static_cast<int64_t>(a.enc.size());
    for (size_t l = 0; l < a.dec.size(); l++) {
        const int64_t k = a.dec[l].cross_layers;
        EngineState::Cross &c = st.cross_[l];
        c.ld = (k * S + kVec - 1) / kVec * kVec;
        float *mem = st.mem_.data();
        int64_t rows = 0;
        for (int64_t b = 0; b < B; b++) {
            const int64_t n = st.src_len_[b];
            c.len[b] = k * n;
            for (int64_t j = 0; j < k; j++) {
                std::memcpy(mem + (rows + j * n) * de, st.enc_out_[Le - k + j].data() + b * S * de,
                            static_cast<size_t>(n * de) * sizeof(float));
                std::memcpy(c.mask.data() + b * c.ld + j * n, st.src_mask_.data() + b * S, static_cast<size_t>(n));
            }
            rows += k * n;
        }
        if (rows > 0) linear(st.ckv_.data(), 2 * Q, mem, de, rows, m.dec(l).cross_kv, ps);
        rows = 0;
        for (int64_t b = 0; b < B; b++) {
            float *kt = c.kt.data() + b * Q * c.ld, *v = c.v.data() + b * c.ld * Q;
            for (int64_t j = 0; j < c.len[b]; j++) {
                const float *row = st.ckv_.data() + (rows + j) * 2 * Q;
                for (int64_t d = 0; d < Q; d++) kt[d * c.ld + j] = row[d];
                std::memcpy(v + j * Q, row + Q, Q * sizeof(float));
            }
            rows += c.len[b];
        }
    }
}

void engine_set_rows(EngineState &st, const int64_t *src_of, int64_t rows) {
    check(st.B_ > 0, MOS_INVALID_ARGUMENT, "decoder rows set before encoding a source");
    check(st.t_ == 0, MOS_INVALID_ARGUMENT, "decoder rows can only be set before the first step");
    check(src_of != nullptr, MOS_INVALID_ARGUMENT, "src_of is NULL");
    check(rows > 0 && rows <= st.cap_R_, MOS_OUT_OF_RANGE, "decoder rows ", rows, " outside 1..", st.cap_R_);
    for (int64_t r = 0; r < rows; r++) {
        check(src_of[r] >= 0 && src_of[r] < st.B_, MOS_OUT_OF_RANGE, "row ", r, " maps to sentence ", src_of[r],
              " of ", st.B_);
        st.src_of_[r] = src_of[r];
    }
    st.R_ = rows;
}

void engine_reorder(EngineState &st, const int64_t *from, int64_t rows) {
    check(from != nullptr || rows == 0, MOS_INVALID_ARGUMENT, "reorder map is NULL");
    check(rows >= 0 && rows <= st.cap_R_, MOS_OUT_OF_RANGE, "reorder to ", rows, " rows; the state holds ",
          st.cap_R_);
    const int64_t t = st.t_, T = st.cap_T_;
    for (int64_t r = 0; r < rows; r++) {
        check(from[r] >= 0 && from[r] < st.R_, MOS_OUT_OF_RANGE, "reorder source row ", from[r], " outside 0..",
              st.R_ - 1);
        std::memcpy(st.path_next_.data() + r * T, st.path_.data() + from[r] * T, static_cast<size_t>(t) * 4);
        st.src_of_next_[r] = st.src_of_[from[r]];
    }
    st.path_.swap(st.path_next_);
    st.src_of_.swap(st.src_of_next_);
    st.R_ = rows;
}

// The decoder layers of one step, leaving the final hidden rows in st.x_.
struct EngineStep {
    static void layers(EngineState &st, const ServeModel &m, const int32_t *tokens) {
        check(st.B_ > 0, MOS_INVALID_ARGUMENT, "decoder step before encoding a source");
        check(tokens != nullptr, MOS_INVALID_ARGUMENT, "tokens are NULL");
        check(st.t_ < st.lim_T_, MOS_OUT_OF_RANGE, "decoder step ", st.t_ + 1, " exceeds the engine state's ",
              st.lim_T_, " steps");
        const ArchDims &a = m.arch();
        const int64_t R = st.R_, dd = a.dec_embed, Q = m.qkv(), t = st.t_, T = st.cap_T_, Rc = st.cap_R_;
        PackedScratch &ps = st.scratch_[0];
        float *x = st.x_.data();
        m.embed_rows(x, tokens, R, dd, st.pos_dec_.data() + t * dd, 0);
        for (int64_t r = 0; r < R; r++) st.path_[r * T + t] = static_cast<int32_t>(r);
        for (size_t l = 0; l < a.dec.size(); l++) {
            const ServeModel::DecoderLayer &D = m.dec(l);
            const LayerDims &L = a.dec[l];
            // Self-attention: q, k, v in one product; k and v of this step go
            // to slot r of time t.
            linear(st.qkv_.data(), 3 * Q, x, dd, R, D.qkv, ps);
            float *kc = st.kc_[l].data() + t * Rc * Q, *vc = st.vc_[l].data() + t * Rc * Q;
            for (int64_t r = 0; r < R; r++) {
                std::memcpy(kc + r * Q, st.qkv_.data() + r * 3 * Q + Q, Q * sizeof(float));
                std::memcpy(vc + r * Q, st.qkv_.data() + r * 3 * Q + 2 * Q, Q * sizeof(float));
            }
            step_self_attention(st.o_.data(), Q, st.qkv_.data(), 3 * Q, st.kc_[l].data(), st.vc_[l].data(), Rc * Q,
                                st.path_.data(), T, R, t + 1, Q, L.self_heads, st.scores_.data());
            linear(x, dd, st.o_.data(), Q, R, D.out, ps, false, x, dd);
            norm(x, st.mean_.data(), st.rstd_.data(), D.self_ln, R, dd);
            // Cross-attention over each row's sentence.
            linear(st.q_.data(), Q, x, dd, R, D.cross_q, ps);
            const EngineState::Cross &c = st.cross_[l];
            StepMemory mem;
            mem.kt = c.kt.data();
            mem.kt_ld = c.ld;
            mem.kt_sentence = Q * c.ld;
            mem.v = c.v.data();
            mem.v_ld = Q;
            mem.v_sentence = c.ld * Q;
            mem.mask = c.mask.data();
            mem.mask_sentence = c.ld;
            mem.len = c.len.data();
            step_cross_attention(st.o_.data(), Q, st.q_.data(), Q, mem, st.src_of_.data(), R, Q, L.cross_heads,
                                 st.scores_.data());
            linear(x, dd, st.o_.data(), Q, R, D.cross_out, ps, false, x, dd);
            norm(x, st.mean_.data(), st.rstd_.data(), D.cross_ln, R, dd);
            // FFN.
            linear(st.h_.data(), L.ffn, x, dd, R, D.fc1, ps, true);
            linear(x, dd, st.h_.data(), L.ffn, R, D.fc2, ps, false, x, dd);
            norm(x, st.mean_.data(), st.rstd_.data(), D.ffn_ln, R, dd);
        }
        st.t_++;
    }

    static const float *logits(EngineState &st, const ServeModel &m, const int32_t *tokens) {
        layers(st, m, tokens);
        const int64_t dd = m.arch().dec_embed, V = m.vocab();
        packed_linear(st.logits_.data(), V, st.x_.data(), dd, st.R_, m.embed(), dd, PackedEpilogue(),
                      st.scratch_[0], m.embed_colsum());
        return st.logits_.data();
    }

    static const VocabRowStats *topk(EngineState &st, const ServeModel &m, const int32_t *tokens, int k) {
        check(k >= 0 && k <= kMaxTopK, MOS_INVALID_ARGUMENT, "top-k of ", k, " outside 0..", kMaxTopK);
        layers(st, m, tokens);
        const int64_t R = st.R_, dd = m.arch().dec_embed, V = m.vocab();
        const int64_t G = m.embed().groups(), block = vocab_block(R);
        // Threads take contiguous ranges of 64-column groups, each with its
        // own statistics, merged below in range order.
        int nt = std::min<int>(omp_get_max_threads(), st.cap_threads_);
        if (R * V * dd < (int64_t(1) << 21) || omp_in_parallel()) nt = 1;
        nt = static_cast<int>(std::min<int64_t>(nt, G));
        const float *x = st.x_.data();
        auto run = [&](int i, int n) {
            VocabRowStats *stats = st.stats_[i].data();
            for (int64_t r = 0; r < R; r++) stats[r].reset(k);
            StatsSink sink;
            sink.stats = stats;
            sink.M = R;
            sink.skip_a = m.pad_id();
            sink.skip_b = kBos;
            sink.eos = kEos;
            const int64_t n0 = G * i / n * kGroupCols, n1 = std::min(V, G * (i + 1) / n * kGroupCols);
            packed_linear_tiles(sink, st.tile_[i].data(), block, x, dd, R, m.embed(), dd, nullptr, st.scratch_[i],
                                m.embed_colsum(), n0, n1);
        };
        if (nt > 1) {
            int ran = 1;  // OpenMP may give fewer threads than asked: merge what ran
#pragma omp parallel num_threads(nt)
            {
                if (omp_get_thread_num() == 0) ran = omp_get_num_threads();
                run(omp_get_thread_num(), omp_get_num_threads());
            }
            for (int i = 1; i < ran; i++)
                for (int64_t r = 0; r < R; r++) vocab_stats_merge(st.stats_[0][r], st.stats_[i][r]);
        } else {
            run(0, 1);
        }
        return st.stats_[0].data();
    }
};

const float *engine_step_logits(EngineState &st, const ServeModel &m, const int32_t *tokens) {
    return EngineStep::logits(st, m, tokens);
}

const VocabRowStats *engine_step_topk(EngineState &st, const ServeModel &m, const int32_t *tokens, int topk) {
    return EngineStep::topk(st, m, tokens, topk);
}

std::vector<float> engine_teacher_forced_logits(const ServeModel &m, const Batch &b) {
    EngineState st;
    st.reserve(m, b.B, b.B, b.S, b.T);
    engine_encode(st, m, b.src, b.B, b.S);
    const int64_t V = m.vocab();
    std::vector<float> out(static_cast<size_t>(b.B * b.T * V));
    std::vector<int32_t> tok(static_cast<size_t>(b.B));
    for (int64_t t = 0; t < b.T; t++) {
        for (int64_t r = 0; r < b.B; r++) tok[r] = b.tgt_in[r * b.T + t];
        const float *lg = engine_step_logits(st, m, tok.data());
        for (int64_t r = 0; r < b.B; r++)
            std::memcpy(out.data() + (r * b.T + t) * V, lg + r * V, V * sizeof(float));
    }
    return out;
}

}  // namespace mos
