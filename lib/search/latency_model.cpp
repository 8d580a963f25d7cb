// lib/search/latency_model.cpp: latency features, the decode path's operation
// inventory and its microbenchmarks (see latency_model.hpp).
#include "search/latency_model.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "data/tokens.hpp"
#include "kernels/activation.hpp"
#include "kernels/attention.hpp"
#include "kernels/embedding.hpp"
#include "kernels/layernorm.hpp"
#include "kernels/linear.hpp"
#include "model/dense.hpp"

namespace mos {

const char *feature_set_name(FeatureSet f) { return f == FeatureSet::Rich ? "rich" : "hat"; }

FeatureSet parse_feature_set(const std::string &s) {
    if (s == "hat") return FeatureSet::Hat;
    if (s == "rich") return FeatureSet::Rich;
    fail(MOS_INVALID_ARGUMENT, "unknown feature set '", s, "'; known hat|rich");
}

namespace {

// Analytic work of one run of the protocol, per stage (latency_model.hpp).
struct Work {
    const char *name;
    double value;
};

std::vector<Work> stage_work(const Arch &a, int64_t vocab, const LatencyOptions &p) {
    const double S = p.src_len, T = p.steps, R = p.beam, V = static_cast<double>(vocab), Q = a.qkv_dim;
    const double de = a.enc_embed, dd = a.dec_embed, Le = static_cast<double>(a.enc.size()),
                 Ld = static_cast<double>(a.dec.size());
    double enc_lin = 0, enc_w = 0, enc_heads = 0, cross_kv = 0, dec_attn_w = 0, dec_ffn_w = 0, self_heads = 0,
           cross_keys = 0, cross_head_keys = 0;
    for (const EncoderLayerArch &l : a.enc) {
        enc_lin += S * (4 * de * Q + 2 * de * l.ffn_dim);
        enc_w += 4 * de * Q + 2 * de * l.ffn_dim;
        enc_heads += l.heads;
    }
    const double tri = T * (T + 1) / 2;  // keys attended over the steps: 1 + 2 + ... + T
    for (const DecoderLayerArch &l : a.dec) {
        cross_kv += 2 * l.cross_k * S * de * Q;
        dec_attn_w += T * 6 * dd * Q;
        dec_ffn_w += T * 2 * dd * l.ffn_dim;
        self_heads += R * l.self_heads * tri;
        cross_keys += R * T * l.cross_k * S * Q;
        cross_head_keys += R * T * l.cross_heads * l.cross_k * S;
    }
    const double reorder = R > 1 ? 4 * Ld * R * Q * (tri - T) : 0.0;  // steps 1..T-1 copy t+1 rows each way
    return {
        {"vocab", V},
        {"enc_linear_macs", enc_lin},
        {"enc_weights", enc_w},
        {"enc_attention_macs", Le * 2 * S * S * Q},
        {"enc_heads", enc_heads},
        {"cross_kv_macs", cross_kv},
        {"dec_attention_weights", dec_attn_w},
        {"dec_ffn_weights", dec_ffn_w},
        {"dec_self_keys", R * Q * Ld * tri},
        {"dec_self_head_keys", self_heads},
        {"dec_cross_keys", cross_keys},
        {"dec_cross_head_keys", cross_head_keys},
        {"output_weights", T * V * dd},
        {"softmax", T * R * V},
        {"cache_copies", reorder + T * Ld * R * Q * 2},
        {"dec_layer_steps", T * Ld},
        {"enc_layers", Le},
        {"dec_norm", T * R * dd * Ld * 3},
        {"enc_norm", S * de * Le * 2},
    };
}

}  // namespace

std::vector<std::string> latency_feature_names(FeatureSet f, const Space &space) {
    std::vector<std::string> n = {"enc_embed", "enc_layers_frac", "enc_ffn_mean", "enc_heads_mean", "dec_embed",
                                  "dec_layers_frac", "dec_ffn_mean", "dec_self_heads_mean", "dec_cross_heads_mean",
                                  "dec_cross_k_mean"};
    if (f == FeatureSet::Hat) return n;
    for (int i = 0; i < space.max_enc_layers(); i++)
        for (const char *k : {"ffn", "heads"}) n.push_back("enc" + std::to_string(i) + "_" + k);
    for (int i = 0; i < space.max_dec_layers(); i++)
        for (const char *k : {"ffn", "self_heads", "cross_heads", "cross_k"})
            n.push_back("dec" + std::to_string(i) + "_" + k);
    Arch probe = arch_smallest(space);
    for (const Work &w : stage_work(probe, 1, LatencyOptions())) n.push_back(w.name);
    return n;
}

std::vector<double> latency_features(FeatureSet f, const Space &space, const Arch &a, int64_t vocab,
                                     const LatencyOptions &protocol) {
    check(vocab > 0, MOS_INVALID_ARGUMENT, "vocabulary ", vocab, " is not positive");
    validate(space, a);
    const std::vector<float> fine =
        f == FeatureSet::Hat ? arch_encode(space, a) : arch_encode_fine(space, a);
    std::vector<double> out(fine.begin(), fine.end());
    if (f == FeatureSet::Rich)
        for (const Work &w : stage_work(a, vocab, protocol)) out.push_back(w.value);
    return out;
}

// ---- operation inventory ----------------------------------------------------------

namespace {
const char *kKindNames[] = {"linear", "logits", "attention", "attend", "addnorm", "relu",
                            "embed",  "positions", "scores", "copy"};
constexpr int kKinds = sizeof(kKindNames) / sizeof(kKindNames[0]);
}  // namespace

std::string DecodeOp::key() const {
    char buf[128];
    switch (kind) {
    case Linear: std::snprintf(buf, sizeof buf, "linear %lldx%lldx%lld", (long long)m, (long long)k, (long long)n); break;
    case Logits:
        std::snprintf(buf, sizeof buf, "logits %lldx%lldx%lld/%lld", (long long)m, (long long)k, (long long)n,
                      (long long)ld);
        break;
    case Attention: std::snprintf(buf, sizeof buf, "attention %lldx%lld/%lld", (long long)m, (long long)k, (long long)h); break;
    case Attend: std::snprintf(buf, sizeof buf, "attend %lldx%lld/%lld", (long long)m, (long long)k, (long long)h); break;
    case AddNorm: std::snprintf(buf, sizeof buf, "addnorm %lldx%lld", (long long)m, (long long)k); break;
    case Relu: std::snprintf(buf, sizeof buf, "relu %lld", (long long)m); break;
    case Embed: std::snprintf(buf, sizeof buf, "embed %lldx%lld/%lld", (long long)m, (long long)k, (long long)ld); break;
    case Positions: std::snprintf(buf, sizeof buf, "positions %lldx%lld", (long long)m, (long long)k); break;
    case Scores: std::snprintf(buf, sizeof buf, "scores %lldx%lld", (long long)m, (long long)n); break;
    case Copy: std::snprintf(buf, sizeof buf, "copy"); break;
    }
    return buf;
}

DecodeOp parse_decode_op(const std::string &key) {
    DecodeOp op;
    const size_t sp = key.find(' ');
    const std::string name = key.substr(0, sp);
    int kind = -1;
    for (int i = 0; i < kKinds; i++)
        if (name == kKindNames[i]) kind = i;
    check(kind >= 0, MOS_FORMAT, "unknown operation '", key, "'");
    op.kind = static_cast<DecodeOp::Kind>(kind);
    const std::string rest = sp == std::string::npos ? "" : key.substr(sp + 1);
    long long a = 0, b = 0, c = 0, d = 0;
    char tail = 0;
    int got = 0;
    switch (op.kind) {
    case DecodeOp::Linear: got = std::sscanf(rest.c_str(), "%lldx%lldx%lld%c", &a, &b, &c, &tail) == 3; break;
    case DecodeOp::Logits: got = std::sscanf(rest.c_str(), "%lldx%lldx%lld/%lld%c", &a, &b, &c, &d, &tail) == 4; break;
    case DecodeOp::Attention:
    case DecodeOp::Attend:
    case DecodeOp::Embed: got = std::sscanf(rest.c_str(), "%lldx%lld/%lld%c", &a, &b, &c, &tail) == 3; break;
    case DecodeOp::AddNorm:
    case DecodeOp::Positions:
    case DecodeOp::Scores: got = std::sscanf(rest.c_str(), "%lldx%lld%c", &a, &b, &tail) == 2; break;
    case DecodeOp::Relu: got = std::sscanf(rest.c_str(), "%lld%c", &a, &tail) == 1; break;
    case DecodeOp::Copy: got = rest.empty(); break;
    }
    check(got, MOS_FORMAT, "malformed operation '", key, "'");
    const long long lim = 1LL << 31;
    check(a >= 0 && b >= 0 && c >= 0 && d >= 0 && a < lim && b < lim && c < lim && d < lim, MOS_FORMAT,
          "operation '", key, "' has a size out of range");
    op.m = a;
    switch (op.kind) {
    case DecodeOp::Linear: op.k = b; op.n = c; break;
    case DecodeOp::Logits: op.k = b; op.n = c; op.ld = d; break;
    case DecodeOp::Attention:
    case DecodeOp::Attend: op.k = b; op.h = c; break;
    case DecodeOp::Embed: op.k = b; op.ld = c; break;
    case DecodeOp::AddNorm:
    case DecodeOp::Positions: op.k = b; break;
    case DecodeOp::Scores: op.n = b; break;
    default: break;
    }
    const bool positive = op.kind == DecodeOp::Copy || (op.m > 0 && (op.kind == DecodeOp::Relu || op.k > 0 ||
                                                                      op.kind == DecodeOp::Scores));
    check(positive && (op.kind != DecodeOp::Scores || op.n > 0) &&
              ((op.kind != DecodeOp::Attention && op.kind != DecodeOp::Attend) || (op.h > 0 && op.k % op.h == 0)) &&
              (op.kind != DecodeOp::Logits || (op.n > 0 && op.ld >= op.k)) &&
              (op.kind != DecodeOp::Linear || op.n > 0) && (op.kind != DecodeOp::Embed || op.ld >= op.k),
          MOS_FORMAT, "operation '", key, "' has inconsistent sizes");
    return op;
}

namespace {

struct Inventory {
    std::map<std::string, double> ops;
    void add(const DecodeOp &op, double count) { ops[op.key()] += count; }
    void linear(int64_t m, int64_t k, int64_t n, double count) {
        DecodeOp o;
        o.kind = DecodeOp::Linear;
        o.m = m, o.k = k, o.n = n;
        add(o, count);
    }
    void op(DecodeOp::Kind kind, int64_t m, int64_t k, int64_t h, double count) {
        DecodeOp o;
        o.kind = kind;
        o.m = m, o.k = k, o.h = h;
        add(o, count);
    }
    void copy(double floats) { ops["copy"] += floats; }
};

// The inventory of DecodeRun::run_ms on arch a (model/dense.cpp's dense_encode,
// dense_step and dense_reorder, then beam_step_scores).
void inventory(Inventory &inv, const Arch &a, int64_t V, const LatencyOptions &p) {
    const int64_t S = p.src_len, T = p.steps, R = p.beam, Q = a.qkv_dim, de = a.enc_embed, dd = a.dec_embed;
    const int64_t E = std::max(de, dd);
    // Encoder.
    inv.op(DecodeOp::Positions, S, de, 0, 1);
    DecodeOp emb;
    emb.kind = DecodeOp::Embed;
    emb.m = S, emb.k = de, emb.ld = E;
    inv.add(emb, 1);
    for (const EncoderLayerArch &l : a.enc) {
        inv.linear(S, de, Q, 3);
        inv.op(DecodeOp::Attention, S, Q, l.heads, 1);
        inv.linear(S, Q, de, 1);
        inv.op(DecodeOp::AddNorm, S, de, 0, 2);
        inv.linear(S, de, l.ffn_dim, 1);
        inv.op(DecodeOp::Relu, S * l.ffn_dim, 0, 0, 1);
        inv.linear(S, l.ffn_dim, de, 1);
        inv.copy(static_cast<double>(S * de));
    }
    for (const DecoderLayerArch &l : a.dec) {
        inv.copy(static_cast<double>(l.cross_k * S * de));
        inv.linear(l.cross_k * S, de, Q, 2);
    }
    inv.op(DecodeOp::Positions, T, dd, 0, 1);
    // Decoder steps.
    emb.m = R, emb.k = dd;
    inv.add(emb, static_cast<double>(T));
    for (int64_t t = 0; t < T; t++)
        for (const DecoderLayerArch &l : a.dec) {
            inv.op(DecodeOp::Attend, t + 1, Q, l.self_heads, static_cast<double>(R));
            if (t == 0) {
                // Per step, the same for every t: counted T times at once.
                const double Td = static_cast<double>(T);
                inv.linear(R, dd, Q, 4 * Td);  // self q, k, v and cross q
                inv.linear(R, Q, dd, 2 * Td);  // self and cross out
                inv.op(DecodeOp::AddNorm, R, dd, 0, 3 * Td);
                inv.op(DecodeOp::Attend, l.cross_k * S, Q, l.cross_heads, static_cast<double>(R) * Td);
                inv.linear(R, dd, l.ffn_dim, Td);
                inv.op(DecodeOp::Relu, R * l.ffn_dim, 0, 0, Td);
                inv.linear(R, l.ffn_dim, dd, Td);
                inv.copy(Td * static_cast<double>(2 * R * Q + R * l.cross_k * S / 4));  // cache append, masks
            }
            if (R > 1 && t + 1 < T) inv.copy(static_cast<double>(4 * R * (t + 1) * Q));  // reorder, both caches
        }
    DecodeOp lg;
    lg.kind = DecodeOp::Logits;
    lg.m = R, lg.k = dd, lg.n = V, lg.ld = E;
    inv.add(lg, static_cast<double>(T));
    DecodeOp sc;
    sc.kind = DecodeOp::Scores;
    sc.m = R, sc.n = V;
    inv.add(sc, static_cast<double>(T));
}

}  // namespace

std::map<std::string, double> decode_ops(const Space &space, const Arch &a, int64_t vocab,
                                         const LatencyOptions &protocol) {
    check(vocab > 8, MOS_INVALID_ARGUMENT, "vocabulary of ", vocab, " is too small to time");
    check_latency_options(protocol);
    validate(space, a);
    Inventory inv;
    inventory(inv, a, vocab, protocol);
    return inv.ops;
}

std::vector<std::string> space_decode_ops(const Space &s, int64_t vocab, const LatencyOptions &p) {
    check(vocab > 8, MOS_INVALID_ARGUMENT, "vocabulary of ", vocab, " is too small to time");
    check_latency_options(p);
    // Every operation's shape depends on the embeddings and on one layer's
    // choices only, and layer counts only repeat operations: archs of uniform
    // layers (the fewest allowed) over every combination of the per-layer
    // choices take every shape any arch takes.
    Inventory inv;
    Arch a;
    a.qkv_dim = s.qkv_dim;
    for (int de : s.enc_embed)
        for (int dd : s.dec_embed)
            for (int ef : s.enc_ffn)
                for (int eh : s.enc_heads)
                    for (int df : s.dec_ffn)
                        for (int sh : s.dec_self_heads)
                            for (int ch : s.dec_cross_heads)
                                for (int k : s.dec_cross_k) {
                                    a.enc_embed = de;
                                    a.dec_embed = dd;
                                    a.enc.assign(static_cast<size_t>(s.enc_layers.front()), {ef, eh});
                                    a.dec.assign(static_cast<size_t>(s.dec_layers.front()), {df, sh, ch, k});
                                    inventory(inv, a, vocab, p);
                                }
    std::vector<std::string> keys;
    for (const auto &kv : inv.ops) keys.push_back(kv.first);
    return keys;
}

// ---- microbenchmarks --------------------------------------------------------------

namespace {

// Floats of weights one op touches beyond its activations.
size_t weight_floats(const DecodeOp &op) {
    switch (op.kind) {
    case DecodeOp::Linear: return static_cast<size_t>(op.k * op.n + op.n);
    case DecodeOp::Logits: return static_cast<size_t>(op.n * op.ld);
    case DecodeOp::Attend: return static_cast<size_t>(2 * op.m * op.k);  // the cached keys and values
    default: return 0;
    }
}

// The inputs of one op, with its weights rotating through enough copies that
// they come from beyond the L2 cache, as in a decode step.
struct Bench {
    DecodeOp op;
    std::string key;
    std::vector<float> w, x, y, aux, aux2;
    std::vector<int32_t> tok;
    std::vector<uint8_t> mask;
    size_t copies = 1, wsize = 0, next = 0;
    int reps = 1;
    std::vector<double> us;

