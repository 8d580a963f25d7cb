// lib/decode/beam.cpp: the decoding options and the reference greedy and beam
// search over a DecodeState (see beam.hpp for the conventions). All sentences
// of a batch decode together: row r of the state is beam r % k of sentence r / k.
#include "decode/beam.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.hpp"

namespace mos {

void check_decode_options(const DecodeOptions &o) {
    check(o.beam >= 1 && o.beam <= 64, MOS_INVALID_ARGUMENT, "beam ", o.beam, " outside 1..64");
    check(std::isfinite(o.length_penalty) && o.length_penalty >= 0.0f && o.length_penalty <= 10.0f,
          MOS_INVALID_ARGUMENT, "length penalty ", o.length_penalty, " outside [0, 10]");
    check(std::isfinite(o.max_len_a) && o.max_len_a >= 0.0f && o.max_len_a <= 16.0f, MOS_INVALID_ARGUMENT,
          "max_len_a ", o.max_len_a, " outside [0, 16]");
    check(o.max_len_b >= 0 && o.max_len_b <= 4096, MOS_INVALID_ARGUMENT, "max_len_b ", o.max_len_b,
          " outside 0..4096");
    check(o.max_len_a > 0.0f || o.max_len_b > 0, MOS_INVALID_ARGUMENT, "max_len_a and max_len_b are both 0");
    check(o.nbest >= 1 && o.nbest <= o.beam, MOS_INVALID_ARGUMENT, "nbest ", o.nbest, " outside 1..beam (",
          o.beam, ")");
    check(o.max_src_len >= 1 && o.max_src_len <= 4096, MOS_INVALID_ARGUMENT, "max_src_len ", o.max_src_len,
          " outside 1..4096");
    check(o.draft_tokens >= 0 && o.draft_tokens <= kMaxDraftTokens, MOS_INVALID_ARGUMENT, "draft tokens ",
          o.draft_tokens, " outside 0..", kMaxDraftTokens);
}

int64_t output_limit(const DecodeOptions &o, int64_t n) {
    const int64_t a = static_cast<int64_t>(std::floor(static_cast<double>(o.max_len_a) * static_cast<double>(n)));
    return std::max<int64_t>(1, a + o.max_len_b);
}

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

struct Candidate {
    float score;    // cumulative log-probability
    int64_t row;    // the hypothesis it extends
    int32_t token;
};

struct Finished {
    float norm;  // score / length^lenpen
    std::vector<int32_t> tokens;
};

}  // namespace

