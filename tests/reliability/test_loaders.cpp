// tests/reliability/test_loaders.cpp: the supernet, model, latency-dataset and
// predictor readers against hostile files (docs/reliability.md, "Findings"):
// non-finite weights are refused naming the tensor, a small file whose
// configuration asks for gigabytes is refused before the network is allocated
// (peak memory of a child process measured), numbers where integers belong are
// refused naming the field, and the softmax exponential survives NaN.
// Arguments: the fuzz seed corpus folder (tests/fuzz/corpus).
#include "rel_common.hpp"

#include <sys/resource.h>
#include <sys/wait.h>

#include <cmath>
#include <limits>

#include "io/safetensors.hpp"
#include "kernels/fast_exp.hpp"
#include "model/bundle.hpp"
#include "search/latency.hpp"
#include "search/latency_data.hpp"

namespace {

std::string g_corpus;

std::vector<uint8_t> file_bytes(const std::string &path) {
    const std::string s = read_all(path);
    return std::vector<uint8_t>(s.begin(), s.end());
}

// Rewrites a safetensors file: metadata edited by `meta` (checksum dropped, the
// writer adds a fresh one), tensors by `tensor` (name, F32 values in place).
template <typename M, typename T>
std::vector<uint8_t> rewrite(const std::vector<uint8_t> &in, M &&meta, T &&tensor) {
    const mos::SafeTensors st = mos::SafeTensors::parse(in.data(), in.size(), "seed");
    mos::SafeTensorsWriter w;
    for (const auto &kv : st.metadata()) {
        if (kv.first == "checksum") continue;
        std::string v = kv.second;
        meta(kv.first, v);
        w.set_metadata(kv.first, v);
    }
    std::vector<std::vector<uint8_t>> keep;
    for (const mos::TensorInfo &t : st.tensors()) {
        keep.emplace_back(st.bytes(t), st.bytes(t) + t.nbytes());
        if (t.dtype == mos::DType::F32)
            tensor(t.name, reinterpret_cast<float *>(keep.back().data()), t.nbytes() / sizeof(float));
        w.add(t.name, t.dtype, t.shape, keep.back().data(), keep.back().size());
    }
    return w.to_bytes();
}

void replace_all(std::string &s, const std::string &from, const std::string &to) {
    for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size())) s.replace(p, from.size(), to);
}

void exp_nonpos_survives_nan(void **) {
    const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
    // NaN is clamped to -87 like the 8-lane twin does (kernels/simd.hpp).
    assert_true(mos::kern::exp_nonpos(nan) == mos::kern::exp_nonpos(-87.0f));
    assert_true(mos::kern::exp_nonpos(-nan) == mos::kern::exp_nonpos(-87.0f));
    assert_true(mos::kern::exp_nonpos(-inf) == mos::kern::exp_nonpos(-87.0f));
    assert_true(mos::kern::exp_nonpos(inf) == 1.0f);
    assert_true(mos::kern::exp_nonpos(0.0f) == 1.0f);
    assert_true(std::fabs(mos::kern::exp_nonpos(-1.0f) - std::exp(-1.0f)) < 1e-6f);
}

// One NaN, +inf or -inf anywhere in a model, a supernet or its Adam moments is
// refused with MOS_FORMAT naming the tensor.
void nonfinite_weights_refused(void **) {
    const float bad[3] = {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                          -std::numeric_limits<float>::infinity()};
    struct Seed {
        const char *file;
        bool model;
    };
    const Seed seeds[] = {{"none_model_smallest", true}, {"neuron_model_largest", true}, {"none_supernet", false},
                          {"neuron_supernet", false}};
    for (const Seed &s : seeds) {
        const std::vector<uint8_t> good = file_bytes(g_corpus + "/checkpoint/" + s.file);
        // The untouched file loads.
        if (s.model)
            mos::model_from_bytes(good.data(), good.size(), s.file);
        else
            mos::supernet_from_bytes(good.data(), good.size(), s.file);
        const mos::SafeTensors st = mos::SafeTensors::parse(good.data(), good.size(), s.file);
        // The first, a middle and the last F32 tensor, each at its last element.
        std::vector<std::string> names;
        for (const mos::TensorInfo &t : st.tensors())
            if (t.dtype == mos::DType::F32 && t.nbytes() > 0) names.push_back(t.name);
        assert_true(names.size() >= 3);
        for (const std::string &victim : {names.front(), names[names.size() / 2], names.back()}) {
            for (float v : bad) {
                const std::vector<uint8_t> f = rewrite(
                    good, [](const std::string &, std::string &) {},
                    [&](const std::string &name, float *x, size_t n) {
                        if (name == victim) x[n - 1] = v;
                    });
                const std::string want = "tensor '" + victim + "' holds";
                if (s.model)
                    expect_error([&] { mos::model_from_bytes(f.data(), f.size(), "m"); }, MOS_FORMAT,
                                 {want.c_str(), "weights must be finite"});
                else
                    expect_error([&] { mos::supernet_from_bytes(f.data(), f.size(), "s"); }, MOS_FORMAT,
                                 {want.c_str(), "weights must be finite"});
            }
        }
    }
}