    void fill(std::vector<float> &v, size_t n, Rng &rng) {
        v.resize(n);
        for (float &f : v) f = static_cast<float>(rng.uniform() * 0.2 - 0.1);
    }

    Bench(const std::string &k, Rng &rng) : op(parse_decode_op(k)), key(k) {
        constexpr size_t kBeyondL2 = size_t{4} << 20;  // bytes
        wsize = weight_floats(op);
        if (wsize > 0) copies = std::min<size_t>(32, std::max<size_t>(1, kBeyondL2 / (wsize * sizeof(float)) + 1));
        const int64_t m = op.m, kk = op.k;
        switch (op.kind) {
        case DecodeOp::Linear:
            fill(w, wsize * copies, rng);
            fill(x, static_cast<size_t>(m * kk), rng);
            y.resize(static_cast<size_t>(m * op.n));
            break;
        case DecodeOp::Logits:
            fill(w, wsize * copies, rng);
            fill(x, static_cast<size_t>(m * kk), rng);
            y.resize(static_cast<size_t>(m * op.n));
            break;
        case DecodeOp::Attention:
            fill(x, static_cast<size_t>(3 * m * kk), rng);
            y.resize(static_cast<size_t>(m * kk));
            aux.resize(static_cast<size_t>(op.h * m * m));
            mask.assign(static_cast<size_t>(m), 0);
            break;
        case DecodeOp::Attend:
            fill(w, wsize * copies, rng);
            fill(x, static_cast<size_t>(kk), rng);
            y.resize(static_cast<size_t>(kk));
            aux.resize(static_cast<size_t>(m));
            break;
        case DecodeOp::AddNorm:
            fill(x, static_cast<size_t>(2 * m * kk), rng);
            y.resize(static_cast<size_t>(m * kk));
            fill(aux, static_cast<size_t>(2 * kk), rng);
            aux2.resize(static_cast<size_t>(2 * m));
            break;
        case DecodeOp::Relu:
            fill(x, static_cast<size_t>(m), rng);
            y.resize(static_cast<size_t>(m));
            break;
        case DecodeOp::Embed:
            fill(w, static_cast<size_t>(1024 * op.ld), rng);
            fill(aux, static_cast<size_t>(m * kk), rng);
            y.resize(static_cast<size_t>(m * kk));
            tok.resize(static_cast<size_t>(m));
            for (int64_t i = 0; i < m; i++) tok[i] = static_cast<int32_t>(kSpecialTokens + rng.below(1000));
            break;
        case DecodeOp::Positions: y.resize(static_cast<size_t>(m * kk)); break;
        case DecodeOp::Scores:
            fill(x, static_cast<size_t>(m * op.n), rng);
            tok.resize(static_cast<size_t>(m));
            y.resize(static_cast<size_t>(m));
            break;
        case DecodeOp::Copy:
            fill(x, 1 << 16, rng);
            y.resize(1 << 16);
            break;
        }
    }

