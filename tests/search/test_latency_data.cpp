// tests/search/test_latency_data.cpp: latency datasets and predictors
// (lib/search/latency_data, latency_model, predictor): collecting a small
// dataset interleaved and reading it back (header, noise report, operation
// table), in one pass and in three (per-pass fields, the drift fit over
// groups), the progress callback and stopping (nothing written), every
// MOS_FORMAT / MOS_VERSION rejection of a malformed file naming its line and
// field, robust run statistics, and the three predictor kinds fitted to
// synthetic latencies they must recover, saved and loaded back.
#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/rng.hpp"
#include "model/arch.hpp"
#include "model/space.hpp"
#include "search/latency_data.hpp"
#include "search/latency_model.hpp"
#include "search/predictor.hpp"

// cmocka (through the data tests' helpers: TempDir) last: it defines a fail() macro.
#include "../data/test_common.hpp"

namespace {

const char *kSpace = R"({"format": "mos-space", "version": 1, "name": "test-tiny", "qkv_dim": 16,
  "encoder": {"embed_dim": [12, 16], "layers": [1, 2], "ffn_dim": [8, 16], "heads": [2, 4]},
  "decoder": {"embed_dim": [12, 16], "layers": [1, 2], "ffn_dim": [8, 16], "self_heads": [2, 4],
              "cross_heads": [2, 4], "cross_k": [1]}})";

mos::LatencyOptions quick() {
    mos::LatencyOptions o;
    o.src_len = 4;
    o.steps = 3;
    o.beam = 2;
    o.warmup = 0;
    o.runs = 3;
    return o;
}

std::string compact(const std::string &s) {
    std::string out;
    for (char c : s)
        if (c != '\n') out += c;
    return out;
}

void write(const std::string &path, const std::string &text) {
    std::ofstream f(path, std::ios::binary);
    f << text;
}

// Reading `text` fails with `status` and a message holding every part.
void expect_rejected(const TempDir &dir, const std::string &text, mos_status status,
                     const std::vector<std::string> &parts) {
    const std::string path = dir.file("bad.jsonl");
    write(path, text);
    try {
        mos::read_latency_data(path);
        fail_msg("accepted: %s", text.c_str());
    } catch (const mos::Error &e) {
        if (e.status() != status) fail_msg("status %d for: %s (%s)", e.status(), text.c_str(), e.what());
        for (const std::string &p : parts)
            if (std::string(e.what()).find(p) == std::string::npos)
                fail_msg("message '%s' lacks '%s'", e.what(), p.c_str());
    }
}

