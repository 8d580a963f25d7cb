// lib/decode/translate.hpp: text in, text out: sentences encoded with the
// model's tokenizer, translated on the decoding engine (decode/search.hpp) and
// decoded back to text. Used by mos_model_translate and by evaluation (BLEU).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "data/tokenizer.hpp"
#include "decode/search.hpp"
#include "decode/serve_model.hpp"

namespace mos {

// One translated sentence: its hypotheses, best first (DecodeOptions::nbest).
struct TextResult {
    struct Hyp {
        std::string text;
        float score = 0.0f, logprob = 0.0f;  // as Hypothesis
        size_t tokens = 0;                   // target tokens, without EOS
    };
    std::vector<Hyp> hyps;
};

// Translates src[0..n) with `model` and its tokenizer `tok`. Every sentence is
// checked first: a NULL entry is MOS_INVALID_ARGUMENT "src[i] is NULL", text
// that is not valid UTF-8 is MOS_INVALID_ARGUMENT "src[i] is not valid UTF-8
// (byte b)". Sentences are batched by `batch` (search.hpp: by length, within
// the sentence and token limits); results come back in input order. Reads the
// model and the tokenizer only. Search workspaces come from `pool` (search.hpp;
// NULL: fresh ones for this call).
std::vector<TextResult> translate_texts_ex(const ServeModel &model, const Tokenizer &tok, const char *const *src,
                                           size_t n, const DecodeOptions &opt, const BatchOptions &batch,
                                           WorkspacePool *pool = nullptr);

// The best translation of each sentence; `group` sentences per batch (0 = all
// in one batch).
std::vector<std::string> translate_texts(const ServeModel &model, const Tokenizer &tok, const char *const *src,
                                         size_t n, const DecodeOptions &opt, size_t group = 0);
// The same for a vector of sentences (errors name the index the same way).
std::vector<std::string> translate_texts(const ServeModel &model, const Tokenizer &tok,
                                         const std::vector<std::string> &src, const DecodeOptions &opt,
                                         size_t group = 0);

}  // namespace mos
