// lib/model/size.cpp: parameter and FLOP counts of the routed dense model of an
// arch. docs/model-size.md states every convention used here.
#include "model/size.hpp"

#include <algorithm>

#include "core/error.hpp"

namespace mos {

namespace {

// 64-bit arithmetic that throws instead of wrapping: a caller may pass any
// vocabulary and sequence length through the C API.
uint64_t mul(uint64_t a, uint64_t b) {
    uint64_t r;
    if (__builtin_mul_overflow(a, b, &r)) fail(MOS_OUT_OF_RANGE, "count overflows 64 bits (", a, " x ", b, ")");
    return r;
}
uint64_t add(uint64_t a, uint64_t b) {
    uint64_t r;
    if (__builtin_add_overflow(a, b, &r)) fail(MOS_OUT_OF_RANGE, "count overflows 64 bits (", a, " + ", b, ")");
    return r;
}
template <typename... T>
uint64_t mul(uint64_t a, uint64_t b, T... rest) {
    return mul(mul(a, b), rest...);
}

// Linear d_in -> d_out with bias.
uint64_t linear(uint64_t d_in, uint64_t d_out) { return d_in * d_out + d_out; }
// LayerNorm over d: gain and bias.
uint64_t layer_norm(uint64_t d) { return 2 * d; }

}  // namespace

ArchSize arch_params(const Arch &a, uint64_t vocab) {
    check(vocab > 0, MOS_INVALID_ARGUMENT, "vocabulary size is 0");
    check(vocab <= (uint64_t{1} << 32), MOS_OUT_OF_RANGE, "vocabulary size ", vocab, " exceeds 2^32");
    // Widths are bounded by the space (<= 65536) so per-layer sums cannot overflow.
    const uint64_t q = static_cast<uint64_t>(a.qkv_dim);
    const uint64_t de = static_cast<uint64_t>(a.enc_embed);
    const uint64_t dd = static_cast<uint64_t>(a.dec_embed);
    ArchSize s;
    s.embedding = mul(vocab, std::max(de, dd));
    for (const auto &l : a.enc) {
        const uint64_t f = static_cast<uint64_t>(l.ffn_dim);
        s.encoder += 3 * linear(de, q) + linear(q, de) + layer_norm(de);  // self-attention
        s.encoder += linear(de, f) + linear(f, de) + layer_norm(de);      // FFN
    }
    for (const auto &l : a.dec) {
        const uint64_t f = static_cast<uint64_t>(l.ffn_dim);
        s.decoder += 3 * linear(dd, q) + linear(q, dd) + layer_norm(dd);  // self-attention
        // Cross-attention: queries from the decoder, keys and values from the
        // encoder's d_enc-wide outputs.
        s.decoder += linear(dd, q) + 2 * linear(de, q) + linear(q, dd) + layer_norm(dd);
        s.decoder += linear(dd, f) + linear(f, dd) + layer_norm(dd);  // FFN
    }
    return s;
}

ArchFlops arch_flops(const Arch &a, uint64_t vocab, uint64_t src_len, uint64_t tgt_len) {
    check(vocab > 0, MOS_INVALID_ARGUMENT, "vocabulary size is 0");
    check(src_len > 0, MOS_INVALID_ARGUMENT, "source length is 0");
    check(tgt_len > 0, MOS_INVALID_ARGUMENT, "target length is 0");
    const uint64_t q = static_cast<uint64_t>(a.qkv_dim);
    const uint64_t de = static_cast<uint64_t>(a.enc_embed);
    const uint64_t dd = static_cast<uint64_t>(a.dec_embed);
    const uint64_t S = src_len, T = tgt_len;
    ArchFlops r;
    // A multiply-add is 2 FLOPs; only matrix products are counted.
    for (const auto &l : a.enc) {
        const uint64_t f = static_cast<uint64_t>(l.ffn_dim);
        r.encoder = add(r.encoder, mul(2, S, 4 * de * q));      // q, k, v, out projections
        r.encoder = add(r.encoder, mul(2, 2, S, S, q));         // Q K^T and A V over all heads
        r.encoder = add(r.encoder, mul(2, S, 2 * de * f));      // fc1 and fc2
    }
    for (const auto &l : a.dec) {
        const uint64_t f = static_cast<uint64_t>(l.ffn_dim);
        const uint64_t K = mul(static_cast<uint64_t>(l.cross_k), S);  // concatenated source keys
        r.decoder = add(r.decoder, mul(2, T, 4 * dd * q));       // self q, k, v, out
        r.decoder = add(r.decoder, mul(2, 2, T, T, q));          // self Q K^T, A V (full T x T)
        r.decoder = add(r.decoder, mul(2, T, 2 * dd * q));       // cross q and out
        r.decoder = add(r.decoder, mul(2, K, 2 * de * q));       // cross k, v over k*S encoder outputs
        r.decoder = add(r.decoder, mul(2, 2, T, K, q));          // cross Q K^T, A V
        r.decoder = add(r.decoder, mul(2, T, 2 * dd * f));       // fc1 and fc2
    }
    r.output = mul(2, T, dd, vocab);
    add(add(r.encoder, r.decoder), r.output);  // total() must not wrap either
    return r;
}

}  // namespace mos
