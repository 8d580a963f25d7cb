// lib/kernels/dropout.cpp: counter-based inverted dropout (see dropout.hpp).
//
// Hash: the splitmix64 finaliser (Steele, Lea, Flood, "Fast splittable
// pseudorandom number generators", OOPSLA 2014) applied to the key mixed with
// the element index; two rounds so that neighbouring (step, site, i) decorrelate.
#include "kernels/dropout.hpp"

#include <cstring>

#include "backend/profile.hpp"
#include "kernels/common.hpp"

namespace mos {

namespace {
inline uint64_t key_base(const DropoutKey &k) { return dropout_key_hash(k); }
inline float uniform_from(uint64_t base, uint64_t i) { return dropout_uniform_hashed(base, i); }
using kern::kSpan;
using kern::span_len;

// y[i] = keep(first + i) ? x[i] * scale : 0, or y[i] += that when accumulate.
MOS_HOT_CLONES void drop_span(float *y, const float *x, int64_t n, uint64_t hash, int64_t first, float p, float scale,
                              bool accumulate) {
    using namespace simd;
    const i8 thr = i8{} + dropout_keep_threshold(p);
    const f8 vs = splat(scale);
    int64_t i = 0;
    for (; i + kW <= n; i += kW) {
        const f8 v = select(dropout_bits8(hash, static_cast<uint64_t>(first + i)) >= thr, load(x + i) * vs, zero());
        store(y + i, accumulate ? load(y + i) + v : v);
    }
    for (; i < n; i++) {
        const float v = uniform_from(hash, static_cast<uint64_t>(first + i)) >= p ? x[i] * scale : 0.0f;
        y[i] = accumulate ? y[i] + v : v;
    }
}

void check_p(const char *k, float p, int64_t n) {
    kern::check_nonneg(k, "n", n);
    check(p >= 0.0f && p < 1.0f, MOS_INVALID_ARGUMENT, k, ": rate p = ", p, " not in [0, 1)");
}
}  // namespace

float dropout_rate(float p_max, int64_t d_active, int64_t d_max) {
    check(p_max >= 0.0f && p_max < 1.0f, MOS_INVALID_ARGUMENT, "dropout_rate: p_max = ", p_max,
          " not in [0, 1)");
    check(d_max >= 1, MOS_INVALID_ARGUMENT, "dropout_rate: d_max = ", d_max, " < 1");
    kern::check_active("dropout_rate", "d_active", d_active, d_max);
    return p_max * static_cast<float>(d_active) / static_cast<float>(d_max);
}

float dropout_uniform(const DropoutKey &key, uint64_t i) { return uniform_from(key_base(key), i); }

void dropout_forward(float *y, const float *x, int64_t n, float p, const DropoutKey &key) {
    check_p("dropout_forward", p, n);
    PhaseScope scope(Phase::Elementwise);
    const float scale = 1.0f / (1.0f - p);
    const uint64_t base = key_base(key);
    if (p == 0.0f) {
        if (y != x) {
#pragma omp parallel for if (n > kern::kOmpMinWork) schedule(static)
            for (int64_t c = 0; c < n; c += kSpan)
                std::memcpy(y + c, x + c, static_cast<size_t>(span_len(c, n)) * sizeof(float));
        }
        return;
    }
#pragma omp parallel for if (n > kern::kOmpMinWork) schedule(static)
    for (int64_t c = 0; c < n; c += kSpan) drop_span(y + c, x + c, span_len(c, n), base, c, p, scale, false);
}

void dropout_backward(float *dx, const float *dy, int64_t n, float p, const DropoutKey &key) {
    check_p("dropout_backward", p, n);
    PhaseScope scope(Phase::Elementwise);
    const float scale = 1.0f / (1.0f - p);
    const uint64_t base = key_base(key);
    if (p == 0.0f) {  // no mask: a plain vectorised add
#pragma omp parallel for simd if (n > kern::kOmpMinWork) schedule(static)
        for (int64_t i = 0; i < n; i++) dx[i] += dy[i];
        return;
    }
#pragma omp parallel for if (n > kern::kOmpMinWork) schedule(static)
    for (int64_t c = 0; c < n; c += kSpan) drop_span(dx + c, dy + c, span_len(c, n), base, c, p, scale, true);
}

namespace ref {
void dropout_forward(float *y, const float *x, int64_t n, float p, const DropoutKey &key) {
    for (int64_t i = 0; i < n; i++) {
        const bool keep = dropout_uniform(key, static_cast<uint64_t>(i)) >= p;
        y[i] = keep ? x[i] / (1.0f - p) : 0.0f;
    }
}
}  // namespace ref

}  // namespace mos
