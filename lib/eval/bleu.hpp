// lib/eval/bleu.hpp: corpus BLEU computed the way sacreBLEU 2.x does by default, so
// scores printed by libmos can be compared with published sacreBLEU numbers.
//
// Defaults reproduced: the 13a tokenizer (mteval-v13a rules), n-gram orders 1..4,
// counts summed over the corpus before the precisions are taken, brevity penalty,
// 'exp' smoothing (NIST: the k-th order without matches gets precision
// 1 / (2^k * total)), case-sensitive, one reference per hypothesis.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mos {

// The mteval-v13a tokenization as sacreBLEU applies it, returning the tokens.
// Input is UTF-8; the rules only touch ASCII punctuation and digits, and tokens
// are split at the whitespace characters Python's str.split() recognises.
std::vector<std::string> tokenize_13a(std::string_view line);

struct BleuScore {
    double score = 0.0;                        // 0..100
    std::array<double, 4> precisions{};        // percent, after smoothing
    std::array<uint64_t, 4> correct{};         // clipped n-gram matches
    std::array<uint64_t, 4> total{};           // hypothesis n-grams
    double bp = 0.0;                           // brevity penalty
    double ratio = 0.0;                        // hyp_len / ref_len (0 if ref_len == 0)
    uint64_t hyp_len = 0;                      // hypothesis tokens
    uint64_t ref_len = 0;                      // reference tokens
};

// Corpus BLEU of hyps against refs (same length, checked: MOS_INVALID_ARGUMENT).
BleuScore corpus_bleu(const std::vector<std::string> &hyps, const std::vector<std::string> &refs);

// The same from raw pointers (used by the C API); n pairs, none NULL.
BleuScore corpus_bleu(const char *const *hyps, const char *const *refs, size_t n);

// Score from summed statistics (exposed so tests can check the formula alone).
BleuScore bleu_from_counts(const std::array<uint64_t, 4> &correct, const std::array<uint64_t, 4> &total,
                           uint64_t hyp_len, uint64_t ref_len);

// sacreBLEU's score string:
// "BLEU = 35.12 67.1/42.0/28.3/19.5 (BP = 1.000 ratio = 1.012 hyp_len = 12345 ref_len = 12200)"
std::string format_bleu(const BleuScore &s);

}  // namespace mos
