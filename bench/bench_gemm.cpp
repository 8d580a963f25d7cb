// bench/bench_gemm.cpp: mos-bench-gemm, the GEMM benchmark of the backends
// (docs/benchmarks.md).
//
// Output (stdout), one JSON object per line:
//   1. the machine's FMA peak measured in this run with an FMA loop (f32 FMA
//      and, where the CPU has avx512_bf16, the bf16 dot-product vdpbf16ps or,
//      where the process may use AMX tiles, tdpbf16ps if faster), for every
//      thread count benchmarked;
//   2. one line per (shape, backend, dtype, threads): GFLOP/s of the median of
//      several timed repetitions after warm-up, and its percentage of the
//      measured peak of the same dtype and thread count.
// The shapes are the GEMMs the model issues for the `small` and `hat-wmt`
// presets: forward (x W^T), backward-data (dy W) and backward-weight (dy^T x)
// at 4096 tokens, and decode-time forwards at M = 1 and M = 5 (beam).
// A human-readable table goes to stderr unless --json-only.
#include <immintrin.h>
#include <omp.h>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "backend/gemm.hpp"
#include "backend/threads.hpp"
#include "core/cpu.hpp"
#include "core/error.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

// ---------------------------------------------------------------------------
// FMA peak. Each loop keeps independent accumulator chains: with a 4-cycle
// FMA latency and two FMA ports, at least 8 are needed to keep both busy. The
// AVX2 loop has 12: with its two constants they fit the 16 ymm registers (16
// chains spilled three of them, and the store-to-load round trips halved the
// measured peak on Zen 3). The multiplier is 1 - 2^-20 and the addend tiny, so
// values stay finite.

constexpr int kChains = 16;      // AVX-512: 32 zmm registers
constexpr int kChainsAvx2 = 12;  // AVX2: 16 ymm registers

__attribute__((target("avx512f"))) double fma_loop_avx512(int64_t iters) {
    __m512 acc[kChains];
    for (int i = 0; i < kChains; i++) acc[i] = _mm512_set1_ps(1.0f + 0.001f * i);
    const __m512 m = _mm512_set1_ps(0.99999905f), a = _mm512_set1_ps(1e-7f);
    for (int64_t it = 0; it < iters; it++)
#pragma GCC unroll 16
        for (int i = 0; i < kChains; i++) acc[i] = _mm512_fmadd_ps(acc[i], m, a);
    __m512 s = acc[0];
    for (int i = 1; i < kChains; i++) s = _mm512_add_ps(s, acc[i]);
    float out[16];
    _mm512_storeu_ps(out, s);
    return out[0];
}

__attribute__((target("avx2,fma"))) double fma_loop_avx2(int64_t iters) {
    __m256 acc[kChainsAvx2];
    for (int i = 0; i < kChainsAvx2; i++) acc[i] = _mm256_set1_ps(1.0f + 0.001f * i);
    const __m256 m = _mm256_set1_ps(0.99999905f), a = _mm256_set1_ps(1e-7f);
    for (int64_t it = 0; it < iters; it++)
#pragma GCC unroll 12
        for (int i = 0; i < kChainsAvx2; i++) acc[i] = _mm256_fmadd_ps(acc[i], m, a);
    __m256 s = acc[0];
    for (int i = 1; i < kChainsAvx2; i++) s = _mm256_add_ps(s, acc[i]);
    float out[8];
    _mm256_storeu_ps(out, s);
    return out[0];
}

// vdpbf16ps: per 32-bit lane, two bf16 products added to an f32 accumulator,
// i.e. 4 flops per lane (the unit oneDNN's bf16 GEMM runs on).
__attribute__((target("avx512f,avx512bf16"))) double dpbf16_loop(int64_t iters) {
    __m512 acc[kChains];
    for (int i = 0; i < kChains; i++) acc[i] = _mm512_set1_ps(0.001f * i);
    const __m512bh x = _mm512_cvtne2ps_pbh(_mm512_set1_ps(1e-3f), _mm512_set1_ps(2e-3f));
    const __m512bh y = _mm512_cvtne2ps_pbh(_mm512_set1_ps(1e-4f), _mm512_set1_ps(3e-4f));
    for (int64_t it = 0; it < iters; it++)
#pragma GCC unroll 16
        for (int i = 0; i < kChains; i++) acc[i] = _mm512_dpbf16_ps(acc[i], x, y);
    __m512 s = acc[0];
    for (int i = 1; i < kChains; i++) s = _mm512_add_ps(s, acc[i]);
    float out[16];
    _mm512_storeu_ps(out, s);
    return out[0];
}

