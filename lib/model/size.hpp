// lib/model/size.hpp: analytic parameter count and FLOPs of an arch.
//
// Counts are for the dense routed model of an arch (docs/model-size.md):
// experts and routers collapsed away, post-LayerNorm blocks. The conventions
// (tied embedding table of V x max(d_enc, d_dec), matrix products only in FLOPs,
// multiply-add = 2 FLOPs) are written down in docs/model-size.md.
#pragma once

#include <cstdint>

#include "model/arch.hpp"

namespace mos {

struct ArchSize {
    uint64_t embedding = 0;  // the shared token table
    uint64_t encoder = 0;    // all encoder layers
    uint64_t decoder = 0;    // all decoder layers
    uint64_t total() const { return embedding + encoder + decoder; }
};

// Parameters of the routed model for a vocabulary of `vocab` tokens (> 0).
ArchSize arch_params(const Arch &arch, uint64_t vocab);

struct ArchFlops {
    uint64_t encoder = 0;  // S source tokens through every encoder layer
    uint64_t decoder = 0;  // T target tokens through every decoder layer
    uint64_t output = 0;   // the tied output projection over T tokens
    uint64_t total() const { return encoder + decoder + output; }
};

// FLOPs of one forward pass over a source of `src_len` and a target of
// `tgt_len` tokens (both > 0). Throws MOS_OUT_OF_RANGE if a count would
// overflow 64 bits.
ArchFlops arch_flops(const Arch &arch, uint64_t vocab, uint64_t src_len, uint64_t tgt_len);

}  // namespace mos
