// lib/search/latency_data.cpp: latency datasets (see latency_data.hpp).
#include "search/latency_data.hpp"

#include <cmath>
#include <limits>
#include <sstream>

#include <nlohmann/json.hpp>

#include "backend/threads.hpp"
#include "core/error.hpp"
#include "core/json_util.hpp"
#include "core/rng.hpp"
#include "data/tokens.hpp"
#include "io/safetensors.hpp"
#include "model/arch.hpp"
#include "model/dense.hpp"

namespace mos {

namespace {

constexpr const char *kFormat = "mos-latency-data";
constexpr int kVersion = 1;

// Weights of a timed model: uniform in [-0.02, 0.02) from a stream of its own.
void fill_weights(DenseModel &m, uint64_t seed) {
    Rng rng(seed);
    for (const std::string &name : m.names()) {
        float *w = m.data(name);
        const size_t n = m.tensor(name).numel;
        for (size_t j = 0; j < n; j++) w[j] = static_cast<float>((rng.uniform() * 2.0 - 1.0) * 0.02);
    }
}

// The member `key` of a line's object; MOS_FORMAT naming the field if missing.
const nlohmann::json &field(const nlohmann::json &j, const char *key) {
    const auto it = j.find(key);
    check(it != j.end(), MOS_FORMAT, "field '", key, "' is missing");
    return *it;
}

void read_header(const nlohmann::json &h, LatencyDataset &d) {
    check(h.is_object() && h.contains("format") && h["format"].is_string() &&
              h["format"].get<std::string>() == kFormat,
          MOS_FORMAT, "not a ", kFormat, " header");
    const nlohmann::json &v = field(h, "version");
    check(v.is_number_integer(), MOS_FORMAT, "field 'version' is not an integer");
    check(v == kVersion, MOS_VERSION, "version ", json_brief(v), "; this libmos reads version ", kVersion);
    const nlohmann::json &machine = field(h, "machine");
    check(machine.is_string(), MOS_FORMAT, "field 'machine' is not a string");
    d.machine = machine.get<std::string>();
    d.threads = json_int(h, "", "threads", 1, 1 << 20);
    d.protocol = latency_protocol_from_json(field(h, "protocol"), "protocol");
    const nlohmann::json &space = field(h, "space");
    check(space.is_object(), MOS_FORMAT, "field 'space' is not an object");
    try {
        d.space = space_from_json(space.dump());
    } catch (const Error &e) {
        fail(e.status(), "field 'space': ", e.what());
    }
}

void read_sample(const nlohmann::json &j, LatencyDataset &d) {
    check(j.is_object(), MOS_FORMAT, "not a JSON object");
    const nlohmann::json &f = field(j, "features");
    check(f.is_array() && f.size() == kArchFeatures, MOS_FORMAT, "field 'features': expected an array of ",
          kArchFeatures, " numbers, got ", json_brief(f));
    std::vector<float> x;
    for (const nlohmann::json &e : f) {
        check(e.is_number(), MOS_FORMAT, "field 'features': ", json_brief(e), " is not a number");
        // A JSON number such as 1e300 parses as a double; narrowing it to float
        // would be undefined behaviour (and an infinite feature poisons training).
        const double v = e.get<double>();
        check(std::fabs(v) <= std::numeric_limits<float>::max(), MOS_FORMAT, "field 'features': ", json_brief(e),
              " is outside the range of a float");
        x.push_back(static_cast<float>(v));
    }
    const nlohmann::json &ms = field(j, "latency_ms");
    check(ms.is_number(), MOS_FORMAT, "field 'latency_ms': ", json_brief(ms), " is not a number");
    const double latency = ms.get<double>();
    check(std::isfinite(latency) && latency >= 0.0, MOS_FORMAT, "field 'latency_ms': ", json_brief(ms),
          "; allowed a finite number >= 0");
    d.features.push_back(std::move(x));
    d.latency_ms.push_back(latency);
}

}  // namespace

void collect_latency_data(const std::string &path, const Space &space, int64_t vocab, int64_t n, uint64_t seed,
                          const LatencyOptions &protocol, const ProgressFn &progress) {
    check(vocab >= 16 && vocab <= 1000000, MOS_INVALID_ARGUMENT, "vocab ", vocab, " outside 16..1000000");
    check(n >= 1 && n <= 1000000, MOS_INVALID_ARGUMENT, "n ", n, " outside 1..1000000");
    check_latency_options(protocol);
    nlohmann::ordered_json head;
    head["format"] = kFormat;
    head["version"] = kVersion;
    head["machine"] = machine_name();
    head["threads"] = num_threads();
    head["protocol"] = latency_protocol_json(protocol);
    head["space"] = nlohmann::ordered_json::parse(space_to_json(space));
    std::string text = head.dump() + "\n";
    Rng rng(seed);
    for (int64_t i = 0; i < n; i++) {
        // The first two samples are the extremes, so the predictor sees the whole range.
        const Arch a = i == 0 ? arch_largest(space) : i == 1 ? arch_smallest(space) : arch_sample(space, rng);
        DenseModel m(arch_dims(space, a), vocab, space.qkv_dim, kPad);
        fill_weights(m, seed * kSplitMixGamma + static_cast<uint64_t>(i));
        const LatencyResult r = measure_latency(m, protocol);
        nlohmann::ordered_json j;
        j["features"] = arch_encode(space, a);
        j["latency_ms"] = r.mean_ms;
        j["p10_ms"] = r.p10_ms;
        j["p90_ms"] = r.p90_ms;
        j["arch"] = nlohmann::ordered_json::parse(arch_to_json(a));
        text += j.dump() + "\n";
        if (progress) {
            Progress p;
            p.done = static_cast<uint64_t>(i + 1);
            p.total = static_cast<uint64_t>(n);
            p.what = "archs timed";
            check(progress(p), MOS_ABORTED, "stopped by the progress callback after ", i + 1, " of ", n,
                  " archs; nothing written");
        }
    }
    write_file_atomic(path, text.data(), text.size());
}

LatencyDataset read_latency_data(const std::string &path) {
    std::istringstream in(read_text_file(path));
    std::string line;
    check(static_cast<bool>(std::getline(in, line)), MOS_FORMAT, path, ": empty file");
    LatencyDataset d;
    size_t lineno = 1;
    try {
        read_header(parse_json(line, "header"), d);
        while (std::getline(in, line)) {
            lineno++;
            if (line.empty()) continue;
            read_sample(parse_json(line, "sample"), d);
        }
    } catch (const Error &e) {
        fail(e.status(), path, ": line ", lineno, ": ", e.what());
    }
    return d;
}

PredictorReport train_predictor_file(const std::string &dataset_path, const PredictorTrainOptions &opt,
                                     const std::string &out_path) {
    const LatencyDataset d = read_latency_data(dataset_path);
    PredictorReport r;
    LatencyPredictor p = train_predictor(d.features, d.latency_ms, opt, &r);
    p.machine = d.machine;
    p.threads = d.threads;
    p.protocol = d.protocol;
    p.space_json = space_to_json(d.space);
    save_predictor(out_path, p, r);
    return r;
}

}  // namespace mos