// AMX: each tdpbf16ps multiplies a 16 x 32 bf16 tile by a 32 x 16 one into a
// 16 x 16 f32 tile, 16,384 flops; four independent accumulators.
__attribute__((target("amx-tile,amx-bf16"))) double amx_loop(int64_t iters) {
    const mos::AmxTileConfig cfg = mos::AmxTileConfig::uniform(8, 16, 64);
    alignas(64) static const uint16_t ones[16 * 32] = {};  // bf16 zeros: the rate does not depend on values
    alignas(64) float out[16 * 16];
    _tile_loadconfig(&cfg);
    _tile_zero(0);
    _tile_zero(1);
    _tile_zero(2);
    _tile_zero(3);
    _tile_loadd(4, ones, 64);
    _tile_loadd(5, ones, 64);
    for (int64_t it = 0; it < iters; it++) {
        _tile_dpbf16ps(0, 4, 5);
        _tile_dpbf16ps(1, 4, 5);
        _tile_dpbf16ps(2, 4, 5);
        _tile_dpbf16ps(3, 4, 5);
    }
    _tile_stored(0, out, 64);
    __asm__ volatile("" ::: "memory");
    _tile_release();
    return out[0];
}

enum class PeakKind { F32, BF16, Amx };

// GFLOP/s of the loop on `threads` threads: best of `tries` runs, each thread
// running the same iteration count; time is the slowest thread's.
double measure_peak(PeakKind kind, int threads, int64_t iters, int tries) {
    const auto &cpu = mos::cpu_features();
    int lanes = 0, chains = kChains;
    double flops_per_lane_op = 0;
    double (*fn)(int64_t) = nullptr;
    if (kind == PeakKind::Amx) {
        if (!mos::amx_ready()) return 0.0;
        fn = amx_loop;
        lanes = 1;  // flops per loop iteration: 4 tile products of 16,384 flops
        chains = 4;
        flops_per_lane_op = 16384;
        iters /= 8;  // one tile product is 32 vdpbf16ps' worth of work
    } else if (kind == PeakKind::BF16) {
        if (!cpu.bf16) return 0.0;
        fn = dpbf16_loop;
        lanes = 16;
        flops_per_lane_op = 4;
    } else if (cpu.avx512) {
        fn = fma_loop_avx512;
        lanes = 16;
        flops_per_lane_op = 2;
    } else if (cpu.avx2) {
        fn = fma_loop_avx2;
        lanes = 8;
        chains = kChainsAvx2;
        flops_per_lane_op = 2;
    } else {
        return 0.0;
    }
    double best = 0.0;
    volatile double sink = 0;
    for (int t = 0; t < tries; t++) {
        double elapsed = 0;
#pragma omp parallel num_threads(threads) reduction(max : elapsed)
        {
#pragma omp barrier
            const auto t0 = Clock::now();
            sink = sink + fn(iters);
            elapsed = seconds_since(t0);
        }
        const double flops = double(threads) * double(iters) * chains * lanes * flops_per_lane_op;
        best = std::max(best, flops / elapsed * 1e-9);
    }
    return best;
}

// ---------------------------------------------------------------------------
// Shapes.

struct Shape {
    std::string model;  // preset
    std::string layer;  // which linear
    std::string op;     // fwd | bwd_data | bwd_weight | decode
    int64_t M, K, N;
    bool trans_a, trans_b;
};

struct Linear {
    const char *name;
    int64_t d_out, d_in;
};