void collect_and_read(void **) {
    TempDir dir;
    const mos::Space space = mos::space_from_json(kSpace);
    const std::string path = dir.file("lat.jsonl");
    std::vector<uint64_t> seen;
    mos::CollectOptions co;
    co.group = 3;
    co.op_rounds = 1;
    co.passes = 1;
    const mos::NoiseReport noise = mos::collect_latency_data(
        path, space, 20, 7, 7, quick(),
        [&](const mos::Progress &p) {
            assert_int_equal(p.total, 7);
            assert_non_null(std::strstr(p.what.c_str(), "archs timed"));
            seen.push_back(p.done);
            return true;
        },
        co);
    // Groups of 3: progress before the first and after 3, 6 and 7 archs.
    assert_int_equal(seen.size(), 4);
    assert_int_equal(seen.front(), 0);
    assert_int_equal(seen.back(), 7);
    assert_int_equal(noise.reference_ms.size(), 3);
    assert_true(noise.runs >= 7 * 3);
    assert_true(noise.disturbed <= noise.runs);
    const mos::LatencyDataset d = mos::read_latency_data(path);
    assert_true(d.space == space);
    assert_int_equal(d.protocol.src_len, 4);
    assert_int_equal(d.protocol.beam, 2);
    assert_int_equal(d.protocol.runs, 3);
    assert_int_equal(d.vocab, 20);
    assert_string_equal(d.precision.c_str(), "f32");
    assert_true(d.threads >= 1);
    assert_false(d.machine.empty());
    assert_int_equal(d.archs.size(), 7);
    assert_int_equal(d.latency_ms.size(), 7);
    assert_int_equal(d.noise.runs, noise.runs);
    // The first two samples are the largest and the smallest arch.
    assert_true(d.archs[0] == mos::arch_largest(space));
    assert_true(d.archs[1] == mos::arch_smallest(space));
    for (double ms : d.latency_ms) assert_true(ms > 0.0);
    // The operation table holds every operation any arch runs.
    assert_int_equal(d.op_us.size(), mos::space_decode_ops(space, 20, quick()).size());
    for (const mos::Arch &a : d.archs)
        for (const auto &kv : mos::decode_ops(space, a, 20, quick())) assert_int_equal(d.op_us.count(kv.first), 1);

    // Stopping writes nothing.
    const std::string stopped = dir.file("stopped.jsonl");
    try {
        mos::collect_latency_data(stopped, space, 20, 4, 7, quick(), [](const mos::Progress &p) { return p.done < 2; },
                                  co);
        fail_msg("not stopped");
    } catch (const mos::Error &e) {
        assert_int_equal(e.status(), MOS_ABORTED);
        assert_non_null(std::strstr(e.what(), "after 3 of 4"));
    }
    assert_int_equal(access(stopped.c_str(), F_OK), -1);

    // Arguments.
    for (int64_t vocab : {15, 1000001}) {
        try {
            mos::collect_latency_data(stopped, space, vocab, 4, 7, quick(), nullptr);
            fail_msg("vocab %lld accepted", static_cast<long long>(vocab));
        } catch (const mos::Error &e) {
            assert_int_equal(e.status(), MOS_INVALID_ARGUMENT);
        }
    }
    mos::CollectOptions bad;
    bad.group = 0;
    for (int64_t n : {0, 4}) {
        try {
            mos::collect_latency_data(stopped, space, 20, n, 7, quick(), nullptr, n ? bad : co);
            fail_msg("n %lld / group %d accepted", static_cast<long long>(n), n ? bad.group : co.group);
        } catch (const mos::Error &e) {
            assert_int_equal(e.status(), MOS_INVALID_ARGUMENT);
        }
    }
    for (int passes : {0, 17}) {
        mos::CollectOptions p = co;
        p.passes = passes;
        try {
            mos::collect_latency_data(stopped, space, 20, 4, 7, quick(), nullptr, p);
            fail_msg("passes %d accepted", passes);
        } catch (const mos::Error &e) {
            assert_int_equal(e.status(), MOS_INVALID_ARGUMENT);
            assert_non_null(std::strstr(e.what(), "outside 1..16"));
        }
    }
}

// The lines of a dataset file, each parsed (the header first).
std::vector<nlohmann::json> json_lines(const std::string &path) {
    std::ifstream in(path);
    std::vector<nlohmann::json> v;
    std::string line;
    while (std::getline(in, line))
        if (!line.empty()) v.push_back(nlohmann::json::parse(line));
    return v;
}

