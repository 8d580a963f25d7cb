// lib/decode/beam.hpp: the rules of greedy and beam-search decoding, their
// options, and the reference decoder that follows them on the f32 dense model
// step by step (docs/supernet.md, "Routing into a dense model"). Serving runs
// the same rules on the decoding engine (decode/search.hpp); tests hold the
// two to each other.
//
// Token conventions (data/tokens.hpp, docs/data.md): pad = 0, unk = 1, bos = 2, eos = 3. A source
// is its ids followed by EOS; the decoder starts from EOS (fairseq) and a
// hypothesis ends when it emits EOS. Beam search follows fairseq: at each step
// the 2k best extensions of the sentence's k live hypotheses are ranked; an EOS
// among the first k finishes a hypothesis with score logprob / length^lenpen
// (length counts the EOS), the best k others stay live; a sentence is done when
// k hypotheses are finished or the length limit forces EOS. The result is the
// best finished hypothesis, without EOS. Pad and BOS are never generated.
#pragma once

#include <cstdint>
#include <vector>

#include "data/tokens.hpp"
#include "model/dense.hpp"

namespace mos {

class ServeModel;

// Most tokens a speculative draft may propose per check (decode/speculative.hpp).
constexpr int kMaxDraftTokens = 15;

struct DecodeOptions {
    int beam = 4;                // 1 = greedy
    float length_penalty = 0.6f;
    float max_len_a = 1.0f;      // output limit: floor(a * source tokens) + b (fairseq's max_len_a/b);
    int max_len_b = 10;          // source tokens count the EOS, the limit counts the output's EOS
    int max_src_len = 256;       // longer sources are cut
    int nbest = 1;               // hypotheses kept per sentence (1..beam), best first
    // Speculative decoding (decode/speculative.hpp): with a draft and
    // 1..kMaxDraftTokens draft tokens, greedy batches of one sentence on an
    // f32 model are decoded speculatively, with the same output; otherwise
    // both are ignored. The reference decoder never reads them.
    const ServeModel *draft = nullptr;
    int draft_tokens = 0;
};

// Throws MOS_INVALID_ARGUMENT naming a bad option.
void check_decode_options(const DecodeOptions &o);

// The output limit (tokens, EOS included) of a source of n tokens (EOS included).
int64_t output_limit(const DecodeOptions &o, int64_t n);

namespace ref {
// The reference decoder: the f32 dense model step by step (dense_step), the
// rules above in their plainest form. Translates a batch of token-id sources
// (each without EOS; the decoder adds it) and returns the best id sequence of
// each, without EOS. Reads the model only.
std::vector<std::vector<int32_t>> translate_batch(const DenseModel &m, const std::vector<std::vector<int32_t>> &srcs,
                                                  const DecodeOptions &opt);
}  // namespace ref

}  // namespace mos
