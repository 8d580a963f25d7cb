// lib/data/tokenizer.hpp: the joint source+target SentencePiece tokenizer
// (Kudo & Richardson 2018; Debian libsentencepiece), trained from sentences in
// memory and carried as its serialized model proto inside every checkpoint and
// model file, so they translate raw text on their own.
//
// Ids: pad = 0, unk = 1, bos = 2, eos = 3 (docs/data.md), fixed at training.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace mos {

struct TokenizerOptions {
    int vocab_size = 8000;
    std::string model_type = "unigram";  // or "bpe"
    uint32_t seed = 1;
    // Sentences sampled for training (SentencePiece's input_sentence_size);
    // bounds training time on large corpora.
    int64_t max_sentences = 200000;
};

class Tokenizer {
public:
    // Trains a model on `sentences` (UTF-8). Single-threaded and seeded, so the
    // same input gives the same model. MOS_INVALID_ARGUMENT when the text is too
    // small for the vocabulary (SentencePiece's message is kept).
    static Tokenizer train(const std::vector<std::string> &sentences, const TokenizerOptions &opt);
    // Loads a serialized model proto; MOS_FORMAT if it does not parse or its
    // special ids differ from libmos's.
    static Tokenizer from_bytes(const std::string &bytes);

    Tokenizer(Tokenizer &&) noexcept;
    Tokenizer &operator=(Tokenizer &&) noexcept;
    ~Tokenizer();

    const std::string &serialize() const { return bytes_; }
    int64_t vocab_size() const;
    // Ids of the text, without BOS/EOS (the caller appends EOS). Thread-safe.
    std::vector<int32_t> encode(const std::string &text) const;
    // Text of the ids; ids outside [0, vocab) and the special ids are skipped.
    std::string decode(const std::vector<int32_t> &ids) const;

private:
    Tokenizer();
    std::unique_ptr<sentencepiece::SentencePieceProcessor> sp_;
    std::string bytes_;
};

}  // namespace mos