    void run() {
        const int64_t m = op.m, kk = op.k;
        const float *wc = w.empty() ? nullptr : w.data() + (next++ % copies) * wsize;
        switch (op.kind) {
        case DecodeOp::Linear: linear_forward(y.data(), x.data(), wc, wc + kk * op.n, m, kk, op.n, kk); break;
        case DecodeOp::Logits: linear_forward(y.data(), x.data(), wc, nullptr, m, kk, op.n, op.ld); break;
        case DecodeOp::Attention:
            attention_forward(y.data(), aux.data(), x.data(), x.data() + m * kk, x.data() + 2 * m * kk, mask.data(),
                              AttentionShape{1, m, m, kk, op.h, false}, 0.0f, 0, 0);
            break;
        case DecodeOp::Attend:
            attend_one(y.data(), x.data(), wc, wc + m * kk, nullptr, m, kk, op.h, aux.data());
            break;
        case DecodeOp::AddNorm:
            residual_forward(x.data() + m * kk, x.data(), y.data(), m * kk);
            layernorm_forward(y.data(), aux2.data(), aux2.data() + m, x.data() + m * kk, aux.data(),
                              aux.data() + kk, m, kk);
            break;
        case DecodeOp::Relu: relu_forward(y.data(), x.data(), m); break;
        case DecodeOp::Embed:
            embedding_forward(y.data(), tok.data(), w.data(), aux.data(), 1, m, kk, op.ld, 1024 + kSpecialTokens,
                              kPad);
            break;
        case DecodeOp::Positions: sinusoid_positions(y.data(), 0, m, kk); break;
        case DecodeOp::Scores: beam_step_scores(tok.data(), y.data(), x.data(), m, op.n); break;
        case DecodeOp::Copy: std::memcpy(y.data(), x.data(), y.size() * sizeof(float)); break;
        }
    }

