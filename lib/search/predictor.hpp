// lib/search/predictor.hpp: latency predictors trained on a latency dataset
// (latency_data.hpp), their error report on held-out archs, and their file
// format ("mos-latency-predictor", docs/search.md).
//
// Three kinds, compared on the same held-out archs by compare_predictors:
//   * linear: ridge regression on the rich features (latency_model.hpp),
//     fitted to relative error (each sample weighted by 1/latency^2) on
//     standardised features: latency is close to a sum of per-stage work
//     times a per-unit cost, which a linear model captures from few archs;
//   * mlp: HAT's predictor, features -> 3 x (Linear 400, ReLU) -> Linear 1,
//     MSE on latencies scaled by their mean, full-batch Adam (HAT's 10
//     features unless told otherwise);
//   * cost: the per-operation cost model: sum over the operations of one run
//     (decode_ops) of count x the operation's measured time (the dataset's
//     operation table), calibrated by a two-parameter fit (scale, offset) on
//     the training archs.
// The default kind is the one that measured best (docs/search.md, "Latency
// predictor"): kDefaultPredictorKind.
//
// A predictor is valid where it was measured: it records the machine, thread
// count, precision, vocabulary, protocol and space, and a search elsewhere
// warns (search.cpp).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "model/arch.hpp"
#include "model/space.hpp"
#include "search/latency.hpp"
#include "search/latency_model.hpp"

namespace mos {

struct LatencyDataset;

enum class PredictorKind : int { Mlp = 0, Linear = 1, Cost = 2 };
constexpr PredictorKind kDefaultPredictorKind = PredictorKind::Linear;

const char *predictor_kind_name(PredictorKind k);       // "mlp" | "linear" | "cost"
PredictorKind parse_predictor_kind(const std::string &s);  // MOS_INVALID_ARGUMENT naming it
// The features a kind reads unless told otherwise: hat for mlp (HAT's
// predictor), rich for linear; the cost model reads none.
FeatureSet default_features(PredictorKind k);

struct LatencyPredictor {
    PredictorKind kind = kDefaultPredictorKind;
    FeatureSet features = FeatureSet::Rich;
    // Where it was measured: a predictor is only valid there.
    std::string machine;     // CPU model name
    int threads = 1;
    std::string precision = "f32";
    int64_t vocab = 0;       // of the timed models; 0 in files of version 1 (unknown)
    LatencyOptions protocol;
    Space space;             // the space whose archs it predicts
    // mlp and linear: features are standardised as (x - mean) / scale.
    std::vector<double> mean, scale;
    // mlp: weights [out, in] and biases per linear; outputs scaled by y_scale (ms).
    int hidden = 400, layers = 3;
    std::vector<std::vector<float>> W, b;
    float y_scale = 1.0f;
    // linear: latency = bias + sum coef_i * standardised x_i, fitted with
    // ridge penalty `ridge`.
    std::vector<double> coef;
    double ridge = 0;
    double bias = 0;
    // cost: microseconds per operation (the dataset's table) and the
    // calibration latency = cost_scale * sum(count x us) / 1000 + cost_offset.
    std::map<std::string, double> op_us;
    double cost_scale = 1, cost_offset = 0;

    // Predicted latency (ms) of an arch of `space`.
    double predict(const Arch &a) const;
};

struct PredictorTrainOptions {
    PredictorKind kind = kDefaultPredictorKind;
    std::optional<FeatureSet> features;  // default_features(kind) when unset
    int epochs = 2000;        // mlp: full-batch Adam steps
    float lr = 1e-3f;         // mlp
    // linear: L2 penalty on the standardised coefficients (relative to the
    // data term); unset = chosen from 1e-7..1e-1 by 5-fold cross-validation
    // on the training archs.
    std::optional<double> ridge;
    uint64_t seed = 1;
    double holdout = 0.2;     // fraction of the samples kept for the error report
};

struct PredictorReport {
    double mape = 0;          // mean absolute percentage error on held-out samples (%)
    double max_ape = 0;       // the largest absolute percentage error among them (%)
    double rmse_ms = 0;       // root mean squared error (ms)
    double kendall_tau = 0;   // rank agreement of predicted and measured latency
    int train_samples = 0, heldout_samples = 0;
};

// Trains a predictor of o.kind on dataset d; the held-out part (a seeded
// shuffle, o.holdout of the samples) gives *report (may be NULL). With
// nothing held out, the report is the training error (heldout_samples = 0).
// Fewer than 5 samples, a cost model on a dataset without an operation table,
// or bad options: MOS_INVALID_ARGUMENT.
LatencyPredictor train_predictor(const LatencyDataset &d, const PredictorTrainOptions &o, PredictorReport *report);

struct PredictorComparison {
    PredictorKind kind;
    FeatureSet features;
    PredictorReport report;
    double train_seconds = 0;
};
// Every kind and feature set that applies (mlp and linear on both feature
// sets, the cost model when the dataset has an operation table), trained on
// the same split.
std::vector<PredictorComparison> compare_predictors(const LatencyDataset &d, const PredictorTrainOptions &o);

// File format "mos-latency-predictor", version 2 (version 1, HAT's MLP on
// the 10 features, still loads).
void save_predictor(const std::string &path, const LatencyPredictor &p, const PredictorReport &r);
LatencyPredictor load_predictor(const std::string &path, PredictorReport *report);

}  // namespace mos
