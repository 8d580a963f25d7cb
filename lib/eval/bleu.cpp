// lib/eval/bleu.cpp: sacreBLEU-compatible corpus BLEU (see bleu.hpp for the defaults
// reproduced). Written from sacreBLEU 2.x's documented behaviour; the comments say
// which step of its pipeline each piece mirrors, because a small deviation (an extra
// rstrip, a different whitespace set) changes published scores.
#include "eval/bleu.hpp"

#include <cmath>
#include <cstdio>
#include <unordered_map>

#include "core/error.hpp"
#include "data/corpus.hpp"

namespace mos {

namespace {

constexpr int kMaxOrder = 4;

// Length of the whitespace character starting at s[i] as Python's str.split() and
// str.strip() see it (Unicode White_Space + the ASCII separators 0x1c..0x1f),
// or 0 if s[i] does not start one. Input is UTF-8.
size_t space_len(std::string_view s, size_t i) {
    const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char c = b(i);
    if (c == ' ' || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f)) return 1;
    if (c == 0xc2 && i + 1 < s.size() && (b(i + 1) == 0x85 || b(i + 1) == 0xa0)) return 2;
    if (i + 2 >= s.size()) return 0;
    const unsigned c1 = b(i + 1), c2 = b(i + 2);
    if (c == 0xe1 && c1 == 0x9a && c2 == 0x80) return 3;  // U+1680
    if (c == 0xe2 && c1 == 0x80 && (c2 <= 0x8a || c2 == 0xa8 || c2 == 0xa9 || c2 == 0xaf))
        return 3;                                          // U+2000..200A, 2028, 2029, 202F
    if (c == 0xe2 && c1 == 0x81 && c2 == 0x9f) return 3;  // U+205F
    if (c == 0xe3 && c1 == 0x80 && c2 == 0x80) return 3;  // U+3000
    return 0;
}

// Python's str.rstrip() (sacreBLEU strips each segment before tokenizing).
std::string_view rstrip(std::string_view s) {
    size_t end = s.size();
    for (;;) {
        // Find the last character start at or before end-1 and test it.
        size_t k = end;
        bool stripped = false;
        for (size_t len = 1; len <= 3 && len <= k; len++) {
            if (space_len(s, k - len) == len) {
                end = k - len;
                stripped = true;
                break;
            }
        }
        if (!stripped) break;
    }
    return s.substr(0, end);
}

void replace_all(std::string &s, std::string_view from, std::string_view to) {
    std::string out;
    out.reserve(s.size());
    size_t pos = 0;
    for (;;) {
        size_t hit = s.find(from, pos);
        if (hit == std::string::npos) break;
        out.append(s, pos, hit - pos);
        out.append(to);
        pos = hit + from.size();
    }
    out.append(s, pos, std::string::npos);
    s.swap(out);
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// The punctuation that rule 1 of mteval-v13a surrounds by spaces: the ranges
// {-~, [-`, space-&, (-+, :-@ and '/'. Apostrophe, comma, hyphen and period are
// not in it (they have their own rules or stay attached).
bool is_v13a_punct(char ch) {
    const unsigned char c = static_cast<unsigned char>(ch);
    return (c >= 0x7b && c <= 0x7e) || (c >= 0x5b && c <= 0x60) || (c >= 0x20 && c <= 0x26) ||
           (c >= 0x28 && c <= 0x2b) || (c >= 0x3a && c <= 0x40) || c == '/';
}

// Each rule below is a left-to-right, non-overlapping regex substitution like
// Python's re.sub: after a match the scan resumes after the two matched
// characters. Working on UTF-8 bytes gives the same result as on code points
// because every match contains an ASCII [.,-] and multi-byte characters never
// contain ASCII bytes.
std::string rule_period_comma_after_nondigit(const std::string &s) {  // ([^0-9])([\.,]) -> \1 \2 
    std::string out;
    out.reserve(s.size() + s.size() / 4);
    size_t i = 0;
    while (i < s.size()) {
        if (i + 1 < s.size() && !is_digit(s[i]) && (s[i + 1] == '.' || s[i + 1] == ',')) {
            out += s[i];
            out += ' ';
            out += s[i + 1];
            out += ' ';
            i += 2;
        } else {
            out += s[i++];
        }
    }
    return out;
}

std::string rule_period_comma_before_nondigit(const std::string &s) {  // ([\.,])([^0-9]) -> ' \1 \2'
    std::string out;
    out.reserve(s.size() + s.size() / 4);
    size_t i = 0;
    while (i < s.size()) {
        if (i + 1 < s.size() && (s[i] == '.' || s[i] == ',') && !is_digit(s[i + 1])) {
            out += ' ';
            out += s[i];
            out += ' ';
            out += s[i + 1];
            i += 2;
        } else {
            out += s[i++];
        }
    }
    return out;
}

std::string rule_dash_after_digit(const std::string &s) {  // ([0-9])(-) -> \1 \2 
    std::string out;
    out.reserve(s.size() + s.size() / 4);
    size_t i = 0;
    while (i < s.size()) {
        if (i + 1 < s.size() && is_digit(s[i]) && s[i + 1] == '-') {
            out += s[i];
            out += " - ";
            i += 2;
        } else {
            out += s[i++];
        }
    }
    return out;
}

using NgramCounts = std::unordered_map<std::string, uint32_t>;

// All n-grams of orders 1..4, keyed by the tokens joined with a space (tokens
// never contain ASCII space, so keys are unambiguous).
std::array<NgramCounts, kMaxOrder> count_ngrams(const std::vector<std::string> &tok) {
    std::array<NgramCounts, kMaxOrder> counts;
    for (int n = 1; n <= kMaxOrder; n++) {
        if (tok.size() < static_cast<size_t>(n)) break;
        for (size_t i = 0; i + n <= tok.size(); i++) {
            std::string key = tok[i];
            for (int k = 1; k < n; k++) {
                key += ' ';
                key += tok[i + k];
            }
            counts[n - 1][key]++;
        }
    }
    return counts;
}

}  // namespace

std::vector<std::string> tokenize_13a(std::string_view line) {
    // Language-independent part of mteval-v13a, in sacreBLEU's order.
    std::string s(line);
    replace_all(s, "<skipped>", "");
    replace_all(s, "-\n", "");
    replace_all(s, "\n", " ");
    replace_all(s, "&quot;", "\"");
    replace_all(s, "&amp;", "&");
    replace_all(s, "&lt;", "<");
    replace_all(s, "&gt;", ">");

    // Rule 1: space around the v13a punctuation set (the padding spaces sacreBLEU
    // adds around the line do not change the tokens).
    std::string t;
    t.reserve(s.size() * 2 + 2);
    t += ' ';
    for (char c : s) {
        if (is_v13a_punct(c)) {
            t += ' ';
            t += c;
            t += ' ';
        } else {
            t += c;
        }
    }
    t += ' ';
    // Rules 2-4: period/comma not preceded by a digit, not followed by a digit;
    // a dash after a digit. So "3.5" and "1,000" stay one token, "end." splits.
    t = rule_period_comma_after_nondigit(t);
    t = rule_period_comma_before_nondigit(t);
    t = rule_dash_after_digit(t);

    // Split at any (Unicode) whitespace, like Python's str.split().
    std::vector<std::string> tokens;
    size_t i = 0;
    while (i < t.size()) {
        size_t w = space_len(t, i);
        if (w) {
            i += w;
            continue;
        }
        size_t start = i;
        while (i < t.size() && space_len(t, i) == 0) i++;
        tokens.emplace_back(t, start, i - start);
    }
    return tokens;
}

BleuScore bleu_from_counts(const std::array<uint64_t, 4> &correct, const std::array<uint64_t, 4> &total,
                           uint64_t hyp_len, uint64_t ref_len) {
    BleuScore r;
    r.correct = correct;
    r.total = total;
    r.hyp_len = hyp_len;
    r.ref_len = ref_len;
    r.ratio = ref_len ? static_cast<double>(hyp_len) / static_cast<double>(ref_len) : 0.0;
    if (hyp_len < ref_len)
        r.bp = hyp_len > 0 ? std::exp(1.0 - static_cast<double>(ref_len) / static_cast<double>(hyp_len)) : 0.0;
    else
        r.bp = 1.0;

    bool any = false;
    for (uint64_t c : correct) any = any || c != 0;
    if (!any) return r;  // sacreBLEU stops early: score 0, precisions 0

    // 'exp' smoothing: each successive order with zero matches halves the
    // pseudo-count, so its precision is 100 / (2^k * total).
    double smooth = 1.0;
    for (int n = 0; n < kMaxOrder; n++) {
        if (total[n] == 0) break;  // no n-grams of this order: precision stays 0
        if (correct[n] == 0) {
            smooth *= 2.0;
            r.precisions[n] = 100.0 / (smooth * static_cast<double>(total[n]));
        } else {
            r.precisions[n] = 100.0 * static_cast<double>(correct[n]) / static_cast<double>(total[n]);
        }
    }
    // A zero precision contributes log = -9999999999 as in sacreBLEU, which makes
    // the geometric mean (and the score) 0.
    double sum_log = 0.0;
    for (double p : r.precisions) sum_log += p == 0.0 ? -9999999999.0 : std::log(p);
    r.score = r.bp * std::exp(sum_log / kMaxOrder);
    return r;
}

BleuScore corpus_bleu(const char *const *hyps, const char *const *refs, size_t n) {
    std::array<uint64_t, 4> correct{}, total{};
    uint64_t hyp_len = 0, ref_len = 0;
    for (size_t i = 0; i < n; i++) {
        check(hyps[i] != nullptr, MOS_INVALID_ARGUMENT, "hypothesis ", i, " is NULL");
        check(refs[i] != nullptr, MOS_INVALID_ARGUMENT, "reference ", i, " is NULL");
        size_t bad = 0;
        check(is_valid_utf8(hyps[i], &bad), MOS_INVALID_ARGUMENT, "hypothesis ", i, " is not valid UTF-8 (byte ", bad,
              ")");
        check(is_valid_utf8(refs[i], &bad), MOS_INVALID_ARGUMENT, "reference ", i, " is not valid UTF-8 (byte ", bad,
              ")");
        const std::vector<std::string> h = tokenize_13a(rstrip(hyps[i]));
        const std::vector<std::string> r = tokenize_13a(rstrip(refs[i]));
        hyp_len += h.size();
        ref_len += r.size();
        const auto hc = count_ngrams(h);
        const auto rc = count_ngrams(r);
        for (int k = 0; k < kMaxOrder; k++) {
            for (const auto &[gram, cnt] : hc[k]) {
                total[k] += cnt;
                auto it = rc[k].find(gram);
                if (it != rc[k].end()) correct[k] += std::min(cnt, it->second);
            }
        }
    }
    return bleu_from_counts(correct, total, hyp_len, ref_len);
}

BleuScore corpus_bleu(const std::vector<std::string> &hyps, const std::vector<std::string> &refs) {
    check(hyps.size() == refs.size(), MOS_INVALID_ARGUMENT, "hypotheses have ", hyps.size(),
          " lines but references have ", refs.size());
    std::vector<const char *> h(hyps.size()), r(refs.size());
    for (size_t i = 0; i < hyps.size(); i++) {
        h[i] = hyps[i].c_str();
        r[i] = refs[i].c_str();
    }
    return corpus_bleu(h.data(), r.data(), h.size());
}

std::string format_bleu(const BleuScore &s) {
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "BLEU = %.2f %.1f/%.1f/%.1f/%.1f (BP = %.3f ratio = %.3f hyp_len = %llu ref_len = %llu)",
                  s.score, s.precisions[0], s.precisions[1], s.precisions[2], s.precisions[3], s.bp, s.ratio,
                  static_cast<unsigned long long>(s.hyp_len), static_cast<unsigned long long>(s.ref_len));
    return buf;
}

}  // namespace mos
