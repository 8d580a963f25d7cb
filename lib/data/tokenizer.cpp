// lib/data/tokenizer.cpp: SentencePiece training from memory, (de)serialisation
// and encode/decode with libmos's special ids.
#include "data/tokenizer.hpp"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <mutex>
#include <unordered_map>

#include "core/error.hpp"

namespace mos {

namespace {

constexpr int kPad = 0, kUnk = 1, kBos = 2, kEos = 3;

class VectorIterator : public sentencepiece::SentenceIterator {
public:
    explicit VectorIterator(const std::vector<std::string> &v) : v_(v) {}
    bool done() const override { return i_ >= v_.size(); }
    void Next() override { i_++; }
    const std::string &value() const override { return v_[i_]; }
    sentencepiece::util::Status status() const override { return sentencepiece::util::Status(); }

private:
    const std::vector<std::string> &v_;
    size_t i_ = 0;
};

// SentencePiece training reads global state (the seed, the log level): one at a time.
std::mutex g_train_mutex;

}  // namespace

Tokenizer::Tokenizer() : sp_(std::make_unique<sentencepiece::SentencePieceProcessor>()) {}
Tokenizer::Tokenizer(Tokenizer &&) noexcept = default;
Tokenizer &Tokenizer::operator=(Tokenizer &&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Tokenizer Tokenizer::train(const std::vector<std::string> &sentences, const TokenizerOptions &opt) {
    check(opt.vocab_size >= 8 && opt.vocab_size <= 1000000, MOS_INVALID_ARGUMENT, "vocabulary size ",
          opt.vocab_size, " outside 8..1000000");
    check(opt.model_type == "unigram" || opt.model_type == "bpe", MOS_INVALID_ARGUMENT, "tokenizer model type '",
          opt.model_type, "'; allowed unigram|bpe");
    check(!sentences.empty(), MOS_INVALID_ARGUMENT, "no sentences to train the tokenizer on");
    const std::unordered_map<std::string, std::string> args = {
        {"model_type", opt.model_type},
        {"vocab_size", std::to_string(opt.vocab_size)},
        {"character_coverage", "1.0"},
        {"pad_id", std::to_string(kPad)},
        {"unk_id", std::to_string(kUnk)},
        {"bos_id", std::to_string(kBos)},
        {"eos_id", std::to_string(kEos)},
        {"num_threads", "1"},
        {"input_sentence_size", std::to_string(opt.max_sentences)},
        {"shuffle_input_sentence", "true"},
        {"max_sentence_length", "8192"},
        {"hard_vocab_limit", "false"},
        {"minloglevel", "2"},
    };
    Tokenizer t;
    {
        std::lock_guard<std::mutex> lock(g_train_mutex);
        sentencepiece::SetRandomGeneratorSeed(opt.seed);
        VectorIterator it(sentences);
        const auto st = sentencepiece::SentencePieceTrainer::Train(args, &it, &t.bytes_);
        check(st.ok(), MOS_INVALID_ARGUMENT, "SentencePiece training failed: ", st.ToString());
    }
    const auto st = t.sp_->LoadFromSerializedProto(t.bytes_);
    check(st.ok(), MOS_INTERNAL, "SentencePiece cannot load the model it trained: ", st.ToString());
    return t;
}

Tokenizer Tokenizer::from_bytes(const std::string &bytes) {
    check(!bytes.empty(), MOS_FORMAT, "tokenizer model is empty");
    Tokenizer t;
    t.bytes_ = bytes;
    const auto st = t.sp_->LoadFromSerializedProto(t.bytes_);
    check(st.ok(), MOS_FORMAT, "not a SentencePiece model: ", st.ToString());
    check(t.sp_->pad_id() == kPad && t.sp_->unk_id() == kUnk && t.sp_->bos_id() == kBos && t.sp_->eos_id() == kEos,
          MOS_FORMAT, "SentencePiece model has special ids pad ", t.sp_->pad_id(), ", unk ", t.sp_->unk_id(), ", bos ",
          t.sp_->bos_id(), ", eos ", t.sp_->eos_id(), "; libmos needs 0, 1, 2, 3");
    return t;
}

int64_t Tokenizer::vocab_size() const { return sp_->GetPieceSize(); }

std::vector<int32_t> Tokenizer::encode(const std::string &text) const {
    std::vector<int> ids;
    const auto st = sp_->Encode(text, &ids);
    check(st.ok(), MOS_INVALID_ARGUMENT, "cannot tokenize: ", st.ToString());
    return std::vector<int32_t>(ids.begin(), ids.end());
}

std::string Tokenizer::decode(const std::vector<int32_t> &ids) const {
    const int64_t V = vocab_size();
    std::vector<int> keep;
    keep.reserve(ids.size());
    for (int32_t id : ids)
        if (id > kEos && id < V) keep.push_back(id);
    std::string out;
    const auto st = sp_->Decode(keep, &out);
    check(st.ok(), MOS_INTERNAL, "cannot detokenize: ", st.ToString());
    return out;
}

}  // namespace mos
