// lib/kernels/attention.hpp: multi-head scaled dot-product attention with elastic
// heads (docs/supernet.md): forward, backward and a naive reference.
//
// The q/k/v projection width Q is fixed; an arch chooses `heads` (elastic), and
// head h reads columns [h*dh, (h+1)*dh) of q, k and v with dh = Q / heads, so the
// projections are used in place without any reshaping copy. Scores are scaled by
// 1/sqrt(dh) (Vaswani et al. 2017, eq. 1). Masks: padding keys (kmask) and, for
// decoder self-attention, keys after the query (causal). Attention dropout acts on
// the probabilities, counter-based (dropout.hpp), so backward regenerates it.
//
// Usage (training step of one attention block, q/k/v from the linear kernels):
//   AttentionShape s{B, T, S, Q, heads, causal};
//   attention_forward(o, P, q, k, v, kmask, s, p_attn, seed, site);      // P saved
//   ...
//   std::vector<float> scratch(attention_backward_scratch(s));            // once, worst case
//   attention_backward(dq, dk, dv, scratch.data(), dO, P, q, k, v, s, p_attn, seed, site);
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/modes.hpp"

namespace mos {

struct AttentionShape {
    int64_t B;      // batch rows
    int64_t T;      // query length
    int64_t S;      // key/value length
    int64_t Q;      // q/k/v projection width (fixed, = heads * head_dim)
    int64_t heads;  // active heads (elastic); head_dim = Q / heads, Q % heads must be 0
    bool causal;    // query t may attend keys s <= t only (query and key indices compared
                    // directly: position t of the queries is position t of the keys)
};

// q [B*T, Q], k [B*S, Q], v [B*S, Q] row-major; head h uses columns [h*dh, (h+1)*dh).
// kmask [B, S] uint8, 1 = padding key (masked out), may be NULL (no padding).
// P [B, heads, T, S]: attention probabilities after softmax and before attention
// dropout (saved for backward).
// o [B*T, Q] = concat_h( dropout(softmax(q_h k_h^T / sqrt(dh) + masks)) v_h ).
// Dropout: rate p_drop in [0, 1) on the probabilities with DropoutKey{seed, 0, site} and
// element index ((b*heads + h)*T + t)*S + s, kept values scaled by 1/(1-p_drop);
// p_drop = 0 means none. A query row with no allowed key gets P = 0 and o = 0.
// Throws mos::Error (MOS_INVALID_ARGUMENT) naming a bad size, rate or NULL pointer.
// type: precision of the products q k^T and P v (BF16: bf16 inputs, f32 accumulation).
void attention_forward(float *o, float *P, const float *q, const float *k, const float *v,
                       const uint8_t *kmask, const AttentionShape &s, float p_drop, uint64_t seed,
                       uint64_t site, GemmType type = GemmType::F32);

// Floats of scratch attention_backward needs: 2 * B * heads * T * S (the gradient of
// the probabilities and the dropped probabilities). Throws like attention_forward.
size_t attention_backward_scratch(const AttentionShape &s);

// Accumulates dq [B*T, Q], dk [B*S, Q], dv [B*S, Q] (+=) from dO [B*T, Q], the saved P
// and the forward inputs; the dropout mask is regenerated from (seed, site). Any of
// dq, dk, dv may be NULL to skip it. scratch: attention_backward_scratch(s) floats.
//   dv_h += Pd_h^T dO_h        (Pd: P after dropout)
//   dS    = P . (dP - rowsum(P . dP)),  dP = dropout'(dO_h v_h^T)
//   dq_h += dS k_h / sqrt(dh),  dk_h += dS^T q_h / sqrt(dh)
// mode = Overwrite writes dq, dk, dv instead (= in place of +=).
void attention_backward(float *dq, float *dk, float *dv, float *scratch, const float *dO, const float *P,
                        const float *q, const float *k, const float *v, const AttentionShape &s,
                        float p_drop, uint64_t seed, uint64_t site, GradMode mode = GradMode::Accumulate,
                        GemmType type = GemmType::F32);

namespace ref {
// Naive loops in double, the oracle of the tests. Masks are the same; the backward
// ignores scratch (may be NULL).
void attention_forward(float *o, float *P, const float *q, const float *k, const float *v,
                       const uint8_t *kmask, const AttentionShape &s, float p_drop, uint64_t seed,
                       uint64_t site);
void attention_backward(float *dq, float *dk, float *dv, float *scratch, const float *dO, const float *P,
                        const float *q, const float *k, const float *v, const AttentionShape &s,
                        float p_drop, uint64_t seed, uint64_t site);
}  // namespace ref

}  // namespace mos
