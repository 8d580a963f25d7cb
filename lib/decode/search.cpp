// lib/decode/search.cpp: greedy and beam search on the decoding engine, and
// batch translation (see search.hpp; the rules are decode/beam.hpp's).
#include "decode/search.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>

#include "backend/threads.hpp"
#include "core/error.hpp"
#include "data/tokens.hpp"
#include "decode/speculative.hpp"

namespace mos {

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

struct Candidate {
    float score;  // cumulative log-probability
    int64_t row;  // the hypothesis it extends
    int32_t token;
};

struct Finished {
    float norm, logprob;
    int64_t offset;  // of its tokens in the finished-token pool
    int32_t len;     // tokens without EOS
};

template <class T>
void grow(std::vector<T> &v, size_t n) {
    if (v.size() < n) v.resize(n);
}

// Offers c to the list of the `want` best, ordered by score (descending), a
// new candidate after those of equal score: the reference's order, since
// candidates are offered by row, then by token.
inline void offer(Candidate *list, int &n, int want, const Candidate &c) {
    if (n == want && c.score <= list[n - 1].score) return;
    int i = n < want ? n : want - 1;
    // Shift down the entries of lower score (the last one falls off when full).
    while (i > 0 && list[i - 1].score < c.score) {
        list[i] = list[i - 1];
        i--;
    }
    list[i] = c;
    if (n < want) n++;
}

}  // namespace

