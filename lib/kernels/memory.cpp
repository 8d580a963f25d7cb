// lib/kernels/memory.cpp: parallel fills, copies and adds (see memory.hpp).
#include "kernels/memory.hpp"

#include <cstring>

#include "backend/profile.hpp"
#include "kernels/common.hpp"
#include "kernels/simd.hpp"

namespace mos {

namespace {
using kern::kSpan;
using kern::span_len;

MOS_HOT_CLONES void add_span(float *y, const float *x, int64_t n) {
    using namespace simd;
    int64_t i = 0;
    for (; i + kW <= n; i += kW) store(y + i, load(y + i) + load(x + i));
    for (; i < n; i++) y[i] += x[i];
}
}  // namespace

void zero_floats(float *x, int64_t n) {
    kern::check_nonneg("zero_floats", "n", n);
    PhaseScope scope(Phase::Memory);
#pragma omp parallel for if (n > kern::kOmpMinWork) schedule(static)
    for (int64_t c = 0; c < n; c += kSpan) std::memset(x + c, 0, static_cast<size_t>(span_len(c, n)) * sizeof(float));
}

void copy_floats(float *dst, const float *src, int64_t n) {
    kern::check_nonneg("copy_floats", "n", n);
    PhaseScope scope(Phase::Memory);
#pragma omp parallel for if (n > kern::kOmpMinWork) schedule(static)
    for (int64_t c = 0; c < n; c += kSpan)
        std::memcpy(dst + c, src + c, static_cast<size_t>(span_len(c, n)) * sizeof(float));
}

void add_floats(float *dst, const float *src, int64_t n) {
    kern::check_nonneg("add_floats", "n", n);
    PhaseScope scope(Phase::Memory);
#pragma omp parallel for if (n > kern::kOmpMinWork) schedule(static)
    for (int64_t c = 0; c < n; c += kSpan) add_span(dst + c, src + c, span_len(c, n));
}

void concat_time(float *mem, const float *const *enc, int64_t k, int64_t B, int64_t S, int64_t d) {
    kern::check_nonneg("concat_time", "k", k);
    PhaseScope scope(Phase::Memory);
    const int64_t block = S * d;
#pragma omp parallel for collapse(2) if (k * B * block > kern::kOmpMinWork) schedule(static)
    for (int64_t b = 0; b < B; b++)
        for (int64_t j = 0; j < k; j++)
            std::memcpy(mem + (b * k + j) * block, enc[j] + b * block, static_cast<size_t>(block) * sizeof(float));
}

void split_time_add(float *const *denc, const float *dmem, int64_t k, int64_t B, int64_t S, int64_t d) {
    kern::check_nonneg("split_time_add", "k", k);
    PhaseScope scope(Phase::Memory);
    const int64_t block = S * d;
#pragma omp parallel for collapse(2) if (k * B * block > kern::kOmpMinWork) schedule(static)
    for (int64_t b = 0; b < B; b++)
        for (int64_t j = 0; j < k; j++) add_span(denc[j] + b * block, dmem + (b * k + j) * block, block);
}

}  // namespace mos
