// lib/data/batch.hpp: the padded token batch the model consumes, as borrowed
// pointers (into a TokenBatch of data/batcher.hpp, or a caller's arrays).
//
// B sentences, source length S, target length T, row-major and right-padded
// with the model's pad id. tgt_in starts with the start symbol (eos, the
// fairseq convention of docs/data.md) and tgt_out ends with eos.
#pragma once

#include <cstdint>

namespace mos {

struct Batch {
    int64_t B = 0, S = 0, T = 0;
    const int32_t *src = nullptr;      // [B, S]
    const int32_t *tgt_in = nullptr;   // [B, T]
    const int32_t *tgt_out = nullptr;  // [B, T]
};

}  // namespace mos
