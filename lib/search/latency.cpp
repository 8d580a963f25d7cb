// lib/search/latency.cpp: HAT-protocol latency measurement of dense models
// and the robust statistics of timed runs (see latency.hpp).
#include "search/latency.hpp"

#include <algorithm>
#include <climits>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <numeric>
#include <time.h>

#include <nlohmann/json.hpp>

#include "backend/threads.hpp"
#include "core/error.hpp"
#include "core/json_util.hpp"
#include "data/tokens.hpp"
#include "decode/engine.hpp"
#include "decode/speculative.hpp"

namespace mos {

void check_latency_options(const LatencyOptions &o) {
    check(o.src_len >= 1 && o.src_len <= 1024, MOS_INVALID_ARGUMENT, "source length ", o.src_len, " outside 1..1024");
    check(o.steps >= 1 && o.steps <= 1024, MOS_INVALID_ARGUMENT, "decoder steps ", o.steps, " outside 1..1024");
    check(o.beam >= 1 && o.beam <= 64, MOS_INVALID_ARGUMENT, "beam ", o.beam, " outside 1..64");
    check(o.warmup >= 0 && o.warmup <= 1000, MOS_INVALID_ARGUMENT, "warm-up runs ", o.warmup, " outside 0..1000");
    check(o.runs >= 1 && o.runs <= 100000, MOS_INVALID_ARGUMENT, "timed runs ", o.runs, " outside 1..100000");
    check(o.draft_tokens >= 0 && o.draft_tokens <= kMaxDraftTokens, MOS_INVALID_ARGUMENT, "draft tokens ",
          o.draft_tokens, " outside 0..", kMaxDraftTokens);
    check(o.draft_tokens == 0 || o.beam == 1, MOS_INVALID_ARGUMENT, "speculative decoding (draft tokens ",
          o.draft_tokens, ") is greedy; beam is ", o.beam);
}

nlohmann::ordered_json latency_protocol_json(const LatencyOptions &o) {
    nlohmann::ordered_json j;
    j["src_len"] = o.src_len;
    j["steps"] = o.steps;
    j["beam"] = o.beam;
    j["warmup"] = o.warmup;
    j["runs"] = o.runs;
    if (o.precision != Precision::F32) j["dtype"] = precision_name(o.precision);
    if (o.draft_tokens > 0) j["draft_tokens"] = o.draft_tokens;
    return j;
}

LatencyOptions latency_protocol_from_json(const nlohmann::json &j, const std::string &where) {
    check(j.is_object(), MOS_FORMAT, where, ": expected an object");
    LatencyOptions o;
    o.src_len = json_int(j, where, "src_len", 1, 1024);
    o.steps = json_int(j, where, "steps", 1, 1024);
    o.beam = json_int(j, where, "beam", 1, 64);
    o.warmup = json_int(j, where, "warmup", 0, 1000);
    o.runs = json_int(j, where, "runs", 1, 100000);
    if (j.contains("dtype")) {
        check(j["dtype"].is_string(), MOS_FORMAT, where, ".dtype is not a string");
        const std::string d = j["dtype"].get<std::string>();
        check(d == "f32" || d == "bf16" || d == "int8", MOS_FORMAT, where, ".dtype '", d, "'; allowed f32|bf16|int8");
        o.precision = parse_precision(d);
    }
    if (j.contains("draft_tokens")) o.draft_tokens = json_int(j, where, "draft_tokens", 1, kMaxDraftTokens);
    check(o.draft_tokens == 0 || o.beam == 1, MOS_FORMAT, where, ".draft_tokens needs beam 1, not ", o.beam);
    return o;
}

std::string latency_precision(const LatencyOptions &o) {
    return precision_name(resolve_precision(o.precision, false, nullptr));
}

void beam_step_scores(int32_t *tok, float *best, const float *logits, int64_t rows, int64_t V) {
    for (int64_t r = 0; r < rows; r++) {
        const float *z = logits + r * V;
        float mx = -std::numeric_limits<float>::infinity();
        int32_t arg = kSpecialTokens;
        for (int64_t v = 0; v < V; v++)
            if (z[v] > mx) {
                mx = z[v];
                arg = static_cast<int32_t>(v);
            }
        double sum = 0;
        for (int64_t v = 0; v < V; v++) sum += std::exp(static_cast<double>(z[v] - mx));
        best[r] = -static_cast<float>(std::log(sum));
        tok[r] = arg == kEos ? kSpecialTokens : arg;  // keep decoding for every step
    }
}

struct DecodeRun::Impl {
    std::unique_ptr<ServeModel> owned;  // a DenseModel packed at o.precision
    const ServeModel *m = nullptr;
    LatencyOptions o;
    EngineState st;
    std::vector<int32_t> src, tok;
    std::vector<int64_t> rows, from;
    int topk = 1;
    // Speculative greedy (o.draft_tokens > 0): the int8 draft, made once.
    std::unique_ptr<const ServeModel> draft;
    EngineState ds;
    std::vector<int32_t> out;
};

namespace {
void start_run(DecodeRun::Impl &s, const ServeModel &m, const LatencyOptions &o) {
    const int64_t V = m.vocab(), k = o.beam;
    check(V > 8, MOS_INVALID_ARGUMENT, "vocabulary of ", V, " is too small to time");
    s.m = &m;
    s.o = o;
    s.st.reserve(m, 1, k, o.src_len, o.steps);
    s.src.resize(o.src_len);
    for (int i = 0; i < o.src_len; i++)
        s.src[i] = static_cast<int32_t>(kSpecialTokens + (i * 7919) % (V - kSpecialTokens));
    s.src.back() = kEos;
    s.tok.assign(k, kEos);
    s.rows.assign(k, 0);
    s.from.assign(k, 0);
    s.topk = static_cast<int>(std::min<int64_t>(2 * k, kMaxTopK));
    if (o.draft_tokens > 0) s.draft = make_draft(m);  // NULL where serving would not speculate
    if (s.draft != nullptr) {
        s.st.reserve(m, 1, o.draft_tokens + 1, o.src_len, o.steps);
        s.ds.reserve(*s.draft, 1, 1, o.src_len, o.steps);
        s.out.reserve(static_cast<size_t>(o.steps));
    }
}
}  // namespace

DecodeRun::DecodeRun(const DenseModel &m, const LatencyOptions &o) : impl_(std::make_unique<Impl>()) {
    check_latency_options(o);
    const Precision compute = resolve_precision(o.precision, false, nullptr);
    impl_->owned = std::make_unique<ServeModel>(ServeModel::from_dense(m, o.precision, compute));
    start_run(*impl_, *impl_->owned, o);
}

DecodeRun::DecodeRun(const ServeModel &m, const LatencyOptions &o) : impl_(std::make_unique<Impl>()) {
    check_latency_options(o);
    start_run(*impl_, m, o);
}

DecodeRun::~DecodeRun() = default;

RunClock run_clock() { return num_threads() == 1 ? RunClock::kThreadCpu : RunClock::kWall; }

const char *run_clock_name(RunClock c) { return c == RunClock::kThreadCpu ? "thread_cpu" : "wall"; }

namespace {
double clock_ms(RunClock c) {
    if (c == RunClock::kThreadCpu) {
        timespec ts{};
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
    }
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
}  // namespace

double DecodeRun::run_ms() {
    Impl &s = *impl_;
    const int64_t k = s.o.beam;
    const RunClock clock = run_clock();
    const double t0 = clock_ms(clock);
    if (s.draft != nullptr) {
        // The same tokens as the steps below, checked o.draft_tokens + 1 at a time.
        engine_encode(s.st, *s.m, s.src.data(), 1, s.o.src_len);
        speculative_greedy(s.st, *s.m, s.ds, *s.draft, s.o.steps, s.o.draft_tokens, true, &s.out);
        return clock_ms(clock) - t0;
    }
    engine_encode(s.st, *s.m, s.src.data(), 1, s.o.src_len);
    engine_set_rows(s.st, s.rows.data(), k);
    std::fill(s.tok.begin(), s.tok.end(), kEos);
    for (int t = 0; t < s.o.steps; t++) {
        // What beam search does per step: the decoder over k rows, the fused
        // output layer (log-sum-exp and the best 2k tokens of each row), then
        // the reorder of the hypotheses.
        const VocabRowStats *stats = engine_step_topk(s.st, *s.m, s.tok.data(), s.topk);
        for (int64_t r = 0; r < k; r++) s.tok[r] = stats[r].best_except(kEos, kSpecialTokens);  // every step runs
        if (k > 1 && t + 1 < s.o.steps) {
            for (int64_t r = 0; r < k; r++) s.from[r] = (r + 1) % k;
            engine_reorder(s.st, s.from.data(), k);
            std::rotate(s.tok.begin(), s.tok.begin() + 1, s.tok.end());
        }
    }
    return clock_ms(clock) - t0;
}

namespace {
// Quantile p of sorted values (nearest rank).
double quantile(const std::vector<double> &sorted, double p) {
    return sorted[static_cast<size_t>(std::floor(p * (sorted.size() - 1) + 0.5))];
}
double median_of(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}
}  // namespace

RunStats run_stats(const std::vector<double> &ms, double tolerance, const std::vector<char> *excluded) {
    check(!ms.empty(), MOS_INVALID_ARGUMENT, "no timed runs");
    check(tolerance > 0, MOS_INVALID_ARGUMENT, "disturbance tolerance ", tolerance, " is not positive");
    check(!excluded || excluded->size() == ms.size(), MOS_INVALID_ARGUMENT, "disturbance flags for ",
          excluded ? excluded->size() : 0, " of ", ms.size(), " runs");
    std::vector<double> all(ms), candidates;
    std::sort(all.begin(), all.end());
    RunStats r;
    r.runs = static_cast<int>(all.size());
    r.p10_ms = quantile(all, 0.1);
    r.p50_ms = quantile(all, 0.5);
    r.p90_ms = quantile(all, 0.9);
    for (size_t i = 0; i < ms.size(); i++)
        if (!excluded || !(*excluded)[i]) candidates.push_back(ms[i]);
    if (candidates.empty()) candidates = ms;
    // Other load only ever slows a run down: the fast end of the runs is the
    // undisturbed latency. The anchor is the 10th percentile (the second
    // fastest of 6..15 runs), not the minimum, so that one run timed across a
    // clock quirk cannot set it.
    std::vector<double> sorted(candidates);
    std::sort(sorted.begin(), sorted.end());
    const double limit = quantile(sorted, 0.1) * (1.0 + tolerance);
    std::vector<double> kept;
    for (double x : candidates)
        if (x <= limit) kept.push_back(x);
    std::sort(kept.begin(), kept.end());
    r.kept = static_cast<int>(kept.size());
    r.ms = median_of(kept);
    double s = 0, s2 = 0;
    for (double x : kept) {
        s += x;
        s2 += x * x;
    }
    const double mean = s / kept.size();
    r.stdev_ms = std::sqrt(std::max(0.0, s2 / kept.size() - mean * mean));
    r.spread = r.ms > 0 ? (quantile(kept, 0.75) - quantile(kept, 0.25)) / r.ms : 0.0;
    return r;
}

namespace {
LatencyResult time_runs(DecodeRun &run, const LatencyOptions &o) {
    for (int i = 0; i < o.warmup; i++) run.run_ms();
    std::vector<double> ms(o.runs);
    for (int i = 0; i < o.runs; i++) ms[i] = run.run_ms();
    const RunStats st = run_stats(ms, kDisturbedTolerance);
    LatencyResult r;
    r.mean_ms = st.ms;
    r.p10_ms = st.p10_ms;
    r.p50_ms = st.p50_ms;
    r.p90_ms = st.p90_ms;
    r.stdev_ms = st.stdev_ms;
    r.runs = st.runs;
    r.disturbed = st.runs - st.kept;
    return r;
}
}  // namespace

LatencyResult measure_latency(const DenseModel &m, const LatencyOptions &o) {
    DecodeRun run(m, o);
    return time_runs(run, o);
}

LatencyResult measure_latency(const ServeModel &m, const LatencyOptions &o) {
    DecodeRun run(m, o);
    return time_runs(run, o);
}

double kendall_tau(const std::vector<double> &a, const std::vector<double> &b) {
    const size_t n = a.size();
    if (n < 2) return 0.0;
    long long conc = 0, disc = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            const double s = (a[i] - a[j]) * (b[i] - b[j]);
            if (s > 0) conc++;
            else if (s < 0) disc++;
        }
    const double tot = static_cast<double>(n) * (n - 1) / 2.0;
    return (conc - disc) / tot;
}

std::string machine_name() {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("model name", 0) == 0) {
            const size_t c = line.find(':');
            if (c != std::string::npos) {
                std::string s = line.substr(c + 1);
                s.erase(0, s.find_first_not_of(' '));
                return s;
            }
        }
    return "unknown";
}

}  // namespace mos
