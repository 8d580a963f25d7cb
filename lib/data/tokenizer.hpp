// lib/data/tokenizer.hpp: the joint source+target SentencePiece tokenizer.
//
// One model serves both languages (the embedding table is shared, docs/supernet.md).
// Fixed special ids (data/tokens.hpp): pad 0, unk 1, bos 2, eos 3. The model travels as the bytes of
// SentencePiece's serialized ModelProto (serialize()/load()), which checkpoints and
// specialised models embed as a U8 tensor. Conventions (docs/data.md):
//  * encode(text) returns the pieces' ids without bos/eos; callers append eos;
//  * decode(ids) stops at the first eos, skips pad and bos, renders unk as " ⁇ "
//    (SentencePiece's default unk surface);
//  * text is NFKC-normalised (SentencePiece "nmt_nfkc") before encoding, so
//    decode(encode(x)) == x only for text that normalisation leaves unchanged.
// Thread safety: a loaded Tokenizer may be used by many threads at once for
// encode/decode (both const); train() sets SentencePiece's process-wide seed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace mos {

enum class TokenizerModel { unigram, bpe };

struct TokenizerOptions {
    TokenizerModel model = TokenizerModel::unigram;
    int32_t vocab_size = 8000;       // exact size (SentencePiece hard limit), includes the 4 specials
    size_t max_sentences = 300000;   // cap on training sentences (src + tgt); 0 = all
    uint32_t seed = 1;               // SentencePiece's random generator seed
    int32_t num_threads = 1;         // 1 keeps training bit-reproducible
};

class Tokenizer {
public:
    // Trains a joint model on src and tgt sentences (in memory). When there are more
    // than opt.max_sentences sentences, an evenly strided subset is used (deterministic).
    static Tokenizer train(const std::vector<std::string> &src, const std::vector<std::string> &tgt,
                           const TokenizerOptions &opt = {});
    // Loads serialized model bytes; MOS_FORMAT when they are not a SentencePiece model
    // or its special ids differ from the fixed ones above.
    static Tokenizer load(std::string_view serialized);

    Tokenizer(Tokenizer &&) noexcept;
    Tokenizer &operator=(Tokenizer &&) noexcept;
    ~Tokenizer();

    std::string serialize() const;  // the serialized ModelProto
    int32_t vocab_size() const;
    std::string piece(int32_t id) const;  // MOS_OUT_OF_RANGE for an id outside [0, vocab)

    // MOS_INVALID_ARGUMENT for text that is not valid UTF-8.
    std::vector<int32_t> encode(std::string_view text) const;
    // MOS_OUT_OF_RANGE for an id outside [0, vocab_size()).
    std::string decode(const int32_t *ids, size_t n) const;
    std::string decode(const std::vector<int32_t> &ids) const { return decode(ids.data(), ids.size()); }

private:
    struct Impl;
    explicit Tokenizer(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace mos
