// lib/search/latency.cpp: HAT-protocol latency measurement of dense models and
// the MLP latency predictor (training, error report, file format).
#include "search/latency.hpp"

#include <algorithm>
#include <climits>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <numeric>

#include <nlohmann/json.hpp>

#include "backend/threads.hpp"
#include "core/error.hpp"
#include "core/json_util.hpp"
#include "data/tokens.hpp"
#include "decode/engine.hpp"
#include "io/safetensors.hpp"
#include "kernels/activation.hpp"
#include "kernels/adam.hpp"
#include "kernels/linear.hpp"

namespace mos {

void check_latency_options(const LatencyOptions &o) {
    check(o.src_len >= 1 && o.src_len <= 1024, MOS_INVALID_ARGUMENT, "source length ", o.src_len, " outside 1..1024");
    check(o.steps >= 1 && o.steps <= 1024, MOS_INVALID_ARGUMENT, "decoder steps ", o.steps, " outside 1..1024");
    check(o.beam >= 1 && o.beam <= 64, MOS_INVALID_ARGUMENT, "beam ", o.beam, " outside 1..64");
    check(o.warmup >= 0 && o.warmup <= 1000, MOS_INVALID_ARGUMENT, "warm-up runs ", o.warmup, " outside 0..1000");
    check(o.runs >= 1 && o.runs <= 100000, MOS_INVALID_ARGUMENT, "timed runs ", o.runs, " outside 1..100000");
}

nlohmann::ordered_json latency_protocol_json(const LatencyOptions &o) {
    nlohmann::ordered_json j;
    j["src_len"] = o.src_len;
    j["steps"] = o.steps;
    j["beam"] = o.beam;
    j["warmup"] = o.warmup;
    j["runs"] = o.runs;
    if (o.precision != Precision::F32) j["dtype"] = precision_name(o.precision);
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
    return o;
}

LatencyResult measure_latency(const ServeModel &m, const LatencyOptions &o) {
    check_latency_options(o);
    const int64_t V = m.vocab(), k = o.beam;
    check(V > 8, MOS_INVALID_ARGUMENT, "vocabulary of ", V, " is too small to time");
    EngineState st;
    st.reserve(m, 1, k, o.src_len, o.steps);
    std::vector<int32_t> src(o.src_len);
    for (int i = 0; i < o.src_len; i++)
        src[i] = static_cast<int32_t>(kSpecialTokens + (i * 7919) % (V - kSpecialTokens));
    src.back() = kEos;
    std::vector<int64_t> rows(k, 0), from(k);
    std::vector<int32_t> tok(k, kEos);
    const int topk = static_cast<int>(std::min<int64_t>(2 * k, kMaxTopK));
    auto one_run = [&] {
        engine_encode(st, m, src.data(), 1, o.src_len);
        engine_set_rows(st, rows.data(), k);
        std::fill(tok.begin(), tok.end(), kEos);
        for (int t = 0; t < o.steps; t++) {
            // What beam search does per step: the decoder over k rows, the
            // fused output layer (log-sum-exp and the best 2k tokens of each
            // row), then the reorder of the hypotheses.
            const VocabRowStats *stats = engine_step_topk(st, m, tok.data(), topk);
            for (int64_t r = 0; r < k; r++) {
                int32_t best = kSpecialTokens;
                for (int i = 0; i < stats[r].n; i++)
                    if (stats[r].tok[i] != kEos) {  // keep decoding for the full number of steps
                        best = stats[r].tok[i];
                        break;
                    }
                tok[r] = best;
            }
            if (k > 1 && t + 1 < o.steps) {
                for (int64_t r = 0; r < k; r++) from[r] = (r + 1) % k;
                engine_reorder(st, from.data(), k);
                std::rotate(tok.begin(), tok.begin() + 1, tok.end());
            }
        }
    };
    for (int i = 0; i < o.warmup; i++) one_run();
    std::vector<double> ms(o.runs);
    for (int i = 0; i < o.runs; i++) {
        const auto t0 = std::chrono::steady_clock::now();
        one_run();
        ms[i] = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    }
    std::sort(ms.begin(), ms.end());
    auto pct = [&](double p) { return ms[static_cast<size_t>(std::floor(p * (ms.size() - 1) + 0.5))]; };
    LatencyResult r;
    r.runs = o.runs;
    r.p10_ms = pct(0.1);
    r.p50_ms = pct(0.5);
    r.p90_ms = pct(0.9);
    double s = 0, s2 = 0;
    int n = 0;
    for (double x : ms)
        if (x >= r.p10_ms && x <= r.p90_ms) {
            s += x;
            s2 += x * x;
            n++;
        }
    r.mean_ms = s / n;
    r.stdev_ms = std::sqrt(std::max(0.0, s2 / n - r.mean_ms * r.mean_ms));
    return r;
}

LatencyResult measure_latency(const DenseModel &m, const LatencyOptions &o) {
    check_latency_options(o);
    const Precision compute = resolve_precision(o.precision, false, nullptr);
    return measure_latency(ServeModel::from_dense(m, o.precision, compute), o);
}

// ---- predictor ------------------------------------------------------------------

float LatencyPredictor::predict(const std::vector<float> &f) const {
    check(!W.empty() && !f.empty() && W[0].size() == b[0].size() * f.size(), MOS_INVALID_ARGUMENT,
          "predictor expects ", W.empty() ? 0 : W[0].size() / b[0].size(), " features, got ", f.size());
    std::vector<float> x(f), y;
    for (size_t l = 0; l < W.size(); l++) {
        const int64_t out = static_cast<int64_t>(b[l].size()), in = static_cast<int64_t>(x.size());
        y.resize(static_cast<size_t>(out));
        linear_forward(y.data(), x.data(), W[l].data(), b[l].data(), 1, in, out, in);
        if (l + 1 < W.size()) relu_forward(y.data(), y.data(), out);
        x.swap(y);
    }
    return x[0] * y_scale;
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

LatencyPredictor train_predictor(const std::vector<std::vector<float>> &x, const std::vector<double> &y_ms,
                                 const PredictorTrainOptions &o, PredictorReport *report) {
    const size_t n = x.size();
    check(n >= 5 && y_ms.size() == n, MOS_INVALID_ARGUMENT, "need at least 5 (features, latency) samples, got ", n,
          " and ", y_ms.size());
    check(o.holdout >= 0.0 && o.holdout < 0.9, MOS_INVALID_ARGUMENT, "holdout fraction ", o.holdout,
          " outside [0, 0.9)");
    check(o.epochs >= 1 && o.lr > 0.0f, MOS_INVALID_ARGUMENT, "epochs and learning rate must be positive");
    const int64_t F = static_cast<int64_t>(x[0].size());
    for (const auto &r : x) check(static_cast<int64_t>(r.size()) == F, MOS_INVALID_ARGUMENT, "ragged features");
    // The predictor's products are tiny (a batch of samples times a few dozen
    // features): a second thread only adds a fork and a join to each of the
    // thousands of steps, and on a busy machine a wait for a core.
    const ThreadScope one_thread(1);
    for (double v : y_ms) check(std::isfinite(v) && v > 0, MOS_INVALID_ARGUMENT, "latency ", v, " is not positive");

    // Deterministic split: a seeded shuffle, the last `holdout` part held out.
    std::vector<size_t> idx(n);
    std::iota(idx.begin(), idx.end(), 0);
    Rng rng(o.seed);
    for (size_t i = n - 1; i > 0; i--) std::swap(idx[i], idx[rng.below(i + 1)]);
    const size_t n_hold = static_cast<size_t>(std::floor(o.holdout * n));
    const size_t n_train = n - n_hold;

    LatencyPredictor p;
    double mean = 0;
    for (size_t i = 0; i < n_train; i++) mean += y_ms[idx[i]];
    p.y_scale = static_cast<float>(mean / n_train);
    const int H = p.hidden, L = p.layers;
    std::vector<int64_t> dims{F};
    for (int l = 0; l < L; l++) dims.push_back(H);
    dims.push_back(1);
    const size_t nl = dims.size() - 1;
    p.W.resize(nl);
    p.b.resize(nl);
    // Adam moments of every weight and bias (kernels/adam.hpp, beta2 = 0.999 as
    // PyTorch's default, no clipping).
    std::vector<std::vector<float>> mw(nl), vw(nl), mb(nl), vb(nl);
    for (size_t l = 0; l < nl; l++) {
        const int64_t in = dims[l], out = dims[l + 1];
        const float bound = std::sqrt(6.0f / static_cast<float>(in + out));
        p.W[l].resize(in * out);
        for (float &w : p.W[l]) w = static_cast<float>((rng.uniform() * 2 - 1) * bound);
        p.b[l].assign(out, 0.0f);
        mw[l].assign(in * out, 0.0f);
        vw[l].assign(in * out, 0.0f);
        mb[l].assign(out, 0.0f);
        vb[l].assign(out, 0.0f);
    }
    AdamConfig adam;
    adam.beta2 = 0.999f;
    // Full-batch training: activations [N, dims[l]].
    const int64_t N = static_cast<int64_t>(n_train);
    std::vector<std::vector<float>> act(nl + 1);
    act[0].resize(N * F);
    std::vector<float> target(N);
    for (int64_t i = 0; i < N; i++) {
        std::memcpy(act[0].data() + i * F, x[idx[i]].data(), F * sizeof(float));
        target[i] = static_cast<float>(y_ms[idx[i]] / p.y_scale);
    }
    for (size_t l = 1; l <= nl; l++) act[l].resize(N * dims[l]);
    std::vector<float> dW, db, dcur, dprev, dpre;
    for (int e = 1; e <= o.epochs; e++) {
        for (size_t l = 0; l < nl; l++) {
            linear_forward(act[l + 1].data(), act[l].data(), p.W[l].data(), p.b[l].data(), N, dims[l], dims[l + 1],
                           dims[l]);
            if (l + 1 < nl) relu_forward(act[l + 1].data(), act[l + 1].data(), N * dims[l + 1]);
        }
        // d(mean squared error) / d(output).
        dcur.assign(N, 0.0f);
        for (int64_t i = 0; i < N; i++) dcur[i] = 2.0f * (act[nl][i] - target[i]) / N;
        for (size_t l = nl; l-- > 0;) {
            const int64_t in = dims[l], out = dims[l + 1];
            dW.assign(in * out, 0.0f);
            db.assign(out, 0.0f);
            if (l > 0) dprev.assign(N * in, 0.0f);
            // dW = dcur^T act[l], db = column sums of dcur, dprev = dcur W (before W steps).
            linear_backward(l > 0 ? dprev.data() : nullptr, dW.data(), db.data(), dcur.data(), act[l].data(),
                            p.W[l].data(), N, in, out, in);
            adam_update(p.W[l].data(), dW.data(), mw[l].data(), vw[l].data(), dW.size(), e, o.lr, adam);
            adam_update(p.b[l].data(), db.data(), mb[l].data(), vb[l].data(), db.size(), e, o.lr, adam);
            if (l > 0) {
                // Through the ReLU of layer l's input (act[l] is its output).
                dpre.assign(N * in, 0.0f);
                relu_backward(dpre.data(), dprev.data(), act[l].data(), N * in);
                dcur.swap(dpre);
            }
        }
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
            const double yh = p.predict(x[idx[i]]), y = y_ms[idx[i]];
            pred.push_back(yh);
            meas.push_back(y);
            ape += std::fabs(yh - y) / y;
            se += (yh - y) * (yh - y);
        }
        const double m = static_cast<double>(pred.size());
        r.mape = 100.0 * ape / m;
        r.rmse_ms = std::sqrt(se / m);
        r.kendall_tau = kendall_tau(pred, meas);
        *report = r;
    }
    return p;
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

void save_predictor(const std::string &path, const LatencyPredictor &p, const PredictorReport &r) {
    SafeTensorsWriter w;
    w.set_format("mos-latency-predictor", 1);
    nlohmann::ordered_json j;
    j["machine"] = p.machine;
    j["threads"] = p.threads;
    j["y_scale_ms"] = p.y_scale;
    j["hidden"] = p.hidden;
    j["layers"] = p.layers;
    j["protocol"] = latency_protocol_json(p.protocol);
    j["report"] = {{"mape", r.mape}, {"rmse_ms", r.rmse_ms}, {"kendall_tau", r.kendall_tau},
                   {"train_samples", r.train_samples}, {"heldout_samples", r.heldout_samples}};
    w.set_metadata("predictor", j.dump());
    w.set_metadata("space", p.space_json);
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
    f.check_format("mos-latency-predictor", 1);
    const std::string *meta = f.meta("predictor");
    const std::string *space = f.meta("space");
    check(meta && space, MOS_FORMAT, path, ": metadata 'predictor' or 'space' is missing");
    const nlohmann::json j = parse_json(*meta, path + ": metadata 'predictor'");
    LatencyPredictor p;
    // Integers through json_int: nlohmann's get<int>() of a JSON float is a
    // static_cast, undefined for "threads": 1e300 and silently truncating for
    // 4294967296000. Errors name the field and its allowed range.
    const std::string where = path + ": metadata 'predictor'";
    try {
        check(j.is_object(), MOS_FORMAT, "not a JSON object");
        const nlohmann::json &machine = j.at("machine");
        check(machine.is_string(), MOS_FORMAT, "machine: expected a string, got ", json_brief(machine));
        p.machine = machine.get<std::string>();
        p.threads = json_int(j, "", "threads", 1, 1 << 20);
        const nlohmann::json &ys = j.at("y_scale_ms");
        check(ys.is_number() && ys.get<double>() > 0 &&
                  ys.get<double>() <= std::numeric_limits<float>::max(),
              MOS_FORMAT, "y_scale_ms = ", json_brief(ys), "; allowed a positive float");
        p.y_scale = static_cast<float>(ys.get<double>());
        p.hidden = json_int(j, "", "hidden", 1, 4096);
        p.layers = json_int(j, "", "layers", 1, 8);
        p.protocol = latency_protocol_from_json(j.at("protocol"), "protocol");
        if (report) {
            const nlohmann::json &r = json_object(j, "", "report");
            const auto real = [&r](const char *key) {
                const nlohmann::json &v = r.at(key);
                check(v.is_number(), MOS_FORMAT, "report.", key, ": expected a number, got ", json_brief(v));
                return v.get<double>();
            };
            report->mape = real("mape");
            report->rmse_ms = real("rmse_ms");
            report->kendall_tau = real("kendall_tau");
            report->train_samples = json_int(r, "report", "train_samples", 0, INT_MAX);
            report->heldout_samples = json_int(r, "report", "heldout_samples", 0, INT_MAX);
        }
    } catch (const nlohmann::json::exception &e) {
        fail(MOS_FORMAT, where, ": ", e.what());
    } catch (const Error &e) {
        fail(e.status(), where, ": ", e.what());
    }
    p.space_json = *space;
    const size_t nl = static_cast<size_t>(p.layers) + 1;
    p.W.resize(nl);
    p.b.resize(nl);
    uint64_t in = kArchFeatures;
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
    check(f.tensors().size() == 2 * nl, MOS_FORMAT, path, ": ", f.tensors().size(), " tensors, expected ", 2 * nl);
    return p;
}

}  // namespace mos
