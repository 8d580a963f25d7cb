// lib/backend/openblas.cpp: the OpenBLAS backend of the GEMM interface
// (gemm.hpp), through row-major cblas_sgemm.
//
// OpenBLAS 0.3.21 has no batched GEMM, so batches (attention heads) loop over
// cblas_sgemm. Each call is itself multi-threaded, which does nothing for the
// small per-head products of attention (OpenBLAS runs them on one thread): a
// batch of small products is therefore split over the OpenMP threads instead,
// each product on one thread (the OpenMP build of OpenBLAS runs single-threaded
// inside a parallel region), so every product is computed as on one thread
// whatever the thread count. bf16 runs in f32 here:
// cblas_sbgemm takes bf16 inputs that would need the same conversion as the
// oneDNN backend and the Debian build's bf16 kernels are not guaranteed.
#include <cblas.h>
#include <omp.h>

#include "backend/gemm.hpp"
#include "core/error.hpp"

namespace mos {

void gemm_openblas(const Gemm &g, int64_t batch, const float *A, int64_t sa, const float *B, int64_t sb, float *C,
                   int64_t sc) {
    // blasint is 32-bit in this build: reject what it cannot represent.
    const int64_t lim = int64_t(1) << 31;
    check(g.M < lim && g.N < lim && g.K < lim && g.lda < lim && g.ldb < lim && g.ldc < lim, MOS_INVALID_ARGUMENT,
          "gemm (openblas): size or leading dimension exceeds 2^31-1 (M=", g.M, " N=", g.N, " K=", g.K, ")");
    const CBLAS_TRANSPOSE ta = g.trans_a ? CblasTrans : CblasNoTrans;
    const CBLAS_TRANSPOSE tb = g.trans_b ? CblasTrans : CblasNoTrans;
    // Small products: at most this many multiply-adds each (e.g. 64 x 64 x 512).
    constexpr int64_t kSmallProduct = int64_t(1) << 21;
    const bool split = batch > 1 && g.M * g.N * g.K <= kSmallProduct && !omp_in_parallel() &&
                       omp_get_max_threads() > 1;
#pragma omp parallel for if (split) schedule(static)
    for (int64_t i = 0; i < batch; i++)
        cblas_sgemm(CblasRowMajor, ta, tb, static_cast<blasint>(g.M), static_cast<blasint>(g.N),
                    static_cast<blasint>(g.K), g.alpha, A + i * sa, static_cast<blasint>(g.lda), B + i * sb,
                    static_cast<blasint>(g.ldb), g.beta, C + i * sc, static_cast<blasint>(g.ldc));
}

}  // namespace mos
