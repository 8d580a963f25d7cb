// bench/bench_train.cpp: tokens per second of one supernet update (forward,
// backward and Adam over the sampled subnets) for the `small` space on a random
// batch, per routing mode (none, layer m = 2, neuron m = 2) and sampling
// (uniform, sandwich). One JSON object per line; bench/train_vs_pytorch.py runs
// it next to the PyTorch peer and prints the ratios. --archs-out FILE writes the
// subnets of every update (warm-up included) as JSON lines, so that the peer
// trains exactly the same archs (bench/peers/torch_train_step.py --archs FILE).
// Each line also carries the model FLOPs of a timed update (matrix products of
// the sampled dense subnets as model/size.hpp counts them, times 3 for forward
// and backward) and the rate they were done at, so a row can be set against the
// machine's FMA peak.
//
// --precision bf16 runs the products in bf16 (mixed precision, docs/training.md;
// f32 where the CPU has no native bf16, and the line says so). Time the auto
// backend spends timing the GEMM libraries on new shape classes is not counted
// (it is reported as calibration_seconds). Each line also has the process CPU
// time of the timed updates: on a machine shared with other work, tokens per
// CPU second (one thread) says more than the wall clock.
//
// --shards splits each update by sentences instead of by products: every
// thread trains its own shard of the batch with its own workspace and gradient,
// summed before Adam (train_step_teams, docs/training.md "Threads: products or
// shards"); the JSON line says "split": "shards" or "products".
//
// --profile adds the phase profile (lib/backend/profile.hpp): per update, the
// time and calls of every kernel family, GEMMs by form; as a table on stderr and
// as "phases" in the JSON line. One run on 1 thread and one on N threads show
// which phases do not scale (docs/benchmarks.md, "Phase profile").
//
//   mos-bench-train [--threads N] [--steps N] [--tokens N] [--vocab V] [--len L] [--dropout P]
//                   [--precision f32|bf16] [--shards] [--profile] [--archs-out FILE]
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "backend/gemm.hpp"
#include "backend/profile.hpp"
#include "backend/threads.hpp"
#include "core/error.hpp"
#include "model/arch.hpp"
#include "model/bundle.hpp"
#include "model/size.hpp"
#include "train/step.hpp"

namespace {

struct Args {
    int threads = 1, steps = 5, tokens = 4096, vocab = 8000, len = 32;
    float dropout = 0.1f;
    bool profile = false, shards = false;
    std::string only_routing, only_sampling, archs_out, precision = "f32";
};

Args parse(int argc, char **argv) {
    Args a;
    for (int i = 1; i < argc; i++) {
        const std::string k = argv[i];
        auto val = [&] {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "mos-bench-train: %s needs a value\n", k.c_str());
                std::exit(2);
            }
            return std::string(argv[++i]);
        };
        if (k == "--threads") a.threads = std::atoi(val().c_str());
        else if (k == "--steps") a.steps = std::atoi(val().c_str());
        else if (k == "--tokens") a.tokens = std::atoi(val().c_str());
        else if (k == "--vocab") a.vocab = std::atoi(val().c_str());
        else if (k == "--len") a.len = std::atoi(val().c_str());
        else if (k == "--dropout") a.dropout = static_cast<float>(std::atof(val().c_str()));
        else if (k == "--routing") a.only_routing = val();
        else if (k == "--sampling") a.only_sampling = val();
        else if (k == "--archs-out") a.archs_out = val();
        else if (k == "--precision") a.precision = val();
        else if (k == "--profile") a.profile = true;
        else if (k == "--shards") a.shards = true;
        else {
            std::fprintf(stderr,
                         "usage: mos-bench-train [--threads N] [--steps N] [--tokens N] [--vocab V] [--len L] "
                         "[--dropout P] [--routing none|layer|neuron] [--sampling uniform|sandwich] [--precision f32|bf16] "
                         "[--shards] [--profile] [--archs-out FILE]\n");
            std::exit(2);
        }
    }
    if (a.precision != "f32" && a.precision != "bf16") {
        std::fprintf(stderr, "mos-bench-train: --precision must be f32 or bf16\n");
        std::exit(2);
    }
    if (a.threads < 1 || a.steps < 1 || a.tokens < a.len || a.vocab < 16 || a.len < 2) {
        std::fprintf(stderr, "mos-bench-train: bad sizes\n");
        std::exit(2);
    }
    return a;
}

