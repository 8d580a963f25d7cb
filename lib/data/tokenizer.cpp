// lib/data/tokenizer.cpp: Tokenizer over SentencePiece (the only file that includes
// its headers). Training passes the sentences through SentencePiece's sentence
// iterator, so nothing is written to disk.
#include "data/tokenizer.hpp"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <algorithm>
#include <unordered_map>

#include "core/error.hpp"
#include "data/corpus.hpp"
#include "data/tokens.hpp"

namespace mos {

struct Tokenizer::Impl {
    sentencepiece::SentencePieceProcessor sp;
    int32_t vocab = 0;
    int32_t space_id = -1;  // id of the piece "\u2581" alone, -1 if the model has none
    std::vector<int> encode_chunk(std::string_view text) const;
};

namespace {

// Feeds chosen sentences of two vectors to the trainer without copying them.
class PairIterator : public sentencepiece::SentenceIterator {
public:
    PairIterator(const std::vector<std::string> &a, const std::vector<std::string> &b, size_t take)
        : a_(a), b_(b), total_(a.size() + b.size()), take_(take) {}
    bool done() const override { return k_ >= take_; }
    void Next() override { k_++; }
    const std::string &value() const override {
        // Evenly strided pick of take_ out of total_ sentences: index floor(k * total / take).
        const size_t i = static_cast<size_t>(static_cast<unsigned __int128>(k_) * total_ / take_);
        return i < a_.size() ? a_[i] : b_[i - a_.size()];
    }
    sentencepiece::util::Status status() const override { return sentencepiece::util::Status(); }

private:
    const std::vector<std::string> &a_, &b_;
    size_t total_, take_, k_ = 0;
};

void check_specials(const sentencepiece::SentencePieceProcessor &sp) {
    const int got[4] = {sp.pad_id(), sp.unk_id(), sp.bos_id(), sp.eos_id()};
    const char *names[4] = {"pad", "unk", "bos", "eos"};
    for (int k = 0; k < 4; k++)
        check(got[k] == k, MOS_FORMAT, "tokenizer model has ", names[k], " id ", got[k], "; libmos needs ", k);
}

}  // namespace

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::Tokenizer(Tokenizer &&) noexcept = default;
Tokenizer &Tokenizer::operator=(Tokenizer &&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Tokenizer Tokenizer::train(const std::vector<std::string> &src, const std::vector<std::string> &tgt,
                           const TokenizerOptions &opt) {
    check(opt.vocab_size > 4, MOS_INVALID_ARGUMENT, "tokenizer vocab_size ", opt.vocab_size,
          " must exceed the 4 special tokens");
    check(opt.num_threads >= 1 && opt.num_threads <= 1024, MOS_INVALID_ARGUMENT, "tokenizer num_threads ",
          opt.num_threads, " outside [1, 1024]");
    check(opt.model == TokenizerModel::unigram || opt.model == TokenizerModel::bpe, MOS_INVALID_ARGUMENT,
          "tokenizer model type ", static_cast<int>(opt.model), " is unknown");
    const size_t total = src.size() + tgt.size();
    check(total > 0, MOS_INVALID_ARGUMENT, "tokenizer training: no sentences");
    for (size_t i = 0; i < total; i++) {
        const std::string &s = i < src.size() ? src[i] : tgt[i - src.size()];
        size_t bad = 0;
        check(is_valid_utf8(s, &bad), MOS_INVALID_ARGUMENT, "tokenizer training: ", i < src.size() ? "source" : "target",
              " sentence ", i < src.size() ? i : i - src.size(), " is not valid UTF-8 (byte ", bad, ")");
    }
    const size_t take = opt.max_sentences == 0 || opt.max_sentences > total ? total : opt.max_sentences;

    std::unordered_map<std::string, std::string> args = {
        {"model_type", opt.model == TokenizerModel::bpe ? "bpe" : "unigram"},
        {"vocab_size", std::to_string(opt.vocab_size)},
        {"character_coverage", "1.0"},
        {"pad_id", "0"}, {"unk_id", "1"}, {"bos_id", "2"}, {"eos_id", "3"},
        {"pad_piece", "<pad>"}, {"unk_piece", "<unk>"}, {"bos_piece", "<s>"}, {"eos_piece", "</s>"},
        {"num_threads", std::to_string(opt.num_threads)},
        {"input_sentence_size", "0"},  // sampling is done above, deterministically
        {"shuffle_input_sentence", "false"},
        {"max_sentence_length", "65536"},
        {"minloglevel", "2"},  // the library does not print; errors come back as Status
    };
    sentencepiece::SetRandomGeneratorSeed(opt.seed);
    PairIterator it(src, tgt, take);
    std::string model;
    auto st = sentencepiece::SentencePieceTrainer::Train(args, &it, &model);
    check(st.ok(), MOS_INVALID_ARGUMENT, "SentencePiece training failed (", take, " sentences, vocab_size ",
          opt.vocab_size, "): ", st.ToString());
    return load(model);
}

Tokenizer Tokenizer::load(std::string_view serialized) {
    check(!serialized.empty(), MOS_FORMAT, "tokenizer model is empty");
    auto impl = std::make_unique<Impl>();
    auto st = impl->sp.LoadFromSerializedProto(serialized);
    check(st.ok(), MOS_FORMAT, "tokenizer model (", serialized.size(), " bytes) cannot be loaded: ", st.ToString());
    check_specials(impl->sp);
    impl->vocab = impl->sp.GetPieceSize();
    check(impl->vocab > 4, MOS_FORMAT, "tokenizer model has only ", impl->vocab, " pieces");
    const int space = impl->sp.PieceToId("\xE2\x96\x81");
    impl->space_id = space != impl->sp.unk_id() ? space : -1;
    return Tokenizer(std::move(impl));
}

std::string Tokenizer::serialize() const { return impl_->sp.serialized_model_proto(); }

int32_t Tokenizer::vocab_size() const { return impl_->vocab; }

std::string Tokenizer::piece(int32_t id) const {
    check(id >= 0 && id < impl_->vocab, MOS_OUT_OF_RANGE, "token id ", id, " outside [0, ", impl_->vocab, ")");
    return impl_->sp.IdToPiece(id);
}

std::vector<int> Tokenizer::Impl::encode_chunk(std::string_view text) const {
    std::vector<int> ids;
    auto st = sp.Encode(text, &ids);
    check(st.ok(), MOS_INTERNAL, "SentencePiece encode failed: ", st.ToString());
    return ids;
}

// Long inputs are encoded in chunks of at most kEncodeChunkBytes. SentencePiece
// 0.1.97 merges a run of unknown characters (CJK or emoji text for a model
// trained on European languages) into one piece by appending each character to
// a copy of the piece so far, which is quadratic in the run's length: 1.2 MB of
// CJK took 10.8 s, 1 MB of ASCII 0.75 s. Chunks bound each run.
//  * A chunk ends at a space where there is one: exact, because libmos models
//    are trained with SentencePiece's split_by_whitespace (no piece spans a
//    space) and the space before a word becomes that word's "\u2581" prefix
//    either way.
//  * A run of more than kEncodeChunkBytes without a space is cut at a UTF-8
//    character boundary, and the next chunk's leading "\u2581" (SentencePiece's
//    dummy prefix) is dropped when it comes as a piece of its own. No piece
//    and no merged unknown run crosses such a cut (one long unknown run gives
//    one <unk> per chunk).
// docs/reliability.md has the measurements.
constexpr size_t kEncodeChunkBytes = 4096;

std::vector<int32_t> Tokenizer::encode(std::string_view text) const {
    size_t bad = 0;
    check(is_valid_utf8(text, &bad), MOS_INVALID_ARGUMENT, "encode: text is not valid UTF-8 (byte ", bad, ")");
    if (text.size() <= kEncodeChunkBytes) {
        const std::vector<int> ids = impl_->encode_chunk(text);
        return std::vector<int32_t>(ids.begin(), ids.end());
    }
    std::vector<int32_t> out;
    size_t pos = 0;
    bool mid_word = false;  // this chunk continues a word cut at a character boundary
    while (pos < text.size()) {
        size_t end = std::min(text.size(), pos + kEncodeChunkBytes);
        size_t next = end;
        bool cut_in_word = false;
        if (end < text.size()) {
            const size_t space = text.substr(pos, end - pos + 1).rfind(' ');
            if (space != std::string_view::npos && space > 0) {
                end = pos + space;  // the space itself starts the next chunk's first word
                next = end;
            } else {
                while (end > pos && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
                next = end;
                cut_in_word = true;
            }
        }
        const std::vector<int> ids = impl_->encode_chunk(text.substr(pos, end - pos));
        size_t first = 0;
        if (mid_word && !ids.empty() && ids[0] == impl_->space_id) first = 1;
        out.insert(out.end(), ids.begin() + static_cast<std::ptrdiff_t>(first), ids.end());
        mid_word = cut_in_word;
        pos = next;
    }
    return out;
}

std::string Tokenizer::decode(const int32_t *ids, size_t n) const {
    check(ids != nullptr || n == 0, MOS_INVALID_ARGUMENT, "decode: ids is NULL with length ", n);
    std::vector<int> keep;
    keep.reserve(n);
    for (size_t i = 0; i < n; i++) {
        const int32_t id = ids[i];
        check(id >= 0 && id < impl_->vocab, MOS_OUT_OF_RANGE, "decode: id ", id, " at position ", i,
              " outside [0, ", impl_->vocab, ")");
        if (id == kEos) break;
        if (id == kPad || id == kBos) continue;
        keep.push_back(id);
    }
    std::string text;
    auto st = impl_->sp.Decode(keep, &text);
    check(st.ok(), MOS_INTERNAL, "SentencePiece decode failed: ", st.ToString());
    return text;
}

}  // namespace mos
