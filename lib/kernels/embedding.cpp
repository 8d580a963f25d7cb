// lib/kernels/embedding.cpp: scaled token embedding + sinusoidal positions over the
// active width (Vaswani et al. 2017 §3.4-3.5; fairseq's SinusoidalPositionalEmbedding
// layout: all sines first, then all cosines), and its scatter-add backward.
#include "kernels/embedding.hpp"

#include <cmath>

#include "backend/profile.hpp"
#include "kernels/common.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace mos {

namespace {
void check_emb(const char *k, const int32_t *tokens, int64_t B, int64_t T, int64_t d, int64_t D_max,
               int64_t V, int32_t pad) {
    kern::check_nonneg(k, "B", B);
    kern::check_nonneg(k, "T", T);
    check(d >= 1, MOS_INVALID_ARGUMENT, k, ": width d = ", d, " < 1");
    kern::check_active(k, "d", d, D_max);
    check(V >= 1, MOS_INVALID_ARGUMENT, k, ": vocabulary size ", V, " < 1");
    // Serial pre-check so a bad id is reported before any thread starts.
    for (int64_t n = 0; n < B * T; n++) {
        const int32_t tok = tokens[n];
        if (tok != pad)
            check(tok >= 0 && tok < V, MOS_OUT_OF_RANGE, k, ": token ", tok, " at position ", n,
                  " outside the vocabulary [0, ", V, ")");
    }
}
}  // namespace

void sinusoid_positions(float *pos, int64_t pos0, int64_t T, int64_t d) {
    kern::check_nonneg("sinusoid_positions", "T", T);
    PhaseScope scope(Phase::Embedding);
    check(d >= 2, MOS_INVALID_ARGUMENT, "sinusoid_positions: width d = ", d, " < 2");
    const int64_t h = d / 2;
    const double step = std::log(10000.0) / static_cast<double>(h > 1 ? h - 1 : 1);
    for (int64_t t = 0; t < T; t++) {
        float *r = pos + t * d;
        const double p = static_cast<double>(pos0 + t);
        for (int64_t k = 0; k < h; k++) {
            const double f = std::exp(-static_cast<double>(k) * step);
            r[k] = static_cast<float>(std::sin(p * f));
            r[h + k] = static_cast<float>(std::cos(p * f));
        }
        if (d % 2) r[d - 1] = 0.0f;
    }
}

void embedding_forward(float *out, const int32_t *tokens, const float *table, const float *pos,
                       int64_t B, int64_t T, int64_t d, int64_t D_max, int64_t V, int32_t pad) {
    PhaseScope scope(Phase::Embedding);
    check_emb("embedding_forward", tokens, B, T, d, D_max, V, pad);
    const float scale = std::sqrt(static_cast<float>(d));
#pragma omp parallel for if (B * T * d > kern::kOmpMinWork) schedule(static)
    for (int64_t n = 0; n < B * T; n++) {
        float *o = out + n * d;
        const int32_t tok = tokens[n];
        if (tok == pad) {
            for (int64_t k = 0; k < d; k++) o[k] = 0.0f;
            continue;
        }
        const float *e = table + static_cast<int64_t>(tok) * D_max, *p = pos + (n % T) * d;
        for (int64_t k = 0; k < d; k++) o[k] = scale * e[k] + p[k];
    }
}

void embedding_backward(float *dtable, const float *dout, const int32_t *tokens, int64_t B,
                        int64_t T, int64_t d, int64_t D_max, int64_t V, int32_t pad) {
    PhaseScope scope(Phase::Embedding);
    check_emb("embedding_backward", tokens, B, T, d, D_max, V, pad);
    const float scale = std::sqrt(static_cast<float>(d));
    // Thread t owns the table rows with id % nthreads == t: no two threads touch a
    // row, and each row sums its tokens in token order.
#pragma omp parallel if (B * T * d > kern::kOmpMinWork)
    {
#ifdef _OPENMP
        const int nt = omp_get_num_threads(), tid = omp_get_thread_num();
#else
        const int nt = 1, tid = 0;
#endif
        for (int64_t n = 0; n < B * T; n++) {
            const int32_t tok = tokens[n];
            if (tok == pad || tok % nt != tid) continue;
            float *g = dtable + static_cast<int64_t>(tok) * D_max;
            const float *o = dout + n * d;
            for (int64_t k = 0; k < d; k++) g[k] += scale * o[k];
        }
    }
}

namespace ref {
void embedding_forward(float *out, const int32_t *tokens, const float *table, const float *pos,
                       int64_t B, int64_t T, int64_t d, int64_t D_max, int64_t V, int32_t pad) {
    (void)V;
    const double scale = std::sqrt(static_cast<double>(d));
    for (int64_t b = 0; b < B; b++)
        for (int64_t t = 0; t < T; t++) {
            const int32_t tok = tokens[b * T + t];
            for (int64_t k = 0; k < d; k++)
                out[(b * T + t) * d + k] =
                    tok == pad ? 0.0f : static_cast<float>(scale * table[tok * D_max + k] + pos[t * d + k]);
        }
}
void embedding_backward(float *dtable, const float *dout, const int32_t *tokens, int64_t B,
                        int64_t T, int64_t d, int64_t D_max, int64_t V, int32_t pad) {
    (void)V;
    const float scale = std::sqrt(static_cast<float>(d));
    for (int64_t n = 0; n < B * T; n++)
        if (tokens[n] != pad)
            for (int64_t k = 0; k < d; k++) dtable[tokens[n] * D_max + k] += scale * dout[n * d + k];
}
}  // namespace ref

}  // namespace mos
