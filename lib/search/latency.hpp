// lib/search/latency.hpp: measuring the latency of a routed model with HAT's
// protocol, and the robust statistics of timed runs (docs/search.md).
//
// Protocol: batch 1, a source of 30 tokens, 30 decoder steps at beam 5 (each
// step: the decoder over 5 rows with the key/value cache, the fused output
// layer (log-sum-exp and the best tokens of each row over the vocabulary),
// and the cache reorder of beam search). Only routed models are timed, never
// the supernet, on the decoding engine that serves them (decode/engine.hpp)
// at the precision they are served in, so a budget means what a user of the
// model gets.
//
// DecodeRun is the one place that runs the protocol's decoding: a single
// measurement and interleaved dataset collection (latency_data.hpp) time
// what it runs. The per-operation cost model (latency_model.hpp) times the
// operations of the reference decoder (model/dense.hpp) instead.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "decode/serve_model.hpp"
#include "model/arch.hpp"
#include "model/dense.hpp"
#include "model/space.hpp"

namespace mos {

struct LatencyOptions {
    int src_len = 30;
    int steps = 30;
    int beam = 5;      // 1 = greedy
    int warmup = 3;
    int runs = 20;
    // The precision a routed f32 model is served in while timed (the
    // DenseModel overloads; a ServeModel is timed in its own). Computed in f32
    // where the CPU lacks the instructions, as serving would.
    Precision precision = Precision::F32;
    // Greedy only: decode speculatively with the model's int8 draft proposing
    // this many tokens per check (decode/speculative.hpp; the same tokens as
    // plain greedy), as a service that serves so would; 0 = plain steps.
    // Ignored where serving would ignore it (not f32, or no int8 on this CPU).
    int draft_tokens = 0;
};

struct LatencyResult {
    double mean_ms = 0;     // the robust latency (RunStats::ms)
    double p10_ms = 0, p50_ms = 0, p90_ms = 0;
    double stdev_ms = 0;    // of the runs kept
    int runs = 0;           // timed runs, disturbed ones included
    int disturbed = 0;      // runs left out as disturbed by other load
};

void check_latency_options(const LatencyOptions &o);

// The protocol as stored in predictor and latency-dataset files:
// {"src_len", "steps", "beam", "warmup", "runs"} in that order, then "dtype"
// when the precision is not f32 (files without it are f32) and "draft_tokens"
// when speculative (files without it are plain).
nlohmann::ordered_json latency_protocol_json(const LatencyOptions &o);
// Reads it back; a missing, non-integer or out-of-range field is MOS_FORMAT
// naming `where`.field.
LatencyOptions latency_protocol_from_json(const nlohmann::json &j, const std::string &where);

// The precision the timed decoding of a routed f32 model computes in under
// `o` ("f32", "bf16" or "int8"; f32 where the CPU lacks the instructions).
// Datasets and predictors record it; a search warns when serving would use
// another.
std::string latency_precision(const LatencyOptions &o);

// One run of the protocol on model m, repeatable: the decoding state is built
// once, each call to run_ms() encodes the source and decodes every step.
class DecodeRun {
public:
    // m served at o.precision (packed once here).
    DecodeRun(const DenseModel &m, const LatencyOptions &o);
    // m served as it is (its own precision; o.precision is not read). m must
    // outlive the run.
    DecodeRun(const ServeModel &m, const LatencyOptions &o);
    ~DecodeRun();
    DecodeRun(const DecodeRun &) = delete;
    DecodeRun &operator=(const DecodeRun &) = delete;
    // Runs the protocol once; milliseconds. On one thread (run_clock() is
    // kThreadCpu) the calling thread's CPU time: load from other processes
    // preempts the run but cannot inflate it, and on an idle machine it equals
    // the wall time (docs/search.md); on more threads, wall time.
    double run_ms();

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

// What beam search does per decoder step after the logits: the log-softmax
// normaliser and the best token of each of `rows` rows of logits [rows, V]
// into tok (the end of sentence is skipped so that decoding runs every step).
void beam_step_scores(int32_t *tok, float *best, const float *logits, int64_t rows, int64_t V);

// The clock DecodeRun::run_ms reads with the process's current thread count.
enum class RunClock { kThreadCpu, kWall };
RunClock run_clock();
const char *run_clock_name(RunClock c);  // "thread_cpu" or "wall"

// Robust statistics of the timed runs of one model. A run is disturbed (other
// load took the CPU during it) when `excluded` (may be NULL) flags it, or when
// it exceeds the fast end of the runs (their 10th percentile) by more than
// `tolerance` (a fraction): load never makes a run faster, so on a busy
// machine the median itself is disturbed while the fast end is not. The
// latency is the median of the runs kept (of all runs if every one was
// excluded).
struct RunStats {
    double ms = 0;                 // median of the runs kept
    double p10_ms = 0, p50_ms = 0, p90_ms = 0;  // of all runs
    double stdev_ms = 0;           // of the runs kept
    double spread = 0;             // (p75 - p25) / median of the runs kept
    int runs = 0, kept = 0;
};
RunStats run_stats(const std::vector<double> &ms, double tolerance, const std::vector<char> *excluded = nullptr);

// Disturbance tolerance: 10% above the fast end of the runs.
constexpr double kDisturbedTolerance = 0.10;

// Times model m: `warmup` untimed runs, then `runs` timed runs; the latency
// is the median of the runs not disturbed by other load (run_stats). A
// routed f32 model is served at o.precision; a ServeModel in its own.
LatencyResult measure_latency(const DenseModel &m, const LatencyOptions &o);
LatencyResult measure_latency(const ServeModel &m, const LatencyOptions &o);

// This machine's CPU model name ("unknown" if not found).
std::string machine_name();

// Kendall's tau-a of two equally long series (0 for fewer than 2 values).
double kendall_tau(const std::vector<double> &a, const std::vector<double> &b);

}  // namespace mos