// Loads `file` in a child process and returns its peak resident memory in
// MB; the load must fail with MOS_FORMAT and every fragment.
long child_peak_mb(const std::string &file, bool model, std::initializer_list<const char *> fragments) {
    fflush(stderr);
    const pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int rc = 3;
        try {
            if (model)
                mos::load_model(file);
            else
                mos::load_supernet(file);
            rc = 2;
        } catch (const mos::Error &e) {
            rc = 0;
            for (const char *f : fragments) rc = rc || std::strstr(e.what(), f) == nullptr;
            if (e.status() != MOS_FORMAT) rc = 1;
            if (rc) fprintf(stderr, "# status %d: %s\n", static_cast<int>(e.status()), e.what());
        } catch (...) {
        }
        _exit(rc);
    }
    int status = 0;
    struct rusage ru {};
    assert_int_equal(wait4(pid, &status, 0, &ru), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    return ru.ru_maxrss / 1024;
}

// The 11.8 kB file of the finding: a space that asks for 8192-wide layers
// beside the seed's tiny tensors. Before the fix the supernet loader
// allocated and zeroed 2.1 GB before comparing shapes.
void huge_config_small_file_refused_before_allocating(void **) {
    TempDir dir;
    const auto widen = [](const std::string &key, std::string &v) {
        if (key != "space" && key != "arch") return;
        if (key == "space") {
            replace_all(v, "\"embed_dim\": [2, 4]", "\"embed_dim\": [2, 4, 8192]");
            replace_all(v, "\"ffn_dim\": [2, 4]", "\"ffn_dim\": [2, 4, 8192]");
            replace_all(v, "\"ffn_dim\": [4]", "\"ffn_dim\": [4, 8192]");
        } else {
            replace_all(v, "\"embed_dim\": 2,", "\"embed_dim\": 8192,");
            replace_all(v, "\"ffn_dim\": 2,", "\"ffn_dim\": 8192,");
        }
    };
    const auto same = [](const std::string &, float *, size_t) {};
    const std::vector<uint8_t> net = rewrite(file_bytes(g_corpus + "/checkpoint/none_supernet"), widen, same);
    const std::vector<uint8_t> model =
        rewrite(file_bytes(g_corpus + "/checkpoint/none_model_smallest"), widen, same);
    write_all(dir.file("net.st"), std::string(net.begin(), net.end()));
    write_all(dir.file("model.st"), std::string(model.begin(), model.end()));
    assert_true(net.size() < 64 * 1024 && model.size() < 64 * 1024);
    // The supernet's configuration needs over 1.5 GB of weights, the model's
    // (an 8192-wide encoder with an 8192-wide FFN) over 256 MB.
    const long net_mb = child_peak_mb(dir.file("net.st"), false, {"net.st", "has shape", "expected", "8192"});
    const long model_mb = child_peak_mb(dir.file("model.st"), true, {"model.st", "has shape", "expected", "8192"});
    fprintf(stderr, "# peak resident memory of a refused load: supernet %ld MB, model %ld MB\n", net_mb, model_mb);
    assert_true(net_mb < 200);
    assert_true(model_mb < 200);
}

// "threads": 1e300 (a float where an integer belongs) in a latency dataset
// and a predictor file: MOS_FORMAT naming the field, no undefined behaviour.
void float_where_int_belongs(void **) {
    expect_error([] { mos::read_latency_data(g_corpus + "/latency_data/bad_threads_float"); }, MOS_FORMAT,
                 {"threads", "expected an integer"});
    expect_error([] { mos::load_predictor(g_corpus + "/predictor/bad_threads_float", nullptr); }, MOS_FORMAT,
                 {"bad_threads_float", "threads", "expected an integer"});
    // An integer too big for an int is refused, not truncated.
    TempDir dir;
    const std::string lat = read_all(g_corpus + "/latency_data/valid");
    std::string big = lat;
    const size_t p = big.find("\"threads\":");
    assert_true(p != std::string::npos);
    const size_t e = big.find_first_of(",}", p);
    big.replace(p, e - p, "\"threads\": 4294967296000");
    write_all(dir.file("big"), big);
    expect_error([&] { mos::read_latency_data(dir.file("big")); }, MOS_FORMAT, {"threads", "allowed 1.."});
    // A latency beyond any timing, or negative, is refused.
    const size_t nl = lat.find('\n');
    assert_true(nl != std::string::npos);
    const std::string head = lat.substr(0, nl + 1);
    const std::string second = lat.substr(nl + 1, lat.find('\n', nl + 1) - nl);
    const size_t ms = second.find("\"latency_ms\":");
    assert_true(ms != std::string::npos);
    const size_t ms_end = second.find_first_of(",}", ms);
    for (const char *bad : {"1e300", "-1"}) {
        std::string line = second;
        line.replace(ms, ms_end - ms, std::string("\"latency_ms\": ") + bad);
        write_all(dir.file("ms"), head + line);
        expect_error([&] { mos::read_latency_data(dir.file("ms")); }, MOS_FORMAT, {"latency_ms", "outside"});
    }
}

}  // namespace

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: test_rel_loaders FUZZ_CORPUS_DIR\n");
        return 2;
    }
    g_corpus = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(exp_nonpos_survives_nan),
        cmocka_unit_test(nonfinite_weights_refused),
        cmocka_unit_test(huge_config_small_file_refused_before_allocating),
        cmocka_unit_test(float_where_int_belongs),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
