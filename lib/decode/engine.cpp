// lib/decode/engine.cpp: the decoding engine's encoder, decoder step, fused
// output layer and beam reorder (see engine.hpp; the model's computation is
// that of lib/model/dense.cpp, docs/supernet.md).
#include "decode/engine.hpp"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <exception>
#include <mutex>
#include <thread>

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

// A float buffer grows without keeping its contents: reserve() runs before a
// call's engine_encode and every element is written before it is read, so
// moving the old elements (element by element, through the allocator's
// construct) would only fault in the new buffer's pages for nothing. That copy
// was most of the page faults left in `mos-cli translate` once workspaces were
// kept across calls (docs/serving.md).
void grow(EngineBuffer &v, int64_t n) {
    if (static_cast<int64_t>(v.size()) >= n) return;
    EngineBuffer fresh;
    fresh.resize(static_cast<size_t>(n));  // if this throws, v is left as it was
    v.swap(fresh);
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

// ---- Several threads for a few rows (docs/serving.md, "Threads for one sentence")
//
// A decoder step of one sentence (greedy) or one beam is a chain of small
// products (3Q x d, F x d, ...: well below a million multiply-adds each), too
// small for a fork/join of the OpenMP team per product. Instead one parallel
// region runs the whole step: each thread computes its share of the output
// columns of every product (whole 64-column groups, so every column is
// computed by the same kernel code as on one thread: bit-identical results),
// the attention and LayerNorms run on thread 0, and the threads meet at a light
// spin barrier between dependent phases.

// Products at or above this many multiply-adds already split over the OpenMP
// team (kernels/packed.cpp), so a step whose products reach it runs unteamed.
constexpr int64_t kTeamMaxProduct = int64_t(1) << 21;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

// A barrier for the threads of one step: spins with pause for a while, then
// yields, so a thread waiting for a descheduled partner on a loaded machine
// gives its core back instead of burning it.
class SpinBarrier {
public:
    void set_count(int n) { n_.store(n, std::memory_order_relaxed); }
    void wait() {
        const unsigned g = gen_.load(std::memory_order_acquire);
        if (count_.fetch_add(1, std::memory_order_acq_rel) + 1 == n_.load(std::memory_order_relaxed)) {
            count_.store(0, std::memory_order_relaxed);
            gen_.store(g + 1, std::memory_order_release);
            return;
        }
        for (int i = 0; gen_.load(std::memory_order_acquire) == g; i++) {
            if (i < kSpins)
                cpu_relax();
            else
                std::this_thread::yield();
        }
    }

private:
    static constexpr int kSpins = 1 << 14;  // about 0.1-0.5 ms of pause before yielding
    std::atomic<int> n_{1}, count_{0};
    std::atomic<unsigned> gen_{0};
};

// Writes the product tiles of one thread's columns into y (row stride ldy)
// with the rest of the epilogue (ReLU, residual): the same operations, in the
// same order, as the kernels' fused epilogue (bias, ReLU, residual).
struct StoreSink : PackedTileSink {
    float *y;
    int64_t ldy, M;
    bool relu;
    const float *residual;
    int64_t ldr;
    void tile(int64_t n0, int64_t n1, const float *t, int64_t ld) override {
        for (int64_t m = 0; m < M; m++) {
            float *o = y + m * ldy;
            const float *r = residual ? residual + m * ldr : nullptr;
            const float *v = t + m * ld - n0;
            for (int64_t n = n0; n < n1; n++) {
                float w = v[n];
                if (relu) w = w > 0.0f ? w : 0.0f;
                if (r) w = w + r[n];
                o[n] = w;
            }
        }
    }
};

// One thread's part of a step: its index t of n, the shared barrier, and the
// first error of any thread (the others keep meeting at the barrier, skipping
// their work, so no thread waits forever).
struct StepTeam {
    int t = 0, n = 1;
    SpinBarrier *bar = nullptr;
    std::atomic<bool> *failed = nullptr;
    std::exception_ptr *error = nullptr;
    std::mutex *error_mu = nullptr;

    template <class F>
    void guarded(F &&f) {
        if (n == 1) {
            f();
            return;
        }
        if (!failed->load(std::memory_order_relaxed)) {
            try {
                f();
            } catch (...) {
                std::lock_guard<std::mutex> lock(*error_mu);
                if (!*error) *error = std::current_exception();
                failed->store(true, std::memory_order_relaxed);
            }
        }
        bar->wait();
    }
    // f on thread 0 only, then every thread meets.
    template <class F>
    void serial(F &&f) {
        guarded([&] {
            if (t == 0) f();
        });
    }
    // y (+)= x W^T + b of `l`: on one thread the packed product itself, in a
    // team each thread its range of 64-column groups (with its own scratch and
    // tile), then every thread meets.
    void product(std::vector<PackedScratch> &scratch, std::vector<EngineBuffer> &tiles, float *y, int64_t ldy,
                 const float *x, int64_t ldx, int64_t M, const ServeModel::Linear &l, bool relu = false,
                 const float *residual = nullptr, int64_t ldr = 0) {
        if (n == 1) {
            mos::linear(y, ldy, x, ldx, M, l, scratch[0], relu, residual, ldr);
            return;
        }
        guarded([&] {
            const PackedMatrix &W = l.W;
            const int64_t G = W.groups(), N = W.rows();
            const int64_t n0 = G * t / n * kGroupCols, n1 = std::min(N, G * (t + 1) / n * kGroupCols);
            if (n0 >= n1) return;
            StoreSink sink;
            sink.y = y;
            sink.ldy = ldy;
            sink.M = M;
            sink.relu = relu;
            sink.residual = residual;
            sink.ldr = ldr;
            packed_linear_tiles(sink, tiles[static_cast<size_t>(t)].data(), vocab_block(M), x, ldx, M, W, W.cols(),
                                l.b.data(), scratch[static_cast<size_t>(t)], nullptr, n0, n1);
        });
    }
};

// Copies one thread's tiles of the output projection into the logits [M, ld].
struct LogitsSink : PackedTileSink {
    float *logits;
    int64_t ld, M;
    void tile(int64_t n0, int64_t n1, const float *t, int64_t tld) override {
        for (int64_t m = 0; m < M; m++)
            std::memcpy(logits + m * ld + n0, t + m * tld, static_cast<size_t>(n1 - n0) * sizeof(float));
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
        step_timing_ = block_timing_ = TeamTiming();  // the team's timings were another model's
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
    // The threads a step of the current rows runs on: a team of the call's
    // threads when every decoder product is too small for the kernels' own
    // split (kTeamMaxProduct: one sentence greedy, a beam of a few rows), else
    // one (the products split over OpenMP inside the kernels).
    static int team_size(const EngineState &st, const ServeModel &m) {
        if (omp_in_parallel()) return 1;
        const int nt = std::min<int>(omp_get_max_threads(), st.cap_threads_);
        if (nt <= 1) return 1;
        const ArchDims &a = m.arch();
        const int64_t dd = a.dec_embed, Q = m.qkv();
        int64_t widest = std::max(3 * Q * dd, Q * dd);
        for (const LayerDims &l : a.dec) widest = std::max(widest, l.ffn * dd);
        return st.R_ * widest < kTeamMaxProduct ? nt : 1;
    }

    // Runs f(StepTeam &) on nt threads (1: the calling thread alone); the
    // first error of any thread is rethrown once all have finished.
    template <class F>
    static void run_team(int nt, F &&f) {
        if (nt <= 1) {
            StepTeam tm;
            f(tm);
            return;
        }
        SpinBarrier bar;
        std::atomic<bool> failed{false};
        std::exception_ptr error;
        std::mutex error_mu;
#pragma omp parallel num_threads(nt)
        {
            StepTeam tm;
            tm.t = omp_get_thread_num();
            tm.n = omp_get_num_threads();
            tm.bar = &bar;
            tm.failed = &failed;
            tm.error = &error;
            tm.error_mu = &error_mu;
            bar.set_count(tm.n);
            try {
                f(tm);
            } catch (...) {  // only a team of one gets here (StepTeam::guarded catches in teams)
                std::lock_guard<std::mutex> lock(error_mu);
                if (!error) error = std::current_exception();
            }
        }
        if (error) std::rethrow_exception(error);
    }

    // Checks, and the embedded input rows of the step.
    static void begin(EngineState &st, const ServeModel &m, const int32_t *tokens) {
        check(st.B_ > 0, MOS_INVALID_ARGUMENT, "decoder step before encoding a source");
        check(tokens != nullptr, MOS_INVALID_ARGUMENT, "tokens are NULL");
        const int64_t last = st.t_ + std::max<int64_t>(st.block_, 1);
        check(last <= st.lim_T_, MOS_OUT_OF_RANGE, "decoder step ", last, " exceeds the engine state's ", st.lim_T_,
              " steps");
        const int64_t R = st.R_, dd = m.arch().dec_embed, t = st.t_, T = st.cap_T_;
        if (st.block_ > 0) {
            // One row's positions t, t + 1, ...: slot 0 of each time.
            m.embed_rows(st.x_.data(), tokens, R, dd, st.pos_dec_.data() + t * dd, dd);
            for (int64_t j = 0; j < R; j++) st.path_[t + j] = 0;
            return;
        }
        m.embed_rows(st.x_.data(), tokens, R, dd, st.pos_dec_.data() + t * dd, 0);
        for (int64_t r = 0; r < R; r++) st.path_[r * T + t] = static_cast<int32_t>(r);
    }

    // The step count after this step (a block: its positions).
    static void advance(EngineState &st) { st.t_ += std::max<int64_t>(st.block_, 1); }

    // The decoder layers, as thread tm.t of tm.n; the caller advances st.t_.
    static void layers(EngineState &st, const ServeModel &m, StepTeam &tm) {
        const ArchDims &a = m.arch();
        const int64_t R = st.R_, dd = a.dec_embed, Q = m.qkv(), t = st.t_, T = st.cap_T_, Rc = st.cap_R_;
        std::vector<PackedScratch> &sc = st.scratch_;
        std::vector<EngineBuffer> &tl = st.tile_;
        float *x = st.x_.data();
        for (size_t l = 0; l < a.dec.size(); l++) {
            const ServeModel::DecoderLayer &D = m.dec(l);
            const LayerDims &L = a.dec[l];
            // Self-attention: q, k, v in one product; k and v of this step go
            // to slot r of time t.
            tm.product(sc, tl, st.qkv_.data(), 3 * Q, x, dd, R, D.qkv);
            tm.serial([&] {
                if (st.block_ > 0) {
                    // Row j is position t + j of the one row: its k and v go to
                    // slot 0 of time t + j, and it attends to times 0..t + j,
                    // as the single step at that position would.
                    for (int64_t j = 0; j < R; j++) {
                        std::memcpy(st.kc_[l].data() + (t + j) * Rc * Q, st.qkv_.data() + j * 3 * Q + Q,
                                    Q * sizeof(float));
                        std::memcpy(st.vc_[l].data() + (t + j) * Rc * Q, st.qkv_.data() + j * 3 * Q + 2 * Q,
                                    Q * sizeof(float));
                    }
                    for (int64_t j = 0; j < R; j++)
                        step_self_attention(st.o_.data() + j * Q, Q, st.qkv_.data() + j * 3 * Q, 3 * Q,
                                            st.kc_[l].data(), st.vc_[l].data(), Rc * Q, st.path_.data(), T, 1,
                                            t + j + 1, Q, L.self_heads, st.scores_.data());
                    return;
                }
                float *kc = st.kc_[l].data() + t * Rc * Q, *vc = st.vc_[l].data() + t * Rc * Q;
                for (int64_t r = 0; r < R; r++) {
                    std::memcpy(kc + r * Q, st.qkv_.data() + r * 3 * Q + Q, Q * sizeof(float));
                    std::memcpy(vc + r * Q, st.qkv_.data() + r * 3 * Q + 2 * Q, Q * sizeof(float));
                }
                step_self_attention(st.o_.data(), Q, st.qkv_.data(), 3 * Q, st.kc_[l].data(), st.vc_[l].data(),
                                    Rc * Q, st.path_.data(), T, R, t + 1, Q, L.self_heads, st.scores_.data());
            });
            tm.product(sc, tl, x, dd, st.o_.data(), Q, R, D.out, false, x, dd);
            tm.serial([&] { norm(x, st.mean_.data(), st.rstd_.data(), D.self_ln, R, dd); });
            // Cross-attention over each row's sentence.
            tm.product(sc, tl, st.q_.data(), Q, x, dd, R, D.cross_q);
            tm.serial([&] {
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
            });
            tm.product(sc, tl, x, dd, st.o_.data(), Q, R, D.cross_out, false, x, dd);
            tm.serial([&] { norm(x, st.mean_.data(), st.rstd_.data(), D.cross_ln, R, dd); });
            // FFN.
            tm.product(sc, tl, st.h_.data(), L.ffn, x, dd, R, D.fc1, true);
            tm.product(sc, tl, x, dd, st.h_.data(), L.ffn, R, D.fc2, false, x, dd);
            tm.serial([&] { norm(x, st.mean_.data(), st.rstd_.data(), D.ffn_ln, R, dd); });
        }
    }

    static const float *logits(EngineState &st, const ServeModel &m, const int32_t *tokens) {
        begin(st, m, tokens);
        const int team = st.team_policy_ == EngineState::TeamPolicy::Never ? 1 : team_size(st, m);
        run_team(team, [&](StepTeam &tm) { layers(st, m, tm); });
        advance(st);
        const int64_t dd = m.arch().dec_embed, V = m.vocab();
        packed_linear(st.logits_.data(), V, st.x_.data(), dd, st.R_, m.embed(), dd, PackedEpilogue(),
                      st.scratch_[0], m.embed_colsum());
        return st.logits_.data();
    }

    // Whether this call runs on its team of `team` threads (TeamPolicy::Auto:
    // the faster way so far; the slower one again after probe_every calls, an
    // interval that doubles each time it loses, up to kMaxProbe, and starts
    // again at kMinProbe when the winner changes).
    static constexpr int64_t kMinProbe = 16, kMaxProbe = 4096;
    static bool choose_team(const EngineState &st, const EngineState::TeamTiming &tt, int team) {
        if (team <= 1) return false;
        switch (st.team_policy_) {
        case EngineState::TeamPolicy::Always: return true;
        case EngineState::TeamPolicy::Never: return false;
        case EngineState::TeamPolicy::Auto: break;
        }
        if (tt.team_ms == 0.0) return true;
        if (tt.solo_ms == 0.0) return false;
        const bool team_wins = tt.team_ms <= tt.solo_ms;
        return tt.calls >= tt.probe_at ? !team_wins : team_wins;
    }
    // Folds the time of a call run with (`teamed`) or without a team into the
    // averages, and schedules the next try of the slower way.
    static void record_team(EngineState::TeamTiming &tt, bool teamed, double ms) {
        const bool probe = tt.team_ms > 0.0 && tt.solo_ms > 0.0 && tt.calls >= tt.probe_at;
        const bool team_won = tt.team_ms <= tt.solo_ms;
        double &avg = teamed ? tt.team_ms : tt.solo_ms;
        avg = avg == 0.0 ? ms : 0.5 * avg + 0.5 * ms;
        tt.calls++;
        if (tt.team_ms == 0.0 || tt.solo_ms == 0.0) {
            tt.probe_every = kMinProbe;
            tt.probe_at = tt.calls + kMinProbe;
        } else if (probe) {
            const bool changed = (tt.team_ms <= tt.solo_ms) != team_won;
            tt.probe_every = changed ? kMinProbe : std::min(kMaxProbe, 2 * tt.probe_every);
            tt.probe_at = tt.calls + tt.probe_every;
        }
    }

    // run(team) for a begun step, on a team of the call's threads or on the
    // calling thread alone, whichever the state's timing chooses; returns
    // what run returns.
    template <class F>
    static auto on_chosen_team(EngineState &st, const ServeModel &m, F &&run) {
        // A block (speculative decoding's check, at most kMaxDraftTokens + 1
        // rows) may run on a team too, its choice timed apart from the single
        // steps': otherwise its products, above the team's limit for one
        // step, would split inside the kernels with a fork and join each.
        const int eligible = st.block_ > 0 ? (omp_in_parallel() ? 1 : std::min<int>(omp_get_max_threads(),
                                                                                   st.cap_threads_))
                                           : team_size(st, m);
        EngineState::TeamTiming &tt = st.block_ > 0 ? st.block_timing_ : st.step_timing_;
        if (eligible > 1 && eligible != tt.n) {
            // Another team size (or model, reserve()): measure afresh.
            tt = EngineState::TeamTiming();
            tt.n = eligible;
        }
        const bool teamed = choose_team(st, tt, eligible);
        const bool timed = eligible > 1 && st.team_policy_ == EngineState::TeamPolicy::Auto;
        const auto t0 = timed ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point();
        auto out = run(teamed ? eligible : 1);
        if (timed) {
            // Blocks differ in size (a check after a rejection is shorter):
            // their times are compared per row.
            const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
            record_team(tt, teamed, st.block_ > 0 ? ms / static_cast<double>(st.block_) : ms);
        }
        return out;
    }

    static const VocabRowStats *topk(EngineState &st, const ServeModel &m, const int32_t *tokens, int k) {
        check(k >= 0 && k <= kMaxTopK, MOS_INVALID_ARGUMENT, "top-k of ", k, " outside 0..", kMaxTopK);
        begin(st, m, tokens);
        return on_chosen_team(st, m, [&](int team) { return topk_run(st, m, k, team); });
    }

    static int32_t draft(EngineState &st, const ServeModel &m, int32_t token, bool skip_eos) {
        check(st.R_ == 1 && st.block_ == 0, MOS_INVALID_ARGUMENT, "a draft step needs a state of one row, not ",
              st.R_);
        const ServeModel::DraftHead *h = m.draft_head();
        if (h == nullptr) {
            const VocabRowStats &rs = topk(st, m, &token, skip_eos ? 2 : 1)[0];
            if (skip_eos) return rs.best_except(kEos, kSpecialTokens);
            return rs.n > 0 ? rs.tok[0] : -1;
        }
        cache_only(st, m, token);
        return head_choice(st, m, *h, skip_eos);
    }

    static void cache_only(EngineState &st, const ServeModel &m, int32_t token) {
        check(st.R_ == 1 && st.block_ == 0, MOS_INVALID_ARGUMENT, "a draft step needs a state of one row, not ",
              st.R_);
        begin(st, m, &token);
        on_chosen_team(st, m, [&](int team) {
            run_team(team, [&](StepTeam &tm) { layers(st, m, tm); });
            return 0;
        });
        advance(st);
    }

    // The draft head's choice for the state's one row (x_ after the layers).
    static int32_t head_choice(EngineState &st, const ServeModel &m, const ServeModel::DraftHead &h, bool skip_eos) {
        const int64_t V = m.vocab(), dd = m.arch().dec_embed;
        const float *x = st.x_.data();
        float *y = st.logits_.data();
        nibble_scores(y, x, h.coarse, st.nibble_);
        // The shortlist: the kDraftShortlist best scores, kept sorted (score
        // descending, id ascending), tokens never chosen left out.
        int32_t tok[kDraftShortlist];
        float val[kDraftShortlist];
        int n = 0;
        const int32_t pad = m.pad_id();
        auto consider = [&](int64_t v) {
            const float sv = y[v];
            if (n == kDraftShortlist && !(sv > val[n - 1])) return;
            const int32_t id = static_cast<int32_t>(v);
            if (id == pad || id == kBos || (skip_eos && id == kEos)) return;
            int i = n < kDraftShortlist ? n++ : n - 1;
            for (; i > 0 && val[i - 1] < sv; i--) {
                val[i] = val[i - 1];
                tok[i] = tok[i - 1];
            }
            val[i] = sv;
            tok[i] = id;
        };
        // Once the list is full, blocks of 16 scores none of which beats its
        // last are skipped by one vectorisable test.
        constexpr int64_t kBlock = 16;
        int64_t v = 0;
        for (; v + kBlock <= V; v += kBlock) {
            if (n == kDraftShortlist) {
                const float bar = val[n - 1];
                bool any = false;
                for (int64_t j = 0; j < kBlock; j++) any |= y[v + j] > bar;
                if (!any) continue;
            }
            for (int64_t j = 0; j < kBlock; j++) consider(v + j);
        }
        for (; v < V; v++) consider(v);
        if (n == 0) return skip_eos ? kSpecialTokens : -1;
        int32_t best = -1;
        float best_v = 0.0f;
        for (int i = 0; i < n; i++) {
            // 16 partial sums (lane k % 16), added in a fixed order: the
            // compiler vectorises it and every run gives the same bits.
            const int8_t *r = h.rows.data() + static_cast<int64_t>(tok[i]) * dd;
            float part[16] = {};
            int64_t k = 0;
            for (; k + 16 <= dd; k += 16)
                for (int j = 0; j < 16; j++) part[j] += x[k + j] * static_cast<float>(r[k + j]);
            for (; k < dd; k++) part[k % 16] += x[k] * static_cast<float>(r[k]);
            float acc = 0.0f;
            for (int j = 0; j < 16; j++) acc += part[j];
            const float lv = acc * h.scale[static_cast<size_t>(tok[i])];
            if (best < 0 || lv > best_v || (lv == best_v && tok[i] < best)) {
                best = tok[i];
                best_v = lv;
            }
        }
        return best;
    }

    static const VocabRowStats *topk_run(EngineState &st, const ServeModel &m, int k, int team) {
        const int64_t R = st.R_, dd = m.arch().dec_embed, V = m.vocab();
        const int64_t G = m.embed().groups(), block = vocab_block(R);
        const float *x = st.x_.data();
        auto sink_of = [&](VocabRowStats *stats) {
            for (int64_t r = 0; r < R; r++) stats[r].reset(k);
            StatsSink sink;
            sink.stats = stats;
            sink.M = R;
            sink.skip_a = m.pad_id();
            sink.skip_b = kBos;
            sink.eos = kEos;
            return sink;
        };
        if (team > 1) {
            // The output projection split over the team by columns into the
            // logits, then the statistics on thread 0 over the same blocks, in
            // the same order, as one thread fuses them: the same bits.
            run_team(team, [&](StepTeam &tm) {
                layers(st, m, tm);
                tm.guarded([&] {
                    const int64_t n0 = G * tm.t / tm.n * kGroupCols,
                                  n1 = std::min(V, G * (tm.t + 1) / tm.n * kGroupCols);
                    if (n0 >= n1) return;
                    LogitsSink sink;
                    sink.logits = st.logits_.data();
                    sink.ld = V;
                    sink.M = R;
                    packed_linear_tiles(sink, st.tile_[static_cast<size_t>(tm.t)].data(), block, x, dd, R, m.embed(),
                                        dd, nullptr, st.scratch_[static_cast<size_t>(tm.t)], m.embed_colsum(), n0, n1);
                });
                tm.serial([&] {
                    StatsSink sink = sink_of(st.stats_[0].data());
                    for (int64_t n0 = 0; n0 < V; n0 += block)
                        sink.tile(n0, std::min(V, n0 + block), st.logits_.data() + n0, V);
                });
            });
            advance(st);
            return st.stats_[0].data();
        }
        run_team(1, [&](StepTeam &tm) { layers(st, m, tm); });
        advance(st);
        // Threads take contiguous ranges of 64-column groups, each with its
        // own statistics, merged below in range order.
        int nt = std::min<int>(omp_get_max_threads(), st.cap_threads_);
        // A block's statistics stay on one thread (its team path computes the
        // same bits): merged ranges would round its log-sum-exp differently
        // from the single steps it stands for.
        if (R * V * dd < (int64_t(1) << 21) || omp_in_parallel() || st.block_ > 0) nt = 1;
        nt = static_cast<int>(std::min<int64_t>(nt, G));
        auto run = [&](int i, int n) {
            StatsSink sink = sink_of(st.stats_[i].data());
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

int32_t engine_step_draft(EngineState &st, const ServeModel &m, int32_t token, bool skip_eos) {
    return EngineStep::draft(st, m, token, skip_eos);
}

void engine_step_cache(EngineState &st, const ServeModel &m, int32_t token) { EngineStep::cache_only(st, m, token); }

const float *engine_step_logits(EngineState &st, const ServeModel &m, const int32_t *tokens) {
    return EngineStep::logits(st, m, tokens);
}

const VocabRowStats *engine_step_topk(EngineState &st, const ServeModel &m, const int32_t *tokens, int topk) {
    return EngineStep::topk(st, m, tokens, topk);
}

const VocabRowStats *engine_step_block_topk(EngineState &st, const ServeModel &m, const int32_t *tokens, int64_t n,
                                            int topk) {
    check(st.B_ > 0, MOS_INVALID_ARGUMENT, "decoder step before encoding a source");
    check(st.R_ == 1, MOS_INVALID_ARGUMENT, "a block of positions needs a state of one row, not ", st.R_);
    check(n >= 1 && n <= st.cap_R_, MOS_OUT_OF_RANGE, "a block of ", n, " positions; the state holds 1..",
          st.cap_R_);
    const int64_t s0 = st.src_of_[0];
    for (int64_t j = 1; j < n; j++) st.src_of_[j] = s0;
    struct Restore {
        EngineState &st;
        ~Restore() {
            st.R_ = 1;
            st.block_ = 0;
        }
    } restore{st};
    st.R_ = n;
    st.block_ = n;
    return EngineStep::topk(st, m, tokens, topk);
}

void engine_share_encoding(EngineState &to, const EngineState &from) {
    check(from.B_ == 1, MOS_INVALID_ARGUMENT, "sharing an encoding needs one encoded sentence, not ", from.B_);
    check(to.key_ == from.key_, MOS_INVALID_ARGUMENT,
          "sharing an encoding needs a state of the same widths (a draft of the model's arch)");
    check(to.cap_S_ >= from.S_ && to.cap_R_ >= 1, MOS_OUT_OF_RANGE, "the state holds sources of ", to.cap_S_,
          " tokens, not ", from.S_);
    to.B_ = 1;
    to.S_ = from.S_;
    to.R_ = 1;
    to.t_ = 0;
    to.block_ = 0;
    to.src_of_[0] = 0;
    to.src_len_[0] = from.src_len_[0];
    for (size_t l = 0; l < from.cross_.size(); l++) {
        const EngineState::Cross &f = from.cross_[l];
        EngineState::Cross &c = to.cross_[l];
        const int64_t Q = static_cast<int64_t>(to.key_[2]);
        c.ld = f.ld;
        c.len[0] = f.len[0];
        std::memcpy(c.kt.data(), f.kt.data(), static_cast<size_t>(Q * f.ld) * sizeof(float));
        std::memcpy(c.v.data(), f.v.data(), static_cast<size_t>(f.ld * Q) * sizeof(float));
        std::memcpy(c.mask.data(), f.mask.data(), static_cast<size_t>(f.ld));
    }
}

void engine_rewind(EngineState &st, int64_t t) {
    check(t >= 0 && t <= st.t_, MOS_OUT_OF_RANGE, "rewind to step ", t, " outside 0..", st.t_);
    st.t_ = t;
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
