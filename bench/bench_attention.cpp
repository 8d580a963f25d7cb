// bench/bench_attention.cpp: time of the attention kernel's forward and backward
// (mos::attention_forward / attention_backward) on one shape.
//
//   bench_attention [B T S Q heads [p_drop [backend [threads [causal]]]]]
//   defaults: 64 30 30 512 8 0.1 onednn 0(all cores) 0
//
// Prints wall and process-CPU milliseconds per call (median of 5 runs of
// `iters` calls) and GFLOP/s counted as 4*B*T*S*Q flops forward (QK^T and PV)
// and twice that backward, the masked half of causal scores included.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <random>
#include <vector>

#include "backend/gemm.hpp"
#include "backend/threads.hpp"
#include "core/error.hpp"
#include "kernels/attention.hpp"

namespace {

double cpu_seconds() {
    timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

double wall_seconds() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct Timing {
    double wall_ms, cpu_ms;
};

template <typename F>
Timing time_median(int iters, F &&f) {
    std::vector<double> wall, cpu;
    for (int rep = 0; rep < 5; rep++) {
        const double w0 = wall_seconds(), c0 = cpu_seconds();
        for (int i = 0; i < iters; i++) f();
        wall.push_back((wall_seconds() - w0) * 1e3 / iters);
        cpu.push_back((cpu_seconds() - c0) * 1e3 / iters);
    }
    std::sort(wall.begin(), wall.end());
    std::sort(cpu.begin(), cpu.end());
    return {wall[2], cpu[2]};
}

}  // namespace

int main(int argc, char **argv) {
    try {
        auto arg = [&](int i, long dflt) { return argc > i ? std::atol(argv[i]) : dflt; };
        const mos::AttentionShape s{arg(1, 64), arg(2, 30), arg(3, 30), arg(4, 512), arg(5, 8), arg(9, 0) != 0};
        const float p = argc > 6 ? static_cast<float>(std::atof(argv[6])) : 0.1f;
        if (argc > 7) mos::set_default_backend(mos::parse_backend(argv[7]));
        mos::set_num_threads(static_cast<int>(arg(8, 0)));

        const size_t nq = static_cast<size_t>(s.B * s.T * s.Q), nk = static_cast<size_t>(s.B * s.S * s.Q);
        std::vector<float> q(nq), k(nk), v(nk), o(nq), dO(nq), dq(nq), dk(nk), dv(nk);
        std::vector<float> P(static_cast<size_t>(s.B * s.heads * s.T * s.S));
        std::vector<float> scratch(mos::attention_backward_scratch(s));
        std::vector<uint8_t> kmask(static_cast<size_t>(s.B * s.S), 0);
        for (int64_t b = 0; b < s.B; b++)  // ragged batch: sentence b has b % 5 padded keys
            for (int64_t j = s.S - b % 5; j < s.S; j++)
                if (j > 0) kmask[static_cast<size_t>(b * s.S + j)] = 1;
        std::mt19937 rng(1);
        std::uniform_real_distribution<float> d(-1.0f, 1.0f);
        for (auto *x : {&q, &k, &v, &dO})
            for (float &f : *x) f = d(rng);

        auto fwd = [&] {
            mos::attention_forward(o.data(), P.data(), q.data(), k.data(), v.data(), kmask.data(), s, p, 1, 2);
        };
        auto bwd = [&] {
            mos::attention_backward(dq.data(), dk.data(), dv.data(), scratch.data(), dO.data(), P.data(), q.data(),
                                    k.data(), v.data(), s, p, 1, 2);
        };
        fwd();
        bwd();  // first calls create the GEMM primitives
        const double flops = 4.0 * s.B * s.T * s.S * s.Q;
        const int iters = std::max(1, static_cast<int>(2e9 / flops));
        const Timing f = time_median(iters, fwd), b = time_median(iters, bwd);
        std::printf("attention B=%lld T=%lld S=%lld Q=%lld heads=%d causal=%d p=%.2f backend=%s threads=%d\n",
                    (long long)s.B, (long long)s.T, (long long)s.S, (long long)s.Q, (int)s.heads, (int)s.causal, p,
                    mos::backend_name(mos::default_backend()), mos::num_threads());
        std::printf("  forward  %8.3f ms wall %8.3f ms cpu  %6.1f GFLOP/s (wall)\n", f.wall_ms, f.cpu_ms,
                    flops / f.wall_ms * 1e-6);
        std::printf("  backward %8.3f ms wall %8.3f ms cpu  %6.1f GFLOP/s (wall)\n", b.wall_ms, b.cpu_ms,
                    2 * flops / b.wall_ms * 1e-6);
    } catch (const mos::Error &e) {
        std::fprintf(stderr, "bench_attention: %s\n", e.what());
        return 1;
    }
    return 0;
}
