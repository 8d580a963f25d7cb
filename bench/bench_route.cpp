// bench/bench_route.cpp: how long mos_route takes to specialise a subnet (mix
// every expert, slice every weight, copy into a dense model), per space,
// routing mode and arch, on a given thread count (target: under 5 ms for the
// largest `small` arch on one core). One JSON object per line with the median
// of the timed runs, next to the time of copying the same number of weights
// (memcpy), the floor any routing must pay.
//
//   mos-bench-route [--threads N] [--runs N]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "backend/threads.hpp"
#include "core/error.hpp"
#include "model/bundle.hpp"
#include "tensor/arena.hpp"

int main(int argc, char **argv) {
    int threads = 1, runs = 15;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--threads")) threads = std::atoi(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--runs")) runs = std::atoi(argv[i + 1]);
        else {
            std::fprintf(stderr, "usage: mos-bench-route [--threads N] [--runs N]\n");
            return 2;
        }
    }
    if (threads < 1 || runs < 1) return 2;
    try {
        mos::set_num_threads(threads);
        struct Case {
            const char *space;
            mos::Routing r;
            int m;
            int vocab;
        };
        const Case cases[] = {{"small", mos::Routing::None, 1, 8000},   {"small", mos::Routing::Layer, 2, 8000},
                              {"small", mos::Routing::Neuron, 2, 8000}, {"small", mos::Routing::Neuron, 4, 8000},
                              {"hat-wmt", mos::Routing::Neuron, 2, 32000}};
        for (const Case &c : cases) {
            const mos::Space space = mos::space_preset(c.space);
            mos::SupernetConfig cfg;
            cfg.routing = c.r;
            cfg.experts = c.m;
            cfg.vocab = c.vocab;
            const mos::SupernetBundle b = mos::make_supernet(space, cfg);
            for (const char *which : {"largest", "smallest"}) {
                const mos::Arch arch = std::strcmp(which, "largest") == 0 ? mos::arch_largest(space)
                                                                          : mos::arch_smallest(space);
                std::vector<double> ms;
                size_t weights = 0;
                for (int i = 0; i < runs + 2; i++) {
                    const auto t0 = std::chrono::steady_clock::now();
                    const mos::ModelBundle m = mos::route_bundle(b, arch);
                    const double t = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                                         .count();
                    weights = m.model->num_weights();
                    if (i >= 2) ms.push_back(t);
                }
                std::sort(ms.begin(), ms.end());
                // The floor: copying that many floats into a fresh arena, allocated
                // the way a routed model's weights are.
                std::vector<double> cp;
                const std::vector<float> src(weights, 1.0f);
                for (int i = 0; i < runs; i++) {
                    const auto t0 = std::chrono::steady_clock::now();
                    mos::Arena dst("copy", weights);
                    float *d = dst.alloc(weights);
                    std::memcpy(d, src.data(), weights * sizeof(float));
                    cp.push_back(
                        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
                    if (d[weights / 2] != 1.0f) return 1;
                }
                std::sort(cp.begin(), cp.end());
                std::printf("{\"space\": \"%s\", \"routing\": \"%s\", \"experts\": %d, \"arch\": \"%s\", "
                            "\"threads\": %d, \"weights\": %zu, \"route_ms\": %.3f, \"copy_ms\": %.3f, "
                            "\"ratio\": %.2f}\n",
                            c.space, mos::routing_name(c.r), c.m, which, threads, weights, ms[ms.size() / 2],
                            cp[cp.size() / 2], ms[ms.size() / 2] / cp[cp.size() / 2]);
                std::fflush(stdout);
            }
        }
    } catch (const mos::Error &e) {
        std::fprintf(stderr, "mos-bench-route: %s\n", e.what());
        return 1;
    }
    return 0;
}
