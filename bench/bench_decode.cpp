// bench/bench_decode.cpp: mos-bench-decode, the decoding engine's speed on one
// routed model at one precision and thread count (docs/benchmarks.md,
// "Decoding engine"), next to the reference dense decoder it replaced, both
// measured in the same run, alternating, the minimum of each kept.
//
//   mos-bench-decode (--model FILE | --builtin [--arch largest|SEED])
//                    [--dtype f32|bf16|int8] [--threads N] [--runs N]
//                    [--corpus DIR --sentences N] [--side both|engine|reference]
//                    [--beam 1|5] [--draft-tokens N,N,...]
//                    [--draft-head auto|int8|nibble,...]
//
// Prints JSON lines:
//  * {"bench": "hat", "beam", "engine_ms", "reference_ms", "speedup",
//    "engine_cpu_ms", "reference_cpu_ms"} (minima of wall and of process CPU
//    time per run): HAT's
//    latency protocol (batch 1, a fixed 30-token source, 30 decoder steps,
//    the output layer's log-softmax and top-k every step, a beam reorder every
//    step), greedy and beam 5. The reference is the f32 dense decoder.
//    --side engine|reference runs one side only (its column is then 0), so
//    that `perf stat -e instructions` counts one side's work, which the load
//    of a shared machine does not change.
//  * {"bench": "sent", ...}: mean latency per sentence, batch 1, beam 5, over
//    the first N test sentences of --corpus (en -> es), engine only;
//  * {"bench": "thru", ...}: the same sentences in batches of up to 32,
//    sorted by length (sentences/s and output tokens/s), engine only;
//  * with --draft-tokens: {"bench": "spec", "draft_tokens", "plain_ms",
//    "spec_ms", "speedup", "checks", "drafted", "accepted", "same_tokens"}:
//    speculative greedy decoding (decode/speculative.hpp, the model's int8
//    draft; "draft_head": its output layer, --draft-head, each asked for in
//    turn) against plain greedy steps, alternating, minima kept: on HAT's
//    protocol, and with --corpus also per test sentence (batch 1, greedy;
//    times are the mean per sentence).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <limits>
#include <string>
#include <vector>

#include "backend/threads.hpp"
#include "core/error.hpp"
#include "data/corpus.hpp"
#include "data/tokenizer.hpp"
#include "data/tokens.hpp"
#include "decode/engine.hpp"
#include "decode/search.hpp"
#include "decode/speculative.hpp"
#include "model/builtin.hpp"
#include "model/bundle.hpp"

namespace {

constexpr int kSrcLen = 30, kSteps = 30;

// CPU time of the process (all its threads): on a shared, loaded machine the
// time a run actually computed, which wall time is not.
double cpu_ms() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) * 1e-6;
}