// Three passes: every arch timed once per pass, each time in another group,
// the label fitted over all of them (fit_group_drift).
void collect_in_passes(void **) {
    TempDir dir;
    const mos::Space space = mos::space_from_json(kSpace);
    const std::string path = dir.file("lat3.jsonl");
    mos::CollectOptions co;
    co.group = 3;
    co.op_rounds = 0;
    co.passes = 3;
    co.label_error = 0;  // every pass
    uint64_t last = 0, total = 0;
    const mos::NoiseReport noise = mos::collect_latency_data(path, space, 20, 7, 7, quick(),
                                                             [&](const mos::Progress &p) {
                                                                 assert_true(p.done >= last);
                                                                 last = p.done;
                                                                 total = p.total;
                                                                 return true;
                                                             },
                                                             co);
    assert_int_equal(total, 21);
    assert_int_equal(last, 21);
    assert_int_equal(noise.reference_ms.size(), 9);  // 3 groups per pass
    const mos::LatencyDataset d = mos::read_latency_data(path);
    assert_int_equal(d.archs.size(), 7);
    const std::vector<nlohmann::json> lines = json_lines(path);
    const nlohmann::json &head = lines.front();
    assert_int_equal(head["version"].get<int>(), 3);
    assert_int_equal(head["collection"]["passes"].get<int>(), 3);
    assert_string_equal(head["collection"]["drift_correction"].get<std::string>().c_str(), "joint");
    size_t a = 0;
    for (size_t i = 1; i < lines.size(); i++) {
        const nlohmann::json &j = lines[i];
        assert_int_equal(j["raw_ms"].size(), 3);
        assert_int_equal(j["pass_ms"].size(), 3);
        assert_int_equal(j["pass_group"].size(), 3);
        // One group per pass: the three are distinct.
        const auto g = j["pass_group"].get<std::vector<size_t>>();
        assert_true(g[0] != g[1] && g[1] != g[2] && g[0] != g[2]);
        assert_int_equal(j["run_ms"].size(), j["run_pass"].size());
        assert_true(j["latency_ms"].get<double>() == d.latency_ms[a]);
        a++;
    }
    assert_int_equal(a, 7);
    assert_int_equal(noise.passes, 3);
    assert_true(noise.label_error > 0);

    // Labels steady enough after two passes: no third.
    co.label_error = 1.0;
    last = 0;
    const mos::NoiseReport two = mos::collect_latency_data(path, space, 20, 7, 7, quick(),
                                                           [&](const mos::Progress &p) {
                                                               last = p.done;
                                                               return true;
                                                           },
                                                           co);
    assert_int_equal(two.passes, 2);
    assert_int_equal(two.reference_ms.size(), 6);
    assert_int_equal(last, 21);  // the last report says the collection is done
    const std::vector<nlohmann::json> lines2 = json_lines(path);
    const nlohmann::json &head2 = lines2.front();
    assert_int_equal(head2["collection"]["passes"].get<int>(), 3);
    assert_int_equal(head2["collection"]["passes_run"].get<int>(), 2);
    assert_string_equal(head2["collection"]["passes_ended"].get<std::string>().c_str(), "steady");
    assert_int_equal(lines2[1]["pass_ms"].size(), 2);

    // Out of time after the first pass: one pass, drift from the reference.
    co.label_error = 0;
    co.max_seconds = 1e-9;
    const mos::NoiseReport one = mos::collect_latency_data(path, space, 20, 7, 7, quick(), nullptr, co);
    assert_int_equal(one.passes, 1);
    assert_string_equal(one.passes_ended.c_str(), "time");
    const nlohmann::json head3 = json_lines(path).front();
    assert_int_equal(head3["collection"]["passes_run"].get<int>(), 1);
    assert_string_equal(head3["collection"]["drift_correction"].get<std::string>().c_str(), "reference");
    co.max_seconds = -1;
    try {
        mos::collect_latency_data(path, space, 20, 7, 7, quick(), nullptr, co);
        fail_msg("max_seconds -1 accepted");
    } catch (const mos::Error &e) {
        assert_int_equal(e.status(), MOS_INVALID_ARGUMENT);
    }
}

// The drift fit recovers latencies and drifts that follow the product
// exactly, counts drift from the quietest groups, and refuses holes.
void group_drift_fit(void **) {
    const size_t archs = 30, groups = 12;
    std::vector<double> lat(archs), drift(groups);
    mos::Rng rng(5);
    for (double &x : lat) x = 5.0 + 20.0 * rng.uniform();
    for (double &x : drift) x = 1.0 + 0.5 * rng.uniform();
    drift[3] = 1.0;  // among the quietest tenth
    drift[7] = 1.0;
    std::vector<mos::GroupTiming> obs;
    for (size_t p = 0; p < 3; p++)
        for (size_t a = 0; a < archs; a++) obs.push_back({a, (a * (p + 1) + p) % groups, 0.0});
    for (mos::GroupTiming &o : obs) o.ms = lat[o.arch] * drift[o.group];
    const mos::DriftFit fit = mos::fit_group_drift(obs, archs, groups);
    for (size_t a = 0; a < archs; a++) assert_true(std::fabs(fit.latency_ms[a] / lat[a] - 1.0) < 1e-6);
    for (size_t g = 0; g < groups; g++) assert_true(std::fabs(fit.drift[g] / drift[g] - 1.0) < 1e-6);
    for (const auto &bad : {std::vector<mos::GroupTiming>{{0, 0, 1.0}, {1, 5, 1.0}},  // arch 2 untimed
                            std::vector<mos::GroupTiming>{{0, 0, -1.0}, {1, 1, 1.0}, {2, 1, 1.0}}}) {
        try {
            mos::fit_group_drift(bad, 3, 2);
            fail_msg("accepted");
        } catch (const mos::Error &e) {
            assert_int_equal(e.status(), MOS_INVALID_ARGUMENT);
        }
    }
}

