// lib/decode/translate.hpp: text in, text out: sentences encoded with the
// model's tokenizer, translated by beam search (decode/beam.hpp) and decoded
// back to text. Used by mos_model_translate and by evaluation (BLEU).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "data/tokenizer.hpp"
#include "decode/beam.hpp"
#include "model/dense.hpp"

namespace mos {

// Translates src[0..n) with `model` and its tokenizer `tok`. Every sentence is
// checked first: a NULL entry is MOS_INVALID_ARGUMENT "src[i] is NULL", text
// that is not valid UTF-8 is MOS_INVALID_ARGUMENT "src[i] is not valid UTF-8
// (byte b)". Sentences are decoded together in groups of `group` (0 = all in
// one batch). Reads the model and the tokenizer only.
std::vector<std::string> translate_texts(const DenseModel &model, const Tokenizer &tok, const char *const *src,
                                         size_t n, const DecodeOptions &opt, size_t group = 0);
// The same for a vector of sentences (errors name the index the same way).
std::vector<std::string> translate_texts(const DenseModel &model, const Tokenizer &tok,
                                         const std::vector<std::string> &src, const DecodeOptions &opt,
                                         size_t group = 0);

}  // namespace mos