double now_ms() {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::vector<int32_t> hat_source(int64_t V) {
    std::vector<int32_t> src(kSrcLen);
    for (int i = 0; i < kSrcLen; i++) src[i] = static_cast<int32_t>(mos::kSpecialTokens + (i * 7919) % (V - mos::kSpecialTokens));
    src.back() = mos::kEos;
    return src;
}

// One HAT run on the engine: k rows, the fused output layer's top 2k, a
// reorder every step (as lib/search/latency.cpp times it).
void engine_hat(mos::EngineState &st, const mos::ServeModel &m, const std::vector<int32_t> &src, int64_t k) {
    std::vector<int64_t> rows(k, 0), from(k);
    std::vector<int32_t> tok(k, mos::kEos);
    const int topk = static_cast<int>(std::min<int64_t>(2 * k, mos::kMaxTopK));
    mos::engine_encode(st, m, src.data(), 1, kSrcLen);
    mos::engine_set_rows(st, rows.data(), k);
    for (int t = 0; t < kSteps; t++) {
        const mos::VocabRowStats *stats = mos::engine_step_topk(st, m, tok.data(), topk);
        for (int64_t r = 0; r < k; r++) tok[r] = stats[r].best_except(mos::kEos, mos::kSpecialTokens);
        if (k > 1 && t + 1 < kSteps) {
            for (int64_t r = 0; r < k; r++) from[r] = (r + 1) % k;
            mos::engine_reorder(st, from.data(), k);
            std::rotate(tok.begin(), tok.begin() + 1, tok.end());
        }
    }
}

// One HAT run on the reference dense decoder: full logits, then a scan of
// each row for its log-sum-exp and best token, a reorder by copying.
void reference_hat(mos::DecodeState &st, const mos::DenseModel &m, const std::vector<int32_t> &src, int64_t k) {
    const int64_t V = m.vocab();
    std::vector<int64_t> rows(k, 0), from(k);
    std::vector<int32_t> tok(k, mos::kEos);
    mos::dense_encode(st, m, src.data(), 1, kSrcLen);
    mos::dense_expand_rows(st, m, rows.data(), k);
    volatile float sink = 0.0f;
    for (int t = 0; t < kSteps; t++) {
        const float *lg = mos::dense_step(st, m, tok.data());
        for (int64_t r = 0; r < k; r++) {
            const float *z = lg + r * V;
            float mx = -std::numeric_limits<float>::infinity();
            int32_t arg = mos::kSpecialTokens;
            for (int64_t v = 0; v < V; v++)
                if (z[v] > mx) mx = z[v], arg = static_cast<int32_t>(v);
            double sum = 0;
            for (int64_t v = 0; v < V; v++) sum += std::exp(static_cast<double>(z[v] - mx));
            sink = sink + static_cast<float>(sum);
            tok[r] = arg == mos::kEos ? mos::kSpecialTokens : arg;
        }
        if (k > 1 && t + 1 < kSteps) {
            for (int64_t r = 0; r < k; r++) from[r] = (r + 1) % k;
            mos::dense_reorder(st, m, from.data(), k);
        }
    }
}

// The token ids of the first n test sentences (en) of `corpus` in the
// model's tokenizer; none for n = 0.
std::vector<std::vector<int32_t>> test_ids(const mos::ModelBundle &mb, const std::string &corpus, int64_t n) {
    std::vector<std::vector<int32_t>> ids;
    if (n <= 0) return ids;
    mos::check(!corpus.empty(), MOS_INVALID_ARGUMENT, "--sentences needs --corpus");
    mos::check(!mb.tokenizer.empty(), MOS_UNSUPPORTED, "the model carries no tokenizer");
    const mos::Tokenizer tok = mos::Tokenizer::load(mb.tokenizer);
    const mos::ParallelText t = mos::read_parallel(corpus, "test", "en", "es");
    for (size_t i = 0; i < t.src.size() && static_cast<int64_t>(ids.size()) < n; i++) ids.push_back(tok.encode(t.src[i]));
    return ids;
}

// HAT's protocol, greedy, speculatively: the tokens into *out.
void spec_hat(mos::EngineState &st, mos::EngineState &ds, const mos::ServeModel &m, const mos::ServeModel &d,
              const std::vector<int32_t> &src, int n, std::vector<int32_t> *out, mos::DraftStats *stats) {
    mos::engine_encode(st, m, src.data(), 1, kSrcLen);
    mos::speculative_greedy(st, m, ds, d, kSteps, n, true, out, stats);
}

// The same tokens by plain steps.
void plain_hat(mos::EngineState &st, const mos::ServeModel &m, const std::vector<int32_t> &src,
               std::vector<int32_t> *out) {
    out->clear();
    mos::engine_encode(st, m, src.data(), 1, kSrcLen);
    int32_t tok = mos::kEos;
    for (int t = 0; t < kSteps; t++) {
        tok = mos::engine_step_topk(st, m, &tok, 2)[0].best_except(mos::kEos, mos::kSpecialTokens);
        out->push_back(tok);
    }
}

void print_spec(const char *what, const char *head, int n, size_t sentences, double plain, double spec,
                const mos::DraftStats &s, bool same) {
    std::printf("{\"bench\": \"spec\", \"on\": \"%s\", \"draft_head\": \"%s\", \"sentences\": %zu, "
                "\"draft_tokens\": %d, "
                "\"plain_ms\": %.3f, \"spec_ms\": %.3f, \"speedup\": %.2f, \"checks\": %lld, \"drafted\": %lld, "
                "\"accepted\": %lld, \"draft_ms\": %.3f, \"check_ms\": %.3f, \"same_tokens\": %s}\n",
                what, head, sentences, n, plain, spec, spec > 0.0 ? plain / spec : 0.0, static_cast<long long>(s.checks),
                static_cast<long long>(s.drafted), static_cast<long long>(s.accepted), s.draft_ms, s.check_ms,
                same ? "true" : "false");
    std::fflush(stdout);
}

// Speculative against plain greedy for each draft size: HAT's protocol, then
// (ids not empty) real sentences one at a time.
void bench_spec(const mos::ServeModel &m, const mos::ServeModel &draft, const std::vector<int> &drafts, int runs,
                const std::vector<std::vector<int32_t>> &ids) {
    const char *head = draft.draft_head() != nullptr ? "nibble" : "int8";
    const std::vector<int32_t> src = hat_source(m.vocab());
    for (int n : drafts) {
        mos::EngineState st, ps, ds;
        st.reserve(m, 1, n + 1, kSrcLen, kSteps);
        ps.reserve(m, 1, 1, kSrcLen, kSteps);
        ds.reserve(draft, 1, 1, kSrcLen, kSteps);
        std::vector<int32_t> a, b;
        mos::DraftStats stats;
        plain_hat(ps, m, src, &a);
        spec_hat(st, ds, m, draft, src, n, &b, &stats);
        const bool same = a == b;
        double bp = 1e300, bs = 1e300;
        for (int r = 0; r < runs; r++) {
            double t0 = now_ms();
            plain_hat(ps, m, src, &a);
            bp = std::min(bp, now_ms() - t0);
            t0 = now_ms();
            spec_hat(st, ds, m, draft, src, n, &b, nullptr);
            bs = std::min(bs, now_ms() - t0);
        }
        stats = mos::DraftStats();  // one warm run's split of the time
        spec_hat(st, ds, m, draft, src, n, &b, &stats);
        print_spec("hat", head, n, 1, bp, bs, stats, same);
        if (ids.empty()) continue;
        mos::DecodeOptions plain;
        plain.beam = 1;
        mos::DecodeOptions spec = plain;
        spec.draft = &draft;
        spec.draft_tokens = n;
        mos::SearchWorkspace wp, wsp;
        // Warm-up, the outputs compared, and the draft's statistics.
        bool same_all = true;
        mos::DraftStats total;
        for (const auto &s : ids) {
            const auto x = mos::search_batch(m, {&s}, plain, wp);
            const auto y = mos::search_batch(m, {&s}, spec, wsp);
            same_all = same_all && x[0].hyps[0].tokens == y[0].hyps[0].tokens;
            // The draft's statistics of this sentence, through the search's own states.
            mos::EngineState &sst = wsp.engine, &sds = wsp.draft;
            std::vector<int32_t> src_s(s.begin(), s.end());
            src_s.push_back(mos::kEos);
            const int64_t S = static_cast<int64_t>(src_s.size());
            mos::engine_encode(sst, m, src_s.data(), 1, S);
            std::vector<int32_t> out;
            mos::speculative_greedy(sst, m, sds, draft, mos::output_limit(plain, S), n, false, &out, &total);
        }
        double tp = 1e300, ts = 1e300;
        for (int r = 0; r < std::max(1, runs / 5); r++) {
            double t0 = now_ms();
            for (const auto &s : ids) mos::search_batch(m, {&s}, plain, wp);
            tp = std::min(tp, (now_ms() - t0) / static_cast<double>(ids.size()));
            t0 = now_ms();
            for (const auto &s : ids) mos::search_batch(m, {&s}, spec, wsp);
            ts = std::min(ts, (now_ms() - t0) / static_cast<double>(ids.size()));
        }
        print_spec("sentences", head, n, ids.size(), tp, ts, total, same_all);
    }
}

// bench_spec with the draft of each head asked for, in turn.
void bench_spec_heads(const mos::ServeModel &m, const std::vector<int> &drafts, const std::vector<std::string> &heads,
                      int runs, const std::vector<std::vector<int32_t>> &ids) {
    for (const std::string &h : heads) {
        const mos::DraftHeadChoice c = h == "int8"     ? mos::DraftHeadChoice::Int8
                                       : h == "nibble" ? mos::DraftHeadChoice::Nibble
                                                       : mos::DraftHeadChoice::Auto;
        const std::unique_ptr<const mos::ServeModel> d = mos::make_draft(m, c);
        if (d == nullptr) {
            std::fprintf(stderr, "mos-bench-decode: no speculative decoding for a %s model on this CPU\n",
                         mos::precision_name(m.precision()));
            return;
        }
        bench_spec(m, *d, drafts, runs, ids);
    }
}

int usage() {
    std::fprintf(stderr,
                 "usage: mos-bench-decode (--model FILE | --builtin [--arch largest|SEED]) [--dtype f32|bf16|int8]\n"
                 "                        [--threads N] [--runs N] [--corpus DIR --sentences N]\n"
                 "                        [--side both|engine|reference] [--beam 1|5] [--draft-tokens N,N,...]\n"
                 "                        [--draft-head auto|int8|nibble,...]\n");
    return 2;
}

}  // namespace