void run_statistics(void **) {
    // One run disturbed (+50%): left out, the median of the others kept.
    const mos::RunStats s = mos::run_stats({10.0, 10.2, 9.9, 15.0, 10.1}, 0.1);
    assert_int_equal(s.runs, 5);
    assert_int_equal(s.kept, 4);
    assert_true(std::fabs(s.ms - 10.05) < 1e-9);
    // Flagged runs are left out even when fast.
    const std::vector<char> flags = {0, 0, 1, 0, 0};
    const mos::RunStats f = mos::run_stats({10.0, 10.2, 9.0, 10.4, 10.1}, 0.1, &flags);
    assert_int_equal(f.kept, 4);
    assert_true(std::fabs(f.ms - 10.15) < 1e-9);
    try {
        mos::run_stats({}, 0.1);
        fail_msg("no runs accepted");
    } catch (const mos::Error &e) {
        assert_int_equal(e.status(), MOS_INVALID_ARGUMENT);
    }
}

std::string good_header(const std::string &space_json, const std::string &version = R"("version": 2)") {
    return R"({"format": "mos-latency-data", )" + version +
           R"(, "machine": "cpu", "threads": 2, "precision": "f32", "vocab": 20, "protocol": {"src_len": 4, "steps": 3, "beam": 2, "warmup": 0, "runs": 3}, "space": )" +
           space_json + "}\n";
}

