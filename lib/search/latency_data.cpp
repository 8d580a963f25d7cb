// lib/search/latency_data.cpp: latency datasets (see latency_data.hpp).
#include "search/latency_data.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "backend/threads.hpp"
#include "core/error.hpp"
#include "core/json_util.hpp"
#include "core/rng.hpp"
#include "io/safetensors.hpp"
#include "data/tokens.hpp"
#include "model/arch.hpp"
#include "model/dense.hpp"
#include "model/size.hpp"

namespace mos {

namespace {

constexpr const char *kFormat = "mos-latency-data";
constexpr int kVersion = 3;  // 3: per-pass fields (passes); version 2 (one pass) still reads
// Alternating-means iterations of the drift fit over passes (converged well
// before this on collections of 300 archs).
constexpr int kJointIterations = 50;
// Models held at once in a group are capped at about this many bytes.
constexpr size_t kGroupModelBytes = size_t{512} << 20;

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

double number(const nlohmann::json &j, const char *key, double lo, double hi) {
    const nlohmann::json &v = field(j, key);
    check(v.is_number(), MOS_FORMAT, "field '", key, "': ", json_brief(v), " is not a number");
    const double x = v.get<double>();
    check(std::isfinite(x) && x >= lo && x <= hi, MOS_FORMAT, "field '", key, "': ", x, " outside ", lo, "..", hi);
    return x;
}

std::string text(const nlohmann::json &j, const char *key) {
    const nlohmann::json &v = field(j, key);
    check(v.is_string(), MOS_FORMAT, "field '", key, "' is not a string");
    return v.get<std::string>();
}

double quantile(std::vector<double> v, double p) {
    if (v.empty()) return 0.0;
    std::sort(v.begin(), v.end());
    return v[static_cast<size_t>(std::floor(p * (v.size() - 1) + 0.5))];
}

void read_header(const nlohmann::json &h, LatencyDataset &d) {
    check(h.is_object() && h.contains("format") && h["format"].is_string() &&
              h["format"].get<std::string>() == kFormat,
          MOS_FORMAT, "not a ", kFormat, " header");
    const nlohmann::json &v = field(h, "version");
    check(v.is_number_integer(), MOS_FORMAT, "field 'version' is not an integer");
    check(v != 1, MOS_VERSION, "version 1 (archs timed one after another, without the vocabulary); this libmos reads "
          "version ", kVersion, ": collect the dataset again");
    check(v == 2 || v == kVersion, MOS_VERSION, "version ", json_brief(v), "; this libmos reads versions 2 and ",
          kVersion);
    d.machine = text(h, "machine");
    d.threads = json_int(h, "", "threads", 1, 1 << 20);
    d.precision = text(h, "precision");
    check(d.precision == "f32" || d.precision == "bf16" || d.precision == "int8", MOS_FORMAT, "field 'precision': '",
          d.precision, "'; allowed f32|bf16|int8");
    d.vocab = json_int(h, "", "vocab", 16, 1000000);
    d.protocol = latency_protocol_from_json(field(h, "protocol"), "protocol");
    const nlohmann::json &space = field(h, "space");
    check(space.is_object(), MOS_FORMAT, "field 'space' is not an object");
    try {
        d.space = space_from_json(space.dump());
    } catch (const Error &e) {
        fail(e.status(), "field 'space': ", e.what());
    }
    if (h.contains("operations")) {
        const nlohmann::json &ops = h["operations"];
        check(ops.is_object(), MOS_FORMAT, "field 'operations' is not an object");
        for (auto it = ops.begin(); it != ops.end(); ++it) {
            try {
                parse_decode_op(it.key());
            } catch (const Error &e) {
                fail(MOS_FORMAT, "field 'operations': ", e.what());
            }
            check(it.value().is_number() && it.value().get<double>() >= 0 && std::isfinite(it.value().get<double>()),
                  MOS_FORMAT, "field 'operations': '", it.key(), "' has time ", json_brief(it.value()));
            d.op_us[it.key()] = it.value().get<double>();
        }
    }
    if (h.contains("noise")) {
        const nlohmann::json &n = h["noise"];
        check(n.is_object(), MOS_FORMAT, "field 'noise' is not an object");
        d.noise.runs = static_cast<int64_t>(number(n, "runs", 0, 1e15));
        d.noise.disturbed = static_cast<int64_t>(number(n, "disturbed", 0, 1e15));
        d.noise.redone = static_cast<int64_t>(number(n, "redone", 0, 1e15));
        d.noise.median_spread = number(n, "median_spread", 0, 1e9);
        d.noise.p90_spread = number(n, "p90_spread", 0, 1e9);
        d.noise.reference_cv = number(n, "reference_cv", 0, 1e9);
        d.noise.seconds = number(n, "seconds", 0, 1e12);
    }
}

void read_sample(const nlohmann::json &j, LatencyDataset &d) {
    check(j.is_object(), MOS_FORMAT, "not a JSON object");
    const double ms = number(j, "latency_ms", 0, 1e12);
    check(ms > 0, MOS_FORMAT, "field 'latency_ms': ", ms, " is not positive");
    const nlohmann::json &a = field(j, "arch");
    check(a.is_object(), MOS_FORMAT, "field 'arch' is not an object");
    try {
        d.archs.push_back(arch_from_json(d.space, a.dump()));
    } catch (const Error &e) {
        fail(MOS_FORMAT, "field 'arch': ", e.what());
    }
    d.latency_ms.push_back(ms);
}

// One arch of a group being timed: its runs and the round of each.
struct Timed {
    Arch arch;
    std::unique_ptr<DenseModel> model;
    std::unique_ptr<DecodeRun> run;
    std::vector<double> ms;
    std::vector<int> round;
    RunStats stats;
};

// `rounds` rounds over the members `who` of a group, each round in a fresh
// random order; timed runs are appended with their round number (untimed ones
// are warm-up).
void rounds_over(std::vector<Timed> &g, const std::vector<size_t> &who, int rounds, bool timed, int &round_no,
                 Rng &rng) {
    std::vector<size_t> order(who);
    for (int r = 0; r < rounds; r++, round_no++) {
        for (size_t i = order.size(); i > 1; i--) std::swap(order[i - 1], order[rng.below(i)]);
        for (size_t i : order) {
            const double ms = g[i].run->run_ms();
            if (timed) {
                g[i].ms.push_back(ms);
                g[i].round.push_back(round_no);
            }
        }
    }
}

double median(std::vector<double> v) { return quantile(std::move(v), 0.5); }

// An arch's label from its passes' latencies: the median of three or more,
// the geometric mean of two.
double combine_passes(const std::vector<double> &v) {
    if (v.size() == 2) return std::sqrt(v[0] * v[1]);
    return median(v);
}

// Each member's statistics, leaving out the runs of disturbed rounds: a round
// in which the members ran, at the median, more than `tol` above their own
// fast ends (10th percentiles) was slowed down for all of them (judged when
// at least 3 ran in it).
void judge(std::vector<Timed> &g, double tol) {
    std::map<int, std::vector<double>> ratios;
    std::vector<double> med(g.size());
    for (size_t i = 0; i < g.size(); i++) {
        med[i] = quantile(g[i].ms, 0.1);
        for (size_t j = 0; j < g[i].ms.size(); j++) ratios[g[i].round[j]].push_back(g[i].ms[j] / med[i]);
    }
    std::map<int, bool> slow;
    for (const auto &kv : ratios) slow[kv.first] = kv.second.size() >= 3 && median(kv.second) > 1.0 + tol;
    for (Timed &t : g) {
        std::vector<char> excluded(t.ms.size());
        for (size_t j = 0; j < t.ms.size(); j++) excluded[j] = slow[t.round[j]];
        t.stats = run_stats(t.ms, tol, &excluded);
    }
}

}  // namespace

DriftFit fit_group_drift(const std::vector<GroupTiming> &obs, size_t archs, size_t groups) {
    check(archs >= 1 && groups >= 1, MOS_INVALID_ARGUMENT, "fit_group_drift: no archs or no groups");
    std::vector<double> la(archs, 0.0), ld(groups, 0.0), y(obs.size());
    std::vector<double> na(archs, 0.0), nd(groups, 0.0);
    for (size_t i = 0; i < obs.size(); i++) {
        const GroupTiming &o = obs[i];
        check(o.arch < archs && o.group < groups && std::isfinite(o.ms) && o.ms > 0, MOS_INVALID_ARGUMENT,
              "fit_group_drift: timing ", i, " (arch ", o.arch, ", group ", o.group, ", ", o.ms, " ms) out of range");
        y[i] = std::log(o.ms);
        na[o.arch] += 1;
        nd[o.group] += 1;
    }
    for (size_t a = 0; a < archs; a++) check(na[a] > 0, MOS_INVALID_ARGUMENT, "fit_group_drift: arch ", a, " untimed");
    for (size_t g = 0; g < groups; g++)
        check(nd[g] > 0, MOS_INVALID_ARGUMENT, "fit_group_drift: group ", g, " empty");
    // Alternating means: each arch's level given the drifts, each group's
    // drift given the levels (block coordinate descent on the squared error,
    // which converges geometrically when passes connect the groups).
    for (int it = 0; it < kJointIterations; it++) {
        std::fill(la.begin(), la.end(), 0.0);
        for (size_t i = 0; i < obs.size(); i++) la[obs[i].arch] += y[i] - ld[obs[i].group];
        for (size_t a = 0; a < archs; a++) la[a] /= na[a];
        std::fill(ld.begin(), ld.end(), 0.0);
        for (size_t i = 0; i < obs.size(); i++) ld[obs[i].group] += y[i] - la[obs[i].arch];
        for (size_t g = 0; g < groups; g++) ld[g] /= nd[g];
        const double base = quantile(ld, 0.1);  // the quietest groups: drift 1
        for (double &d : ld) d -= base;
    }
    for (size_t a = 0; a < archs; a++) la[a] = 0.0;
    for (size_t i = 0; i < obs.size(); i++) la[obs[i].arch] += y[i] - ld[obs[i].group];
    DriftFit r;
    double ss = 0;
    for (size_t i = 0; i < obs.size(); i++) {
        const double e = y[i] - la[obs[i].arch] / na[obs[i].arch] - ld[obs[i].group];
        ss += e * e;
    }
    const double dof = static_cast<double>(obs.size()) - static_cast<double>(archs + groups) + 1.0;
    r.residual = dof > 0 ? std::sqrt(ss / dof) : 0.0;
    r.latency_ms.resize(archs);
    r.drift.resize(groups);
    for (size_t a = 0; a < archs; a++) r.latency_ms[a] = std::exp(la[a] / na[a]);
    for (size_t g = 0; g < groups; g++) r.drift[g] = std::exp(ld[g]);
    return r;
}

NoiseReport collect_latency_data(const std::string &path, const Space &space, int64_t vocab, int64_t n, uint64_t seed,
                                 const LatencyOptions &protocol, const ProgressFn &progress, const CollectOptions &co) {
    check(vocab >= 16 && vocab <= 1000000, MOS_INVALID_ARGUMENT, "vocab ", vocab, " outside 16..1000000");
    check(n >= 1 && n <= 1000000, MOS_INVALID_ARGUMENT, "n ", n, " outside 1..1000000");
    check(co.group >= 1 && co.group <= 64, MOS_INVALID_ARGUMENT, "group ", co.group, " outside 1..64");
    check(co.tolerance > 0 && co.tolerance <= 10, MOS_INVALID_ARGUMENT, "tolerance ", co.tolerance,
          " outside (0, 10]");
    check(co.max_redo >= 0 && co.max_redo <= 100, MOS_INVALID_ARGUMENT, "max_redo ", co.max_redo, " outside 0..100");
    check(co.op_rounds >= 0 && co.op_rounds <= 1000, MOS_INVALID_ARGUMENT, "op_rounds ", co.op_rounds,
          " outside 0..1000");
    check(co.passes >= 1 && co.passes <= 16, MOS_INVALID_ARGUMENT, "passes ", co.passes, " outside 1..16");
    check(co.label_error >= 0 && co.label_error <= 1, MOS_INVALID_ARGUMENT, "label_error ", co.label_error,
          " outside 0..1");
    check(co.max_seconds >= 0 && std::isfinite(co.max_seconds), MOS_INVALID_ARGUMENT, "max_seconds ",
          co.max_seconds, " is negative or not finite");
    check_latency_options(protocol);
    const auto t0 = std::chrono::steady_clock::now();
    Rng rng(seed);
    std::vector<Arch> archs;
    for (int64_t i = 0; i < n; i++)
        // The first two are the extremes, so the predictor sees the whole range.
        archs.push_back(i == 0 ? arch_largest(space) : i == 1 ? arch_smallest(space) : arch_sample(space, rng));
    // The reference: an arch of its own stream, timed in every group.
    const Arch reference = arch_sample(space, splitmix64_mix(seed ^ 0x7265666572656e63ull));
    // Group size: at most co.group models of the largest arch's size in kGroupModelBytes.
    const size_t big = arch_params(arch_largest(space), static_cast<uint64_t>(vocab)).total() * sizeof(float);
    const int64_t group =
        std::max<int64_t>(1, std::min<int64_t>(co.group, static_cast<int64_t>(kGroupModelBytes / std::max<size_t>(big, 1))));
    const int need = (protocol.runs + 2) / 3;  // runs an arch must keep

    NoiseReport noise;
    std::vector<double> spreads;
    // Per arch its JSON line (latency_ms filled in at the end) and, per pass,
    // the index of its group.
    std::vector<nlohmann::ordered_json> rows(static_cast<size_t>(n));
    std::vector<std::vector<size_t>> rel_group(static_cast<size_t>(n));
    Rng order_rng(splitmix64_mix(seed + 1));
    const int64_t total = n * co.passes;
    // A first report before any arch is timed: the first group may take a while.
    if (progress) {
        Progress p;
        p.done = 0;
        p.total = static_cast<uint64_t>(total);
        p.what = "archs timed";
        check(progress(p), MOS_ABORTED, "stopped by the progress callback before any arch was timed; nothing written");
    }
    int64_t done = 0;
    // The fit over every arch, the reference and every group timed so far.
    const auto joint_fit = [&] {
        std::vector<GroupTiming> obs;
        for (size_t a = 0; a < rows.size(); a++)
            for (size_t k = 0; k < rel_group[a].size(); k++)
                obs.push_back({a, rel_group[a][k], rows[a]["raw_ms"][k].get<double>()});
        for (size_t g = 0; g < noise.reference_ms.size(); g++)
            obs.push_back({rows.size(), g, noise.reference_ms[g]});
        return fit_group_drift(obs, rows.size() + 1, noise.reference_ms.size());
    };
    DriftFit fit;
    double slowest_pass = 0;
    noise.passes_ended = "all";
    for (int pass = 0; pass < co.passes; pass++) {
        const auto pass_start = std::chrono::steady_clock::now();
        // Each pass times every arch once more, in other groups at another
        // time and with freshly allocated models, so that what one group or
        // one allocation did to an arch does not make its label.
        std::vector<int64_t> order(static_cast<size_t>(n));
        for (int64_t i = 0; i < n; i++) order[static_cast<size_t>(i)] = i;
        if (pass > 0)
            for (size_t i = order.size(); i > 1; i--) std::swap(order[i - 1], order[order_rng.below(i)]);
        for (int64_t g0 = 0; g0 < n; g0 += group) {
            const int64_t g1 = std::min(n, g0 + group);
            std::vector<Timed> g(static_cast<size_t>(g1 - g0 + 1));
            for (int64_t i = g0; i <= g1; i++) {
                Timed &t = g[static_cast<size_t>(i - g0)];
                const int64_t a = i < g1 ? order[static_cast<size_t>(i)] : -1;
                t.arch = a >= 0 ? archs[static_cast<size_t>(a)] : reference;
                t.model = std::make_unique<DenseModel>(arch_dims(space, t.arch), vocab, space.qkv_dim, kPad);
                fill_weights(*t.model, seed * kSplitMixGamma + static_cast<uint64_t>(a));
                t.run = std::make_unique<DecodeRun>(*t.model, protocol);
            }
            std::vector<size_t> all(g.size());
            for (size_t i = 0; i < all.size(); i++) all[i] = i;
            int round_no = 0;
            rounds_over(g, all, protocol.warmup, false, round_no, order_rng);
            rounds_over(g, all, protocol.runs, true, round_no, order_rng);
            // Redo archs that kept too few runs (a third), interleaved among
            // themselves, at most max_redo times.
            judge(g, co.tolerance);
            for (int redo = 0; redo < co.max_redo; redo++) {
                std::vector<size_t> again;
                for (size_t i = 0; i < g.size(); i++)
                    if (g[i].stats.kept < need) again.push_back(i);
                if (again.empty()) break;
                rounds_over(g, again, protocol.runs, true, round_no, order_rng);
                for (size_t i : again)
                    if (i + 1 < g.size()) noise.redone += protocol.runs;
                judge(g, co.tolerance);
            }
            for (size_t i = 0; i + 1 < g.size(); i++) {
                const Timed &t = g[i];
                const size_t a = static_cast<size_t>(order[static_cast<size_t>(g0) + i]);
                rel_group[a].push_back(noise.reference_ms.size());
                noise.runs += t.stats.runs;
                noise.disturbed += t.stats.runs - t.stats.kept;
                spreads.push_back(t.stats.spread);
                nlohmann::ordered_json &j = rows[a];
                if (j.empty()) {
                    j["latency_ms"] = 0.0;  // filled in below
                    j["raw_ms"] = nlohmann::ordered_json::array();
                    j["p10_ms"] = nlohmann::ordered_json::array();
                    j["p90_ms"] = nlohmann::ordered_json::array();
                    j["spread"] = nlohmann::ordered_json::array();
                    j["runs"] = 0;
                    j["disturbed"] = 0;
                    j["run_ms"] = nlohmann::ordered_json::array();
                    j["run_round"] = nlohmann::ordered_json::array();
                    j["run_pass"] = nlohmann::ordered_json::array();
                    j["arch"] = nlohmann::ordered_json::parse(arch_to_json(t.arch));
                }
                j["raw_ms"].push_back(t.stats.ms);
                j["p10_ms"].push_back(t.stats.p10_ms);
                j["p90_ms"].push_back(t.stats.p90_ms);
                j["spread"].push_back(t.stats.spread);
                j["runs"] = j["runs"].get<int64_t>() + t.stats.runs;
                j["disturbed"] = j["disturbed"].get<int64_t>() + (t.stats.runs - t.stats.kept);
                for (size_t r = 0; r < t.ms.size(); r++) {
                    j["run_ms"].push_back(t.ms[r]);
                    j["run_round"].push_back(t.round[r]);
                    j["run_pass"].push_back(pass);
                }
            }
            noise.reference_ms.push_back(g.back().stats.ms);
            done += g1 - g0;
            if (progress) {
                Progress p;
                p.done = static_cast<uint64_t>(done);
                p.total = static_cast<uint64_t>(total);
                char what[160];
                std::snprintf(what, sizeof what, "archs timed (pass %d of %d); %.1f%% of runs disturbed so far",
                              pass + 1, co.passes, noise.runs ? 100.0 * noise.disturbed / noise.runs : 0.0);
                p.what = what;
                check(progress(p), MOS_ABORTED, "stopped by the progress callback after ", done, " of ", total,
                      " archs timed; nothing written");
            }
        }
        noise.passes = pass + 1;
        const auto now = std::chrono::steady_clock::now();
        slowest_pass = std::max(slowest_pass, std::chrono::duration<double>(now - pass_start).count());
        if (pass > 0) {
            fit = joint_fit();
            noise.label_error = fit.residual / std::sqrt(static_cast<double>(pass + 1));
        }
        if (pass + 1 == co.passes) break;
        // Enough passes once the labels' estimated error (the fit's residual
        // over the square root of the passes) is below co.label_error: a
        // quiet machine stops early, a busy one uses every pass; or once
        // another pass would end past co.max_seconds.
        if (pass > 0 && noise.label_error <= co.label_error) noise.passes_ended = "steady";
        if (noise.passes_ended == "all" && co.max_seconds > 0 &&
            std::chrono::duration<double>(now - t0).count() + slowest_pass > co.max_seconds)
            noise.passes_ended = "time";
        if (noise.passes_ended != "all") {
            if (progress) {
                Progress p;
                p.done = p.total = static_cast<uint64_t>(total);
                char what[200];
                if (noise.passes_ended == "steady")
                    std::snprintf(what, sizeof what,
                                  "archs timed; labels steady (%.2f%% estimated error) after %d passes",
                                  100.0 * noise.label_error, pass + 1);
                else
                    std::snprintf(what, sizeof what,
                                  "archs timed; %d passes (another would end past %.0f s; estimated label "
                                  "error %.2f%%)",
                                  pass + 1, co.max_seconds, 100.0 * noise.label_error);
                p.what = what;
                check(progress(p), MOS_ABORTED, "stopped by the progress callback after ", pass + 1,
                      " passes; nothing written");
            }
            break;
        }
    }
    // Drift: sustained load slows a whole group down, which no statistic
    // within the group can see. With one pass the reference arch measures it:
    // an arch's latency is its ratio to the reference in its group times the
    // reference's latency in the quietest groups (10th percentile over the
    // groups). With more passes every arch ran in several groups, which ties
    // the groups together: log run time = log latency of the arch + log drift
    // of the group, fitted by least squares over all archs, the reference and
    // all groups (alternating means), the drift measured from the quietest
    // groups (10th percentile). (A two-way median polish over archs and
    // rounds inside a group fitted worse on this project's machine; the joint
    // fit over passes beat the reference's ratio: docs/search.md.)
    const size_t G = noise.reference_ms.size();
    std::vector<double> drift(G, 1.0);  // per group
    std::vector<double> level;          // per arch (with more than one pass)
    if (noise.passes > 1) {
        drift = std::move(fit.drift);
        level = std::move(fit.latency_ms);
    } else {
        const double ref_base = quantile(noise.reference_ms, 0.1);
        for (size_t g = 0; g < G; g++) drift[g] = noise.reference_ms[g] / ref_base;
    }
    std::string lines;
    for (size_t a = 0; a < rows.size(); a++) {
        std::vector<double> per_pass, raw;
        for (size_t k = 0; k < rel_group[a].size(); k++) {
            raw.push_back(rows[a]["raw_ms"][k].get<double>());
            per_pass.push_back(co.correct_drift ? raw.back() / drift[rel_group[a][k]] : raw.back());
        }
        double ms = 0;
        if (!co.correct_drift) {
            ms = combine_passes(raw);
        } else if (noise.passes > 1) {
            ms = level[a];
        } else {
            ms = per_pass[0];
        }
        rows[a]["latency_ms"] = ms;
        rows[a]["pass_ms"] = per_pass;
        rows[a]["pass_group"] = rel_group[a];
        rows[a]["drift"] = ms / combine_passes(raw);
        lines += rows[a].dump() + "\n";
    }
    noise.median_spread = quantile(spreads, 0.5);
    noise.p90_spread = quantile(spreads, 0.9);
    double s = 0, s2 = 0;
    for (double x : noise.reference_ms) {
        s += x;
        s2 += x * x;
    }
    const double m = s / noise.reference_ms.size();
    noise.reference_cv = m > 0 ? std::sqrt(std::max(0.0, s2 / noise.reference_ms.size() - m * m)) / m : 0.0;

    std::map<std::string, double> ops;
    if (co.op_rounds > 0) ops = time_decode_ops(space_decode_ops(space, vocab, protocol), co.op_rounds, seed);
    noise.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    nlohmann::ordered_json head;
    head["format"] = kFormat;
    head["version"] = kVersion;
    head["machine"] = machine_name();
    head["threads"] = num_threads();
    head["precision"] = latency_precision(protocol);
    head["vocab"] = vocab;
    head["protocol"] = latency_protocol_json(protocol);
    head["space"] = nlohmann::ordered_json::parse(space_to_json(space));
    head["collection"] = {{"order", "interleaved"}, {"clock", run_clock_name(run_clock())}, {"group", group}, {"tolerance", co.tolerance},
                          {"max_redo", co.max_redo}, {"passes", co.passes}, {"passes_run", noise.passes}, {"passes_ended", noise.passes_ended},
                          {"label_error_target", co.label_error}, {"max_seconds", co.max_seconds},
                          {"drift_correction", !co.correct_drift ? "none" : noise.passes > 1 ? "joint" : "reference"},
                          {"reference", nlohmann::ordered_json::parse(arch_to_json(reference))}};
    head["noise"] = {{"runs", noise.runs},
                     {"disturbed", noise.disturbed},
                     {"redone", noise.redone},
                     {"median_spread", noise.median_spread},
                     {"p90_spread", noise.p90_spread},
                     {"reference_cv", noise.reference_cv},
                     {"label_error", noise.label_error},
                     {"reference_ms", noise.reference_ms},
                     {"seconds", noise.seconds}};
    nlohmann::ordered_json jops = nlohmann::ordered_json::object();
    for (const auto &kv : ops) jops[kv.first] = kv.second;
    head["operations"] = jops;
    const std::string out = head.dump() + "\n" + lines;
    write_file_atomic(path, out.data(), out.size());
    return noise;
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
    const LatencyPredictor p = train_predictor(d, opt, &r);
    save_predictor(out_path, p, r);
    return r;
}

}  // namespace mos
