// lib/decode/speculative.cpp: speculative greedy decoding with an int8 draft
// (see speculative.hpp).
#include "decode/speculative.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <string>
#include <vector>

#include "backend/threads.hpp"
#include "core/error.hpp"
#include "data/tokens.hpp"

namespace mos {

namespace {

// Milliseconds of f() at its best of `rounds` calls, after one warm-up call.
template <class F>
double best_ms(F &&f, int rounds) {
    f();
    double best = 1e300;
    for (int r = 0; r < rounds; r++) {
        const auto t0 = std::chrono::steady_clock::now();
        f();
        best = std::min(best, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    return best;
}

// Whether the draft head picks a token faster than the int8 output layer on
// this CPU: the scores of one row and a pass for their best over the whole
// vocabulary, each way, on the calling thread, in alternating rounds (a
// fraction of a millisecond each on the built-in model); the head must be 5%
// faster, so a near tie keeps the int8 layer.
bool head_pays(const ServeModel &draft) {
    const ThreadScope one(1);
    const int64_t V = draft.vocab(), dd = draft.arch().dec_embed;
    std::vector<float> x(static_cast<size_t>(dd)), y(static_cast<size_t>(V));
    for (int64_t k = 0; k < dd; k++) x[static_cast<size_t>(k)] = std::sin(0.37f * static_cast<float>(k));
    PackedScratch ps;
    NibbleScratch ns;
    volatile float sink = 0.0f;
    auto best_of = [&] { sink = sink + *std::max_element(y.begin(), y.end()); };
    auto int8 = [&] {
        packed_linear(y.data(), V, x.data(), dd, 1, draft.embed(), dd, PackedEpilogue(), ps, draft.embed_colsum());
        best_of();
    };
    auto nibble = [&] {
        nibble_scores(y.data(), x.data(), draft.draft_head()->coarse, ns);
        best_of();
    };
    double ti = 1e300, tn = 1e300;
    for (int r = 0; r < 3; r++) {
        ti = std::min(ti, best_ms(int8, 3));
        tn = std::min(tn, best_ms(nibble, 3));
    }
    return tn < 0.95 * ti;
}

}  // namespace

std::unique_ptr<const ServeModel> make_draft(const ServeModel &m, DraftHeadChoice head) {
    if (m.precision() != Precision::F32) return nullptr;
    std::string warning;
    if (resolve_precision(Precision::I8, false, &warning) != Precision::I8) return nullptr;
    const DenseModel d = m.to_dense();
    auto draft = std::make_unique<ServeModel>(ServeModel::from_dense(d, Precision::I8));
    if (head == DraftHeadChoice::Nibble || (head == DraftHeadChoice::Auto && nibble_native())) {
        draft->add_draft_head(d);
        if (head == DraftHeadChoice::Auto && !head_pays(*draft)) draft->drop_draft_head();
    }
    return draft;
}

namespace {

// The greedy choice of search_batch at beam 1 among a row's listed tokens:
// the best cumulative score (score + logit - lse, added in that order), equal
// scores the lower id. Returns the list index, -1 for an empty list.
int greedy_pick(const VocabRowStats &rs, float score, float lse) {
    int best = -1;
    float best_score = 0.0f;
    for (int i = 0; i < rs.n; i++) {
        const float s = score + rs.val[i] - lse;
        if (best < 0 || s > best_score || (s == best_score && rs.tok[i] < rs.tok[best])) {
            best = i;
            best_score = s;
        }
    }
    return best;
}

// HAT's protocol: the best listed token other than EOS (as DecodeRun).
int32_t protocol_pick(const VocabRowStats &rs) { return rs.best_except(kEos, kSpecialTokens); }

}  // namespace

float speculative_greedy(EngineState &st, const ServeModel &m, EngineState &ds, const ServeModel &draft,
                         int64_t limit, int draft_tokens, bool skip_eos, std::vector<int32_t> *out,
                         DraftStats *stats) {
    check(out != nullptr, MOS_INVALID_ARGUMENT, "speculative decoding needs an output vector");
    check(draft_tokens >= 1 && draft_tokens <= kMaxDraftTokens, MOS_INVALID_ARGUMENT, "draft tokens ", draft_tokens,
          " outside 1..", kMaxDraftTokens);
    check(draft.vocab() == m.vocab() && draft.pad_id() == m.pad_id(), MOS_INVALID_ARGUMENT,
          "the draft's vocabulary (", draft.vocab(), " tokens, pad ", draft.pad_id(), ") is not the model's (",
          m.vocab(), ", pad ", m.pad_id(), ")");
    check(st.rows() == 1 && st.step() == 0, MOS_INVALID_ARGUMENT,
          "speculative decoding starts from a freshly encoded state of one row");
    check(limit >= 1, MOS_INVALID_ARGUMENT, "output limit ", limit, " is not positive");
    engine_share_encoding(ds, st);
    out->clear();
    DraftStats local;
    DraftStats &ds_stats = stats != nullptr ? *stats : local;
    // The check's lists hold the two best tokens: what search_batch's beam-1
    // choice compares (and what the protocol needs to step over EOS). The
    // draft's choice only has to be cheap: one token (engine_step_draft).
    constexpr int kTopK = 2;
    float score = 0.0f;
    int32_t blk[kMaxDraftTokens + 1];
    auto input_at = [&](int64_t p) { return p == 0 ? kEos : (*out)[static_cast<size_t>(p - 1)]; };
    for (;;) {
        const int64_t t = st.step();  // == out->size(): every checked position so far was kept
        if (t >= limit) break;        // skip_eos only: every position taken
        int64_t n = std::min<int64_t>(draft_tokens + 1, limit - t);
        const auto t0 = std::chrono::steady_clock::now();
        // The draft catches up to the kept tokens (it is a position behind
        // after a check that kept all it drafted).
        while (ds.step() < t) engine_step_cache(ds, draft, input_at(ds.step()));
        blk[0] = input_at(t);
        for (int64_t i = 1; i < n; i++) {
            const int32_t p = engine_step_draft(ds, draft, blk[i - 1], skip_eos);
            ds_stats.drafted++;
            if (p < 0 || p == kEos) {
                // Nothing follows an end of sentence: check up to it (the
                // model's token at the last position is then compared with it).
                n = i;
                break;
            }
            blk[i] = p;
        }
        const auto t1 = std::chrono::steady_clock::now();
        const VocabRowStats *vs = engine_step_block_topk(st, m, blk, n, kTopK);
        const auto t2 = std::chrono::steady_clock::now();
        ds_stats.draft_ms += std::chrono::duration<double, std::milli>(t1 - t0).count();
        ds_stats.check_ms += std::chrono::duration<double, std::milli>(t2 - t1).count();
        ds_stats.checks++;
        int64_t used = 0;
        bool done = false;
        for (int64_t j = 0; j < n; j++) {
            const VocabRowStats &rs = vs[j];
            used = j + 1;
            int32_t tok;
            if (skip_eos) {
                tok = protocol_pick(rs);
            } else {
                const float lse = rs.lse();
                if (t + j + 1 >= limit) {  // the limit's forced end of sentence
                    score = score + rs.eos - lse;
                    done = true;
                    break;
                }
                const int i = greedy_pick(rs, score, lse);
                if (i < 0) {  // no token left to choose (a vocabulary of specials)
                    done = true;
                    break;
                }
                score = score + rs.val[i] - lse;
                tok = rs.tok[i];
                if (tok == kEos) {
                    done = true;
                    break;
                }
            }
            out->push_back(tok);
            if (j + 1 < n) {
                if (blk[j + 1] != tok) break;  // the draft's next token was wrong: stop here
                ds_stats.accepted++;
            }
        }
        if (done) break;
        // Positions t .. t + used - 1 had the right inputs; later ones are
        // dropped (their cache is overwritten by the next check).
        engine_rewind(st, t + used);
        engine_rewind(ds, std::min(ds.step(), t + used));
    }
    return skip_eos ? 0.0f : score;
}

}  // namespace mos
