// tests/golden/test_golden.cpp: the C++ supernet against the independent
// PyTorch reference (tests/golden/mos_reference.py) through the committed
// fixtures (tests/golden/make_fixtures.py): for each routing mode and three
// archs, the logits, the label-smoothed loss and the gradient of the mean loss
// with respect to every weight must match; and the routed dense model must give
// the supernet's logits and loss.
//
// Tolerances: logits and loss agree to 1e-4 relative (both sides are f32; the
// reference computes the loss in double); gradients to 2e-3 of each tensor's
// largest gradient plus 1e-5, since the summation orders differ.
//
// usage: test_golden FIXTURE_DIR
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "io/safetensors.hpp"
#include "model/arch.hpp"
#include "model/dense.hpp"
#include "model/space.hpp"
#include "model/supernet.hpp"

// cmocka last (it defines a fail() macro); its 1.1 headers carry no extern "C".
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
extern "C" {
#include <cmocka.h>
}

namespace {

std::string g_dir;

struct Fixture {
    mos::SafeTensors file;
    mos::Space space;
    mos::Arch arch;
    mos::SupernetConfig cfg;
};

const float *f32(const mos::SafeTensors &f, const std::string &name) {
    const mos::TensorInfo *t = f.find(name);
    if (!t || t->dtype != mos::DType::F32) {
        std::fprintf(stderr, "fixture lacks F32 tensor %s\n", name.c_str());
        return nullptr;
    }
    return reinterpret_cast<const float *>(f.bytes(*t));
}

std::vector<int32_t> i32(const mos::SafeTensors &f, const std::string &name, int64_t *rows, int64_t *cols) {
    const mos::TensorInfo *t = f.find(name);
    assert_non_null(t);
    assert_true(t->dtype == mos::DType::I32 && t->shape.size() == 2);
    *rows = static_cast<int64_t>(t->shape[0]);
    *cols = static_cast<int64_t>(t->shape[1]);
    std::vector<int32_t> v(t->numel());
    std::memcpy(v.data(), f.bytes(*t), t->nbytes());
    return v;
}

Fixture load(const std::string &name) {
    Fixture fx{mos::SafeTensors::read_file(g_dir + "/" + name + ".safetensors"), {}, {}, {}};
    fx.file.check_format("mos-golden", 1);
    fx.space = mos::space_from_json(*fx.file.meta("space"));
    fx.arch = mos::arch_from_json(fx.space, *fx.file.meta("arch"));
    fx.cfg.dims = mos::super_dims(fx.space);
    fx.cfg.vocab = std::stoll(*fx.file.meta("vocab"));
    fx.cfg.routing = mos::parse_routing(*fx.file.meta("routing"));
    fx.cfg.experts = std::stoll(*fx.file.meta("experts"));
    fx.cfg.router_hidden = std::stoll(*fx.file.meta("router_hidden"));
    fx.cfg.pad_id = static_cast<int32_t>(std::stol(*fx.file.meta("pad")));
    fx.cfg.label_smoothing = std::stof(*fx.file.meta("label_smoothing"));
    return fx;
}

// Max |a - b| relative to max(|b|) over n values.
double rel_err(const float *a, const float *b, size_t n, double *scale_out = nullptr) {
    double err = 0.0, scale = 0.0;
    for (size_t i = 0; i < n; i++) {
        err = std::max(err, std::fabs(static_cast<double>(a[i]) - b[i]));
        scale = std::max(scale, std::fabs(static_cast<double>(b[i])));
    }
    if (scale_out) *scale_out = scale;
    return err;
}

void check_fixture(const std::string &name) {
    Fixture fx = load(name);
    mos::Supernet net(fx.cfg);
    for (const mos::ParamInfo &p : net.table().all()) {
        const float *w = f32(fx.file, "param." + p.name);
        assert_non_null(w);
        std::memcpy(net.param(p.name), w, p.numel * sizeof(float));
    }
    int64_t B, S, B2, T, B3, T3;
    std::vector<int32_t> src = i32(fx.file, "input.src", &B, &S);
    std::vector<int32_t> tin = i32(fx.file, "input.tgt_in", &B2, &T);
    std::vector<int32_t> tout = i32(fx.file, "input.tgt_out", &B3, &T3);
    mos::Batch batch{B, S, T, src.data(), tin.data(), tout.data()};
    const mos::ArchDims dims = mos::arch_dims(fx.space, fx.arch);

    mos::Workspace ws(net, B * S, B * T, S > T ? S : T);
    mos::LossStats loss = net.forward(ws, dims, batch, false, 0);
    const double ref_loss = std::stod(*fx.file.meta("loss_sum"));
    const int64_t ref_tokens = std::stoll(*fx.file.meta("tokens"));
    std::printf("# %s: loss %.6f (reference %.6f), %lld tokens\n", name.c_str(), loss.loss_sum, ref_loss,
                static_cast<long long>(loss.tokens));
    assert_int_equal(loss.tokens, ref_tokens);
    assert_true(std::fabs(loss.loss_sum - ref_loss) <= 1e-4 * std::fabs(ref_loss));

    const size_t nlog = static_cast<size_t>(B * T * fx.cfg.vocab);
    const float *ref_logits = f32(fx.file, "out.logits");
    double scale = 0.0;
    double err = rel_err(net.logits(ws), ref_logits, nlog, &scale);
    std::printf("# %s: logits max err %.3g (scale %.3g)\n", name.c_str(), err, scale);
    assert_true(err <= 1e-4 * scale + 1e-5);

    // The routed dense model gives the same logits, step by step through its cache.
    mos::DenseModel dense = mos::route(net, dims);
    std::vector<float> dl = mos::dense_teacher_forced_logits(dense, batch);
    err = rel_err(dl.data(), ref_logits, nlog, &scale);
    std::printf("# %s: routed model logits max err %.3g\n", name.c_str(), err);
    assert_true(err <= 1e-4 * scale + 1e-5);
    // ...and the same loss and NLL, teacher-forced through the cache
    // (dense_teacher_forced_loss, the loop of mos_model_evaluate).
    const mos::LossStats dloss = mos::dense_teacher_forced_loss(dense, batch, fx.cfg.label_smoothing);
    std::printf("# %s: routed model loss %.6f, nll %.6f (supernet %.6f, %.6f)\n", name.c_str(), dloss.loss_sum,
                dloss.nll_sum, loss.loss_sum, loss.nll_sum);
    assert_int_equal(dloss.tokens, loss.tokens);
    assert_true(std::fabs(dloss.loss_sum - ref_loss) <= 1e-4 * std::fabs(ref_loss));
    assert_true(std::fabs(dloss.nll_sum - loss.nll_sum) <= 1e-4 * std::fabs(loss.nll_sum));

    net.zero_grad();
    net.backward(ws, 1.0f / static_cast<float>(loss.tokens));
    int bad = 0;
    for (const mos::ParamInfo &p : net.table().all()) {
        const float *g = f32(fx.file, "grad." + p.name);
        assert_non_null(g);
        double gscale = 0.0;
        const double gerr = rel_err(net.grad(p.name), g, p.numel, &gscale);
        if (gerr > 2e-3 * gscale + 1e-5) {
            std::fprintf(stderr, "%s: gradient of %s differs: max err %.3g, scale %.3g\n", name.c_str(),
                         p.name.c_str(), gerr, gscale);
            bad++;
        }
    }
    assert_int_equal(bad, 0);
}

#define GOLDEN(routing, arch)                                              \
    void golden_##routing##_##arch(void **) { check_fixture(#routing "_" #arch); }
GOLDEN(none, largest)
GOLDEN(none, smallest)
GOLDEN(none, mixed)
GOLDEN(layer, largest)
GOLDEN(layer, smallest)
GOLDEN(layer, mixed)
GOLDEN(neuron, largest)
GOLDEN(neuron, smallest)
GOLDEN(neuron, mixed)

}  // namespace

int main(int argc, char **argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s FIXTURE_DIR\n", argv[0]);
        return 2;
    }
    g_dir = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(golden_none_largest),   cmocka_unit_test(golden_none_smallest),
        cmocka_unit_test(golden_none_mixed),     cmocka_unit_test(golden_layer_largest),
        cmocka_unit_test(golden_layer_smallest), cmocka_unit_test(golden_layer_mixed),
        cmocka_unit_test(golden_neuron_largest), cmocka_unit_test(golden_neuron_smallest),
        cmocka_unit_test(golden_neuron_mixed),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