std::vector<SearchResult> search_batch(const ServeModel &m, const std::vector<const std::vector<int32_t> *> &srcs,
                                       const DecodeOptions &o, SearchWorkspace &ws) {
    check_decode_options(o);
    const int64_t B = static_cast<int64_t>(srcs.size());
    std::vector<SearchResult> out(srcs.size());
    if (B == 0) return out;
    const int64_t V = m.vocab(), k = o.beam;
    check(V > kEos, MOS_INVALID_ARGUMENT, "vocabulary of ", V, " has no EOS id ", kEos);
    check(2 * k <= kMaxTopK, MOS_INVALID_ARGUMENT, "beam ", k, " needs more than ", kMaxTopK, " candidates");

    // Sources: ids (cut to max_src_len - 1) + EOS, padded to S.
    int64_t S = 1;
    for (const auto *s : srcs) {
        check(s != nullptr, MOS_INVALID_ARGUMENT, "source is NULL");
        S = std::max<int64_t>(S, std::min<int64_t>(static_cast<int64_t>(s->size()), o.max_src_len - 1) + 1);
    }
    grow(ws.src, static_cast<size_t>(B * S));
    std::fill(ws.src.begin(), ws.src.begin() + B * S, m.pad_id());
    std::vector<int64_t> limit(static_cast<size_t>(B));  // output tokens allowed, EOS included
    int64_t steps = 1;
    for (int64_t b = 0; b < B; b++) {
        const auto &s = *srcs[b];
        const int64_t n = std::min<int64_t>(static_cast<int64_t>(s.size()), o.max_src_len - 1);
        for (int64_t i = 0; i < n; i++) {
            check(s[i] >= 0 && s[i] < V, MOS_OUT_OF_RANGE, "sentence ", b, ": token ", s[i],
                  " outside the vocabulary of ", V);
            ws.src[b * S + i] = s[i];
        }
        ws.src[b * S + n] = kEos;
        limit[b] = output_limit(o, n + 1);
        steps = std::max(steps, limit[b]);
    }

    if (o.draft != nullptr && o.draft_tokens > 0 && k == 1 && B == 1 && m.precision() == Precision::F32) {
        // One sentence, greedy: the draft proposes, the model checks
        // (decode/speculative.hpp); the same tokens and score as below.
        EngineState &st = ws.engine;
        st.reserve(m, 1, o.draft_tokens + 1, S, steps);
        ws.draft.reserve(*o.draft, 1, 1, S, steps);
        engine_encode(st, m, ws.src.data(), 1, S);
        Hypothesis h;
        h.logprob = speculative_greedy(st, m, ws.draft, *o.draft, limit[0], o.draft_tokens, false, &h.tokens);
        h.score = h.logprob / std::pow(static_cast<float>(h.tokens.size() + 1), o.length_penalty);
        out[0].hyps.push_back(std::move(h));
        return out;
    }

    const int64_t Rmax = B * k;
    EngineState &st = ws.engine;
    st.reserve(m, B, Rmax, S, steps);
    engine_encode(st, m, ws.src.data(), B, S);
    const size_t hist_n = static_cast<size_t>(Rmax * steps);
    for (auto *v : {&ws.hist, &ws.hist_next}) grow(*v, hist_n);
    for (auto *v : {&ws.len, &ws.len_next}) grow(*v, static_cast<size_t>(Rmax));
    for (auto *v : {&ws.score, &ws.score_next}) grow(*v, static_cast<size_t>(Rmax));
    grow(ws.tok, static_cast<size_t>(Rmax));
    grow(ws.from, static_cast<size_t>(Rmax));
    // Finished hypotheses: at most k per sentence, their tokens in one pool.
    std::vector<Finished> fin(static_cast<size_t>(B * k));
    std::vector<int32_t> fin_n(static_cast<size_t>(B), 0);
    std::vector<int32_t> pool(static_cast<size_t>(B * k * steps));
    // Active sentences in row order; each owns rows_per consecutive rows. The
    // first step has one row per sentence (the reference's other k - 1 start
    // at -inf and offer nothing).
    std::vector<int64_t> active(static_cast<size_t>(B)), kept;
    std::iota(active.begin(), active.end(), 0);
    kept.reserve(static_cast<size_t>(B));
    int64_t rows_per = 1;
    for (int64_t r = 0; r < B; r++) {
        ws.score[r] = 0.0f;
        ws.len[r] = 0;
        ws.tok[r] = kEos;
    }
    Candidate cand[kMaxTopK], row_cand[kMaxTopK];
    const int want = static_cast<int>(2 * k);

    for (int64_t t = 0; t < steps && !active.empty(); t++) {
        const VocabRowStats *stats = engine_step_topk(st, m, ws.tok.data(), want);
        int64_t next_rows = 0;
        kept.clear();
        for (size_t si = 0; si < active.size(); si++) {
            const int64_t b = active[si];
            const bool force_eos = t + 1 >= limit[b];
            int nc = 0;
            for (int64_t j = 0; j < rows_per; j++) {
                const int64_t r = static_cast<int64_t>(si) * rows_per + j;
                if (ws.score[r] == kNegInf) continue;
                const VocabRowStats &rs = stats[r];
                const float lse = rs.lse();
                if (force_eos) {
                    offer(cand, nc, want, Candidate{ws.score[r] + rs.eos - lse, r, kEos});
                    continue;
                }
                // This row's candidates in the reference's order: by score,
                // equal scores by token.
                int nr = 0;
                for (int i = 0; i < rs.n; i++) {
                    const Candidate c{ws.score[r] + rs.val[i] - lse, r, rs.tok[i]};
                    int p = nr++;
                    while (p > 0 && (row_cand[p - 1].score < c.score ||
                                     (row_cand[p - 1].score == c.score && row_cand[p - 1].token > c.token))) {
                        row_cand[p] = row_cand[p - 1];
                        p--;
                    }
                    row_cand[p] = c;
                }
                for (int i = 0; i < nr; i++) offer(cand, nc, want, row_cand[i]);
            }
            int64_t live = 0;
            const int64_t base = next_rows;
            for (int ci = 0; ci < nc; ci++) {
                const Candidate &c = cand[ci];
                const int32_t hl = ws.len[c.row];
                if (c.token == kEos) {
                    // As fairseq: only an EOS among the k best candidates finishes a hypothesis.
                    if (ci < k && fin_n[b] < k) {
                        Finished &f = fin[b * k + fin_n[b]];
                        f.offset = (b * k + fin_n[b]) * steps;
                        f.len = hl;
                        f.logprob = c.score;
                        f.norm = c.score / std::pow(static_cast<float>(hl + 1), o.length_penalty);
                        std::memcpy(pool.data() + f.offset, ws.hist.data() + c.row * steps,
                                    static_cast<size_t>(hl) * sizeof(int32_t));
                        fin_n[b]++;
                    }
                    continue;
                }
                if (live == k) continue;
                const int64_t r = base + live++;
                ws.from[r] = c.row;
                ws.score_next[r] = c.score;
                std::memcpy(ws.hist_next.data() + r * steps, ws.hist.data() + c.row * steps,
                            static_cast<size_t>(hl) * sizeof(int32_t));
                ws.hist_next[r * steps + hl] = c.token;
                ws.len_next[r] = hl + 1;
            }
            const bool done = fin_n[b] >= k || live == 0 || force_eos;
            if (done) continue;  // its rows are dropped
            for (int64_t j = live; j < k; j++) {
                const int64_t r = base + j;
                ws.from[r] = static_cast<int64_t>(si) * rows_per;
                ws.score_next[r] = kNegInf;
                ws.len_next[r] = 0;
            }
            next_rows += k;
            kept.push_back(b);
        }
        if (kept.empty()) break;
        engine_reorder(st, ws.from.data(), next_rows);
        ws.score.swap(ws.score_next);
        ws.hist.swap(ws.hist_next);
        ws.len.swap(ws.len_next);
        for (int64_t r = 0; r < next_rows; r++) ws.tok[r] = ws.len[r] == 0 ? kEos : ws.hist[r * steps + ws.len[r] - 1];
        active.swap(kept);
        rows_per = k;
    }

    for (int64_t b = 0; b < B; b++) {
        std::vector<const Finished *> order;
        for (int32_t i = 0; i < fin_n[b]; i++) order.push_back(&fin[b * k + i]);
        // Best first; equal scores keep the earlier hypothesis first (the reference's choice).
        std::stable_sort(order.begin(), order.end(), [](const Finished *x, const Finished *y) { return x->norm > y->norm; });
        const size_t n = std::min<size_t>(order.size(), static_cast<size_t>(o.nbest));
        for (size_t i = 0; i < n; i++) {
            Hypothesis h;
            h.tokens.assign(pool.data() + order[i]->offset, pool.data() + order[i]->offset + order[i]->len);
            h.score = order[i]->norm;
            h.logprob = order[i]->logprob;
            out[b].hyps.push_back(std::move(h));
        }
    }
    return out;
}

