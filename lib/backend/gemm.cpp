// lib/backend/gemm.cpp: argument checks, backend selection, thread count and
// dispatch of the GEMM interface (gemm.hpp).
//
// All checks happen here, before any backend sees the call: sanitizers cannot
// see inside oneDNN's JIT code, so a bad leading dimension must be caught
// first. Degenerate shapes are also settled here (M or N = 0: nothing to do;
// K = 0: C = beta * C) so that backends only see real products.
#include "backend/gemm.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <tuple>
#include <vector>

#include "backend/profile.hpp"
#include "core/error.hpp"

namespace mos {

void gemm_reference(const Gemm &g, const float *A, const float *B, float *C);
void gemm_onednn(const Gemm &g, int64_t batch, const float *A, int64_t sa, const float *B, int64_t sb, float *C,
                 int64_t sc, const Bf16Operands &pre);
void gemm_openblas(const Gemm &g, int64_t batch, const float *A, int64_t sa, const float *B, int64_t sb, float *C,
                   int64_t sc);
bool onednn_bf16_active();

namespace {

std::atomic<int> g_default{-1};
std::atomic<bool> g_bf16_reuse{true};

void validate(const Gemm &g, const float *A, const float *B, const float *C) {
    check(g.M >= 0 && g.N >= 0 && g.K >= 0, MOS_INVALID_ARGUMENT, "gemm: negative size M=", g.M,
          " N=", g.N, " K=", g.K);
    const int64_t a_cols = g.trans_a ? g.M : g.K, b_cols = g.trans_b ? g.K : g.N;
    check(g.lda >= (a_cols > 0 ? a_cols : 1), MOS_INVALID_ARGUMENT, "gemm: lda ", g.lda, " < ", a_cols);
    check(g.ldb >= (b_cols > 0 ? b_cols : 1), MOS_INVALID_ARGUMENT, "gemm: ldb ", g.ldb, " < ", b_cols);
    check(g.ldc >= (g.N > 0 ? g.N : 1), MOS_INVALID_ARGUMENT, "gemm: ldc ", g.ldc, " < ", g.N);
    if (g.M > 0 && g.N > 0) check(C != nullptr, MOS_INVALID_ARGUMENT, "gemm: C is NULL");
    if (g.M > 0 && g.N > 0 && g.K > 0)
        check(A != nullptr && B != nullptr, MOS_INVALID_ARGUMENT, "gemm: A or B is NULL");
    check(g.type == GemmType::F32 || g.type == GemmType::BF16, MOS_INVALID_ARGUMENT, "gemm: unknown type ",
          static_cast<int>(g.type));
}

// K = 0: the product is empty, C = beta * C (beta = 0 clears, even NaN).
void scale_c(const Gemm &g, float *C) {
    for (int64_t i = 0; i < g.M; i++)
        for (int64_t j = 0; j < g.N; j++) {
            float &c = C[i * g.ldc + j];
            c = g.beta == 0.0f ? 0.0f : g.beta * c;
        }
}

// MOS_GEMM_PROFILE=1: every GEMM is timed and, at exit, a table per shape
// (backend, op(A), op(B), M x N x K, batch: calls, milliseconds, GFLOP/s) goes to
// stderr, largest total first. A tool for tuning, off by default (one getenv).
class Profile {
public:
    static Profile *get() {
        static Profile *p = std::getenv("MOS_GEMM_PROFILE") && *std::getenv("MOS_GEMM_PROFILE") != '0'
                                ? new Profile  // leaked on purpose: printed from atexit
                                : nullptr;
        return p;
    }
    void add(Backend b, const Gemm &g, int64_t batch, double seconds) {
        const Key k{static_cast<int>(b), g.trans_a, g.trans_b, g.M, g.N, g.K, batch};
        std::lock_guard<std::mutex> lock(mu_);
        Entry &e = table_[k];
        e.calls++;
        e.seconds += seconds;
    }

private:
    using Key = std::tuple<int, bool, bool, int64_t, int64_t, int64_t, int64_t>;
    struct Entry {
        int64_t calls = 0;
        double seconds = 0.0;
    };
    Profile() { std::atexit([] { get()->print(); }); }
    void print() {
        std::lock_guard<std::mutex> lock(mu_);
        std::vector<std::pair<Key, Entry>> rows(table_.begin(), table_.end());
        std::sort(rows.begin(), rows.end(), [](const auto &a, const auto &b) { return a.second.seconds > b.second.seconds; });
        double total = 0.0, flops = 0.0;
        for (const auto &r : rows) total += r.second.seconds;
        std::fprintf(stderr, "gemm profile: %-8s %2s %2s %6s %6s %6s %6s %7s %10s %8s %6s\n", "backend", "tA", "tB", "M",
                     "N", "K", "batch", "calls", "ms", "GFLOP/s", "share");
        for (const auto &r : rows) {
            const auto &[b, ta, tb, M, N, K, batch] = r.first;
            const double f = 2.0 * M * N * K * batch * r.second.calls;
            flops += f;
            std::fprintf(stderr, "gemm profile: %-8s %2s %2s %6lld %6lld %6lld %6lld %7lld %10.1f %8.1f %5.1f%%\n",
                         backend_name(static_cast<Backend>(b)), ta ? "T" : "N", tb ? "T" : "N",
                         static_cast<long long>(M), static_cast<long long>(N), static_cast<long long>(K),
                         static_cast<long long>(batch), static_cast<long long>(r.second.calls),
                         r.second.seconds * 1e3, f / r.second.seconds * 1e-9, 100.0 * r.second.seconds / total);
        }
        std::fprintf(stderr, "gemm profile: total %.1f ms, %.1f GFLOP, %.1f GFLOP/s\n", total * 1e3, flops * 1e-9,
                     total > 0 ? flops / total * 1e-9 : 0.0);
    }
    std::mutex mu_;
    std::map<Key, Entry> table_;
};

void run_backend(Backend b, const Gemm &g, int64_t batch, const float *A, int64_t sa, const float *B, int64_t sb,
                 float *C, int64_t sc, const Bf16Operands &pre) {
    switch (b) {
    case Backend::Reference:
        for (int64_t i = 0; i < batch; i++) gemm_reference(g, A + i * sa, B + i * sb, C + i * sc);
        return;
    case Backend::OneDNN: gemm_onednn(g, batch, A, sa, B, sb, C, sc, pre); return;
    case Backend::OpenBLAS: gemm_openblas(g, batch, A, sa, B, sb, C, sc); return;
    case Backend::Auto: break;  // resolved by dispatch
    }
    fail(MOS_INVALID_ARGUMENT, "gemm: unknown backend ", static_cast<int>(b));
}

Phase gemm_phase(const Gemm &g, int64_t batch) {
    if (batch > 1) return Phase::GemmAttention;
    if (!g.trans_a) return g.trans_b ? Phase::GemmForward : Phase::GemmBackwardData;
    return g.trans_b ? Phase::GemmOther : Phase::GemmBackwardWeight;
}

void dispatch(Backend b, const Gemm &g, int64_t batch, const float *A, int64_t sa, const float *B, int64_t sb,
              float *C, int64_t sc, const Bf16Operands &pre = {}) {
    if (g.M == 0 || g.N == 0 || batch == 0) return;
    if (g.K == 0) {
        for (int64_t i = 0; i < batch; i++) scale_c(g, C + i * sc);
        return;
    }
    Gemm run = g;
    if (b == Backend::Auto) {
        run.type = auto_batched_type(g, batch, A, sa, B, sb, C, sc);
        b = auto_choice(run, batch, A, sa, B, sb, C, sc);
    }
    PhaseScope scope(gemm_phase(run, batch));
    if (Profile *p = Profile::get()) {
        const auto t0 = std::chrono::steady_clock::now();
        run_backend(b, run, batch, A, sa, B, sb, C, sc, pre);
        p->add(b, run, batch, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        return;
    }
    run_backend(b, run, batch, A, sa, B, sb, C, sc, pre);
}

}  // namespace

const char *backend_name(Backend b) {
    switch (b) {
    case Backend::Reference: return "reference";
    case Backend::OneDNN: return "onednn";
    case Backend::OpenBLAS: return "openblas";
    case Backend::Auto: return "auto";
    }
    return "unknown";
}

Backend parse_backend(const char *name) {
    if (!name) fail(MOS_INVALID_ARGUMENT, "backend name is NULL");
    if (!std::strcmp(name, "reference")) return Backend::Reference;
    if (!std::strcmp(name, "onednn")) return Backend::OneDNN;
    if (!std::strcmp(name, "openblas")) return Backend::OpenBLAS;
    if (!std::strcmp(name, "auto")) return Backend::Auto;
    fail(MOS_INVALID_ARGUMENT, "unknown backend '", name, "'; allowed auto|onednn|openblas|reference");
}

Backend default_backend() {
    int v = g_default.load(std::memory_order_relaxed);
    if (v < 0) {
        Backend b = Backend::Auto;
        if (const char *env = std::getenv("MOS_BACKEND"); env && *env) b = parse_backend(env);
        v = static_cast<int>(b);
        g_default.store(v, std::memory_order_relaxed);
    }
    return static_cast<Backend>(v);
}

void set_default_backend(Backend b) { g_default.store(static_cast<int>(b), std::memory_order_relaxed); }

void gemm(Backend b, const Gemm &g, const float *A, const float *B, float *C) {
    validate(g, A, B, C);
    dispatch(b, g, 1, A, 0, B, 0, C, 0);
}

void gemm_batched(Backend b, const Gemm &g, int64_t batch, const float *A, int64_t stride_a,
                  const float *B, int64_t stride_b, float *C, int64_t stride_c) {
    check(batch >= 0, MOS_INVALID_ARGUMENT, "gemm_batched: negative batch ", batch);
    validate(g, A, B, C);
    check(stride_a >= 0 && stride_b >= 0, MOS_INVALID_ARGUMENT, "gemm_batched: negative stride_a ", stride_a,
          " or stride_b ", stride_b);
    check(stride_c >= 0, MOS_INVALID_ARGUMENT, "gemm_batched: negative stride_c ", stride_c);
    dispatch(b, g, batch, A, stride_a, B, stride_b, C, stride_c);
}

void gemm(const Gemm &g, const float *A, const float *B, float *C) { gemm(default_backend(), g, A, B, C); }

void gemm(const Gemm &g, const float *A, const float *B, float *C, const Bf16Operands &pre) {
    validate(g, A, B, C);
    dispatch(default_backend(), g, 1, A, 0, B, 0, C, 0, pre);
}

void gemm_batched(const Gemm &g, int64_t batch, const float *A, int64_t stride_a, const float *B,
                  int64_t stride_b, float *C, int64_t stride_c) {
    gemm_batched(default_backend(), g, batch, A, stride_a, B, stride_b, C, stride_c);
}

bool bf16_active(Backend b) {
    return (b == Backend::OneDNN || b == Backend::Auto) && onednn_bf16_active();
}

bool bf16_copies_wanted(GemmType t) {
    return t == GemmType::BF16 && g_bf16_reuse.load(std::memory_order_relaxed) && bf16_active(default_backend());
}

void set_bf16_reuse(bool on) { g_bf16_reuse.store(on, std::memory_order_relaxed); }

}  // namespace mos