namespace ref {

std::vector<std::vector<int32_t>> translate_batch(const DenseModel &m, const std::vector<std::vector<int32_t>> &srcs,
                                                  const DecodeOptions &opt) {
    check_decode_options(opt);
    const int64_t B = static_cast<int64_t>(srcs.size());
    std::vector<std::vector<int32_t>> out(srcs.size());
    if (B == 0) return out;
    const int64_t V = m.vocab(), k = opt.beam;
    check(V > kEos, MOS_INVALID_ARGUMENT, "vocabulary of ", V, " has no EOS id ", kEos);

    // Sources: ids (cut to max_src_len - 1) + EOS, padded to S.
    int64_t S = 1;
    for (const auto &s : srcs) S = std::max<int64_t>(S, std::min<int64_t>(s.size(), opt.max_src_len - 1) + 1);
    std::vector<int32_t> src(static_cast<size_t>(B * S), m.pad_id());
    std::vector<int64_t> limit(B);  // output tokens allowed, EOS included
    int64_t steps = 1;
    for (int64_t b = 0; b < B; b++) {
        const auto &s = srcs[b];
        const int64_t n = std::min<int64_t>(s.size(), opt.max_src_len - 1);
        for (int64_t i = 0; i < n; i++) {
            check(s[i] >= 0 && s[i] < V, MOS_OUT_OF_RANGE, "sentence ", b, ": token ", s[i],
                  " outside the vocabulary of ", V);
            src[b * S + i] = s[i];
        }
        src[b * S + n] = kEos;
        limit[b] = output_limit(opt, n + 1);
        steps = std::max(steps, limit[b]);
    }

    const int64_t R = B * k;
    DecodeState st(m, R, S, steps);
    dense_encode(st, m, src.data(), B, S);
    std::vector<int64_t> map(R);
    for (int64_t r = 0; r < R; r++) map[r] = r / k;
    dense_expand_rows(st, m, map.data(), R);

    std::vector<float> score(R, kNegInf);
    for (int64_t b = 0; b < B; b++) score[b * k] = 0.0f;  // one live hypothesis to start
    std::vector<std::vector<int32_t>> hist(R), next_hist(R);
    std::vector<int32_t> tok(R, kEos);
    std::vector<int64_t> from(R);
    std::vector<float> next_score(R), lse(R);
    std::vector<std::vector<Finished>> fin(B);
    std::vector<char> done(B, 0);
    std::vector<Candidate> cand;
    cand.reserve(static_cast<size_t>(2 * k));

    for (int64_t t = 0; t < steps; t++) {
        const float *logits = dense_step(st, m, tok.data());
        for (int64_t r = 0; r < R; r++) {
            const float *lg = logits + r * V;
            float mx = kNegInf;
            for (int64_t v = 0; v < V; v++) mx = std::max(mx, lg[v]);
            double sum = 0.0;
            for (int64_t v = 0; v < V; v++) sum += std::exp(static_cast<double>(lg[v] - mx));
            lse[r] = mx + static_cast<float>(std::log(sum));
        }
        bool all_done = true;
        for (int64_t b = 0; b < B; b++) {
            if (done[b]) {
                for (int64_t j = 0; j < k; j++) {
                    const int64_t r = b * k + j;
                    from[r] = r;
                    next_score[r] = kNegInf;
                    next_hist[r].clear();
                }
                continue;
            }
            const bool force_eos = t + 1 >= limit[b];
            // The 2k best extensions of this sentence's k rows (a small sorted list).
            cand.clear();
            const size_t want = static_cast<size_t>(2 * k);
            auto offer = [&](float s, int64_t r, int32_t v) {
                if (cand.size() == want && s <= cand.back().score) return;
                Candidate c{s, r, v};
                auto it = std::upper_bound(cand.begin(), cand.end(), c,
                                           [](const Candidate &x, const Candidate &y) { return x.score > y.score; });
                cand.insert(it, c);
                if (cand.size() > want) cand.pop_back();
            };
            for (int64_t j = 0; j < k; j++) {
                const int64_t r = b * k + j;
                if (score[r] == kNegInf) continue;
                const float *lg = logits + r * V;
                if (force_eos) {
                    offer(score[r] + lg[kEos] - lse[r], r, kEos);
                    continue;
                }
                for (int64_t v = 0; v < V; v++) {
                    if (v == m.pad_id() || v == kBos) continue;
                    offer(score[r] + lg[v] - lse[r], r, static_cast<int32_t>(v));
                }
            }
            int64_t live = 0;
            for (size_t ci = 0; ci < cand.size(); ci++) {
                const Candidate &c = cand[ci];
                if (c.token == kEos) {
                    // As fairseq: only an EOS among the k best candidates finishes a hypothesis.
                    if (static_cast<int64_t>(ci) < k && static_cast<int64_t>(fin[b].size()) < k) {
                        const float len = static_cast<float>(hist[c.row].size() + 1);
                        fin[b].push_back(Finished{c.score / std::pow(len, opt.length_penalty), hist[c.row]});
                    }
                    continue;
                }
                if (live == k) continue;
                const int64_t r = b * k + live++;
                from[r] = c.row;
                next_score[r] = c.score;
                next_hist[r] = hist[c.row];
                next_hist[r].push_back(c.token);
            }
            for (int64_t j = live; j < k; j++) {
                const int64_t r = b * k + j;
                from[r] = r;
                next_score[r] = kNegInf;
                next_hist[r].clear();
            }
            if (static_cast<int64_t>(fin[b].size()) >= k || live == 0 || force_eos) done[b] = 1;
            all_done = all_done && done[b];
        }
        if (all_done) break;
        dense_reorder(st, m, from.data(), R);
        score.swap(next_score);
        hist.swap(next_hist);
        for (int64_t r = 0; r < R; r++) tok[r] = hist[r].empty() ? kEos : hist[r].back();
    }

    for (int64_t b = 0; b < B; b++) {
        const Finished *best = nullptr;
        for (const Finished &f : fin[b])
            if (!best || f.norm > best->norm) best = &f;
        if (best) out[b] = best->tokens;
    }
    return out;
}

}  // namespace ref

}  // namespace mos
