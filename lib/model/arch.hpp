// lib/model/arch.hpp: an architecture ("arch"), one point of a search space.
//
// An arch fixes every elastic dimension: the two embedding widths, the layer
// counts, and for every present layer its FFN width and head counts (and, in
// the decoder, how many of the last encoder layers its cross-attention reads).
// Besides the canonical JSON form and the check against a space, this file
// holds what evolutionary search needs from the representation: deterministic
// sampling, the router / latency-predictor encoding (docs/formats.md),
// mutation and crossover (docs/formats.md; their use in docs/search.md).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/rng.hpp"
#include "model/space.hpp"

namespace mos {

struct EncoderLayerArch {
    int ffn_dim = 0;
    int heads = 0;
};

struct DecoderLayerArch {
    int ffn_dim = 0;
    int self_heads = 0;
    int cross_heads = 0;
    int cross_k = 0;  // reads the outputs of the last cross_k encoder layers
};

struct Arch {
    int enc_embed = 0;
    int dec_embed = 0;
    int qkv_dim = 0;  // fixed by the space; carried so the arch is self-describing
    std::vector<EncoderLayerArch> enc;  // size = number of encoder layers
    std::vector<DecoderLayerArch> dec;  // size = number of decoder layers
};

bool operator==(const Arch &a, const Arch &b);
inline bool operator!=(const Arch &a, const Arch &b) { return !(a == b); }

// Throws MOS_OUT_OF_RANGE naming the field and the allowed values, e.g.
// "decoder.layers[2].self_heads = 5; allowed 2|4".
void validate(const Space &space, const Arch &arch);

// Parse the JSON form (docs/formats.md) and validate it against `space`.
// Malformed text / wrong types: MOS_FORMAT; a value outside the space:
// MOS_OUT_OF_RANGE; an unknown "version": MOS_VERSION.
Arch arch_from_json(const Space &space, const std::string &text);
// Read and parse an arch JSON file (MOS_IO with the path if unreadable).
Arch arch_load(const Space &space, const std::string &path);
// Canonical JSON: fixed key order, one layer per line, trailing newline.
std::string arch_to_json(const Arch &arch);

Arch arch_largest(const Space &space);
Arch arch_smallest(const Space &space);

// Every dimension uniformly from its choices, in a fixed documented order
// (docs/formats.md), so that a seed names an arch.
Arch arch_sample(const Space &space, Rng &rng);
Arch arch_sample(const Space &space, uint64_t seed);

// Mutation (HAT / MoS evolution): every gene (each global dimension and each
// per-layer dimension of every layer present in the child) is resampled from
// the space with probability p; layers added by a larger layer count are
// sampled fresh. The result is valid in `space`.
Arch arch_mutate(const Space &space, const Arch &parent, double p, Rng &rng);
// Crossover: every gene from parent a or b with probability 0.5 each. A layer
// present in only one parent takes that parent's genes.
Arch arch_crossover(const Space &space, const Arch &a, const Arch &b, Rng &rng);

// The 10-feature encoding (docs/formats.md, "Encodings"): the router's input
// and the latency predictor's features, so kArchFeatures is also the router's
// input width. Each feature is divided by the maximum of its dimension in the
// space, so every value lies in (0, 1]:
// enc embed, enc layers, mean enc FFN, mean enc heads, dec embed, dec layers,
// mean dec FFN, mean dec self heads, mean dec cross heads, mean cross k.
constexpr size_t kArchFeatures = 10;
std::vector<float> arch_encode(const Space &space, const Arch &arch);

// The fine encoding: the 10 features, then for each of the space's maximum
// number of encoder layers (ffn, heads), then for each maximum decoder layer
// (ffn, self heads, cross heads, k), each divided by its maximum, zero for
// absent layers. Size: arch_fine_size(space).
size_t arch_fine_size(const Space &space);
std::vector<float> arch_encode_fine(const Space &space, const Arch &arch);

}  // namespace mos