void add_linear(std::vector<Shape> &out, const std::string &model, const Linear &l, int64_t tokens,
                bool decode) {
    // Forward y[M, d_out] = x[M, d_in] W^T (W stored d_out x d_in).
    out.push_back({model, l.name, "fwd", tokens, l.d_in, l.d_out, false, true});
    // Backward-data dx[M, d_in] = dy[M, d_out] W.
    out.push_back({model, l.name, "bwd_data", tokens, l.d_out, l.d_in, false, false});
    // Backward-weight dW[d_out, d_in] = dy^T x (dy stored M x d_out).
    out.push_back({model, l.name, "bwd_weight", l.d_out, tokens, l.d_in, true, false});
    if (decode)
        for (int64_t m : {int64_t(1), int64_t(5)})
            out.push_back({model, l.name, "decode", m, l.d_in, l.d_out, false, true});
}

std::vector<Shape> model_shapes(bool quick) {
    struct Preset {
        const char *name;
        int64_t embed, qkv, ffn, vocab;
    };
    const Preset presets[] = {{"small", 256, 256, 1024, 8000}, {"hat-wmt", 640, 512, 3072, 32000}};
    std::vector<Shape> out;
    for (const Preset &p : presets) {
        if (quick && std::string(p.name) != "small") continue;
        const Linear lins[] = {{"qkv", p.qkv, p.embed},
                               {"attn_out", p.embed, p.qkv},
                               {"ffn_up", p.ffn, p.embed},
                               {"ffn_down", p.embed, p.ffn},
                               {"vocab", p.vocab, p.embed}};
        for (const Linear &l : lins) {
            if (quick && std::string(l.name) != "ffn_up") continue;
            add_linear(out, p.name, l, 4096, true);
        }
    }
    // The same GEMM (e.g. small's qkv and attn_out, both 256 x 256) is run once.
    std::vector<Shape> uniq;
    std::set<std::tuple<int64_t, int64_t, int64_t, bool, bool>> seen;
    for (const Shape &s : out)
        if (seen.insert({s.M, s.K, s.N, s.trans_a, s.trans_b}).second) uniq.push_back(s);
    return uniq;
}

// "MxKxN" -> a forward-style shape (x W^T); false if malformed.
bool parse_shape(const std::string &text, Shape &out) {
    int64_t m = 0, k = 0, n = 0;
    char x1 = 0, x2 = 0;
    std::istringstream in(text);
    in >> m >> x1 >> k >> x2 >> n;
    if (!in || x1 != 'x' || x2 != 'x' || m <= 0 || k <= 0 || n <= 0 || in.peek() != EOF) return false;
    out = {"custom", "custom", "fwd", m, k, n, false, true};
    return true;
}

// ---------------------------------------------------------------------------
// Timing of one GEMM configuration.

struct Timing {
    double median_s;
    int reps;
};

Timing time_gemm(mos::Backend b, const mos::Gemm &g, const float *A, const float *B, float *C, int warmup,
                 int min_reps, int max_reps, double min_time) {
    for (int i = 0; i < warmup; i++) mos::gemm(b, g, A, B, C);
    std::vector<double> t;
    const auto start = Clock::now();
    while (static_cast<int>(t.size()) < max_reps &&
           (static_cast<int>(t.size()) < min_reps || seconds_since(start) < min_time)) {
        const auto t0 = Clock::now();
        mos::gemm(b, g, A, B, C);
        t.push_back(seconds_since(t0));
    }
    std::sort(t.begin(), t.end());
    const size_t n = t.size();
    const double med = n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
    return {med, static_cast<int>(n)};
}

std::string fmt(double v, int prec) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", prec, v);
    return buf;
}

// Six significant digits (JSON-valid: "0.00123", "1.5e-05").
std::string gfmt(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    return buf;
}

}  // namespace