double process_cpu_seconds() {
    rusage u;
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           1e-6 * static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

// The phases of the timed updates as a JSON object: per update, calls, wall
// and calling-thread CPU milliseconds.
std::string phases_json(const std::vector<mos::PhaseStat> &stats, int steps) {
    std::string out = "{";
    bool first = true;
    for (const mos::PhaseStat &p : stats) {
        if (p.calls == 0) continue;
        char buf[256];
        std::snprintf(buf, sizeof buf, "%s\"%s\": {\"calls\": %.1f, \"ms\": %.3f, \"cpu_ms\": %.3f}", first ? "" : ", ",
                      mos::phase_name(p.phase), static_cast<double>(p.calls) / steps, p.seconds * 1e3 / steps,
                      p.cpu_seconds * 1e3 / steps);
        out += buf;
        first = false;
    }
    return out + "}";
}

}  // namespace

int main(int argc, char **argv) {
    const Args a = parse(argc, argv);
    try {
        mos::set_num_threads(a.threads);
        const mos::GemmType mm = a.precision == "bf16" ? mos::GemmType::BF16 : mos::GemmType::F32;
        // What the products really run in: bf16 needs native bf16 products.
        const bool bf16 = mm == mos::GemmType::BF16 && mos::bf16_active(mos::default_backend());
        FILE *archs_out = nullptr;
        if (!a.archs_out.empty()) {
            archs_out = std::fopen(a.archs_out.c_str(), "w");
            if (!archs_out) {
                std::fprintf(stderr, "mos-bench-train: cannot write %s\n", a.archs_out.c_str());
                return 1;
            }
        }
        const mos::Space space = mos::space_preset("small");
        const int64_t B = a.tokens / a.len, S = a.len, T = a.len;
        // Random tokens (no padding): every position counts.
        std::vector<int32_t> src(B * S), tin(B * T), tout(B * T);
        uint64_t h = 12345;
        auto next = [&] {
            h = h * 6364136223846793005ull + 1442695040888963407ull;
            return static_cast<int32_t>(4 + (h >> 33) % (a.vocab - 4));
        };
        for (auto &x : src) x = next();
        for (auto &x : tout) x = next();
        for (int64_t b = 0; b < B; b++) {
            tin[b * T] = 3;
            for (int64_t t = 1; t < T; t++) tin[b * T + t] = tout[b * T + t - 1];
        }
        mos::Batch batch;
        batch.B = B;
        batch.S = S;
        batch.T = T;
        batch.src = src.data();
        batch.tgt_in = tin.data();
        batch.tgt_out = tout.data();
        struct Mode {
            const char *name;
            mos::Routing r;
            int m;
        };
        const Mode modes[] = {{"none", mos::Routing::None, 1}, {"layer", mos::Routing::Layer, 2},
                              {"neuron", mos::Routing::Neuron, 2}};
        for (const Mode &mode : modes) {
            if (!a.only_routing.empty() && a.only_routing != mode.name) continue;
            mos::SupernetConfig cfg;
            cfg.routing = mode.r;
            cfg.experts = mode.m;
            cfg.vocab = a.vocab;
            cfg.dropout = a.dropout;
            cfg.attn_dropout = 0.0f;
            mos::SupernetBundle b = mos::make_supernet(space, cfg);
            mos::Workspace ws(*b.net, B * S, B * T, a.len);
            ws.set_matmul_type(mm);
            // --shards: one block of contiguous rows per thread; each thread's team
            // runs the next (subnet, block) left (train_step_teams).
            const int P = a.shards ? static_cast<int>(std::min<int64_t>(a.threads, B)) : 1;
            std::vector<std::unique_ptr<mos::Workspace>> team_ws;
            std::vector<mos::TrainTeam> teams(static_cast<size_t>(P));
            const int64_t rows_max = (B + P - 1) / P;  // any team may run any block
            for (int r = 0; r < P && P > 1; r++) {
                const int64_t b0 = B * r / P, b1 = B * (r + 1) / P;
                team_ws.push_back(std::make_unique<mos::Workspace>(*b.net, rows_max * S, rows_max * T, a.len));
                team_ws.back()->set_matmul_type(mm);
                teams[r].ws = team_ws.back().get();
                teams[r].batch = batch;
                teams[r].batch.B = b1 - b0;
                teams[r].batch.src = batch.src + b0 * S;
                teams[r].batch.tgt_in = batch.tgt_in + b0 * T;
                teams[r].batch.tgt_out = batch.tgt_out + b0 * T;
            }
            auto update = [&](const std::vector<mos::Arch> &archs, int64_t k, uint64_t seed) {
                if (P > 1)
                    mos::train_step_teams(b, teams, archs, k, 1e-4f, mos::AdamConfig(), seed);
                else
                    mos::train_step(b, ws, archs, batch, k, 1e-4f, mos::AdamConfig(), seed);
            };
            for (mos::Sampling smp : {mos::Sampling::Uniform, mos::Sampling::Sandwich}) {
                if (!a.only_sampling.empty() && a.only_sampling != mos::sampling_name(smp)) continue;
                mos::Rng rng(7);
                int64_t step = 0;
                double flop = 0;  // model FLOPs of the timed updates
                auto one = [&] {
                    const auto archs = mos::sample_update_archs(space, smp, rng);
                    for (const mos::Arch &x : archs)
                        flop += 3.0 * static_cast<double>(B) *
                                static_cast<double>(mos::arch_flops(x, static_cast<uint64_t>(a.vocab),
                                                                    static_cast<uint64_t>(S),
                                                                    static_cast<uint64_t>(T))
                                                        .total());
                    if (archs_out) {
                        std::string line = std::string("{\"routing\": \"") + mode.name + "\", \"sampling\": \"" +
                                           mos::sampling_name(smp) + "\", \"archs\": [";
                        for (size_t i = 0; i < archs.size(); i++) {
                            std::string js = mos::arch_to_json(archs[i]);
                            for (char &c : js)
                                if (c == '\n') c = ' ';  // one update per line
                            line += (i ? ", " : "") + js;
                        }
                        std::fprintf(archs_out, "%s]}\n", line.c_str());
                    }
                    ++step;
                    update(archs, step, static_cast<uint64_t>(step));
                };
                {
                    // Untimed, unlogged first update of the sandwich (the largest subnet
                    // first): it touches every page of the workspace, as the first
                    // updates of a real run do, so no timed update pays first-touch faults.
                    mos::Rng first(1);
                    update(mos::sample_update_archs(space, mos::Sampling::Sandwich, first), ++step, 0);
                }
                one();  // warm-up: primitives, gradients, Adam moments
                one();
                flop = 0;
                if (a.profile) {
                    mos::profile_enable(true);
                    mos::profile_reset();
                }
                const double calib0 = mos::auto_calibration_seconds(), cpu0 = process_cpu_seconds();
                const auto t0 = std::chrono::steady_clock::now();
                for (int i = 0; i < a.steps; i++) one();
                const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
                const double calib = mos::auto_calibration_seconds() - calib0;
                const double cpu = process_cpu_seconds() - cpu0 - calib * a.threads;
                const double s = wall - calib;
                std::string phases = "{}";
                if (a.profile) {
                    const std::vector<mos::PhaseStat> stats = mos::profile_snapshot();
                    mos::profile_enable(false);
                    std::fprintf(stderr, "phase profile of %s %s, %d thread(s), %s, per update:\n", mode.name,
                                 mos::sampling_name(smp), a.threads, bf16 ? "bf16" : "f32");
                    std::fputs(mos::profile_table(stats, a.steps, wall).c_str(), stderr);
                    phases = phases_json(stats, a.steps);
                }
                std::printf("{\"impl\": \"libmos\", \"routing\": \"%s\", \"experts\": %d, \"sampling\": \"%s\", "
                            "\"threads\": %d, \"tokens_per_update\": %lld, \"steps\": %d, \"seconds\": %.4f, "
                            "\"tokens_per_second\": %.1f, \"model_gflop_per_update\": %.2f, \"gflops\": %.1f, "
                            "\"backend\": \"%s\", \"precision\": \"%s\", \"calibration_seconds\": %.4f, "
                            "\"cpu_seconds\": %.4f, \"tokens_per_cpu_second\": %.1f, \"split\": \"%s\", "
                            "\"phases\": %s}\n",
                            mode.name, mode.m, mos::sampling_name(smp), a.threads,
                            static_cast<long long>(B * T), a.steps, s, B * T * a.steps / s, flop / 1e9 / a.steps,
                            flop / 1e9 / s, mos::backend_name(mos::default_backend()), bf16 ? "bf16" : "f32", calib,
                            cpu, cpu > 0 ? B * T * a.steps / cpu : 0.0, P > 1 ? "shards" : "products", phases.c_str());
                std::fflush(stdout);
            }
        }
        // Auto's choices for the classes the updates issued (stderr: stdout stays JSON lines).
        if (mos::default_backend() == mos::Backend::Auto) std::fputs(mos::auto_report().c_str(), stderr);
        if (archs_out && std::fclose(archs_out) != 0) {
            std::fprintf(stderr, "mos-bench-train: error writing %s\n", a.archs_out.c_str());
            return 1;
        }
    } catch (const mos::Error &e) {
        std::fprintf(stderr, "mos-bench-train: %s\n", e.what());
        return 1;
    }
    return 0;
}
