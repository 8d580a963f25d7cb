// lib/backend/profile.cpp: the phase profile (see profile.hpp).
#include "backend/profile.hpp"

#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace mos {

namespace detail {
std::atomic<bool> g_profile_on{false};
}

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kPhases = static_cast<int>(Phase::Count);
constexpr int kMaxDepth = 32;

// Totals of every thread; updated once per closed scope.
std::atomic<int64_t> g_calls[kPhases];
std::atomic<int64_t> g_nanos[kPhases];
std::atomic<int64_t> g_cpu_nanos[kPhases];

// CPU time of the calling thread (it excludes time the thread waited for a
// core, which on a loaded machine is most of the wall time).
int64_t thread_cpu_ns() {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// The calling thread's open scopes: start time, phase, and the time of the
// scopes already closed inside each (subtracted to make times exclusive).
struct Stack {
    Clock::time_point start[kMaxDepth];
    int64_t cpu_start[kMaxDepth];
    int64_t inner[kMaxDepth], cpu_inner[kMaxDepth];
    Phase phase[kMaxDepth];
    int depth = 0;
};
thread_local Stack t_stack;

void print_at_exit() {
    const std::vector<PhaseStat> s = profile_snapshot();
    std::fputs(profile_table(s, 1.0, 0.0).c_str(), stderr);
}

// MOS_PROFILE=1 (any value but "0"): on for the whole process, table at exit.
const bool g_from_env = [] {
    const char *e = std::getenv("MOS_PROFILE");
    if (!e || !*e || (e[0] == '0' && e[1] == '\0')) return false;
    detail::g_profile_on.store(true, std::memory_order_relaxed);
    std::atexit(print_at_exit);
    return true;
}();

}  // namespace

const char *phase_name(Phase p) {
    switch (p) {
    case Phase::GemmForward: return "gemm forward x W^T";
    case Phase::GemmBackwardData: return "gemm backward dy W";
    case Phase::GemmBackwardWeight: return "gemm backward dy^T x";
    case Phase::GemmAttention: return "gemm attention (batched)";
    case Phase::GemmOther: return "gemm other";
    case Phase::GemmCalibration: return "gemm auto calibration";
    case Phase::Attention: return "attention softmax/masks";
    case Phase::LayerNorm: return "layernorm";
    case Phase::Elementwise: return "element-wise";
    case Phase::Loss: return "cross-entropy";
    case Phase::Embedding: return "embedding";
    case Phase::Mix: return "mos mix";
    case Phase::Router: return "mos router";
    case Phase::Optimizer: return "adam";
    case Phase::Memory: return "zero/copy";
    case Phase::Convert: return "bf16 conversion";
    case Phase::TeamWait: return "team wait (shards)";
    case Phase::Count: break;
    }
    return "unknown";
}

namespace detail {

void phase_begin(Phase p) {
    Stack &s = t_stack;
    if (s.depth >= kMaxDepth) {  // deeper nesting is not profiled, but stays balanced
        s.depth++;
        return;
    }
    s.start[s.depth] = Clock::now();
    s.cpu_start[s.depth] = thread_cpu_ns();
    s.inner[s.depth] = 0;
    s.cpu_inner[s.depth] = 0;
    s.phase[s.depth] = p;
    s.depth++;
}

void phase_end() {
    Stack &s = t_stack;
    if (s.depth <= 0) return;
    s.depth--;
    if (s.depth >= kMaxDepth) return;
    const int64_t ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - s.start[s.depth]).count();
    const int64_t cpu = thread_cpu_ns() - s.cpu_start[s.depth];
    const int i = static_cast<int>(s.phase[s.depth]);
    g_calls[i].fetch_add(1, std::memory_order_relaxed);
    g_nanos[i].fetch_add(ns - s.inner[s.depth], std::memory_order_relaxed);
    g_cpu_nanos[i].fetch_add(cpu - s.cpu_inner[s.depth], std::memory_order_relaxed);
    if (s.depth > 0) {
        s.inner[s.depth - 1] += ns;
        s.cpu_inner[s.depth - 1] += cpu;
    }
}

}  // namespace detail

void profile_add(Phase p, int64_t calls, double seconds) {
    if (!profile_on() || p >= Phase::Count) return;
    const int i = static_cast<int>(p);
    g_calls[i].fetch_add(calls, std::memory_order_relaxed);
    g_nanos[i].fetch_add(static_cast<int64_t>(seconds * 1e9), std::memory_order_relaxed);
}

void profile_enable(bool on) { detail::g_profile_on.store(on, std::memory_order_relaxed); }

void profile_reset() {
    for (int i = 0; i < kPhases; i++) {
        g_calls[i].store(0, std::memory_order_relaxed);
        g_nanos[i].store(0, std::memory_order_relaxed);
        g_cpu_nanos[i].store(0, std::memory_order_relaxed);
    }
}

std::vector<PhaseStat> profile_snapshot() {
    std::vector<PhaseStat> v;
    for (int i = 0; i < kPhases; i++) {
        PhaseStat s;
        s.phase = static_cast<Phase>(i);
        s.calls = g_calls[i].load(std::memory_order_relaxed);
        s.seconds = static_cast<double>(g_nanos[i].load(std::memory_order_relaxed)) * 1e-9;
        s.cpu_seconds = static_cast<double>(g_cpu_nanos[i].load(std::memory_order_relaxed)) * 1e-9;
        v.push_back(s);
    }
    return v;
}

std::string profile_table(const std::vector<PhaseStat> &stats, double per, double total_seconds) {
    if (per <= 0) per = 1;
    double covered = 0, gemm = 0, cpu = 0, gemm_cpu = 0;
    for (const PhaseStat &s : stats) {
        covered += s.seconds;
        cpu += s.cpu_seconds;
        if (s.phase <= Phase::GemmCalibration) {
            gemm += s.seconds;
            gemm_cpu += s.cpu_seconds;
        }
    }
    const double total = total_seconds > covered ? total_seconds : covered;
    std::string out;
    char line[200];
    std::snprintf(line, sizeof line, "phase profile: %-26s %9s %10s %7s %12s %7s\n", "phase", "calls", "wall ms",
                  "share", "caller cpu", "share");
    out += line;
    auto row = [&](const char *name, double calls, double seconds, double cpu_s) {
        std::snprintf(line, sizeof line, "phase profile: %-26s %9.1f %10.2f %6.1f%% %12.2f %6.1f%%\n", name,
                      calls / per, seconds * 1e3 / per, total > 0 ? 100.0 * seconds / total : 0.0, cpu_s * 1e3 / per,
                      cpu > 0 ? 100.0 * cpu_s / cpu : 0.0);
        out += line;
    };
    for (const PhaseStat &s : stats)
        if (s.calls > 0) row(phase_name(s.phase), static_cast<double>(s.calls), s.seconds, s.cpu_seconds);
    if (total_seconds > covered) row("(outside every phase)", 0, total_seconds - covered, 0);
    std::snprintf(line, sizeof line,
                  "phase profile: gemm %.2f ms, non-gemm %.2f ms wall (%.1f%% non-gemm); caller cpu %.1f%% non-gemm\n",
                  gemm * 1e3 / per, (total - gemm) * 1e3 / per, total > 0 ? 100.0 * (total - gemm) / total : 0.0,
                  cpu > 0 ? 100.0 * (cpu - gemm_cpu) / cpu : 0.0);
    out += line;
    return out;
}

}  // namespace mos
