// lib/data/tokens.hpp: the fixed special token ids, the one place they are
// spelled (docs/data.md): every tokenizer libmos writes or loads has pad 0,
// unk 1, bos 2, eos 3, and batching, the model's padding and decoding rely on
// them. A source is its ids then eos; the decoder starts from eos (fairseq),
// so bos is reserved but never generated.
#pragma once

#include <cstdint>

namespace mos {

constexpr int32_t kPad = 0;
constexpr int32_t kUnk = 1;
constexpr int32_t kBos = 2;
constexpr int32_t kEos = 3;
// Ordinary pieces have ids from here on.
constexpr int32_t kSpecialTokens = 4;

}  // namespace mos
