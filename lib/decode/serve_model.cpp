// lib/decode/serve_model.cpp: building a ServeModel from stored tensors (a
// routed f32 model, or a model file in f32, bf16 or int8), the precision
// fallback, and the way back to stored tensors (see serve_model.hpp).
#include "decode/serve_model.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <unordered_map>

#include "core/cpu.hpp"
#include "core/error.hpp"

namespace mos {

Precision resolve_precision(Precision want, bool allow_emulation, std::string *warning) {
    if (warning) warning->clear();
    if (precision_native(want) || allow_emulation) return want;
    if (warning) {
        *warning = std::string(precision_name(want)) + " needs " +
                   (want == Precision::BF16 ? "AVX2 (or avx512_bf16)" : "AVX2") +
                   ", which this CPU lacks: the model computes in f32 (its stored precision is kept)";
    }
    return Precision::F32;
}

namespace {

// The file-format tensor list of an arch (docs/supernet.md order, no routers):
// names and shapes, and the per-layer indices into that list.
struct Layout {
    std::vector<ServeModel::TensorSpec> specs;
    ModelTensors index;
};

Layout make_layout(const ArchDims &a, int64_t vocab, int64_t Q) {
    Layout L;
    const int64_t Dm = a.enc_embed > a.dec_embed ? a.enc_embed : a.dec_embed;
    const AddTensor put = [&L](const std::string &n, std::vector<int64_t> sh) {
        const bool matrix = sh.size() == 2;
        L.specs.push_back({n, std::move(sh), matrix});
        return L.specs.size() - 1;
    };
    const AddFfn ffn = [&](const std::string &p, int64_t d, bool decoder, size_t l) {
        const int64_t F = decoder ? a.dec[l].ffn : a.enc[l].ffn;
        FfnTensors f;
        f.fc1_w = put(p + ".fc1.weight", {F, d});
        f.fc1_b = put(p + ".fc1.bias", {F});
        f.fc2_w = put(p + ".fc2.weight", {d, F});
        f.fc2_b = put(p + ".fc2.bias", {d});
        return f;
    };
    L.index = add_model_tensors(put, ffn, vocab, Dm, Q, a.enc_embed, a.dec_embed, a.enc.size(), a.dec.size());
    return L;
}

// Row-major matrix data of one type, gathered from one or more stored parts.
struct Rows {
    Precision type = Precision::F32;
    std::vector<float> f;
    std::vector<uint16_t> h;
    std::vector<int8_t> q;
    std::vector<float> scale;
};

// The stored parts [rows_i, K] stacked, in their common type (f32 if they differ).
Rows gather(const std::vector<TensorView> &parts, const std::vector<int64_t> &rows, int64_t K) {
    Rows r;
    r.type = parts[0].type;
    for (const TensorView &v : parts)
        if (v.type != r.type) r.type = Precision::F32;
    for (size_t i = 0; i < parts.size(); i++) {
        const TensorView &v = parts[i];
        const size_t n = static_cast<size_t>(rows[i] * K);
        if (r.type == Precision::BF16) {
            const auto *p = static_cast<const uint16_t *>(v.data);
            r.h.insert(r.h.end(), p, p + n);
        } else if (r.type == Precision::I8) {
            const auto *p = static_cast<const int8_t *>(v.data);
            r.q.insert(r.q.end(), p, p + n);
            r.scale.insert(r.scale.end(), v.scale, v.scale + rows[i]);
        } else {
            // f32, or mixed types widened to f32.
            for (size_t j = 0; j < n; j++) {
                float x = 0.0f;
                switch (v.type) {
                case Precision::F32: x = static_cast<const float *>(v.data)[j]; break;
                case Precision::BF16: x = widen_bf16(static_cast<const uint16_t *>(v.data)[j]); break;
                case Precision::I8:
                    x = static_cast<float>(static_cast<const int8_t *>(v.data)[j]) * v.scale[j / static_cast<size_t>(K)];
                    break;
                }
                r.f.push_back(x);
            }
        }
    }
    return r;
}

// Rows as f32 values (bf16 and int8 widen exactly).
std::vector<float> widen(const Rows &r, int64_t N, int64_t K) {
    if (r.type == Precision::F32) return r.f;
    std::vector<float> f(static_cast<size_t>(N * K));
    for (int64_t n = 0; n < N; n++)
        for (int64_t k = 0; k < K; k++)
            f[n * K + k] = r.type == Precision::BF16 ? widen_bf16(r.h[n * K + k])
                                                     : static_cast<float>(r.q[n * K + k]) * r.scale[n];
    return f;
}

// Packs rows for computing in `compute`, holding the values of precision
// `stored`: a model stored in bf16 or int8 but computing in f32 computes with
// exactly the bf16 or int8 values, whatever form its source came in.
PackedMatrix pack_rows(const Rows &r, int64_t N, int64_t K, Precision stored, Precision compute) {
    if (r.type == compute && (compute == stored || compute != Precision::F32)) {
        switch (compute) {
        case Precision::F32: return PackedMatrix::from_f32(r.f.data(), N, K, K, compute);
        case Precision::BF16: return PackedMatrix::from_bf16(r.h.data(), N, K, K);
        case Precision::I8: return PackedMatrix::from_i8(r.q.data(), r.scale.data(), N, K, K);
        }
    }
    std::vector<float> f = widen(r, N, K);
    if (compute == Precision::F32 && stored != Precision::F32 && r.type != stored) {
        // Round or quantise through the stored precision first.
        const PackedMatrix through = PackedMatrix::from_f32(f.data(), N, K, K, stored);
        through.unpack_f32(f.data());
    }
    return PackedMatrix::from_f32(f.data(), N, K, K, compute);
}

std::vector<float> vec(const TensorView &v, int64_t n) {
    const auto *p = static_cast<const float *>(v.data);
    return std::vector<float>(p, p + n);
}

}  // namespace

ServeModel::ServeModel(const ArchDims &a, int64_t vocab, int64_t Q, int32_t pad_id, Precision stored,
                       Precision compute, const TensorLookup &get)
    : arch_(a), vocab_(vocab), qkv_(Q), pad_id_(pad_id), stored_(stored), compute_(compute) {
    check(vocab > 0 && Q > 0, MOS_INVALID_ARGUMENT, "serve model needs vocab and qkv > 0");
    check(compute == stored || compute == Precision::F32, MOS_INVALID_ARGUMENT, "a ", precision_name(stored),
          " model computes in ", precision_name(stored), " or f32, not ", precision_name(compute));
    check(!a.enc.empty() && !a.dec.empty(), MOS_INVALID_ARGUMENT, "serve model needs layers");
    Layout L = make_layout(a, vocab, Q);
    specs_ = std::move(L.specs);
    index_ = L.index;
    auto view = [&](size_t i) {
        const TensorSpec &s = specs_[i];
        const TensorView v = get(s.name, s.shape, s.matrix);
        check(v.data != nullptr, MOS_INTERNAL, "tensor '", s.name, "' has no data");
        check(s.matrix || v.type == Precision::F32, MOS_FORMAT, "tensor '", s.name, "' must be F32");
        check(v.type != Precision::I8 || v.scale != nullptr, MOS_FORMAT, "int8 tensor '", s.name, "' has no scales");
        return v;
    };
    // Matrices stacked from parts (q, k, v -> qkv), biases likewise.
    auto linear = [&](std::initializer_list<size_t> ws, std::initializer_list<size_t> bs) {
        std::vector<TensorView> parts;
        std::vector<int64_t> rows;
        int64_t N = 0, K = 0;
        for (size_t i : ws) {
            parts.push_back(view(i));
            rows.push_back(specs_[i].shape[0]);
            N += specs_[i].shape[0];
            K = specs_[i].shape[1];
        }
        Linear l;
        l.W = pack_rows(gather(parts, rows, K), N, K, stored_, compute_);
        for (size_t i : bs) {
            const std::vector<float> b = vec(view(i), specs_[i].shape[0]);
            l.b.insert(l.b.end(), b.begin(), b.end());
        }
        return l;
    };
    auto norm = [&](const LayerNormTensors &t) {
        Norm n;
        n.w = vec(view(t.w), specs_[t.w].shape[0]);
        n.b = vec(view(t.b), specs_[t.b].shape[0]);
        return n;
    };
    {
        const size_t e = index_.embed;
        std::vector<TensorView> parts{view(e)};
        embed_ = pack_rows(gather(parts, {vocab}, specs_[e].shape[1]), vocab, specs_[e].shape[1], stored_, compute_);
        if (compute_ == Precision::I8) embed_colsum_ = embed_.colsum_prefix(a.dec_embed);
    }
    for (size_t l = 0; l < a.enc.size(); l++) {
        const EncoderLayerTensors &t = index_.enc[l];
        EncoderLayer E;
        E.qkv = linear({t.self_attn.q_w, t.self_attn.k_w, t.self_attn.v_w},
                       {t.self_attn.q_b, t.self_attn.k_b, t.self_attn.v_b});
        E.out = linear({t.self_attn.out_w}, {t.self_attn.out_b});
        E.attn_ln = norm(t.self_attn_ln);
        E.fc1 = linear({t.ffn.fc1_w}, {t.ffn.fc1_b});
        E.fc2 = linear({t.ffn.fc2_w}, {t.ffn.fc2_b});
        E.ffn_ln = norm(t.ffn_ln);
        enc_.push_back(std::move(E));
    }
    for (size_t l = 0; l < a.dec.size(); l++) {
        const DecoderLayerTensors &t = index_.dec[l];
        DecoderLayer D;
        D.qkv = linear({t.self_attn.q_w, t.self_attn.k_w, t.self_attn.v_w},
                       {t.self_attn.q_b, t.self_attn.k_b, t.self_attn.v_b});
        D.out = linear({t.self_attn.out_w}, {t.self_attn.out_b});
        D.self_ln = norm(t.self_attn_ln);
        D.cross_q = linear({t.cross_attn.q_w}, {t.cross_attn.q_b});
        D.cross_kv = linear({t.cross_attn.k_w, t.cross_attn.v_w}, {t.cross_attn.k_b, t.cross_attn.v_b});
        D.cross_out = linear({t.cross_attn.out_w}, {t.cross_attn.out_b});
        D.cross_ln = norm(t.cross_attn_ln);
        D.fc1 = linear({t.ffn.fc1_w}, {t.ffn.fc1_b});
        D.fc2 = linear({t.ffn.fc2_w}, {t.ffn.fc2_b});
        D.ffn_ln = norm(t.ffn_ln);
        dec_.push_back(std::move(D));
    }
}

ServeModel ServeModel::from_dense(const DenseModel &m, Precision p, Precision compute) {
    const TensorLookup get = [&m](const std::string &name, const std::vector<int64_t> &shape, bool) {
        const DenseModel::Tensor &t = m.tensor(name);
        check(t.shape == shape, MOS_INTERNAL, "dense model tensor '", name, "' has another shape");
        TensorView v;
        v.type = Precision::F32;
        v.data = m.data(name);
        return v;
    };
    check(compute == p || compute == Precision::F32, MOS_INVALID_ARGUMENT, "a ", precision_name(p),
          " model computes in ", precision_name(p), " or f32, not ", precision_name(compute));
    return ServeModel(m.arch(), m.vocab(), m.qkv(), m.pad_id(), p, compute, get);
}

void ServeModel::embed_rows(float *out, const int32_t *tokens, int64_t n, int64_t d, const float *pos,
                            int64_t pos_ld) const {
    const float sc = std::sqrt(static_cast<float>(d));
    const PackedMatrix &E = embed_;
    const int64_t g = k_group(E.precision());
    for (int64_t i = 0; i < n; i++) {
        float *o = out + i * d;
        const float *p = pos + i * pos_ld;
        const int32_t v = tokens[i];
        check(v >= 0 && v < vocab_, MOS_OUT_OF_RANGE, "token ", v, " outside the vocabulary of ", vocab_);
        if (v == pad_id_) {
            std::memset(o, 0, static_cast<size_t>(d) * sizeof(float));
            continue;
        }
        const int64_t gi = v / kGroupCols, lane = v % kGroupCols;
        const uint8_t *base = E.data();
        switch (E.precision()) {
        case Precision::F32:
            for (int64_t k = 0; k < d; k++) {
                float w;
                std::memcpy(&w, base + E.step_offset(gi, k) + lane * 4, 4);
                o[k] = sc * w + p[k];
            }
            break;
        case Precision::BF16:
            for (int64_t k = 0; k < d; k++) {
                uint16_t w;
                std::memcpy(&w, base + E.step_offset(gi, k / g) + (lane * g + k % g) * 2, 2);
                o[k] = sc * widen_bf16(w) + p[k];
            }
            break;
        case Precision::I8: {
            const float s = E.scale()[v];
            for (int64_t k = 0; k < d; k++) {
                const int8_t w = static_cast<int8_t>(base[E.step_offset(gi, k / g) + lane * g + k % g]);
                o[k] = sc * (static_cast<float>(w) * s) + p[k];
            }
            break;
        }
        }
    }
}

size_t ServeModel::num_weights() const {
    size_t n = 0;
    for (const TensorSpec &s : specs_) {
        size_t e = 1;
        for (int64_t d : s.shape) e *= static_cast<size_t>(d);
        n += e;
    }
    return n;
}

size_t ServeModel::weight_bytes() const {
    auto lin = [](const Linear &l) { return l.W.bytes() + l.b.size() * sizeof(float); };
    auto nrm = [](const Norm &n) { return (n.w.size() + n.b.size()) * sizeof(float); };
    size_t b = embed_.bytes() + embed_colsum_.size() * sizeof(int32_t);
    for (const EncoderLayer &e : enc_) b += lin(e.qkv) + lin(e.out) + lin(e.fc1) + lin(e.fc2) + nrm(e.attn_ln) + nrm(e.ffn_ln);
    for (const DecoderLayer &d : dec_)
        b += lin(d.qkv) + lin(d.out) + lin(d.cross_q) + lin(d.cross_kv) + lin(d.cross_out) + lin(d.fc1) + lin(d.fc2) +
             nrm(d.self_ln) + nrm(d.cross_ln) + nrm(d.ffn_ln);
    if (head_) b += head_->coarse.bytes() + head_->rows.size() + head_->scale.size() * sizeof(float);
    return b;
}

std::vector<ServeModel::Stored> ServeModel::export_tensors() const {
    std::vector<Stored> out(specs_.size());
    const Precision p = stored_;
    // Rows [r0, r0 + n) of a packed matrix, in the stored precision.
    auto matrix = [&](size_t i, const PackedMatrix &W, int64_t r0) {
        const TensorSpec &s = specs_[i];
        const int64_t n = s.shape[0], K = s.shape[1];
        check(W.cols() == K && r0 + n <= W.rows(), MOS_INTERNAL, "export of '", s.name, "': shape mismatch");
        Stored &o = out[i];
        o.spec = &s;
        o.type = p;
        std::vector<float> f;
        if (W.precision() == p && p == Precision::BF16) {
            std::vector<uint16_t> all(static_cast<size_t>(W.rows() * K));
            W.unpack_bf16(all.data());
            o.data.resize(static_cast<size_t>(n * K) * 2);
            std::memcpy(o.data.data(), all.data() + r0 * K, o.data.size());
            return;
        }
        if (W.precision() == p && p == Precision::I8) {
            std::vector<int8_t> all(static_cast<size_t>(W.rows() * K));
            std::vector<float> sc(static_cast<size_t>(W.rows()));
            W.unpack_i8(all.data(), sc.data());
            o.data.resize(static_cast<size_t>(n * K));
            std::memcpy(o.data.data(), all.data() + r0 * K, o.data.size());
            o.scale.assign(sc.begin() + r0, sc.begin() + r0 + n);
            return;
        }
        std::vector<float> all(static_cast<size_t>(W.rows() * K));
        W.unpack_f32(all.data());
        // f32 wanted, or a model computing in f32 that is stored reduced:
        // re-pack the (exactly widened) values in the stored precision.
        if (p == Precision::F32) {
            o.data.resize(static_cast<size_t>(n * K) * 4);
            std::memcpy(o.data.data(), all.data() + r0 * K, o.data.size());
            return;
        }
        const PackedMatrix R = PackedMatrix::from_f32(all.data() + r0 * K, n, K, K, p);
        if (p == Precision::BF16) {
            o.data.resize(static_cast<size_t>(n * K) * 2);
            R.unpack_bf16(reinterpret_cast<uint16_t *>(o.data.data()));
        } else {
            o.data.resize(static_cast<size_t>(n * K));
            o.scale.resize(static_cast<size_t>(n));
            R.unpack_i8(reinterpret_cast<int8_t *>(o.data.data()), o.scale.data());
        }
    };
    auto vector = [&](size_t i, const std::vector<float> &v, int64_t r0) {
        const TensorSpec &s = specs_[i];
        Stored &o = out[i];
        o.spec = &s;
        o.type = Precision::F32;
        o.data.resize(static_cast<size_t>(s.shape[0]) * 4);
        std::memcpy(o.data.data(), v.data() + r0, o.data.size());
    };
    auto linear = [&](const Linear &l, std::initializer_list<std::pair<size_t, size_t>> parts) {
        int64_t r0 = 0;
        for (const auto &wb : parts) {
            matrix(wb.first, l.W, r0);
            vector(wb.second, l.b, r0);
            r0 += specs_[wb.first].shape[0];
        }
    };
    auto norm = [&](const Norm &n, const LayerNormTensors &t) {
        vector(t.w, n.w, 0);
        vector(t.b, n.b, 0);
    };
    matrix(index_.embed, embed_, 0);
    for (size_t l = 0; l < enc_.size(); l++) {
        const EncoderLayerTensors &t = index_.enc[l];
        const EncoderLayer &E = enc_[l];
        linear(E.qkv, {{t.self_attn.q_w, t.self_attn.q_b}, {t.self_attn.k_w, t.self_attn.k_b},
                       {t.self_attn.v_w, t.self_attn.v_b}});
        linear(E.out, {{t.self_attn.out_w, t.self_attn.out_b}});
        norm(E.attn_ln, t.self_attn_ln);
        linear(E.fc1, {{t.ffn.fc1_w, t.ffn.fc1_b}});
        linear(E.fc2, {{t.ffn.fc2_w, t.ffn.fc2_b}});
        norm(E.ffn_ln, t.ffn_ln);
    }
    for (size_t l = 0; l < dec_.size(); l++) {
        const DecoderLayerTensors &t = index_.dec[l];
        const DecoderLayer &D = dec_[l];
        linear(D.qkv, {{t.self_attn.q_w, t.self_attn.q_b}, {t.self_attn.k_w, t.self_attn.k_b},
                       {t.self_attn.v_w, t.self_attn.v_b}});
        linear(D.out, {{t.self_attn.out_w, t.self_attn.out_b}});
        norm(D.self_ln, t.self_attn_ln);
        linear(D.cross_q, {{t.cross_attn.q_w, t.cross_attn.q_b}});
        linear(D.cross_kv, {{t.cross_attn.k_w, t.cross_attn.k_b}, {t.cross_attn.v_w, t.cross_attn.v_b}});
        linear(D.cross_out, {{t.cross_attn.out_w, t.cross_attn.out_b}});
        norm(D.cross_ln, t.cross_attn_ln);
        linear(D.fc1, {{t.ffn.fc1_w, t.ffn.fc1_b}});
        linear(D.fc2, {{t.ffn.fc2_w, t.ffn.fc2_b}});
        norm(D.ffn_ln, t.ffn_ln);
    }
    for (const Stored &s : out) check(s.spec != nullptr, MOS_INTERNAL, "export missed a tensor");
    return out;
}

DenseModel ServeModel::to_dense() const {
    DenseModel m(arch_, vocab_, qkv_, pad_id_, /*zero=*/false);
    for (const Stored &s : export_tensors()) {
        float *dst = m.data(s.spec->name);
        const size_t n = s.spec->shape.size() == 2 ? static_cast<size_t>(s.spec->shape[0] * s.spec->shape[1])
                                                   : static_cast<size_t>(s.spec->shape[0]);
        switch (s.type) {
        case Precision::F32: std::memcpy(dst, s.data.data(), n * sizeof(float)); break;
        case Precision::BF16: {
            const auto *h = reinterpret_cast<const uint16_t *>(s.data.data());
            for (size_t i = 0; i < n; i++) dst[i] = widen_bf16(h[i]);
            break;
        }
        case Precision::I8: {
            const auto *q = reinterpret_cast<const int8_t *>(s.data.data());
            const size_t K = static_cast<size_t>(s.spec->shape[1]);
            for (size_t i = 0; i < n; i++) dst[i] = static_cast<float>(q[i]) * s.scale[i / K];
            break;
        }
        }
    }
    return m;
}

void ServeModel::add_draft_head(const DenseModel &weights) {
    const int64_t V = vocab_, dd = arch_.dec_embed, ld = weights.embed_cols();
    check(weights.vocab() == V && weights.arch().dec_embed == dd && ld == embed_cols(), MOS_INVALID_ARGUMENT,
          "a draft head needs the model's own output projection: ", V, " x ", dd, " (of ", embed_cols(),
          " columns), not ", weights.vocab(), " x ", weights.arch().dec_embed, " (of ", ld, ")");
    const float *E = weights.data_at(weights.tensors().embed);
    auto h = std::make_unique<DraftHead>();
    h->coarse = NibbleMatrix::from_f32(E, V, dd, ld);
    // int8 rows, symmetric per row over the d_dec columns the projection reads.
    h->rows.assign(static_cast<size_t>(V * dd), 0);
    h->scale.assign(static_cast<size_t>(V), 0.0f);
    for (int64_t v = 0; v < V; v++) {
        const float *r = E + v * ld;
        float mx = 0.0f;
        for (int64_t k = 0; k < dd; k++) mx = std::max(mx, std::fabs(r[k]));
        const float s = mx > 0.0f && std::isfinite(mx) ? mx / 127.0f : 1.0f;
        h->scale[static_cast<size_t>(v)] = s;
        int8_t *o = h->rows.data() + v * dd;
        const float inv = 1.0f / s;
        for (int64_t k = 0; k < dd; k++) {
            // Rounded half away from zero, inline (std::nearbyint is a
            // library call on the baseline ISA); NaN to 0.
            float q = r[k] * inv;
            q = q < -127.0f ? -127.0f : (q > 127.0f ? 127.0f : q);
            o[k] = q == q ? static_cast<int8_t>(q + (q >= 0.0f ? 0.5f : -0.5f)) : 0;
        }
    }
    head_ = std::move(h);
}

}  // namespace mos
