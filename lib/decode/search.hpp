// lib/decode/search.hpp: greedy and beam search on the decoding engine, and
// batch translation as services need it (docs/serving.md).
//
// The rules are those of decode/beam.hpp (fairseq's: the 2k best extensions of
// a sentence's k hypotheses, an EOS among the first k finishes one with score
// logprob / length^lenpen, a sentence is done with k finished hypotheses or at
// its length limit), so the engine's f32 output equals the reference decoder's.
// The engine's fused output layer supplies each row's 2k best tokens and its
// log-sum-exp; the search merges them per sentence. Finished sentences leave
// the batch (their rows are dropped), and a step allocates nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "decode/beam.hpp"
#include "decode/engine.hpp"
#include "decode/serve_model.hpp"

namespace mos {

struct Hypothesis {
    std::vector<int32_t> tokens;  // without EOS
    float score = 0.0f;           // logprob / length^lenpen (length counts the EOS)
    float logprob = 0.0f;         // sum of the tokens' log-probabilities, EOS included
};

// The hypotheses of one sentence, best first (at most DecodeOptions::nbest).
struct SearchResult {
    std::vector<Hypothesis> hyps;
};

// Search scratch reused across calls on one thread (engine state, histories,
// candidate lists): sized by the largest call, then no allocation.
class SearchWorkspace {
public:
    EngineState engine;
    EngineState draft;                     // speculative decoding's draft (decode/speculative.hpp)
    std::vector<int32_t> hist, hist_next;  // [rows][steps]
    std::vector<int32_t> len, len_next;    // tokens per row
    std::vector<float> score, score_next;  // cumulative log-probability per row
    std::vector<int32_t> tok;              // the step's input token per row
    std::vector<int64_t> from, src_of;
    std::vector<int32_t> src;              // [B, S]
};

// Search workspaces kept across calls: a model handle holds one pool, and each
// translation takes a workspace from it (one per thread that decodes) and gives
// it back when done, so repeated calls reuse buffers whose pages are already
// resident instead of faulting in a new key/value cache every call
// (docs/serving.md, "Workspaces across calls"). Thread-safe. The pool grows to
// the most workspaces ever in use at once, each as large as the largest call it
// served, and frees them when destroyed. A workspace holds no result: a call's
// output does not depend on which workspace it got.
class WorkspacePool {
public:
    // A workspace taken from the pool, given back when the lease ends.
    class Lease {
    public:
        Lease() = default;
        Lease(Lease &&o) noexcept : pool_(o.pool_), ws_(std::move(o.ws_)) { o.pool_ = nullptr; }
        Lease &operator=(Lease &&o) noexcept;
        Lease(const Lease &) = delete;
        Lease &operator=(const Lease &) = delete;
        ~Lease() { give_back(); }
        SearchWorkspace &operator*() const { return *ws_; }
        SearchWorkspace *operator->() const { return ws_.get(); }

    private:
        friend class WorkspacePool;
        void give_back() noexcept;
        WorkspacePool *pool_ = nullptr;
        std::unique_ptr<SearchWorkspace> ws_;
    };

    WorkspacePool() = default;
    WorkspacePool(const WorkspacePool &) = delete;
    WorkspacePool &operator=(const WorkspacePool &) = delete;

    // An idle workspace (the most recently returned: its pages are the
    // likeliest to be resident), or a new one when every workspace is in use.
    Lease acquire();
    // Workspaces created so far (idle and leased).
    size_t size() const;

private:
    mutable std::mutex mu_;
    std::vector<std::unique_ptr<SearchWorkspace>> idle_;
    size_t created_ = 0;
};

// Decodes srcs (token ids without EOS; the decoder adds it) as one batch.
// Results in input order. Reads the model only.
std::vector<SearchResult> search_batch(const ServeModel &m, const std::vector<const std::vector<int32_t> *> &srcs,
                                       const DecodeOptions &o, SearchWorkspace &ws);

// Convenience: the best hypothesis of each source, one batch (its workspace
// from `pool`; NULL: a fresh one).
std::vector<std::vector<int32_t>> translate_batch(const ServeModel &m, const std::vector<std::vector<int32_t>> &srcs,
                                                  const DecodeOptions &o, WorkspacePool *pool = nullptr);

// How a list of sentences is cut into batches.
struct BatchOptions {
    int64_t max_sentences = 32;  // sentences per batch (>= 1)
    int64_t max_tokens = 0;      // padded source tokens per batch (sentences x longest), 0 = no limit
    bool sort_by_length = true;  // batch sentences of similar length together
    int threads = 0;             // 0: the calling thread's OpenMP count
};
void check_batch_options(const BatchOptions &b);

// How translate_many cuts sentences of the given source lengths (as the
// decoder sees them: cut to max_src_len, EOS included) into batches: `order`
// lists the sentence indices (sorted by length, stably, when asked; input
// order otherwise) and each batch is a run [first, last) of it with at most
// b.max_sentences sentences and, when b.max_tokens > 0, at most b.max_tokens
// padded tokens (sentences x the longest), except that a sentence longer than
// the token limit gets a batch of its own.
struct BatchPlan {
    std::vector<size_t> order;
    std::vector<std::pair<size_t, size_t>> batches;
};
BatchPlan plan_batches(const std::vector<int64_t> &lengths, const BatchOptions &b);

// Translates every source, in batches formed by `b` (sorted by length when
// asked), and returns the results in input order. With several threads and
// several batches, batches run in parallel, one thread each; a single batch
// uses the threads inside its products.
// Workspaces come from `pool` (NULL: fresh ones for this call only).
std::vector<SearchResult> translate_many(const ServeModel &m, const std::vector<std::vector<int32_t>> &srcs,
                                         const DecodeOptions &o, const BatchOptions &b,
                                         WorkspacePool *pool = nullptr);

}  // namespace mos
