// lib/backend/gemm_ref.cpp: the reference GEMM: plain loops in double
// precision, the oracle the optimised backends are tested against.
#include "backend/gemm.hpp"

namespace mos {

void gemm_reference(const Gemm &g, const float *A, const float *B, float *C) {
    for (int64_t i = 0; i < g.M; i++) {
        for (int64_t j = 0; j < g.N; j++) {
            double acc = 0.0;
            for (int64_t k = 0; k < g.K; k++) {
                const float a = g.trans_a ? A[k * g.lda + i] : A[i * g.lda + k];
                const float b = g.trans_b ? B[j * g.ldb + k] : B[k * g.ldb + j];
                acc += static_cast<double>(a) * b;
            }
            float &c = C[i * g.ldc + j];
            c = static_cast<float>(g.alpha * acc + (g.beta == 0.0f ? 0.0 : g.beta * static_cast<double>(c)));
        }
    }
}

}  // namespace mos
