// lib/backend/gemm.cpp: argument checks, backend selection and dispatch of the
// GEMM interface (gemm.hpp).
//
// PROVISIONAL: only the reference backend is wired here; the oneDNN and
// OpenBLAS implementations replace the fallbacks below.
#include "backend/gemm.hpp"

#include <atomic>
#include <cstdlib>
#include <cstring>

#include "core/error.hpp"

namespace mos {

void gemm_reference(const Gemm &g, const float *A, const float *B, float *C);

namespace {

std::atomic<int> g_default{-1};

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
}

}  // namespace

const char *backend_name(Backend b) {
    switch (b) {
    case Backend::Reference: return "reference";
    case Backend::OneDNN: return "onednn";
    case Backend::OpenBLAS: return "openblas";
    }
    return "unknown";
}

Backend parse_backend(const char *name) {
    if (!name) fail(MOS_INVALID_ARGUMENT, "backend name is NULL");
    if (!std::strcmp(name, "reference")) return Backend::Reference;
    if (!std::strcmp(name, "onednn")) return Backend::OneDNN;
    if (!std::strcmp(name, "openblas")) return Backend::OpenBLAS;
    fail(MOS_INVALID_ARGUMENT, "unknown backend '", name, "'; allowed onednn|openblas|reference");
}

Backend default_backend() {
    int v = g_default.load(std::memory_order_relaxed);
    if (v < 0) {
        Backend b = Backend::OneDNN;
        if (const char *env = std::getenv("MOS_BACKEND"); env && *env) b = parse_backend(env);
        v = static_cast<int>(b);
        g_default.store(v, std::memory_order_relaxed);
    }
    return static_cast<Backend>(v);
}

void set_default_backend(Backend b) { g_default.store(static_cast<int>(b), std::memory_order_relaxed); }

void gemm(Backend b, const Gemm &g, const float *A, const float *B, float *C) {
    validate(g, A, B, C);
    if (g.M == 0 || g.N == 0) return;
    (void)b;
    gemm_reference(g, A, B, C);
}

void gemm_batched(Backend b, const Gemm &g, int64_t batch, const float *A, int64_t stride_a,
                  const float *B, int64_t stride_b, float *C, int64_t stride_c) {
    check(batch >= 0, MOS_INVALID_ARGUMENT, "gemm_batched: negative batch ", batch);
    for (int64_t i = 0; i < batch; i++) gemm(b, g, A + i * stride_a, B + i * stride_b, C + i * stride_c);
}

void gemm(const Gemm &g, const float *A, const float *B, float *C) { gemm(default_backend(), g, A, B, C); }

void gemm_batched(const Gemm &g, int64_t batch, const float *A, int64_t stride_a, const float *B,
                  int64_t stride_b, float *C, int64_t stride_c) {
    gemm_batched(default_backend(), g, batch, A, stride_a, B, stride_b, C, stride_c);
}

}  // namespace mos
