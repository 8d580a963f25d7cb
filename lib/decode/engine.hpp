// lib/decode/engine.hpp: the decoding engine (docs/serving.md): the encoder of
// a batch of sources, then decoder steps for every hypothesis row at once, over
// a ServeModel's packed weights.
//
//   EngineState st;                                  // one per thread; reusable
//   st.reserve(m, sentences, rows, max_src, max_steps);   // sized once
//   engine_encode(st, m, src, B, S);                 // + cross-attention keys/values
//   engine_set_rows(st, src_of, rows);               // beam: k rows per sentence
//   for each step:
//       engine_step_topk(st, m, tokens, 2k);         // per row: lse, EOS logit, best 2k tokens
//       engine_reorder(st, from, rows);              // beam reorder (and dropping rows)
//
// A step allocates nothing: every buffer is sized by reserve(). The self-
// attention cache is laid out [time][slot][Q] and each row keeps a path (the
// slot of its history at each time), so a beam reorder copies t integers per
// row rather than t x Q floats per layer; rows of finished sentences can be
// dropped by the same reorder. Cross-attention keys and values are computed
// once per sentence at encode time. The output projection, log-softmax and
// top-k run fused over column blocks of the vocabulary (engine_step_topk), or
// the full logits come back (engine_step_logits, for teacher forcing and tests).
//
// Each row's arithmetic is independent of the other rows and of the batch's
// composition, so a sentence decodes to the same result alone or in a batch.
#pragma once

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "data/batch.hpp"
#include "decode/serve_model.hpp"
#include "kernels/packed.hpp"
#include "kernels/step_attention.hpp"

namespace mos {

// The engine's float buffers grow with resize() but are never value-
// initialised: a state is sized for the longest source, steps and rows a call
// may need, and the part a call does not reach (most of the key/value cache for
// short batches) is then never touched, so its pages are never faulted in.
// Every element is written before it is read.
template <class T>
struct UninitAllocator : std::allocator<T> {
    template <class U>
    struct rebind {
        using other = UninitAllocator<U>;
    };
    UninitAllocator() = default;
    template <class U>
    UninitAllocator(const UninitAllocator<U> &) noexcept {}
    template <class U>
    void construct(U *p) noexcept {
        ::new (static_cast<void *>(p)) U;
    }
    template <class U, class... A>
    void construct(U *p, A &&...a) {
        ::new (static_cast<void *>(p)) U(std::forward<A>(a)...);
    }
};
using EngineBuffer = std::vector<float, UninitAllocator<float>>;

class EngineState {
public:
    EngineState() = default;
    EngineState(const EngineState &) = delete;
    EngineState &operator=(const EngineState &) = delete;

    // Makes room for `sentences` sources of up to max_src tokens, up to `rows`
    // decoder rows and max_steps steps of model m, on up to `threads` threads
    // (0: the calling thread's OpenMP count). Buffers only grow, so a state
    // reused for smaller calls allocates nothing; a buffer that grows does not
    // keep its contents, so reserve() comes before a call's engine_encode.
    void reserve(const ServeModel &m, int64_t sentences, int64_t rows, int64_t max_src, int64_t max_steps,
                 int threads = 0);

    // Whether a decoder step of a few rows may run on a team of the call's
    // threads (engine.cpp, docs/serving.md "Threads for one sentence"): Auto
    // times both ways as it decodes and keeps the faster, trying the other
    // again now and then (a team loses on a machine whose cores are busy with
    // other work); Always and Never force it (tests). Results are the same
    // bits either way.
    enum class TeamPolicy { Auto, Always, Never };
    void set_team_policy(TeamPolicy p) { team_policy_ = p; }

    int64_t rows() const { return R_; }
    int64_t step() const { return t_; }
    int64_t sentences() const { return B_; }
    const int64_t *src_of() const { return src_of_.data(); }

    // One decoder layer's cross-attention memory: sentence b's k * len[b]
    // keys (transposed, [Q][ld]) and values ([ld][Q] rows), compact per
    // sentence so its result never depends on the batch's padding.
    struct Cross {
        EngineBuffer kt, v;     // [B][Q][ld], [B][ld][Q]
        std::vector<uint8_t> mask;    // [B][ld]
        std::vector<int64_t> len;     // [B]
        int64_t ld = 0;
    };

private:
    friend void engine_encode(EngineState &, const ServeModel &, const int32_t *, int64_t, int64_t);
    friend void engine_set_rows(EngineState &, const int64_t *, int64_t);
    friend void engine_reorder(EngineState &, const int64_t *, int64_t);
    friend void engine_rewind(EngineState &, int64_t);
    friend void engine_share_encoding(EngineState &, const EngineState &);
    friend const VocabRowStats *engine_step_block_topk(EngineState &, const ServeModel &, const int32_t *, int64_t,
                                                       int);
    friend struct EngineStep;

