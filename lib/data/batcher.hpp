// lib/data/batcher.hpp: tokenized sentence pairs and batches by token count.
//
// Pairs are sorted by length (target, then source) and cut into batches of at
// most max_tokens tokens per side, counting padding (B x longest <= max_tokens),
// so similar lengths share a batch and little is padded (fairseq's bucketing).
// The batch order is shuffled per epoch from (seed, epoch), so a position
// (epoch, index) names a batch exactly and a resumed run sees the same data.
// Every batch is padded once at construction; next() hands out views.
//
// Decoder input follows fairseq: tgt_in = [EOS, y1 .. yn], tgt_out = [y1 .. yn, EOS].
#pragma once

#include <cstdint>
#include <vector>

#include "data/corpus.hpp"
#include "data/tokenizer.hpp"
#include "model/supernet.hpp"

namespace mos {

struct TokenPair {
    std::vector<int32_t> src;  // ids + EOS
    std::vector<int32_t> tgt;  // ids + EOS
};

struct TokenizedPairs {
    std::vector<TokenPair> pairs;
    int64_t skipped_long = 0;  // pairs over max_len tokens on a side
    size_t size() const { return pairs.size(); }
};

// Encodes both sides (appending EOS) and drops pairs with a side longer than
// max_len tokens (counted in skipped_long).
TokenizedPairs tokenize_pairs(const Tokenizer &tok, const ParallelText &text, int64_t max_len);

struct DataPosition {
    int64_t epoch = 0;
    int64_t index = 0;  // next batch within the epoch's order
};

class Batcher {
public:
    // shuffle = false keeps the length order (validation, evaluation).
    Batcher(const TokenizedPairs &pairs, int64_t max_tokens, uint64_t seed, bool shuffle = true);

    int64_t num_batches() const { return static_cast<int64_t>(batches_.size()); }
    // Batch i in length order (not shuffled). Valid while the Batcher lives.
    Batch batch(int64_t i) const;
    // The next batch of the shuffled epoch order; wraps to the next epoch.
    Batch next();
    DataPosition position() const { return pos_; }
    // Continue from a saved position (MOS_OUT_OF_RANGE if it is not one of this data).
    void seek(const DataPosition &p);
    int64_t max_src_tokens() const { return max_src_; }
    int64_t max_tgt_tokens() const { return max_tgt_; }

private:
    struct Padded {
        int64_t B = 0, S = 0, T = 0;
        std::vector<int32_t> src, tgt_in, tgt_out;
    };
    void make_order(int64_t epoch);
    std::vector<Padded> batches_;
    std::vector<int64_t> order_;
    uint64_t seed_;
    bool shuffle_;
    DataPosition pos_;
    int64_t max_src_ = 0, max_tgt_ = 0;
};

}  // namespace mos