WorkspacePool::Lease &WorkspacePool::Lease::operator=(Lease &&o) noexcept {
    if (this != &o) {
        give_back();
        pool_ = o.pool_;
        ws_ = std::move(o.ws_);
        o.pool_ = nullptr;
    }
    return *this;
}

void WorkspacePool::Lease::give_back() noexcept {
    if (pool_ != nullptr && ws_ != nullptr) {
        std::lock_guard<std::mutex> lock(pool_->mu_);
        // created_ bounds idle_, so the capacity reserved in acquire() makes
        // this push_back allocation-free (it cannot throw).
        pool_->idle_.push_back(std::move(ws_));
    }
    pool_ = nullptr;
    ws_.reset();
}

WorkspacePool::Lease WorkspacePool::acquire() {
    Lease l;
    {
        std::lock_guard<std::mutex> lock(mu_);
        if (!idle_.empty()) {
            l.ws_ = std::move(idle_.back());
            idle_.pop_back();
        } else {
            idle_.reserve(created_ + 1);
            created_++;
        }
    }
    if (l.ws_ == nullptr) {
        try {
            l.ws_ = std::make_unique<SearchWorkspace>();
        } catch (...) {
            std::lock_guard<std::mutex> lock(mu_);
            created_--;
            throw;
        }
    }
    l.pool_ = this;
    return l;
}

size_t WorkspacePool::size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return created_;
}

std::vector<std::vector<int32_t>> translate_batch(const ServeModel &m, const std::vector<std::vector<int32_t>> &srcs,
                                                  const DecodeOptions &o, WorkspacePool *pool) {
    std::vector<const std::vector<int32_t> *> ptrs;
    for (const auto &s : srcs) ptrs.push_back(&s);
    DecodeOptions one = o;
    one.nbest = 1;
    WorkspacePool local;
    const WorkspacePool::Lease ws = (pool != nullptr ? pool : &local)->acquire();
    std::vector<std::vector<int32_t>> out;
    for (SearchResult &r : search_batch(m, ptrs, one, *ws))
        out.push_back(r.hyps.empty() ? std::vector<int32_t>() : std::move(r.hyps[0].tokens));
    return out;
}

void check_batch_options(const BatchOptions &b) {
    check(b.max_sentences >= 1 && b.max_sentences <= 4096, MOS_INVALID_ARGUMENT, "max_batch_sentences ",
          b.max_sentences, " outside 1..4096");
    check(b.max_tokens >= 0 && b.max_tokens <= (int64_t(1) << 24), MOS_INVALID_ARGUMENT, "max_batch_tokens ",
          b.max_tokens, " outside 0..", int64_t(1) << 24);
    check(b.threads >= 0 && b.threads <= 4096, MOS_INVALID_ARGUMENT, "threads ", b.threads, " outside 0..4096");
}

