// tests/search/test_latency_data.cpp: latency datasets (lib/search/latency_data):
// collecting a small dataset and reading it back, the progress callback and
// stopping (nothing written), every MOS_FORMAT / MOS_VERSION rejection of a
// malformed file naming its line and field, and fitting a predictor from a
// dataset file (the predictor file keeps the dataset's machine and protocol).
#include <fstream>
#include <string>
#include <vector>

#include "model/space.hpp"
#include "search/latency_data.hpp"

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
    o.runs = 1;
    return o;
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
    mos::collect_latency_data(path, space, 20, 4, 7, quick(), [&](const mos::Progress &p) {
        assert_int_equal(p.total, 4);
        assert_string_equal(p.what.c_str(), "archs timed");
        seen.push_back(p.done);
        return true;
    });
    assert_int_equal(seen.size(), 4);
    assert_int_equal(seen.back(), 4);
    const mos::LatencyDataset d = mos::read_latency_data(path);
    assert_true(d.space == space);
    assert_int_equal(d.protocol.src_len, 4);
    assert_int_equal(d.protocol.beam, 2);
    assert_int_equal(d.protocol.runs, 1);
    assert_true(d.threads >= 1);
    assert_false(d.machine.empty());
    assert_int_equal(d.features.size(), 4);
    assert_int_equal(d.latency_ms.size(), 4);
    // The first two samples are the largest and the smallest arch.
    const std::vector<float> largest = mos::arch_encode(space, mos::arch_largest(space));
    assert_memory_equal(d.features[0].data(), largest.data(), largest.size() * sizeof(float));
    for (double ms : d.latency_ms) assert_true(ms > 0.0);

    // Stopping writes nothing.
    const std::string stopped = dir.file("stopped.jsonl");
    try {
        mos::collect_latency_data(stopped, space, 20, 4, 7, quick(), [](const mos::Progress &p) { return p.done < 2; });
        fail_msg("not stopped");
    } catch (const mos::Error &e) {
        assert_int_equal(e.status(), MOS_ABORTED);
        assert_non_null(std::strstr(e.what(), "after 2 of 4"));
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
    try {
        mos::collect_latency_data(stopped, space, 20, 0, 7, quick(), nullptr);
        fail_msg("n 0 accepted");
    } catch (const mos::Error &e) {
        assert_int_equal(e.status(), MOS_INVALID_ARGUMENT);
    }
}

