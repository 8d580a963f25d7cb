// lib/data/batcher.cpp: tokenizing pairs, length-bucketed token-count batches
// and their seeded per-epoch order (see batcher.hpp).
#include "data/batcher.hpp"

#include <algorithm>
#include <numeric>

#include "core/error.hpp"
#include "model/arch.hpp"

namespace mos {

namespace {
constexpr int32_t kPad = 0, kEos = 3;
}

TokenizedPairs tokenize_pairs(const Tokenizer &tok, const ParallelText &text, int64_t max_len) {
    check(max_len >= 2, MOS_INVALID_ARGUMENT, "max_len ", max_len, " < 2");
    check(text.src.size() == text.tgt.size(), MOS_INTERNAL, "unaligned parallel text");
    TokenizedPairs out;
    out.pairs.reserve(text.src.size());
    for (size_t i = 0; i < text.src.size(); i++) {
        TokenPair p;
        p.src = tok.encode(text.src[i]);
        p.tgt = tok.encode(text.tgt[i]);
        p.src.push_back(kEos);
        p.tgt.push_back(kEos);
        if (static_cast<int64_t>(p.src.size()) > max_len || static_cast<int64_t>(p.tgt.size()) > max_len) {
            out.skipped_long++;
            continue;
        }
        out.pairs.push_back(std::move(p));
    }
    return out;
}

Batcher::Batcher(const TokenizedPairs &data, int64_t max_tokens, uint64_t seed, bool shuffle)
    : seed_(seed), shuffle_(shuffle) {
    const std::vector<TokenPair> &p = data.pairs;
    std::vector<size_t> idx(p.size());
    std::iota(idx.begin(), idx.end(), 0);
    std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) {
        return p[a].tgt.size() != p[b].tgt.size() ? p[a].tgt.size() < p[b].tgt.size()
                                                  : p[a].src.size() < p[b].src.size();
    });
    size_t i = 0;
    while (i < idx.size()) {
        size_t S = 0, T = 0, j = i;
        while (j < idx.size()) {
            const size_t s2 = std::max(S, p[idx[j]].src.size()), t2 = std::max(T, p[idx[j]].tgt.size());
            const size_t n = j - i + 1;
            if (j > i && (n * s2 > static_cast<size_t>(max_tokens) || n * t2 > static_cast<size_t>(max_tokens))) break;
            S = s2;
            T = t2;
            j++;
        }
        check(static_cast<int64_t>(S) <= max_tokens && static_cast<int64_t>(T) <= max_tokens, MOS_INVALID_ARGUMENT,
              "a sentence of ", std::max(S, T), " tokens does not fit max_tokens ", max_tokens);
        Padded b;
        b.B = static_cast<int64_t>(j - i);
        b.S = static_cast<int64_t>(S);
        b.T = static_cast<int64_t>(T);
        b.src.assign(b.B * b.S, kPad);
        b.tgt_in.assign(b.B * b.T, kPad);
        b.tgt_out.assign(b.B * b.T, kPad);
        for (int64_t r = 0; r < b.B; r++) {
            const TokenPair &q = p[idx[i + r]];
            std::copy(q.src.begin(), q.src.end(), b.src.begin() + r * b.S);
            b.tgt_in[r * b.T] = kEos;
            std::copy(q.tgt.begin(), q.tgt.end() - 1, b.tgt_in.begin() + r * b.T + 1);
            std::copy(q.tgt.begin(), q.tgt.end(), b.tgt_out.begin() + r * b.T);
        }
        max_src_ = std::max(max_src_, b.B * b.S);
        max_tgt_ = std::max(max_tgt_, b.B * b.T);
        batches_.push_back(std::move(b));
        i = j;
    }
    make_order(0);
}

void Batcher::make_order(int64_t epoch) {
    order_.resize(batches_.size());
    std::iota(order_.begin(), order_.end(), 0);
    if (!shuffle_ || order_.size() < 2) return;
    Rng rng(seed_ * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(epoch) + 1);
    for (size_t i = order_.size() - 1; i > 0; i--) std::swap(order_[i], order_[rng.below(i + 1)]);
}

Batch Batcher::batch(int64_t i) const {
    check(i >= 0 && i < num_batches(), MOS_OUT_OF_RANGE, "batch ", i, " of ", num_batches());
    const Padded &b = batches_[i];
    Batch v;
    v.B = b.B;
    v.S = b.S;
    v.T = b.T;
    v.src = b.src.data();
    v.tgt_in = b.tgt_in.data();
    v.tgt_out = b.tgt_out.data();
    return v;
}

Batch Batcher::next() {
    check(!batches_.empty(), MOS_INVALID_ARGUMENT, "no batches: the data is empty");
    if (pos_.index >= num_batches()) {
        pos_.epoch++;
        pos_.index = 0;
        make_order(pos_.epoch);
    }
    return batch(order_[pos_.index++]);
}

void Batcher::seek(const DataPosition &p) {
    check(p.epoch >= 0 && p.index >= 0 && p.index <= num_batches(), MOS_OUT_OF_RANGE, "data position (epoch ",
          p.epoch, ", batch ", p.index, ") is not one of these ", num_batches(), " batches");
    pos_ = p;
    make_order(p.epoch);
}

}  // namespace mos