BatchPlan plan_batches(const std::vector<int64_t> &lengths, const BatchOptions &bo) {
    check_batch_options(bo);
    const size_t n = lengths.size();
    BatchPlan p;
    p.order.resize(n);
    std::iota(p.order.begin(), p.order.end(), 0);
    if (n == 0) return p;
    if (bo.sort_by_length)
        std::stable_sort(p.order.begin(), p.order.end(),
                         [&](size_t a, size_t b) { return lengths[a] < lengths[b]; });
    // Consecutive runs of `order` within both limits (a sentence longer than the
    // token limit still gets a batch of its own).
    size_t first = 0;
    int64_t longest = 0;
    for (size_t i = 0; i < n; i++) {
        const int64_t l = lengths[p.order[i]], count = static_cast<int64_t>(i - first);
        const int64_t w = std::max(longest, l);
        if (count > 0 && (count + 1 > bo.max_sentences || (bo.max_tokens > 0 && (count + 1) * w > bo.max_tokens))) {
            p.batches.emplace_back(first, i);
            first = i;
            longest = l;
        } else {
            longest = w;
        }
    }
    p.batches.emplace_back(first, n);
    return p;
}

std::vector<SearchResult> translate_many(const ServeModel &m, const std::vector<std::vector<int32_t>> &srcs,
                                         const DecodeOptions &o, const BatchOptions &bo, WorkspacePool *pool) {
    check_decode_options(o);
    check_batch_options(bo);
    const size_t n = srcs.size();
    std::vector<SearchResult> out(n);
    if (n == 0) return out;
    // Source length as the decoder sees it (cut, plus EOS).
    std::vector<int64_t> lengths(n);
    for (size_t i = 0; i < n; i++)
        lengths[i] = std::min<int64_t>(static_cast<int64_t>(srcs[i].size()), o.max_src_len - 1) + 1;
    const BatchPlan plan = plan_batches(lengths, bo);
    const std::vector<size_t> &order = plan.order;
    const std::vector<std::pair<size_t, size_t>> &batches = plan.batches;

    auto run = [&](size_t bi, SearchWorkspace &ws) {
        std::vector<const std::vector<int32_t> *> part;
        for (size_t i = batches[bi].first; i < batches[bi].second; i++) part.push_back(&srcs[order[i]]);
        std::vector<SearchResult> res = search_batch(m, part, o, ws);
        for (size_t i = 0; i < res.size(); i++) out[order[batches[bi].first + i]] = std::move(res[i]);
    };
    const int threads = bo.threads > 0 ? bo.threads : omp_get_max_threads();
    WorkspacePool local;
    if (pool == nullptr) pool = &local;
    if (threads > 1 && batches.size() > 1) {
        // Batches in parallel, one thread each (their products stay serial:
        // they run inside this parallel region).
        const int nt = static_cast<int>(std::min<size_t>(static_cast<size_t>(threads), batches.size()));
        std::vector<WorkspacePool::Lease> ws;
        for (int i = 0; i < nt; i++) ws.push_back(pool->acquire());
        bool failed = false;
        mos_status status = MOS_OK;
        std::string message;
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
        for (size_t bi = 0; bi < batches.size(); bi++) {
            try {
                run(bi, *ws[static_cast<size_t>(omp_get_thread_num())]);
            } catch (const Error &e) {
#pragma omp critical(mos_translate_many)
                if (!failed) {
                    failed = true;
                    status = e.status();
                    message = e.what();
                }
            } catch (const std::bad_alloc &) {
#pragma omp critical(mos_translate_many)
                if (!failed) {
                    failed = true;
                    status = MOS_OUT_OF_MEMORY;
                    message = "out of memory while translating";
                }
            } catch (const std::exception &e) {
#pragma omp critical(mos_translate_many)
                if (!failed) {
                    failed = true;
                    status = MOS_INTERNAL;
                    message = e.what();
                }
            }
        }
        if (failed) throw Error(status, message);
    } else {
        ThreadScope scope(threads);
        const WorkspacePool::Lease ws = pool->acquire();
        for (size_t bi = 0; bi < batches.size(); bi++) run(bi, *ws);
    }
    return out;
}

}  // namespace mos
