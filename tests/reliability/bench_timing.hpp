// tests/reliability/bench_timing.hpp: the timing loop of the reliability
// benchmarks (bench_checksum.cpp, bench_load.cpp): best of three runs, wall
// and CPU seconds. On a shared machine the CPU time is the steadier figure.
#pragma once

#include <algorithm>
#include <chrono>
#include <ctime>
#include <functional>

namespace {

// The least wall and the least CPU seconds of three runs of f (each minimum
// taken on its own).
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
        best.wall = std::min(best.wall, wall);
        best.cpu = std::min(best.cpu, cpu);
    }
    return best;
}

}  // namespace
