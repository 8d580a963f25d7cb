// lib/kernels/step_attention.hpp: the attention of one decoder step of the
// decoding engine (docs/serving.md), for every decoder row at once, and the
// statistics of the output layer that beam search needs (log-sum-exp and the
// best tokens of every row), both over 16-float vectors.
//
// Self-attention reads a key/value cache laid out [time][slot][Q]: at step t
// row r writes slot r of time t, and row r's history at time tau sits in slot
// path[r][tau]. Beam search then reorders hypotheses by copying a row of t
// integers (its path) instead of t x Q floats per layer (docs/serving.md).
//
// Cross-attention reads each sentence's memory computed once per sentence:
// keys transposed per sentence, Kt[Q][ld] (ld a multiple of 16), so 16 keys'
// scores are one vector, and values V[len][Q] as the linear wrote them. The
// encoder's self-attention is the same operation (queries: the sentence's own
// positions), which keeps every sentence's result independent of the padding
// of the batch it is in.
#pragma once

#include <cstdint>

namespace mos {

// o[r, h*hd : (h+1)*hd] for r < R and each head h (hd = Q / heads):
//   softmax_tau(q_r,h . K[tau, path[r][tau], h] / sqrt(hd)) . V[tau, path[r][tau], h]
// over tau < n_keys. q row r at q + r * ldq; K and V element (tau, slot, c) at
// tau * time_stride + slot * Q + c; path row r at path + r * path_ld.
// scratch: n_keys floats.
void step_self_attention(float *o, int64_t ldo, const float *q, int64_t ldq, const float *K, const float *V,
                         int64_t time_stride, const int32_t *path, int64_t path_ld, int64_t R, int64_t n_keys,
                         int64_t Q, int64_t heads, float *scratch);

// The memories cross-attention reads, one per sentence b: len[b] keys,
// transposed (kt + b * kt_sentence, [Q][kt_ld], kt_ld a multiple of 16 and >=
// len[b]; columns >= len[b] are ignored), values v + b * v_sentence (len[b]
// rows of row stride v_ld) and padding mask + b * mask_sentence (1 = masked). A sentence's result
// depends on its own keys only, never on how long the others are.
struct StepMemory {
    const float *kt = nullptr;
    int64_t kt_ld = 0, kt_sentence = 0;
    const float *v = nullptr;
    int64_t v_ld = 0, v_sentence = 0;
    const uint8_t *mask = nullptr;
    int64_t mask_sentence = 0;
    const int64_t *len = nullptr;
};

// Rows that attend over the same sentence are taken up to this many at a time
// (each key vector loaded once for all of them; 6 covers beam 5).
constexpr int kCrossRows = 6;

// o[r, :] attends over sentence src_of[r]'s memory. A row whose keys are all
// masked gets o = 0. scratch: kCrossRows * kt_ld floats.
void step_cross_attention(float *o, int64_t ldo, const float *q, int64_t ldq, const StepMemory &mem,
                          const int64_t *src_of, int64_t R, int64_t Q, int64_t heads, float *scratch);

// Output-layer statistics of one row, accumulated over column blocks of its
// logits: running maximum and sum of exp(logit - max) (the log-sum-exp, so the
// log-softmax of any token), the EOS logit, and the `cap` largest logits with
// their tokens, largest first, equal logits by lower token first, skipping
// the tokens beam search never emits.
constexpr int kMaxTopK = 128;
struct VocabRowStats {
    float max = 0.0f, sum = 0.0f;  // sum of exp(logit - max) over the columns seen
    bool any = false;              // a column was seen
    float eos = 0.0f;              // the EOS logit, once its column was seen
    bool has_eos = false;
    int cap = 0, n = 0;            // capacity and count of the list below
    float val[kMaxTopK];
    int32_t tok[kMaxTopK];

    void reset(int capacity);
    float lse() const;
    // The best listed token other than `skip` (`fallback` when there is none):
    // HAT's latency protocol steps over EOS so that every step runs.
    int32_t best_except(int32_t skip, int32_t fallback) const {
        for (int i = 0; i < n; i++)
            if (tok[i] != skip) return tok[i];
        return fallback;
    }
};

// Updates stats[m] for m < M from tile[m * ld + n - n0], columns [n0, n1).
// Tokens skip_a and skip_b never enter the lists; column `eos` sets .eos.
void vocab_tile_update(VocabRowStats *stats, const float *tile, int64_t ld, int64_t M, int64_t n0, int64_t n1,
                       int32_t skip_a, int32_t skip_b, int32_t eos);

// Folds the statistics of other columns (another thread's range) into `into`;
// the list stays ordered by (logit desc, token asc).
void vocab_stats_merge(VocabRowStats &into, const VocabRowStats &other);

namespace ref {
// Naive loops in double: the oracle of tests/kernels/test_step_attention.
void step_self_attention(float *o, int64_t ldo, const float *q, int64_t ldq, const float *K, const float *V,
                         int64_t time_stride, const int32_t *path, int64_t path_ld, int64_t R, int64_t n_keys,
                         int64_t Q, int64_t heads);
void step_cross_attention(float *o, int64_t ldo, const float *q, int64_t ldq, const StepMemory &mem,
                          const int64_t *src_of, int64_t R, int64_t Q, int64_t heads);
}  // namespace ref

}  // namespace mos