    // Capacities.
    int64_t cap_B_ = 0, cap_S_ = 0, cap_R_ = 0, cap_T_ = 0;  // allocated (S, T rounded up)
    int64_t lim_S_ = 0, lim_T_ = 0;                          // the largest source and steps asked for
    int cap_threads_ = 0;
    std::vector<int64_t> key_;  // the widths of the model it is sized for
    // Current call.
    int64_t B_ = 0, S_ = 0, R_ = 0, t_ = 0;
    int64_t block_ = 0;  // engine_step_block_topk: its R_ rows are one row's positions t_.. (0: a step)
    std::vector<uint8_t> src_mask_;  // [B, S]
    std::vector<int64_t> src_len_;   // [B]: up to the last non-pad token
    std::vector<int64_t> enc_row_;   // [B * S]: row -> sentence
    EngineBuffer pos_enc_, pos_dec_;
    // Encoder scratch.
    EngineBuffer ex_, eqkv_, ekt_, eo_, eh_, emean_, erstd_, mem_, ckv_;
    std::vector<EngineBuffer> enc_out_;
    std::vector<Cross> cross_;  // per decoder layer
    // Decoder.
    EngineBuffer x_, qkv_, q_, o_, h_, mean_, rstd_, logits_, scores_;
    std::vector<EngineBuffer> kc_, vc_;  // per layer [T][cap_R][Q]
    std::vector<int32_t> path_, path_next_;    // [cap_R][cap_T]
    std::vector<int64_t> src_of_, src_of_next_;
    // Per thread: product scratch, vocabulary tile, row statistics.
    std::vector<PackedScratch> scratch_;
    NibbleScratch nibble_;  // engine_step_draft's head
    std::vector<EngineBuffer> tile_;
    std::vector<std::vector<VocabRowStats>> stats_;
    // The team choice (TeamPolicy::Auto), kept apart for single steps and for
    // blocks (engine_step_block_topk; their products are several times a
    // step's): averaged milliseconds per call with and without a team (0: not
    // measured yet), team-eligible calls so far, and when (and how often) the
    // slower way is tried again.
    struct TeamTiming {
        int n = 0;  // the team size the averages are for
        double team_ms = 0.0, solo_ms = 0.0;
        int64_t calls = 0, probe_at = 0, probe_every = 0;
    };
    TeamPolicy team_policy_ = TeamPolicy::Auto;
    TeamTiming step_timing_, block_timing_;
};

// Encodes B sources [B, S] (padded with the model's pad id; a source ends with
// EOS) and computes every decoder layer's cross-attention keys and values. The
// decoder then has B rows (row b: sentence b) at step 0.
void engine_encode(EngineState &st, const ServeModel &m, const int32_t *src, int64_t B, int64_t S);

// Before the first step: row r continues sentence src_of[r] (beam search gives
// each sentence k rows). MOS_OUT_OF_RANGE beyond the state's rows.
void engine_set_rows(EngineState &st, const int64_t *src_of, int64_t rows);

// One decoder step over every row (token[r] at the next position), returning
// the logits [rows, V] (borrowed from the state until its next call).
const float *engine_step_logits(EngineState &st, const ServeModel &m, const int32_t *tokens);

// One decoder step, the output layer fused with the log-softmax statistics and
// the best `topk` tokens of every row (never pad or BOS): stats[r] for r < rows,
// borrowed from the state until its next call.
const VocabRowStats *engine_step_topk(EngineState &st, const ServeModel &m, const int32_t *tokens, int topk);

// After a step: new row r continues old row from[r] (0 <= from[r] < rows());
// `rows` may be fewer than before (finished sentences dropped) or more, up to
// the reserved rows (the first step's one row per sentence becoming k beams).
void engine_reorder(EngineState &st, const int64_t *from, int64_t rows);

// Speculative decoding's check (decode/speculative.hpp): n positions of the
// state's single row in one pass over the weights. tokens[j] is the input at
// position step() + j; each position attends to the cache and to the block's
// earlier positions, exactly as n single steps would: the same bits on any
// thread count. A block runs on a team of the call's threads when that is
// faster (timed apart from single steps, TeamPolicy). stats[j] for j < n, as
// engine_step_topk gives them, borrowed until the state's next call; the
// state then stands at step() + n. Needs rows() == 1 and a state reserved for
// at least n rows (MOS_INVALID_ARGUMENT / MOS_OUT_OF_RANGE otherwise).
const VocabRowStats *engine_step_block_topk(EngineState &st, const ServeModel &m, const int32_t *tokens, int64_t n,
                                            int topk);

// Speculative decoding's draft step (decode/speculative.hpp): one decoder step
// of a one-row state over `token`, then its greedy choice: the token of the
// highest logit (ties: the lower id), never pad or BOS; with skip_eos (HAT's
// protocol) never EOS either, and the first ordinary token when no other is
// left. Returns -1 when no token is left. With m.draft_head(), the head's 4-bit
// scores shortlist kDraftShortlist tokens and its int8 logits choose among
// them: an approximation of the model's own choice, which only decides what
// the checked model is offered. Without one, the choice of engine_step_topk.
constexpr int kDraftShortlist = 16;
int32_t engine_step_draft(EngineState &st, const ServeModel &m, int32_t token, bool skip_eos);
// The same step without the output layer: the draft catching up on a token
// whose successor is already known only needs the step's keys and values.
void engine_step_cache(EngineState &st, const ServeModel &m, int32_t token);

// Starts `to` (reserved for a model of the same widths as `from`'s, e.g. its
// int8 draft) on the source `from` encoded: its cross-attention keys and
// values are copied, so `to`'s model runs no encoder of its own. One row,
// step 0, as after engine_encode of one sentence.
void engine_share_encoding(EngineState &to, const EngineState &from);

// Takes the decoder back to step t (0 <= t <= step()): the next step is at
// position t again, and the cache of later positions is overwritten by it.
void engine_rewind(EngineState &st, int64_t t);

// Teacher-forced logits [B*T, V] of a batch, step by step through the cache
// (checks the engine against the reference decoder and the supernet).
std::vector<float> engine_teacher_forced_logits(const ServeModel &m, const Batch &b);

}  // namespace mos
