// lib/search/predictor.cpp: latency predictors (see predictor.hpp): the
// linear model, HAT's MLP and the per-operation cost model, their held-out
// error and their file format.
#include "search/predictor.hpp"

#include <algorithm>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>

#include <nlohmann/json.hpp>

#include "backend/threads.hpp"
#include "core/error.hpp"
#include "core/json_util.hpp"
#include "core/rng.hpp"
#include "io/safetensors.hpp"
#include "kernels/activation.hpp"
#include "kernels/adam.hpp"
#include "kernels/linear.hpp"
#include "search/latency_data.hpp"

namespace mos {

const char *predictor_kind_name(PredictorKind k) {
    switch (k) {
    case PredictorKind::Mlp: return "mlp";
    case PredictorKind::Linear: return "linear";
    case PredictorKind::Cost: return "cost";
    }
    return "unknown";
}

PredictorKind parse_predictor_kind(const std::string &s) {
    if (s == "mlp") return PredictorKind::Mlp;
    if (s == "linear") return PredictorKind::Linear;
    if (s == "cost") return PredictorKind::Cost;
    fail(MOS_INVALID_ARGUMENT, "unknown predictor kind '", s, "'; known linear|mlp|cost");
}

FeatureSet default_features(PredictorKind k) { return k == PredictorKind::Mlp ? FeatureSet::Hat : FeatureSet::Rich; }

namespace {

// Sum over an op table of count x microseconds, in milliseconds. An operation
// missing from the table is MOS_INVALID_ARGUMENT naming it.
double cost_sum_ms(const std::map<std::string, double> &op_us, const std::map<std::string, double> &ops) {
    double us = 0;
    for (const auto &kv : ops) {
        const auto it = op_us.find(kv.first);
        check(it != op_us.end(), MOS_INVALID_ARGUMENT, "the cost model has no time for operation '", kv.first,
              "' (its operation table was measured for another space, vocabulary or protocol)");
        us += kv.second * it->second;
    }
    return us / 1000.0;
}

// Standardised features: (x - mean) / scale.
std::vector<double> standardise(const std::vector<double> &x, const LatencyPredictor &p) {
    check(x.size() == p.mean.size(), MOS_INVALID_ARGUMENT, "predictor expects ", p.mean.size(), " features, got ",
          x.size());
    std::vector<double> z(x.size());
    for (size_t i = 0; i < x.size(); i++) z[i] = (x[i] - p.mean[i]) / p.scale[i];
    return z;
}

double mlp_forward(const LatencyPredictor &p, const std::vector<double> &z) {
    std::vector<float> x(z.begin(), z.end()), y;
    for (size_t l = 0; l < p.W.size(); l++) {
        const int64_t out = static_cast<int64_t>(p.b[l].size()), in = static_cast<int64_t>(x.size());
        y.resize(static_cast<size_t>(out));
        linear_forward(y.data(), x.data(), p.W[l].data(), p.b[l].data(), 1, in, out, in);
        if (l + 1 < p.W.size()) relu_forward(y.data(), y.data(), out);
        x.swap(y);
    }
    return static_cast<double>(x[0]) * p.y_scale;
}

// Solves A x = b (n x n, row-major, symmetric positive definite after the
// ridge term) by Gaussian elimination with partial pivoting.
std::vector<double> solve(std::vector<double> A, std::vector<double> b, size_t n) {
    for (size_t c = 0; c < n; c++) {
        size_t piv = c;
        for (size_t r = c + 1; r < n; r++)
            if (std::fabs(A[r * n + c]) > std::fabs(A[piv * n + c])) piv = r;
        check(std::fabs(A[piv * n + c]) > 1e-300, MOS_INVALID_ARGUMENT,
              "the linear latency model is singular (too few distinct archs)");
        if (piv != c) {
            for (size_t k = 0; k < n; k++) std::swap(A[c * n + k], A[piv * n + k]);
            std::swap(b[c], b[piv]);
        }
        for (size_t r = c + 1; r < n; r++) {
            const double f = A[r * n + c] / A[c * n + c];
            if (f == 0) continue;
            for (size_t k = c; k < n; k++) A[r * n + k] -= f * A[c * n + k];
            b[r] -= f * b[c];
        }
    }
    std::vector<double> x(n);
    for (size_t c = n; c-- > 0;) {
        double s = b[c];
        for (size_t k = c + 1; k < n; k++) s -= A[c * n + k] * x[k];
        x[c] = s / A[c * n + c];
    }
    return x;
}

// Weighted ridge regression y ~ bias + coef . z, each sample weighted by
// (mean y / y)^2 so that the fit minimises relative error; the ridge penalty
// (on the coefficients only) is lambda x the number of samples x mean y^2.
void fit_linear_with(LatencyPredictor &p, const std::vector<std::vector<double>> &Z, const std::vector<double> &y,
                     double lambda) {
    const size_t n = Z.size(), F = Z[0].size(), D = F + 1;
    double ym = 0;
    for (double v : y) ym += v;
    ym /= static_cast<double>(n);
    std::vector<double> A(D * D, 0.0), rhs(D, 0.0), row(D);
    for (size_t i = 0; i < n; i++) {
        const double w = (ym / y[i]) * (ym / y[i]);
        row[0] = 1.0;
        for (size_t j = 0; j < F; j++) row[j + 1] = Z[i][j];
        for (size_t a = 0; a < D; a++) {
            rhs[a] += w * row[a] * y[i];
            for (size_t c = 0; c < D; c++) A[a * D + c] += w * row[a] * row[c];
        }
    }
    for (size_t j = 1; j < D; j++) A[j * D + j] += lambda * static_cast<double>(n);
    const std::vector<double> x = solve(A, rhs, D);
    p.bias = x[0];
    p.coef.assign(x.begin() + 1, x.end());
}

// Ridge penalties tried by cross-validation.
constexpr double kRidgeGrid[] = {1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1};
constexpr size_t kRidgeFolds = 5;

// fit_linear_with the given penalty, or (lambda unset) with the penalty of
// the grid whose 5-fold cross-validated mean relative error on the training
// archs is lowest: with tens of correlated features and a few hundred archs
// (or a few dozen, as in mos-cli quickstart) the right penalty depends on the
// dataset.
void fit_linear(LatencyPredictor &p, const std::vector<std::vector<double>> &Z, const std::vector<double> &y,
                std::optional<double> lambda) {
    if (!lambda) {
        double best = std::numeric_limits<double>::infinity();
        for (double l : kRidgeGrid) {
            double ape = 0;
            size_t count = 0;
            for (size_t f = 0; f < kRidgeFolds; f++) {
                std::vector<std::vector<double>> Zt;
                std::vector<double> yt;
                for (size_t i = 0; i < Z.size(); i++)
                    if (i % kRidgeFolds != f) {
                        Zt.push_back(Z[i]);
                        yt.push_back(y[i]);
                    }
                if (Zt.size() < 2 || Zt.size() == Z.size()) continue;
                LatencyPredictor q;
                try {
                    fit_linear_with(q, Zt, yt, l);
                } catch (const Error &) {
                    ape = std::numeric_limits<double>::infinity();  // singular: not this penalty
                    break;
                }
                for (size_t i = f; i < Z.size(); i += kRidgeFolds) {
                    double s = q.bias;
                    for (size_t j = 0; j < Z[i].size(); j++) s += q.coef[j] * Z[i][j];
                    ape += std::fabs(s - y[i]) / y[i];
                    count++;
                }
            }
            const double mean = count ? ape / static_cast<double>(count) : ape;
            if (mean < best) {
                best = mean;
                lambda = l;
            }
        }
        if (!lambda) lambda = kRidgeGrid[3];
    }
    p.ridge = *lambda;
    fit_linear_with(p, Z, y, *lambda);
}

// HAT's MLP: standardised features -> layers x (Linear hidden, ReLU) -> Linear
// 1, MSE on latencies scaled by their mean, full-batch Adam.
void fit_mlp(LatencyPredictor &p, const std::vector<std::vector<double>> &Z, const std::vector<double> &y,
             const PredictorTrainOptions &o, Rng &rng) {
    const int64_t N = static_cast<int64_t>(Z.size()), F = static_cast<int64_t>(Z[0].size());
    double mean = 0;
    for (double v : y) mean += v;
    p.y_scale = static_cast<float>(mean / static_cast<double>(N));
    std::vector<int64_t> dims{F};
    for (int l = 0; l < p.layers; l++) dims.push_back(p.hidden);
    dims.push_back(1);
    const size_t nl = dims.size() - 1;
    p.W.assign(nl, {});
    p.b.assign(nl, {});
    // Adam moments of every weight and bias (kernels/adam.hpp, beta2 = 0.999
    // as PyTorch's default, no clipping).
    std::vector<std::vector<float>> mw(nl), vw(nl), mb(nl), vb(nl);
    for (size_t l = 0; l < nl; l++) {
        const int64_t in = dims[l], out = dims[l + 1];
        const float bound = std::sqrt(6.0f / static_cast<float>(in + out));
        p.W[l].resize(static_cast<size_t>(in * out));
        for (float &w : p.W[l]) w = static_cast<float>((rng.uniform() * 2 - 1) * bound);
        p.b[l].assign(static_cast<size_t>(out), 0.0f);
        mw[l].assign(static_cast<size_t>(in * out), 0.0f);
        vw[l].assign(static_cast<size_t>(in * out), 0.0f);
        mb[l].assign(static_cast<size_t>(out), 0.0f);
        vb[l].assign(static_cast<size_t>(out), 0.0f);
    }
    AdamConfig adam;
    adam.beta2 = 0.999f;
    std::vector<std::vector<float>> act(nl + 1);
    act[0].resize(static_cast<size_t>(N * F));
    std::vector<float> target(static_cast<size_t>(N));
    for (int64_t i = 0; i < N; i++) {
        for (int64_t j = 0; j < F; j++) act[0][i * F + j] = static_cast<float>(Z[i][j]);
        target[i] = static_cast<float>(y[i] / p.y_scale);
    }
    for (size_t l = 1; l <= nl; l++) act[l].resize(static_cast<size_t>(N * dims[l]));
    std::vector<float> dW, db, dcur, dprev, dpre;
    for (int e = 1; e <= o.epochs; e++) {
        for (size_t l = 0; l < nl; l++) {
            linear_forward(act[l + 1].data(), act[l].data(), p.W[l].data(), p.b[l].data(), N, dims[l], dims[l + 1],
                           dims[l]);
            if (l + 1 < nl) relu_forward(act[l + 1].data(), act[l + 1].data(), N * dims[l + 1]);
        }
        dcur.assign(static_cast<size_t>(N), 0.0f);
        for (int64_t i = 0; i < N; i++) dcur[i] = 2.0f * (act[nl][i] - target[i]) / static_cast<float>(N);
        for (size_t l = nl; l-- > 0;) {
            const int64_t in = dims[l], out = dims[l + 1];
            dW.assign(static_cast<size_t>(in * out), 0.0f);
            db.assign(static_cast<size_t>(out), 0.0f);
            if (l > 0) dprev.assign(static_cast<size_t>(N * in), 0.0f);
            linear_backward(l > 0 ? dprev.data() : nullptr, dW.data(), db.data(), dcur.data(), act[l].data(),
                            p.W[l].data(), N, in, out, in);
            adam_update(p.W[l].data(), dW.data(), mw[l].data(), vw[l].data(), dW.size(), e, o.lr, adam);
            adam_update(p.b[l].data(), db.data(), mb[l].data(), vb[l].data(), db.size(), e, o.lr, adam);
            if (l > 0) {
                dpre.assign(static_cast<size_t>(N * in), 0.0f);
                relu_backward(dpre.data(), dprev.data(), act[l].data(), N * in);
                dcur.swap(dpre);
            }
        }
    }
}

// Calibration of the cost model: latency = scale x sum + offset, weighted by
// (mean y / y)^2 like the linear model.
void fit_cost(LatencyPredictor &p, const std::vector<double> &raw, const std::vector<double> &y) {
    const size_t n = raw.size();
    double ym = 0;
    for (double v : y) ym += v;
    ym /= static_cast<double>(n);
    std::vector<double> A(4, 0.0), rhs(2, 0.0);
    for (size_t i = 0; i < n; i++) {
        const double w = (ym / y[i]) * (ym / y[i]);
        A[0] += w * raw[i] * raw[i];
        A[1] += w * raw[i];
        A[2] += w * raw[i];
        A[3] += w;
        rhs[0] += w * raw[i] * y[i];
        rhs[1] += w * y[i];
    }
    A[0] += 1e-12;
    const std::vector<double> x = solve(A, rhs, 2);
    p.cost_scale = x[0];
    p.cost_offset = x[1];
}

void check_train_options(const PredictorTrainOptions &o) {
    check(o.holdout >= 0.0 && o.holdout < 0.9, MOS_INVALID_ARGUMENT, "holdout fraction ", o.holdout,
          " outside [0, 0.9)");
    check(o.epochs >= 1 && o.epochs <= 1000000, MOS_INVALID_ARGUMENT, "epochs ", o.epochs, " outside 1..1000000");
    check(o.lr > 0.0f && std::isfinite(o.lr), MOS_INVALID_ARGUMENT, "learning rate ", o.lr, " is not positive");
    check(!o.ridge || (*o.ridge >= 0.0 && std::isfinite(*o.ridge)), MOS_INVALID_ARGUMENT, "ridge penalty ",
          o.ridge ? *o.ridge : 0.0, " is negative");
    check(static_cast<int>(o.kind) >= 0 && static_cast<int>(o.kind) <= 2, MOS_INVALID_ARGUMENT,
          "predictor kind ", static_cast<int>(o.kind), " is unknown; known 0 (mlp), 1 (linear), 2 (cost)");
}

}  // namespace

double LatencyPredictor::predict(const Arch &a) const {
    if (kind == PredictorKind::Cost) {
        const double raw = cost_sum_ms(op_us, decode_ops(space, a, vocab, protocol));
        return cost_scale * raw + cost_offset;
    }
    // Files of version 1 do not know the vocabulary: their HAT features do not use it.
    const std::vector<double> z =
        standardise(latency_features(features, space, a, std::max<int64_t>(vocab, 1), protocol), *this);
    if (kind == PredictorKind::Linear) {
        double s = bias;
        for (size_t i = 0; i < z.size(); i++) s += coef[i] * z[i];
        return s;
    }
    return mlp_forward(*this, z);
}

LatencyPredictor train_predictor(const LatencyDataset &d, const PredictorTrainOptions &o, PredictorReport *report) {
    check_train_options(o);
    const size_t n = d.archs.size();
    check(n >= 5 && d.latency_ms.size() == n, MOS_INVALID_ARGUMENT, "need at least 5 timed archs, got ", n);
    for (double v : d.latency_ms) check(std::isfinite(v) && v > 0, MOS_INVALID_ARGUMENT, "latency ", v, " is not positive");
    check(o.kind != PredictorKind::Cost || !d.op_us.empty(), MOS_INVALID_ARGUMENT,
          "the cost model needs the dataset's operation table; collect the dataset with operation timing");
    // The predictor's products are tiny: a second thread only adds a fork and
    // a join to each of the thousands of MLP steps, and on a busy machine a
    // wait for a core.
    const ThreadScope one_thread(1);

    LatencyPredictor p;
    p.kind = o.kind;
    p.features = o.features ? *o.features : default_features(o.kind);
    p.machine = d.machine;
    p.threads = d.threads;
    p.precision = d.precision;
    p.vocab = d.vocab;
    p.protocol = d.protocol;
    p.space = d.space;
    p.op_us = o.kind == PredictorKind::Cost ? d.op_us : std::map<std::string, double>();

    // Deterministic split: a seeded shuffle, the last `holdout` part held out.
    std::vector<size_t> idx(n);
    std::iota(idx.begin(), idx.end(), 0);
    Rng rng(o.seed);
    for (size_t i = n - 1; i > 0; i--) std::swap(idx[i], idx[rng.below(i + 1)]);
    const size_t n_hold = static_cast<size_t>(std::floor(o.holdout * static_cast<double>(n)));
    const size_t n_train = n - n_hold;
    check(n_train >= 3, MOS_INVALID_ARGUMENT, "only ", n_train, " archs left for training after holding out ", n_hold);
    std::vector<double> y(n_train);
    for (size_t i = 0; i < n_train; i++) y[i] = d.latency_ms[idx[i]];

    if (o.kind == PredictorKind::Cost) {
        std::vector<double> raw(n_train);
        for (size_t i = 0; i < n_train; i++)
            raw[i] = cost_sum_ms(p.op_us, decode_ops(d.space, d.archs[idx[i]], d.vocab, d.protocol));
        fit_cost(p, raw, y);
    } else {
        std::vector<std::vector<double>> X(n_train);
        for (size_t i = 0; i < n_train; i++)
            X[i] = latency_features(p.features, d.space, d.archs[idx[i]], d.vocab, d.protocol);
        const size_t F = X[0].size();
        p.mean.assign(F, 0.0);
        p.scale.assign(F, 0.0);
        for (const auto &x : X)
            for (size_t j = 0; j < F; j++) p.mean[j] += x[j];
        for (double &m : p.mean) m /= static_cast<double>(n_train);
        for (const auto &x : X)
            for (size_t j = 0; j < F; j++) p.scale[j] += (x[j] - p.mean[j]) * (x[j] - p.mean[j]);
        // A feature constant over the training archs keeps scale 1 (its
        // standardised value is then 0 for them).
        for (double &s : p.scale) s = s > 0 ? std::sqrt(s / static_cast<double>(n_train)) : 1.0;
        for (auto &x : X)
            for (size_t j = 0; j < F; j++) x[j] = (x[j] - p.mean[j]) / p.scale[j];
        if (o.kind == PredictorKind::Linear)
            fit_linear(p, X, y, o.ridge);
        else
            fit_mlp(p, X, y, o, rng);
    }

    if (report) {
        PredictorReport r;
        r.train_samples = static_cast<int>(n_train);
        r.heldout_samples = static_cast<int>(n_hold);
        // With nothing held out, report the training error (said so by heldout_samples = 0).
        const size_t lo = n_hold > 0 ? n_train : 0;
        std::vector<double> pred, meas;
        double ape = 0, se = 0;
        for (size_t i = lo; i < n; i++) {
            const double yh = p.predict(d.archs[idx[i]]), yv = d.latency_ms[idx[i]];
            pred.push_back(yh);
            meas.push_back(yv);
            const double e = std::fabs(yh - yv) / yv;
            ape += e;
            r.max_ape = std::max(r.max_ape, 100.0 * e);
            se += (yh - yv) * (yh - yv);
        }
        const double m = static_cast<double>(pred.size());
        r.mape = 100.0 * ape / m;
        r.rmse_ms = std::sqrt(se / m);
        r.kendall_tau = kendall_tau(pred, meas);
        *report = r;
    }
    return p;
}

std::vector<PredictorComparison> compare_predictors(const LatencyDataset &d, const PredictorTrainOptions &o) {
    std::vector<PredictorComparison> out;
    const auto one = [&](PredictorKind k, FeatureSet f) {
        PredictorTrainOptions t = o;
        t.kind = k;
        t.features = f;
        PredictorComparison c;
        c.kind = k;
        c.features = f;
        const auto t0 = std::chrono::steady_clock::now();
        train_predictor(d, t, &c.report);
        c.train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        out.push_back(c);
    };
    one(PredictorKind::Linear, FeatureSet::Rich);
    one(PredictorKind::Linear, FeatureSet::Hat);
    one(PredictorKind::Mlp, FeatureSet::Hat);
    one(PredictorKind::Mlp, FeatureSet::Rich);
    if (!d.op_us.empty()) one(PredictorKind::Cost, FeatureSet::Rich);
    return out;
}

// ---- file format -------------------------------------------------------------------

namespace {
constexpr const char *kPredictorFormat = "mos-latency-predictor";
constexpr int kPredictorVersion = 2;

std::vector<double> real_list(const nlohmann::json &j, const char *key, size_t n) {
    const nlohmann::json &v = j.at(key);
    check(v.is_array() && v.size() == n, MOS_FORMAT, key, ": expected an array of ", n, " numbers, got ",
          json_brief(v));
    std::vector<double> out;
    for (const nlohmann::json &e : v) {
        check(e.is_number() && std::isfinite(e.get<double>()), MOS_FORMAT, key, ": ", json_brief(e),
              " is not a finite number");
        out.push_back(e.get<double>());
    }
    return out;
}

double real(const nlohmann::json &j, const char *key) {
    const nlohmann::json &v = j.at(key);
    check(v.is_number() && std::isfinite(v.get<double>()), MOS_FORMAT, key, ": expected a finite number, got ",
          json_brief(v));
    return v.get<double>();
}
}  // namespace

void save_predictor(const std::string &path, const LatencyPredictor &p, const PredictorReport &r) {
    SafeTensorsWriter w;
    w.set_format(kPredictorFormat, kPredictorVersion);
    nlohmann::ordered_json j;
    j["kind"] = predictor_kind_name(p.kind);
    j["features"] = feature_set_name(p.features);
    j["machine"] = p.machine;
    j["threads"] = p.threads;
    j["precision"] = p.precision;
    j["vocab"] = p.vocab;
    j["protocol"] = latency_protocol_json(p.protocol);
    j["report"] = {{"mape", r.mape},
                   {"max_ape", r.max_ape},
                   {"rmse_ms", r.rmse_ms},
                   {"kendall_tau", r.kendall_tau},
                   {"train_samples", r.train_samples},
                   {"heldout_samples", r.heldout_samples}};
    if (p.kind != PredictorKind::Cost) {
        j["mean"] = p.mean;
        j["scale"] = p.scale;
    }
    if (p.kind == PredictorKind::Linear) {
        j["ridge"] = p.ridge;
        j["bias"] = p.bias;
        j["coef"] = p.coef;
    } else if (p.kind == PredictorKind::Mlp) {
        j["y_scale_ms"] = p.y_scale;
        j["hidden"] = p.hidden;
        j["layers"] = p.layers;
    } else {
        nlohmann::ordered_json ops = nlohmann::ordered_json::object();
        for (const auto &kv : p.op_us) ops[kv.first] = kv.second;
        j["operations"] = ops;
        j["cost_scale"] = p.cost_scale;
        j["cost_offset"] = p.cost_offset;
    }
    w.set_metadata("predictor", j.dump());
    w.set_metadata("space", space_to_json(p.space));
    for (size_t l = 0; l < p.W.size(); l++) {
        const uint64_t out = p.b[l].size(), in = p.W[l].size() / out;
        w.add("layers." + std::to_string(l) + ".weight", DType::F32, {out, in}, p.W[l].data(),
              p.W[l].size() * sizeof(float));
        w.add("layers." + std::to_string(l) + ".bias", DType::F32, {out}, p.b[l].data(), out * sizeof(float));
    }
    w.write_file(path);
}

LatencyPredictor load_predictor(const std::string &path, PredictorReport *report) {
    const SafeTensors f = SafeTensors::read_file(path);
    const int version = f.check_format(kPredictorFormat, kPredictorVersion);
    const std::string *meta = f.meta("predictor");
    const std::string *space = f.meta("space");
    check(meta && space, MOS_FORMAT, path, ": metadata 'predictor' or 'space' is missing");
    const nlohmann::json j = parse_json(*meta, path + ": metadata 'predictor'");
    LatencyPredictor p;
    const std::string where = path + ": metadata 'predictor'";
    try {
        p.space = space_from_json(*space);
    } catch (const Error &e) {
        fail(e.status(), path, ": metadata 'space': ", e.what());
    }
    try {
        check(j.is_object(), MOS_FORMAT, "not a JSON object");
        const nlohmann::json &machine = j.at("machine");
        check(machine.is_string(), MOS_FORMAT, "machine: expected a string, got ", json_brief(machine));
        p.machine = machine.get<std::string>();
        p.threads = json_int(j, "", "threads", 1, 1 << 20);
        p.protocol = latency_protocol_from_json(j.at("protocol"), "protocol");
        if (version == 1) {
            // HAT's MLP on the 10 features, not standardised; vocabulary unknown.
            p.kind = PredictorKind::Mlp;
            p.features = FeatureSet::Hat;
            p.precision = "f32";
            p.vocab = 0;
            p.mean.assign(kArchFeatures, 0.0);
            p.scale.assign(kArchFeatures, 1.0);
        } else {
            const nlohmann::json &k = j.at("kind");
            check(k.is_string(), MOS_FORMAT, "kind: expected a string, got ", json_brief(k));
            try {
                p.kind = parse_predictor_kind(k.get<std::string>());
                const nlohmann::json &fs = j.at("features");
                check(fs.is_string(), MOS_FORMAT, "features: expected a string, got ", json_brief(fs));
                p.features = parse_feature_set(fs.get<std::string>());
            } catch (const Error &e) {
                fail(MOS_FORMAT, e.what());
            }
            const nlohmann::json &prec = j.at("precision");
            check(prec.is_string(), MOS_FORMAT, "precision: expected a string, got ", json_brief(prec));
            p.precision = prec.get<std::string>();
            p.vocab = json_int(j, "", "vocab", 16, 1000000);
            if (p.kind != PredictorKind::Cost) {
                const size_t F = latency_feature_names(p.features, p.space).size();
                p.mean = real_list(j, "mean", F);
                p.scale = real_list(j, "scale", F);
                for (double s : p.scale) check(s > 0, MOS_FORMAT, "scale: ", s, " is not positive");
            }
            if (p.kind == PredictorKind::Linear) {
                p.ridge = real(j, "ridge");
                p.bias = real(j, "bias");
                p.coef = real_list(j, "coef", p.mean.size());
            } else if (p.kind == PredictorKind::Cost) {
                const nlohmann::json &ops = j.at("operations");
                check(ops.is_object() && !ops.empty(), MOS_FORMAT, "operations: expected a non-empty object");
                for (auto it = ops.begin(); it != ops.end(); ++it) {
                    try {
                        parse_decode_op(it.key());
                    } catch (const Error &e) {
                        fail(MOS_FORMAT, "operations: ", e.what());
                    }
                    check(it.value().is_number() && std::isfinite(it.value().get<double>()) &&
                              it.value().get<double>() >= 0,
                          MOS_FORMAT, "operations: '", it.key(), "' has time ", json_brief(it.value()));
                    p.op_us[it.key()] = it.value().get<double>();
                }
                p.cost_scale = real(j, "cost_scale");
                p.cost_offset = real(j, "cost_offset");
            }
        }
        if (p.kind == PredictorKind::Mlp) {
            const double ys = real(j, "y_scale_ms");
            check(ys > 0 && ys <= std::numeric_limits<float>::max(), MOS_FORMAT, "y_scale_ms = ", ys,
                  "; allowed a positive float");
            p.y_scale = static_cast<float>(ys);
            p.hidden = json_int(j, "", "hidden", 1, 4096);
            p.layers = json_int(j, "", "layers", 1, 8);
        }
        if (report) {
            const nlohmann::json &r = json_object(j, "", "report");
            report->mape = real(r, "mape");
            report->max_ape = r.contains("max_ape") ? real(r, "max_ape") : 0.0;
            report->rmse_ms = real(r, "rmse_ms");
            report->kendall_tau = real(r, "kendall_tau");
            report->train_samples = json_int(r, "report", "train_samples", 0, INT_MAX);
            report->heldout_samples = json_int(r, "report", "heldout_samples", 0, INT_MAX);
        }
    } catch (const nlohmann::json::exception &e) {
        fail(MOS_FORMAT, where, ": ", e.what());
    } catch (const Error &e) {
        fail(e.status(), where, ": ", e.what());
    }
    size_t nl = 0;
    if (p.kind == PredictorKind::Mlp) {
        nl = static_cast<size_t>(p.layers) + 1;
        p.W.resize(nl);
        p.b.resize(nl);
        uint64_t in = p.mean.size();
        for (size_t l = 0; l < nl; l++) {
            const uint64_t out = l + 1 < nl ? static_cast<uint64_t>(p.hidden) : 1;
            const TensorInfo &w = f.require("layers." + std::to_string(l) + ".weight", DType::F32, {out, in});
            const TensorInfo &b = f.require("layers." + std::to_string(l) + ".bias", DType::F32, {out});
            p.W[l].resize(out * in);
            p.b[l].resize(out);
            std::memcpy(p.W[l].data(), f.bytes(w), w.nbytes());
            std::memcpy(p.b[l].data(), f.bytes(b), b.nbytes());
            in = out;
        }
    }
    check(f.tensors().size() == 2 * nl, MOS_FORMAT, path, ": ", f.tensors().size(), " tensors, expected ", 2 * nl);
    return p;
}

}  // namespace mos