void malformed_files(void **) {
    TempDir dir;
    const mos::Space space = mos::space_from_json(kSpace);
    const std::string sp = compact(mos::space_to_json(space));
    const std::string good = good_header(sp);
    const std::string arch = compact(mos::arch_to_json(mos::arch_smallest(space)));
    const std::string sample = R"({"latency_ms": 2.5, "arch": )" + arch + "}\n";

    // A good file with an empty line reads.
    write(dir.file("good.jsonl"), good + sample + "\n" + sample);
    const mos::LatencyDataset d = mos::read_latency_data(dir.file("good.jsonl"));
    assert_int_equal(d.archs.size(), 2);
    assert_string_equal(d.machine.c_str(), "cpu");
    assert_int_equal(d.threads, 2);
    assert_int_equal(d.vocab, 20);
    assert_true(d.op_us.empty());

    expect_rejected(dir, "", MOS_FORMAT, {"empty file"});
    expect_rejected(dir, "not json\n", MOS_FORMAT, {"line 1", "not JSON"});
    expect_rejected(dir, R"({"format": "other"})" "\n", MOS_FORMAT, {"line 1", "not a mos-latency-data header"});
    expect_rejected(dir, good_header(sp, R"("version": 1)"), MOS_VERSION, {"line 1", "version 1", "collect"});
    expect_rejected(dir, good_header(sp, R"("version": 4)"), MOS_VERSION, {"line 1", "version 4", "versions 2 and 3"});
    expect_rejected(dir, good_header(sp, R"("version": "2")"), MOS_FORMAT, {"line 1", "'version'"});
    expect_rejected(dir, R"({"format": "mos-latency-data", "version": 2})" "\n", MOS_FORMAT,
                    {"line 1", "'machine' is missing"});
    const auto replaced = [&](const std::string &from, const std::string &to) {
        std::string h = good;
        h.replace(h.find(from), from.size(), to);
        return h;
    };
    expect_rejected(dir, replaced(R"("threads": 2)", R"("threads": 0)"), MOS_FORMAT, {"line 1", "threads"});
    expect_rejected(dir, replaced(R"("precision": "f32")", R"("precision": "f64")"), MOS_FORMAT,
                    {"line 1", "precision", "f64"});
    expect_rejected(dir, replaced(R"("vocab": 20)", R"("vocab": 3)"), MOS_FORMAT, {"line 1", "vocab"});
    expect_rejected(dir, replaced(R"("beam": 2)", R"("beam": 0)"), MOS_FORMAT, {"line 1", "protocol.beam"});
    expect_rejected(dir, replaced(R"("qkv_dim": 16)", R"("qkv_dim": 15)"), MOS_FORMAT, {"line 1", "field 'space'"});
    expect_rejected(dir, good + sample + "[1]\n", MOS_FORMAT, {"line 3", "not a JSON object"});
    expect_rejected(dir, good + sample + R"({"latency_ms": 2})" "\n", MOS_FORMAT, {"line 3", "'arch' is missing"});
    expect_rejected(dir, good + R"({"latency_ms": 2, "arch": [1]})" "\n", MOS_FORMAT,
                    {"line 2", "field 'arch'"});
    {
        std::string bad_arch = arch;
        bad_arch.replace(bad_arch.find("12"), 2, "13");
        expect_rejected(dir, good + R"({"latency_ms": 2, "arch": )" + bad_arch + "}\n", MOS_FORMAT,
                        {"line 2", "field 'arch'"});
    }
    expect_rejected(dir, good + R"({"arch": )" + arch + "}\n", MOS_FORMAT, {"line 2", "'latency_ms' is missing"});
    expect_rejected(dir, good + R"({"latency_ms": "fast", "arch": )" + arch + "}\n", MOS_FORMAT,
                    {"line 2", "field 'latency_ms'"});
    expect_rejected(dir, good + R"({"latency_ms": 0, "arch": )" + arch + "}\n", MOS_FORMAT,
                    {"line 2", "field 'latency_ms'", "not positive"});
    expect_rejected(dir, good + sample + "{\n", MOS_FORMAT, {"line 3", "not JSON"});
    try {
        mos::read_latency_data(dir.file("missing.jsonl"));
        fail_msg("missing file read");
    } catch (const mos::Error &e) {
        assert_int_equal(e.status(), MOS_IO);
    }
}

// A dataset file of n sampled archs whose latency is the cost model's sum
// over a synthetic operation table (microseconds growing with each shape's
// size) plus 0.2 ms: every kind must learn it from the file.
std::string synthetic_dataset(const TempDir &dir, const mos::Space &space, int n) {
    const mos::LatencyOptions proto = quick();
    std::string ops = "{";
    std::map<std::string, double> table;
    for (const std::string &k : mos::space_decode_ops(space, 20, proto)) {
        const mos::DecodeOp op = mos::parse_decode_op(k);
        const double us = k == "copy" ? 0.001 : 0.5 + 1e-3 * static_cast<double>(op.m * std::max<int64_t>(op.k, 1) *
                                                                               std::max<int64_t>(op.n, 1));
        table[k] = us;
        ops += (ops.size() > 1 ? ", \"" : "\"") + k + "\": " + std::to_string(us);
    }
    ops += "}";
    std::string header = good_header(compact(mos::space_to_json(space)));
    header.insert(header.size() - 2, R"(, "operations": )" + ops);
    std::string text = header;
    mos::Rng rng(5);
    for (int i = 0; i < n; i++) {
        const mos::Arch a = mos::arch_sample(space, rng);
        double us = 0;
        for (const auto &kv : mos::decode_ops(space, a, 20, proto)) us += kv.second * table[kv.first];
        text += R"({"latency_ms": )" + std::to_string(0.2 + us / 1000.0) + R"(, "arch": )" +
                compact(mos::arch_to_json(a)) + "}\n";
    }
    const std::string path = dir.file("synthetic.jsonl");
    write(path, text);
    return path;
}