void malformed_files(void **) {
    TempDir dir;
    const mos::Space space = mos::space_from_json(kSpace);
    const std::string sp = mos::space_to_json(space);
    std::string compact;
    for (char c : sp)
        if (c != '\n') compact += c;
    const std::string proto = R"({"src_len": 4, "steps": 3, "beam": 2, "warmup": 0, "runs": 1})";
    auto header = [&](const std::string &extra_or_version) {
        return R"({"format": "mos-latency-data", )" + extra_or_version + R"(, "machine": "cpu", "threads": 2, "protocol": )" +
               proto + R"(, "space": )" + compact + "}\n";
    };
    const std::string good = header(R"("version": 1)");
    const std::string f10 = "[0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]";
    const std::string sample = R"({"features": )" + f10 + R"(, "latency_ms": 2.5})" "\n";

    // A good file with an empty line reads.
    write(dir.file("good.jsonl"), good + sample + "\n" + sample);
    const mos::LatencyDataset d = mos::read_latency_data(dir.file("good.jsonl"));
    assert_int_equal(d.features.size(), 2);
    assert_string_equal(d.machine.c_str(), "cpu");
    assert_int_equal(d.threads, 2);

    expect_rejected(dir, "", MOS_FORMAT, {"empty file"});
    expect_rejected(dir, "not json\n", MOS_FORMAT, {"line 1", "not JSON"});
    expect_rejected(dir, R"({"format": "other"})" "\n", MOS_FORMAT, {"line 1", "not a mos-latency-data header"});
    expect_rejected(dir, header(R"("version": 2)"), MOS_VERSION, {"line 1", "version 2"});
    expect_rejected(dir, header(R"("version": "1")"), MOS_FORMAT, {"line 1", "'version'"});
    expect_rejected(dir, R"({"format": "mos-latency-data", "version": 1})" "\n", MOS_FORMAT,
                    {"line 1", "'machine' is missing"});
    {
        std::string h = good;
        h.replace(h.find(R"("threads": 2)"), 12, R"("threads": 0)");
        expect_rejected(dir, h, MOS_FORMAT, {"line 1", "threads"});
    }
    {
        std::string h = good;
        h.replace(h.find(R"("beam": 2)"), 9, R"("beam": 0)");
        expect_rejected(dir, h, MOS_FORMAT, {"line 1", "protocol.beam"});
    }
    {
        std::string h = good;
        h.replace(h.find(R"("qkv_dim": 16)"), 13, R"("qkv_dim": 15)");
        expect_rejected(dir, h, MOS_FORMAT, {"line 1", "field 'space'"});
    }
    expect_rejected(dir, good + sample + "[1]\n", MOS_FORMAT, {"line 3", "not a JSON object"});
    expect_rejected(dir, good + sample + R"({"latency_ms": 2})" "\n", MOS_FORMAT, {"line 3", "'features' is missing"});
    expect_rejected(dir, good + R"({"features": [1, 2], "latency_ms": 2})" "\n", MOS_FORMAT,
                    {"line 2", "field 'features'", "array of 10"});
    expect_rejected(dir, good + R"({"features": [1, 2, 3, 4, 5, 6, 7, 8, 9, "x"], "latency_ms": 2})" "\n",
                    MOS_FORMAT, {"line 2", "field 'features'", "not a number"});
    expect_rejected(dir, good + R"({"features": )" + f10 + "}\n", MOS_FORMAT, {"line 2", "'latency_ms' is missing"});
    expect_rejected(dir, good + R"({"features": )" + f10 + R"(, "latency_ms": "fast"})" "\n", MOS_FORMAT,
                    {"line 2", "field 'latency_ms'"});
    expect_rejected(dir, good + sample + "{\n", MOS_FORMAT, {"line 3", "not JSON"});
    try {
        mos::read_latency_data(dir.file("missing.jsonl"));
        fail_msg("missing file read");
    } catch (const mos::Error &e) {
        assert_int_equal(e.status(), MOS_IO);
    }
}

void predictor_from_file(void **) {
    TempDir dir;
    const mos::Space space = mos::space_from_json(kSpace);
    const std::string sp = mos::space_to_json(space);
    std::string compact;
    for (char c : sp)
        if (c != '\n') compact += c;
    std::string text = R"({"format": "mos-latency-data", "version": 1, "machine": "test cpu", "threads": 3, )"
                       R"("protocol": {"src_len": 4, "steps": 3, "beam": 2, "warmup": 0, "runs": 1}, "space": )" +
                       compact + "}\n";
    // Latency = 1 + sum of the features: a predictor learns it.
    mos::Rng rng(5);
    for (int i = 0; i < 30; i++) {
        std::string f = "[";
        double ms = 1.0;
        for (int k = 0; k < 10; k++) {
            const double v = 0.1 + 0.9 * rng.uniform();
            ms += v;
            f += (k ? ", " : "") + std::to_string(v);
        }
        text += R"({"features": )" + f + R"(], "latency_ms": )" + std::to_string(ms) + "}\n";
    }
    write(dir.file("lat.jsonl"), text);
    mos::PredictorTrainOptions o;
    o.epochs = 300;
    const mos::PredictorReport r = mos::train_predictor_file(dir.file("lat.jsonl"), o, dir.file("p.safetensors"));
    assert_int_equal(r.train_samples + r.heldout_samples, 30);
    assert_true(r.mape < 20.0);
    mos::PredictorReport back;
    const mos::LatencyPredictor p = mos::load_predictor(dir.file("p.safetensors"), &back);
    assert_string_equal(p.machine.c_str(), "test cpu");
    assert_int_equal(p.threads, 3);
    assert_int_equal(p.protocol.steps, 3);
    assert_true(mos::space_from_json(p.space_json) == space);
    assert_true(back.mape == r.mape);
}

}  // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(collect_and_read),
        cmocka_unit_test(malformed_files),
        cmocka_unit_test(predictor_from_file),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