int main(int argc, char **argv) {
    std::string model_path, arch = "largest", dtype = "f32", corpus, side = "both";
    bool builtin = false;
    int threads = 1, runs = 10, only_beam = 0;
    int64_t sentences = 0;
    std::vector<int> drafts;
    std::vector<std::string> heads;
    for (int i = 1; i < argc; i++) {
        const std::string a = argv[i];
        const bool has = i + 1 < argc;
        if (a == "--model" && has) model_path = argv[++i];
        else if (a == "--builtin") builtin = true;
        else if (a == "--arch" && has) arch = argv[++i];
        else if (a == "--dtype" && has) dtype = argv[++i];
        else if (a == "--threads" && has) threads = std::atoi(argv[++i]);
        else if (a == "--runs" && has) runs = std::atoi(argv[++i]);
        else if (a == "--corpus" && has) corpus = argv[++i];
        else if (a == "--sentences" && has) sentences = std::atoll(argv[++i]);
        else if (a == "--side" && has) side = argv[++i];
        else if (a == "--beam" && has) only_beam = std::atoi(argv[++i]);
        else if (a == "--draft-tokens" && has) {
            for (const char *p = argv[++i]; *p;) {
                char *end = nullptr;
                const long n = std::strtol(p, &end, 10);
                if (end == p || n < 1 || n > mos::kMaxDraftTokens) return usage();
                drafts.push_back(static_cast<int>(n));
                p = *end == ',' ? end + 1 : end;
                if (*end != ',' && *end != '\0') return usage();
            }
        } else if (a == "--draft-head" && has) {
            const std::string list = argv[++i];
            for (size_t p = 0; p <= list.size();) {
                const size_t e = std::min(list.find(',', p), list.size());
                const std::string h = list.substr(p, e - p);
                if (h != "auto" && h != "int8" && h != "nibble") return usage();
                heads.push_back(h);
                p = e + 1;
            }
        } else return usage();
    }
    if (heads.empty()) heads.push_back("auto");
    if (builtin == !model_path.empty() || threads < 1 || runs < 1 || sentences < 0 ||
        (side != "both" && side != "engine" && side != "reference"))
        return usage();
    const bool run_engine = side != "reference", run_reference = side != "engine";
    try {
        const mos::ThreadScope scope(threads);
        mos::PrecisionOptions po;
        po.precision = mos::parse_precision(dtype);
        mos::ModelBundle mb;
        if (builtin) {
            const mos::SupernetBundle sb = mos::load_builtin("");
            const mos::Arch a = arch == "largest" ? mos::arch_largest(sb.space)
                                                  : mos::arch_sample(sb.space, std::strtoull(arch.c_str(), nullptr, 10));
            mb = mos::route_bundle(sb, a, po);
        } else {
            mb = mos::convert_model(mos::load_model(model_path), po);
        }
        const mos::ServeModel &m = *mb.model;
        if (!m.warning().empty()) std::fprintf(stderr, "mos-bench-decode: %s\n", m.warning().c_str());
        const mos::DenseModel dense = m.to_dense();
        const std::vector<int32_t> src = hat_source(m.vocab());
        if (!drafts.empty()) {
            // Speculative decoding only (HAT, and the test sentences with --corpus).
            bench_spec_heads(m, drafts, heads, runs, test_ids(mb, corpus, sentences));
            return 0;
        }
        for (int64_t k : {1, 5}) {
            if (only_beam != 0 && k != only_beam) continue;
            mos::EngineState est;
            est.reserve(m, 1, k, kSrcLen, kSteps);
            mos::DecodeState dst(dense, k, kSrcLen, kSteps);
            if (run_engine) engine_hat(est, m, src, k);  // warm-up
            if (run_reference) reference_hat(dst, dense, src, k);
            double be = run_engine ? 1e300 : 0.0, br = run_reference ? 1e300 : 0.0;
            double ce = run_engine ? 1e300 : 0.0, cr = run_reference ? 1e300 : 0.0;
            for (int r = 0; r < runs; r++) {
                double t0 = now_ms(), c0 = cpu_ms();
                if (run_engine) {
                    engine_hat(est, m, src, k);
                    be = std::min(be, now_ms() - t0);
                    ce = std::min(ce, cpu_ms() - c0);
                }
                t0 = now_ms();
                c0 = cpu_ms();
                if (run_reference) {
                    reference_hat(dst, dense, src, k);
                    br = std::min(br, now_ms() - t0);
                    cr = std::min(cr, cpu_ms() - c0);
                }
            }
            std::printf("{\"bench\": \"hat\", \"dtype\": \"%s\", \"compute\": \"%s\", \"threads\": %d, \"beam\": %lld, "
                        "\"engine_ms\": %.3f, \"reference_ms\": %.3f, \"speedup\": %.2f, \"engine_cpu_ms\": %.3f, "
                        "\"reference_cpu_ms\": %.3f}\n",
                        dtype.c_str(), mos::precision_name(m.precision()), threads, static_cast<long long>(k), be, br,
                        be > 0.0 ? br / be : 0.0, ce, cr);
            std::fflush(stdout);
        }
        if (sentences > 0) {
            const std::vector<std::vector<int32_t>> ids = test_ids(mb, corpus, sentences);
            mos::DecodeOptions o;
            o.beam = 5;
            mos::SearchWorkspace ws;
            double t0 = now_ms();
            for (const auto &s : ids) mos::search_batch(m, {&s}, o, ws);
            const double sent_ms = (now_ms() - t0) / static_cast<double>(ids.size());
            mos::BatchOptions b;
            b.max_sentences = 32;
            b.threads = threads;
            t0 = now_ms();
            const std::vector<mos::SearchResult> res = mos::translate_many(m, ids, o, b);
            const double secs = (now_ms() - t0) / 1000.0;
            size_t out_tokens = 0;
            for (const auto &r : res) out_tokens += r.hyps.empty() ? 0 : r.hyps[0].tokens.size();
            std::printf("{\"bench\": \"sent\", \"dtype\": \"%s\", \"threads\": %d, \"beam\": 5, \"sentences\": %zu, "
                        "\"ms_per_sentence\": %.3f}\n",
                        dtype.c_str(), threads, ids.size(), sent_ms);
            std::printf("{\"bench\": \"thru\", \"dtype\": \"%s\", \"threads\": %d, \"beam\": 5, \"sentences\": %zu, "
                        "\"sentences_per_s\": %.2f, \"tokens_per_s\": %.1f}\n",
                        dtype.c_str(), threads, ids.size(), static_cast<double>(ids.size()) / secs,
                        static_cast<double>(out_tokens) / secs);
        }
    } catch (const mos::Error &e) {
        std::fprintf(stderr, "mos-bench-decode: %s\n", e.what());
        return 1;
    }
    return 0;
}