    // Microseconds per run over `reps` consecutive runs.
    double time_once() {
        const auto t0 = std::chrono::steady_clock::now();
        for (int i = 0; i < reps; i++) run();
        return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() / reps;
    }
};

}  // namespace

std::map<std::string, double> time_decode_ops(const std::vector<std::string> &ops, int rounds, uint64_t seed) {
    check(rounds >= 1 && rounds <= 1000, MOS_INVALID_ARGUMENT, "timing rounds ", rounds, " outside 1..1000");
    Rng rng(seed);
    std::vector<Bench> benches;
    benches.reserve(ops.size());
    for (const std::string &k : ops) benches.emplace_back(k, rng);
    // Repetitions per timing so that one lasts about 20 microseconds (the
    // clock's resolution and call overhead then do not matter).
    for (Bench &b : benches) {
        b.run();
        const double us = b.time_once();
        b.reps = static_cast<int>(std::min(1000.0, std::max(1.0, 20.0 / std::max(us, 1e-3))));
    }
    std::vector<size_t> order(benches.size());
    for (size_t i = 0; i < order.size(); i++) order[i] = i;
    for (int r = 0; r < rounds; r++) {
        for (size_t i = order.size(); i > 1; i--) std::swap(order[i - 1], order[rng.below(i)]);
        for (size_t i : order) benches[i].us.push_back(benches[i].time_once());
    }
    std::map<std::string, double> out;
    for (Bench &b : benches) {
        std::sort(b.us.begin(), b.us.end());
        double t = b.us[b.us.size() / 2];
        if (b.op.kind == DecodeOp::Copy) t /= static_cast<double>(b.y.size());  // per float
        out[b.key] = t;
    }
    return out;
}

}  // namespace mos
