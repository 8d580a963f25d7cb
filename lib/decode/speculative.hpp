// lib/decode/speculative.hpp: speculative greedy decoding (docs/serving.md,
// "Speculative decoding"): an int8 copy of the model drafts a few tokens, one
// at a time and cheaply, and the model itself checks them all in one pass over
// its weights (engine_step_block_topk), keeping the drafted tokens up to the
// first it disagrees with and its own token there. The output is the model's
// own greedy output, token for token: the draft only decides how many
// positions one pass of the model covers.
//
// Why: a greedy decoder step of one sentence reads every decoder and output-
// layer weight to compute one row, so at f32 it is bound by memory bandwidth,
// not arithmetic; a pass over several positions reads them once. The draft
// reads a quarter of the bytes per step, or less with its 4-bit output head
// (engine_step_draft): the output layer is the largest matrix of a small
// model.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "decode/beam.hpp"
#include "decode/engine.hpp"
#include "decode/serve_model.hpp"

namespace mos {

// The draft's output layer: Auto adds the 4-bit draft head
// (ServeModel::add_draft_head) where the CPU has a vector kernel for it
// (nibble_native()) and it picks a token faster than the int8 layer, timed
// once on the model's own output layer when the draft is made (a few
// milliseconds at most); Int8 and Nibble force either (benchmarks, tests).
enum class DraftHeadChoice { Auto, Int8, Nibble };

// The draft of model m: its int8 copy, with the head `head` asks for, or NULL
// when speculation would not pay or not keep m's output: m computes in
// another precision than f32 (bf16's kernels are chosen by row count,
// docs/serving.md), or this CPU would compute int8 in f32.
std::unique_ptr<const ServeModel> make_draft(const ServeModel &m, DraftHeadChoice head = DraftHeadChoice::Auto);

// What speculation did over a call (for benchmarks and tests).
struct DraftStats {
    int64_t checks = 0;    // passes of the model
    int64_t drafted = 0;   // tokens the draft proposed
    int64_t accepted = 0;  // of those, kept
    double draft_ms = 0.0, check_ms = 0.0;  // wall time in the draft's steps and in the checks
};

// One sentence's greedy decoding, speculatively. The caller has encoded the
// source into st (model m, one row, reserved for at least draft_tokens + 1
// rows and `limit` steps) and reserved ds for the draft (one row, the same
// source length, `limit` steps); the draft decodes over m's encoding
// (engine_share_encoding), so it runs no encoder of its own.
// Greedy as decode/search.hpp: at each position the token of the highest
// logit (ties: the lower id; never pad or BOS); EOS ends the sentence, and
// position limit - 1 is EOS. With skip_eos (HAT's latency protocol) the best
// token other than EOS is taken at every one of `limit` positions instead.
// Writes the tokens without EOS into *out and returns the sum of their log-
// probabilities, EOS included (0 with skip_eos), added in the order of
// search_batch's, so the result has the same bits as its greedy search.
float speculative_greedy(EngineState &st, const ServeModel &m, EngineState &ds, const ServeModel &draft,
                         int64_t limit, int draft_tokens, bool skip_eos, std::vector<int32_t> *out,
                         DraftStats *stats = nullptr);

}  // namespace mos
