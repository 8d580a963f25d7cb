// lib/search/latency.hpp: measuring the latency of a routed model with HAT's
// protocol, and the latency predictor (an MLP on the 10 arch features).
//
// Measurement (docs/search.md): batch 1, a source of 30 tokens, 30 decoder steps
// at beam 5 (each step: the decoder over 5 rows with the key/value cache,
// log-softmax and top-k over the vocabulary, and the cache reorder of beam
// search), `warmup` untimed runs, then `runs` timed runs; the latency is the
// mean of the runs between the 10th and 90th percentiles. Only routed models
// are timed, never the supernet, on the decoding engine that serves them
// (decode/engine.hpp) at the precision they are served in, so a budget means
// what a user of the model gets.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/arch.hpp"
#include "decode/serve_model.hpp"
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
    // DenseModel overload; a ServeModel is timed in its own). Computed in f32
    // where the CPU lacks the instructions, as serving would.
    Precision precision = Precision::F32;
};

struct LatencyResult {
    double mean_ms = 0;     // trimmed mean (10th..90th percentile)
    double p10_ms = 0, p50_ms = 0, p90_ms = 0;
    double stdev_ms = 0;    // of the trimmed runs
    int runs = 0;
};

void check_latency_options(const LatencyOptions &o);

// The protocol as stored in predictor and latency-dataset files:
// {"src_len", "steps", "beam", "warmup", "runs"} in that order, then "dtype"
// when the precision is not f32 (files without it are f32).
nlohmann::ordered_json latency_protocol_json(const LatencyOptions &o);
// Reads it back; a missing, non-integer or out-of-range field is MOS_FORMAT
// naming `where`.field.
LatencyOptions latency_protocol_from_json(const nlohmann::json &j, const std::string &where);
// Times model m as served (its own precision; o.precision is not read).
LatencyResult measure_latency(const ServeModel &m, const LatencyOptions &o);
// Times routed model m served at o.precision.
LatencyResult measure_latency(const DenseModel &m, const LatencyOptions &o);

// HAT's latency predictor: features -> 3 x (Linear 400, ReLU) -> Linear 1,
// trained with MSE and Adam on latencies scaled by their mean.
struct LatencyPredictor {
    int hidden = 400;
    int layers = 3;
    std::vector<std::vector<float>> W, b;  // per linear: [out, in], [out]
    float y_scale = 1.0f;                  // ms per model output unit
    // Where it was measured: a predictor is only valid there.
    std::string machine;                   // CPU model name
    int threads = 1;
    std::string space_json;                // the space whose features it reads
    LatencyOptions protocol;

    float predict(const std::vector<float> &features) const;
};

struct PredictorTrainOptions {
    int epochs = 2000;        // full-batch Adam steps
    float lr = 1e-3f;
    uint64_t seed = 1;
    double holdout = 0.2;     // fraction of the samples kept for the error report
};

struct PredictorReport {
    double mape = 0;          // mean absolute percentage error on held-out samples (%)
    double rmse_ms = 0;       // root mean squared error (ms)
    double kendall_tau = 0;   // rank agreement of predicted and measured latency
    int train_samples = 0, heldout_samples = 0;
};

// Trains a predictor on (features, latency ms) samples.
LatencyPredictor train_predictor(const std::vector<std::vector<float>> &x, const std::vector<double> &y_ms,
                                 const PredictorTrainOptions &o, PredictorReport *report);

void save_predictor(const std::string &path, const LatencyPredictor &p, const PredictorReport &r);
LatencyPredictor load_predictor(const std::string &path, PredictorReport *report);

// This machine's CPU model name ("unknown" if not found).
std::string machine_name();

double kendall_tau(const std::vector<double> &a, const std::vector<double> &b);

}  // namespace mos
