// tests/reliability/bench_load.cpp: what refusing non-finite weights costs a
// supernet load (docs/reliability.md). Makes a supernet of a preset space
// (default hat-wmt, neuron routing, 2 experts, vocabulary 8000), saves it,
// then times (warm page cache, best of 3) the library's load_supernet, which
// checks every weight, against the same steps without the check: read_file,
// the Supernet constructor, and a plain memcpy of every tensor (the loader as
// it was before the check).
//
// usage: bench_rel_load [PRESET]   (the file goes to $TMPDIR or /tmp, removed after)
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <string>

#include "io/safetensors.hpp"
#include "model/bundle.hpp"

namespace {

struct Time {
    double wall = 1e30, cpu = 1e30;
};

Time best_of_3(const std::function<void()> &f) {
    Time best;
    for (int i = 0; i < 3; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        const std::clock_t c0 = std::clock();
        f();
        const double cpu = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
        const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (cpu < best.cpu) best = {wall, cpu};
    }
    return best;
}

}  // namespace

int main(int argc, char **argv) {
    const std::string preset = argc > 1 ? argv[1] : "hat-wmt";
    const char *base = getenv("TMPDIR");
    const std::string path = std::string(base && *base ? base : "/tmp") + "/mos-bench-load-" +
                             std::to_string(getpid()) + ".safetensors";
    try {
        mos::SupernetConfig cfg;
        cfg.vocab = 8000;
        cfg.routing = mos::Routing::Neuron;
        cfg.experts = 2;
        mos::save_supernet(path, mos::make_supernet(mos::space_preset(preset), cfg));
        size_t floats = 0;
        const Time with_check = best_of_3([&] {
            const mos::SupernetBundle b = mos::load_supernet(path);
            floats = b.net->param_floats();
        });
        const Time without = best_of_3([&] {
            const mos::SafeTensors f = mos::SafeTensors::read_file(path);
            mos::SupernetConfig c = mos::supernet_config_from_json(*f.meta("config"));
            const mos::Space space = mos::space_from_json(*f.meta("space"));
            c.dims = mos::super_dims(space);
            mos::Supernet net(c);
            for (const mos::ParamInfo &p : net.table().all())
                std::memcpy(net.param(p.name), f.bytes(*f.find(p.name)), p.numel * sizeof(float));
        });
        std::printf("supernet %s: %.1f MB of weights\n", preset.c_str(), floats * 4.0 / 1e6);
        std::printf("load_supernet (checks every weight): %.1f ms CPU, %.1f ms wall\n", with_check.cpu * 1e3,
                    with_check.wall * 1e3);
        std::printf("same steps, plain memcpy:            %.1f ms CPU, %.1f ms wall\n", without.cpu * 1e3,
                    without.wall * 1e3);
        std::printf("difference: %+.1f ms CPU (%+.1f%%)\n", (with_check.cpu - without.cpu) * 1e3,
                    100.0 * (with_check.cpu - without.cpu) / without.cpu);
    } catch (const std::exception &e) {
        std::fprintf(stderr, "bench_rel_load: %s\n", e.what());
        unlink(path.c_str());
        return 1;
    }
    unlink(path.c_str());
    return 0;
}
