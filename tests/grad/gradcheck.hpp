// tests/grad/gradcheck.hpp: finite-difference gradient checking shared by the
// `grad` suite.
//
// A layer's backward is checked against central differences of a scalar loss
// L = sum_i out_i * r_i with a fixed random r, so every output element
// contributes. Forward passes run in f32, so the step and tolerance are chosen
// for f32 round-off: h = 1e-2 * max(1, |x|) by default, and an element passes
// when |analytic - numeric| <= atol + rtol * max(|analytic|, |numeric|).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace mos_test {

struct GradCheckOptions {
    double h = 1e-2;     // relative finite-difference step
    double atol = 2e-3;  // absolute tolerance
    double rtol = 2e-2;  // relative tolerance
    size_t max_elems = 64;  // check at most this many elements (spread evenly), 0 = all
};

struct GradCheckResult {
    bool ok = true;
    double max_abs_err = 0.0;
    size_t worst = 0;
    double analytic = 0.0, numeric = 0.0;
};

// Deterministic uniform values in [lo, hi).
inline void fill_uniform(float *x, size_t n, uint64_t seed, float lo = -1.0f, float hi = 1.0f) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<float> d(lo, hi);
    for (size_t i = 0; i < n; i++) x[i] = d(rng);
}
inline std::vector<float> uniform(size_t n, uint64_t seed, float lo = -1.0f, float hi = 1.0f) {
    std::vector<float> v(n);
    fill_uniform(v.data(), n, seed, lo, hi);
    return v;
}

// Dot product in double: the scalar loss sum(out * r).
inline double dot(const float *a, const float *b, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += static_cast<double>(a[i]) * b[i];
    return s;
}

// Compare `analytic[0..n)` with central differences of `loss()` with respect to
// `x[0..n)` (x is perturbed in place and restored). Prints the first failure.
inline GradCheckResult check_grad(const std::string &name, float *x, const float *analytic, size_t n,
                                  const std::function<double()> &loss, const GradCheckOptions &o = {}) {
    GradCheckResult r;
    size_t step = (o.max_elems == 0 || n <= o.max_elems) ? 1 : n / o.max_elems;
    for (size_t i = 0; i < n; i += step) {
        const float x0 = x[i];
        const double h = o.h * std::max(1.0, std::fabs(static_cast<double>(x0)));
        x[i] = static_cast<float>(x0 + h);
        const double hp = static_cast<double>(x[i]) - x0;
        const double lp = loss();
        x[i] = static_cast<float>(x0 - h);
        const double hm = x0 - static_cast<double>(x[i]);
        const double lm = loss();
        x[i] = x0;
        const double num = (lp - lm) / (hp + hm);
        const double ana = analytic[i];
        const double err = std::fabs(ana - num);
        const double tol = o.atol + o.rtol * std::max(std::fabs(ana), std::fabs(num));
        if (err > r.max_abs_err) {
            r.max_abs_err = err;
            r.worst = i;
            r.analytic = ana;
            r.numeric = num;
        }
        if (err > tol && r.ok) {
            r.ok = false;
            std::fprintf(stderr, "gradcheck %s: element %zu analytic %.6g numeric %.6g (err %.3g > tol %.3g)\n",
                         name.c_str(), i, ana, num, err, tol);
        }
    }
    return r;
}

}  // namespace mos_test