int main(int argc, char **argv) {
    CLI::App app{"mos-bench-gemm: GEMM throughput of the libmos backends on the model's shapes, "
                 "against the FMA peak measured in the same run", "mos-bench-gemm"};
    bool quick = false, json_only = false;
    std::string backend_opt = "all", dtype_opt = "all";
    std::vector<int> threads_opt = {1, 2};
    std::vector<std::string> shape_opts;
    app.add_flag("--quick", quick, "fewer shapes (small preset, ffn_up) and repetitions");
    app.add_option("--backend", backend_opt, "onednn, openblas or all")
        ->check(CLI::IsMember({"onednn", "openblas", "all"}));
    app.add_option("--dtype", dtype_opt, "f32, bf16 or all (bf16 only where it really runs in bf16)")
        ->check(CLI::IsMember({"f32", "bf16", "all"}));
    app.add_option("--threads", threads_opt, "thread counts to run, e.g. --threads 1,2")
        ->delimiter(',')
        ->check([](const std::string &v) {  // CLI11 alone also reads 0x10 and 0b101
            return !v.empty() && v.find_first_not_of("0123456789") == std::string::npos
                       ? std::string()
                       : "expected a decimal thread count, got '" + v + "'";
        })
        ->check(CLI::Range(1, 1024));
    app.add_option("--shape", shape_opts, "run only this forward GEMM MxKxN (repeatable) instead of the model's")
        ->check([](const std::string &v) {
            Shape s;
            return parse_shape(v, s) ? std::string() : "expected MxKxN with positive sizes, got '" + v + "'";
        });
    app.add_flag("--json-only", json_only, "print only the JSON lines (no table on stderr)");
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp &e) {
        return app.exit(e);
    } catch (const CLI::ParseError &e) {
        std::fprintf(stderr, "mos-bench-gemm: %s\nRun 'mos-bench-gemm --help' for usage.\n", e.what());
        return 2;
    }

    try {
        std::vector<Shape> shapes;
        if (shape_opts.empty())
            shapes = model_shapes(quick);
        else
            for (const std::string &text : shape_opts) {
                Shape s;
                parse_shape(text, s);  // validated by the option's check
                shapes.push_back(s);
            }
        std::vector<mos::Backend> backends;
        if (backend_opt != "openblas") backends.push_back(mos::Backend::OneDNN);
        if (backend_opt != "onednn") backends.push_back(mos::Backend::OpenBLAS);

        // Peak of every thread count first (the GEMM lines refer to it).
        const auto &cpu = mos::cpu_features();
        const char *isa = cpu.avx512 ? "avx512f" : cpu.avx2 ? "avx2" : "none";
        // Many short tries, best kept: robust against other processes on the machine.
        const int64_t peak_iters = quick ? 500000 : 2000000;
        const int peak_tries = quick ? 5 : 15;
        std::map<int, double> peak_f32, peak_bf16;
        std::string pf, pb;
        for (int t : threads_opt) {
            peak_f32[t] = measure_peak(PeakKind::F32, t, peak_iters, peak_tries);
            // The bf16 peak is that of the fastest bf16 unit: AMX tiles where the
            // process may use them, else vdpbf16ps.
            peak_bf16[t] = cpu.bf16 ? std::max(measure_peak(PeakKind::BF16, t, peak_iters, peak_tries),
                                               measure_peak(PeakKind::Amx, t, peak_iters, peak_tries))
                                    : 0.0;
            pf += (pf.empty() ? "" : ",") + std::string("\"") + std::to_string(t) + "\":" + fmt(peak_f32[t], 1);
            pb += (pb.empty() ? "" : ",") + std::string("\"") + std::to_string(t) + "\":" + fmt(peak_bf16[t], 1);
        }
        std::printf("{\"kind\":\"peak\",\"isa\":\"%s\",\"avx512_bf16\":%s,\"amx\":%s,\"openblas_core\":\"%s\","
                    "\"f32_gflops\":{%s},\"bf16_gflops\":{%s}}\n",
                    isa, cpu.bf16 ? "true" : "false", mos::amx_ready() ? "true" : "false", mos::openblas_core().c_str(),
                    pf.c_str(), pb.c_str());
        std::fflush(stdout);
        if (!json_only) {
            for (int t : threads_opt)
                std::fprintf(stderr, "peak (%s, %d thread%s): f32 %.1f GFLOP/s, bf16 %.1f GFLOP/s\n", isa, t,
                             t > 1 ? "s" : "", peak_f32[t], peak_bf16[t]);
            std::fprintf(stderr, "%-8s %-10s %-10s %6s %6s %6s  %-8s %-4s %3s %9s %6s\n", "model", "layer", "op", "M",
                         "K", "N", "backend", "type", "thr", "GFLOP/s", "%peak");
        }

        // Operands sized for the largest shape, filled once.
        size_t na = 0, nb = 0, nc = 0;
        for (const Shape &s : shapes) {
            na = std::max(na, static_cast<size_t>(s.M * s.K));
            nb = std::max(nb, static_cast<size_t>(s.K * s.N));
            nc = std::max(nc, static_cast<size_t>(s.M * s.N));
        }
        std::vector<float> A(na), B(nb), C(nc);
        std::mt19937 rng(42);
        std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
        for (float &v : A) v = dist(rng);
        for (float &v : B) v = dist(rng);

        const int warmup = 2, min_reps = quick ? 3 : 5, max_reps = quick ? 5 : 50;
        const double min_time = quick ? 0.05 : 0.5;
        for (const Shape &s : shapes) {
            mos::Gemm g = mos::make_gemm(s.trans_a, s.trans_b, s.M, s.N, s.K, s.trans_a ? s.M : s.K,
                                         s.trans_b ? s.K : s.N, s.N);
            const double flops = 2.0 * double(s.M) * double(s.K) * double(s.N);
            for (mos::Backend b : backends)
                for (mos::GemmType type : {mos::GemmType::F32, mos::GemmType::BF16}) {
                    const bool bf16 = type == mos::GemmType::BF16;
                    if (bf16 && (dtype_opt == "f32" || !mos::bf16_active(b))) continue;
                    if (!bf16 && dtype_opt == "bf16") continue;
                    g.type = type;
                    for (int t : threads_opt) {
                        mos::set_num_threads(t);
                        const Timing tm =
                            time_gemm(b, g, A.data(), B.data(), C.data(), warmup, min_reps, max_reps, min_time);
                        const double gflops = flops / tm.median_s * 1e-9;
                        const double peak = bf16 ? peak_bf16[t] : peak_f32[t];
                        const double pct = peak > 0 ? 100.0 * gflops / peak : 0.0;
                        std::printf("{\"kind\":\"gemm\",\"model\":\"%s\",\"layer\":\"%s\",\"op\":\"%s\","
                                    "\"backend\":\"%s\",\"dtype\":\"%s\",\"M\":%lld,\"K\":%lld,\"N\":%lld,"
                                    "\"trans_a\":%s,\"trans_b\":%s,\"threads\":%d,\"reps\":%d,"
                                    "\"median_ms\":%s,\"gflops\":%s,\"pct_peak\":%s}\n",
                                    s.model.c_str(), s.layer.c_str(), s.op.c_str(), mos::backend_name(b),
                                    bf16 ? "bf16" : "f32", static_cast<long long>(s.M), static_cast<long long>(s.K),
                                    static_cast<long long>(s.N), s.trans_a ? "true" : "false",
                                    s.trans_b ? "true" : "false", t, tm.reps, gfmt(tm.median_s * 1e3).c_str(),
                                    fmt(gflops, 2).c_str(), fmt(pct, 1).c_str());
                        std::fflush(stdout);
                        if (!json_only)
                            std::fprintf(stderr, "%-8s %-10s %-10s %6lld %6lld %6lld  %-8s %-4s %3d %9.1f %6.1f\n",
                                         s.model.c_str(), s.layer.c_str(), s.op.c_str(), static_cast<long long>(s.M),
                                         static_cast<long long>(s.K), static_cast<long long>(s.N),
                                         mos::backend_name(b), bf16 ? "bf16" : "f32", t, gflops, pct);
                    }
                }
        }
    } catch (const mos::Error &e) {
        std::fprintf(stderr, "mos-bench-gemm: %s\n", e.what());
        return 1;
    } catch (const std::exception &e) {
        std::fprintf(stderr, "mos-bench-gemm: %s\n", e.what());
        return 1;
    }
    return 0;
}
