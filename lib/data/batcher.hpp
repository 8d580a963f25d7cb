// lib/data/batcher.hpp: tokenized parallel data and token-count batching.
//
// Batching rule (docs/data.md): sentence pairs are sorted by (source length, target
// length, index) and cut greedily into batches; a pair joins the current batch while
// count * max(src len) <= max_tokens and count * max(tgt len) <= max_tokens (padded
// sizes, eos included) and count <= max_sentences. TokenBatch membership is fixed; each
// epoch visits every batch once in an order shuffled from (seed, epoch) with a
// portable generator (splitmix64 of lib/core/rng.hpp + Fisher-Yates), so it depends on
// nothing else.
// Layout (fairseq convention), all right-padded with pad = 0:
//   src     [B, S]  x1..xm eos
//   tgt_in  [B, T]  eos y1..yn      (eos doubles as the start symbol)
//   tgt_out [B, T]  y1..yn eos
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "data/batch.hpp"
#include "data/corpus.hpp"
#include "data/tokenizer.hpp"

namespace mos {

struct TokenPair {
    std::vector<int32_t> src;  // ids + eos
    std::vector<int32_t> tgt;  // ids + eos
};

struct TokenizedData {
    std::vector<TokenPair> pairs;
    std::vector<size_t> line;  // index of each kept pair in the ParallelText
    size_t skipped_long = 0;   // pairs dropped: a side longer than max_len tokens (with eos)
};

// Encodes every pair and appends eos; max_len >= 2 (MOS_INVALID_ARGUMENT otherwise).
TokenizedData tokenize_parallel(const Tokenizer &tok, const ParallelText &text, size_t max_len = 256);

// One split of a corpus directory (read_parallel), cut to its first
// max_sentences pairs (0 = all) and tokenized with tokenize_parallel(max_len).
// `raw`, if given, receives the text that was tokenized (after the cut).
TokenizedData read_tokenized_split(const Tokenizer &tok, const std::string &dir, const std::string &split,
                                   const std::string &src_lang, const std::string &tgt_lang, int64_t max_sentences,
                                   int64_t max_len, ParallelText *raw = nullptr);

struct BatcherOptions {
    size_t max_tokens = 4096;   // padded tokens per side per batch
    size_t max_sentences = 0;   // 0 = no cap
    uint64_t seed = 1;          // shuffles the batch order each epoch
};

struct BatchPosition {
    uint64_t epoch = 0;  // epochs completed
    uint64_t index = 0;  // next batch within the epoch's order, < num_batches()
};

struct TokenBatch {
    size_t B = 0, S = 0, T = 0;
    std::vector<int32_t> src, tgt_in, tgt_out;  // [B,S], [B,T], [B,T]; capacity kept across fills
    std::vector<size_t> pair;                   // pair index (into TokenizedData::pairs) of each row
    size_t src_tokens = 0, tgt_tokens = 0;      // non-pad tokens (tgt_tokens = loss targets)
};

// Used by one thread at a time (the epoch order is cached).
class Batcher {
public:
    // Keeps a reference to data, which must outlive the batcher. MOS_INVALID_ARGUMENT
    // when data is empty, max_tokens is 0, or a pair alone exceeds max_tokens.
    Batcher(const TokenizedData &data, const BatcherOptions &opt);

    size_t num_batches() const { return batches_.size(); }
    size_t max_batch_sentences() const { return max_b_; }  // for sizing buffers
    size_t max_src_len() const { return max_s_; }
    size_t max_tgt_len() const { return max_t_; }

    // TokenBatch b in length order (unshuffled: validation, decoding). MOS_OUT_OF_RANGE if b is too big.
    void get(size_t b, TokenBatch &out) const;
    // Which batch the epoch's shuffled order puts at position index.
    size_t order(uint64_t epoch, size_t index) const;

    // Fills the batch at the current position and advances (rolling into the next epoch).
    void next(TokenBatch &out);
    BatchPosition position() const { return pos_; }
    void set_position(const BatchPosition &pos);  // MOS_OUT_OF_RANGE if pos.index >= num_batches()

private:
    const TokenizedData &data_;
    BatcherOptions opt_;
    std::vector<std::vector<size_t>> batches_;  // pair indices per batch
    size_t max_b_ = 0, max_s_ = 0, max_t_ = 0;
    BatchPosition pos_;
    mutable uint64_t order_epoch_ = UINT64_MAX;
    mutable std::vector<size_t> order_;
};

// The model's view of a padded token batch (valid while tb lives).
Batch batch_view(const TokenBatch &tb);
// Every batch of `data` in length order, unshuffled (validation and evaluation
// sets); none when data has no pairs.
std::vector<TokenBatch> fixed_batches(const TokenizedData &data, int64_t max_tokens);

}  // namespace mos