void predictor_kinds(void **) {
    TempDir dir;
    const mos::Space space = mos::space_from_json(kSpace);
    const std::string data = synthetic_dataset(dir, space, 60);
    const mos::LatencyDataset d = mos::read_latency_data(data);
    assert_false(d.op_us.empty());
    struct Case {
        mos::PredictorKind kind;
        double max_mape;
    };
    // The cost model is the truth here; the linear model on the rich
    // features nearly so; the MLP learns it roughly in few epochs.
    for (const Case c : {Case{mos::PredictorKind::Cost, 0.01}, Case{mos::PredictorKind::Linear, 3.0},
                         Case{mos::PredictorKind::Mlp, 25.0}}) {
        mos::PredictorTrainOptions o;
        o.kind = c.kind;
        o.epochs = 300;
        const std::string out = dir.file(std::string(mos::predictor_kind_name(c.kind)) + ".safetensors");
        const mos::PredictorReport r = mos::train_predictor_file(data, o, out);
        assert_int_equal(r.train_samples, 48);
        assert_int_equal(r.heldout_samples, 12);
        if (!(r.mape < c.max_mape)) fail_msg("%s: MAPE %.3f%%", mos::predictor_kind_name(c.kind), r.mape);
        assert_true(r.max_ape >= r.mape);
        mos::PredictorReport back;
        const mos::LatencyPredictor p = mos::load_predictor(out, &back);
        assert_int_equal(static_cast<int>(p.kind), static_cast<int>(c.kind));
        assert_string_equal(p.machine.c_str(), "cpu");
        assert_string_equal(p.precision.c_str(), "f32");
        assert_int_equal(p.threads, 2);
        assert_int_equal(p.vocab, 20);
        assert_int_equal(p.protocol.steps, 3);
        assert_true(p.space == space);
        assert_true(back.mape == r.mape);
        assert_true(back.kendall_tau == r.kendall_tau);
        // The loaded predictor predicts what the trained one did.
        const mos::LatencyPredictor q = mos::train_predictor(d, o, nullptr);
        for (const mos::Arch &a : d.archs) assert_true(std::fabs(p.predict(a) - q.predict(a)) < 1e-4 * q.predict(a));
    }
    // Every kind on the same split.
    mos::PredictorTrainOptions o;
    o.epochs = 50;
    const std::vector<mos::PredictorComparison> cmp = mos::compare_predictors(d, o);
    assert_int_equal(cmp.size(), 5);

    // Errors: the cost model without an operation table, too few archs, bad options.
    write(dir.file("noops.jsonl"), good_header(compact(mos::space_to_json(space))) +
                                       R"({"latency_ms": 2.5, "arch": )" +
                                       compact(mos::arch_to_json(mos::arch_smallest(space))) + "}\n");
    const mos::LatencyDataset few = mos::read_latency_data(dir.file("noops.jsonl"));
    mos::PredictorTrainOptions cost;
    cost.kind = mos::PredictorKind::Cost;
    mos::PredictorTrainOptions neg;
    neg.holdout = -0.1;
    for (const auto &[ds, opt] : std::vector<std::pair<const mos::LatencyDataset *, mos::PredictorTrainOptions>>{
             {&few, mos::PredictorTrainOptions()}, {&few, cost}, {&d, neg}}) {
        try {
            mos::train_predictor(*ds, opt, nullptr);
            fail_msg("trained");
        } catch (const mos::Error &e) {
            assert_int_equal(e.status(), MOS_INVALID_ARGUMENT);
        }
    }
    try {
        mos::parse_predictor_kind("forest");
        fail_msg("unknown kind parsed");
    } catch (const mos::Error &e) {
        assert_non_null(std::strstr(e.what(), "forest"));
    }
}

}  // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(collect_and_read),
        cmocka_unit_test(collect_in_passes),
        cmocka_unit_test(group_drift_fit),
        cmocka_unit_test(run_statistics),
        cmocka_unit_test(malformed_files),
        cmocka_unit_test(predictor_kinds),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
