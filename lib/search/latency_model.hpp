// lib/search/latency_model.hpp: what the latency predictors know about an
// arch besides its measured latency (docs/search.md, "Latency predictor"):
//
//   * feature vectors: HAT's 10-feature encoding, or the rich set: those 10,
//     the per-layer fine encoding, the vocabulary, and analytic work of one
//     run of the protocol per stage (encoder products and weights, the
//     cross-attention keys/values, per decoder step the attention and FFN
//     weights read, self- and cross-attention over the cache, the output
//     projection and the beam's log-softmax, cache copies, kernel calls);
//   * the operations one run of the protocol executes (the inventory of
//     DecodeRun: every linear, attention, LayerNorm, ... with its shape and
//     how often it runs), and microbenchmarks that time each of them, for the
//     cost model: latency = sum over operations of count x time.
//
// Both follow the decode path DecodeRun times (model/dense.cpp's encoder and
// step-wise decoder, then beam_step_scores); a new decoding engine needs a new
// inventory here.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "model/arch.hpp"
#include "model/space.hpp"
#include "search/latency.hpp"

namespace mos {

enum class FeatureSet : int {
    Hat = 0,   // the 10-feature encoding (arch_encode)
    Rich = 1,  // the 10 features, the fine encoding, vocabulary, analytic work per stage
};

const char *feature_set_name(FeatureSet f);          // "hat" | "rich"
FeatureSet parse_feature_set(const std::string &s);   // MOS_INVALID_ARGUMENT naming it

// Names of the features of `f` for a space, in order (docs and reports).
std::vector<std::string> latency_feature_names(FeatureSet f, const Space &space);
// The features of arch a (valid in `space`) for a vocabulary and protocol.
std::vector<double> latency_features(FeatureSet f, const Space &space, const Arch &a, int64_t vocab,
                                     const LatencyOptions &protocol);

// One operation of the decode path with its shape. Keys are text
// ("linear 5x256x1024"), so that a table of timings can be stored in a
// dataset header and read back.
struct DecodeOp {
    enum Kind : int {
        Linear = 0,    // m x k input times a k -> n weight (+ bias)
        Logits,        // m x k input times the tied output embedding [n, ld] (no bias)
        Attention,     // full attention of m queries over m keys, width k, h heads (encoder)
        Attend,        // one query row over m cached keys, width k, h heads (decoder step)
        AddNorm,       // residual add and LayerNorm of m rows of width k
        Relu,          // m values
        Embed,         // m tokens of width k from a table of row length ld
        Positions,     // m positions of width k
        Scores,        // beam_step_scores over m rows of n logits
        Copy,          // m floats copied (cache writes, reorders, memory concatenation)
    };
    Kind kind = Linear;
    int64_t m = 0, k = 0, n = 0, h = 0, ld = 0;
    std::string key() const;
};
// Parses a key back (MOS_FORMAT naming it).
DecodeOp parse_decode_op(const std::string &key);

// The operations of one run of `protocol` on arch a with `vocab`, each with
// its count per run (Copy ops are folded into one "copy" op whose count is
// the number of floats copied).
std::map<std::string, double> decode_ops(const Space &space, const Arch &a, int64_t vocab,
                                         const LatencyOptions &protocol);
// Every operation any arch of `space` executes (the table to time).
std::vector<std::string> space_decode_ops(const Space &space, int64_t vocab, const LatencyOptions &protocol);

// Microseconds of each operation on this machine and thread count: every
// operation runs in rounds, interleaved with the others, on inputs whose
// weights rotate through copies larger than the L2 cache (as a decode step
// reads a model's weights from beyond it); the time is the median over the
// rounds. "copy" is microseconds per float.
std::map<std::string, double> time_decode_ops(const std::vector<std::string> &ops, int rounds, uint64_t seed);

}  // namespace mos
