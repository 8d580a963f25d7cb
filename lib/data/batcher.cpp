// lib/data/batcher.cpp: tokenizing a parallel text and token-count batching (rule in
// batcher.hpp). Shuffling uses the library's splitmix64 (lib/core/rng.hpp) instead of
// <random> distributions, whose output differs between standard libraries.
#include "data/batcher.hpp"

#include <algorithm>
#include <numeric>
#include <tuple>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "data/tokens.hpp"

namespace mos {

TokenizedData tokenize_parallel(const Tokenizer &tok, const ParallelText &text, size_t max_len) {
    check(max_len >= 2, MOS_INVALID_ARGUMENT, "tokenize_parallel: max_len ", max_len, " must be at least 2");
    check(text.src.size() == text.tgt.size(), MOS_INVALID_ARGUMENT, "tokenize_parallel: ", text.src.size(),
          " source but ", text.tgt.size(), " target sentences");
    TokenizedData out;
    out.pairs.reserve(text.src.size());
    for (size_t i = 0; i < text.src.size(); i++) {
        TokenPair p{tok.encode(text.src[i]), tok.encode(text.tgt[i])};
        p.src.push_back(kEos);
        p.tgt.push_back(kEos);
        if (p.src.size() > max_len || p.tgt.size() > max_len) {
            out.skipped_long++;
            continue;
        }
        out.pairs.push_back(std::move(p));
        out.line.push_back(i);
    }
    return out;
}

Batcher::Batcher(const TokenizedData &data, const BatcherOptions &opt) : data_(data), opt_(opt) {
    const auto &pairs = data.pairs;
    check(!pairs.empty(), MOS_INVALID_ARGUMENT, "batcher: no sentence pairs");
    check(opt.max_tokens > 0, MOS_INVALID_ARGUMENT, "batcher: max_tokens is 0");
    std::vector<size_t> idx(pairs.size());
    std::iota(idx.begin(), idx.end(), size_t{0});
    for (size_t i : idx) {
        const size_t len = std::max(pairs[i].src.size(), pairs[i].tgt.size());
        check(len <= opt.max_tokens, MOS_INVALID_ARGUMENT, "batcher: pair ", i, " has ", len,
              " tokens, more than max_tokens ", opt.max_tokens);
        check(!pairs[i].src.empty() && !pairs[i].tgt.empty(), MOS_INVALID_ARGUMENT, "batcher: pair ", i,
              " has an empty side (eos missing)");
    }
    std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) {
        const auto ka = std::make_tuple(pairs[a].src.size(), pairs[a].tgt.size(), a);
        const auto kb = std::make_tuple(pairs[b].src.size(), pairs[b].tgt.size(), b);
        return ka < kb;
    });
    std::vector<size_t> cur;
    size_t s = 0, t = 0;
    for (size_t i : idx) {
        const size_t s2 = std::max(s, pairs[i].src.size()), t2 = std::max(t, pairs[i].tgt.size());
        const size_t n = cur.size() + 1;
        const bool fits = n * s2 <= opt.max_tokens && n * t2 <= opt.max_tokens &&
                          (opt.max_sentences == 0 || n <= opt.max_sentences);
        if (!fits) {
            batches_.push_back(std::move(cur));
            cur.clear();
            s = pairs[i].src.size();
            t = pairs[i].tgt.size();
        } else {
            s = s2;
            t = t2;
        }
        cur.push_back(i);
        max_s_ = std::max(max_s_, s);
        max_t_ = std::max(max_t_, t);
        max_b_ = std::max(max_b_, cur.size());
    }
    batches_.push_back(std::move(cur));
}

