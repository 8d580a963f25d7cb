// lib/decode/beam.hpp: greedy and beam-search decoding of a routed dense
// model with its key/value cache (docs/supernet.md, "Routing into a dense model").
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

struct DecodeOptions {
    int beam = 4;                // 1 = greedy
    float length_penalty = 0.6f;
    int max_len_a = 1;           // output limit a * source tokens + b
    int max_len_b = 10;
    int max_src_len = 256;       // longer sources are cut
};

// Throws MOS_INVALID_ARGUMENT naming a bad option.
void check_decode_options(const DecodeOptions &o);

// Translates a batch of token-id sources (each without EOS; the decoder adds it).
// Returns one id sequence per source, without EOS. Reads the model only.
std::vector<std::vector<int32_t>> translate_batch(const DenseModel &m,
                                                  const std::vector<std::vector<int32_t>> &srcs,
                                                  const DecodeOptions &opt);

}  // namespace mos