void Batcher::get(size_t b, TokenBatch &out) const {
    check(b < batches_.size(), MOS_OUT_OF_RANGE, "batch ", b, " outside [0, ", batches_.size(), ")");
    const auto &rows = batches_[b];
    const auto &pairs = data_.pairs;
    out.B = rows.size();
    out.S = out.T = 0;
    for (size_t i : rows) {
        out.S = std::max(out.S, pairs[i].src.size());
        out.T = std::max(out.T, pairs[i].tgt.size());
    }
    out.src.assign(out.B * out.S, kPad);
    out.tgt_in.assign(out.B * out.T, kPad);
    out.tgt_out.assign(out.B * out.T, kPad);
    out.pair.assign(rows.begin(), rows.end());
    out.src_tokens = out.tgt_tokens = 0;
    for (size_t r = 0; r < out.B; r++) {
        const TokenPair &p = pairs[rows[r]];
        std::copy(p.src.begin(), p.src.end(), out.src.begin() + r * out.S);
        int32_t *in = out.tgt_in.data() + r * out.T;
        in[0] = kEos;
        std::copy(p.tgt.begin(), p.tgt.end() - 1, in + 1);
        std::copy(p.tgt.begin(), p.tgt.end(), out.tgt_out.begin() + r * out.T);
        out.src_tokens += p.src.size();
        out.tgt_tokens += p.tgt.size();
    }
}

size_t Batcher::order(uint64_t epoch, size_t index) const {
    check(index < batches_.size(), MOS_OUT_OF_RANGE, "batch position ", index, " outside [0, ", batches_.size(),
          ")");
    if (order_epoch_ != epoch) {
        order_.resize(batches_.size());
        std::iota(order_.begin(), order_.end(), size_t{0});
        // The epoch's generator: the seed's first draw mixed with the epoch.
        Rng rng(Rng(opt_.seed).next() ^ epoch);
        for (size_t i = order_.size(); i > 1; i--) std::swap(order_[i - 1], order_[rng.below(i)]);
        order_epoch_ = epoch;
    }
    return order_[index];
}

void Batcher::next(TokenBatch &out) {
    get(order(pos_.epoch, pos_.index), out);
    if (++pos_.index == batches_.size()) {
        pos_.index = 0;
        pos_.epoch++;
    }
}

TokenizedData read_tokenized_split(const Tokenizer &tok, const std::string &dir, const std::string &split,
                                   const std::string &src_lang, const std::string &tgt_lang, int64_t max_sentences,
                                   int64_t max_len, ParallelText *raw) {
    ParallelText text = read_parallel(dir, split, src_lang, tgt_lang);
    if (max_sentences > 0 && static_cast<int64_t>(text.src.size()) > max_sentences) {
        text.src.resize(static_cast<size_t>(max_sentences));
        text.tgt.resize(static_cast<size_t>(max_sentences));
    }
    TokenizedData pairs = tokenize_parallel(tok, text, static_cast<size_t>(max_len));
    if (raw) *raw = std::move(text);
    return pairs;
}

Batch batch_view(const TokenBatch &tb) {
    Batch b;
    b.B = static_cast<int64_t>(tb.B);
    b.S = static_cast<int64_t>(tb.S);
    b.T = static_cast<int64_t>(tb.T);
    b.src = tb.src.data();
    b.tgt_in = tb.tgt_in.data();
    b.tgt_out = tb.tgt_out.data();
    return b;
}

std::vector<TokenBatch> fixed_batches(const TokenizedData &data, int64_t max_tokens) {
    std::vector<TokenBatch> out;
    if (data.pairs.empty()) return out;
    BatcherOptions o;
    o.max_tokens = static_cast<size_t>(max_tokens);
    o.seed = 0;
    const Batcher b(data, o);
    out.resize(b.num_batches());
    for (size_t i = 0; i < out.size(); i++) b.get(i, out[i]);
    return out;
}

void Batcher::set_position(const BatchPosition &pos) {
    check(pos.index < batches_.size(), MOS_OUT_OF_RANGE, "batch position ", pos.index, " outside [0, ",
          batches_.size(), ") in epoch ", pos.epoch);
    pos_ = pos;
}

}  // namespace mos
