// tests/grad/grad_common.hpp: cmocka glue for the gradient checks: run
// mos_test::check_grad and fail the cmocka test (with the tensor's name) when it fails.
#pragma once

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
// cmocka 1.1 headers carry no extern "C" of their own.
extern "C" {
#include <cmocka.h>
}

#include <string>
#include <vector>

#include "gradcheck.hpp"

namespace mos_test {

inline void expect_grad(const std::string &name, float *x, const float *analytic, size_t n,
                        const std::function<double()> &loss, const GradCheckOptions &o = {}) {
    GradCheckResult r = check_grad(name, x, analytic, n, loss, o);
    if (!r.ok) fail_msg("gradient of %s wrong: element %zu analytic %g numeric %g", name.c_str(),
                        r.worst, r.analytic, r.numeric);
}

// Every element of g[rows, cols] (leading dim ld) outside [:r_act, :c_act] is exactly zero.
inline void expect_zero_outside(const char *name, const float *g, int64_t rows, int64_t cols, int64_t ld,
                                int64_t r_act, int64_t c_act) {
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < cols; j++)
            if ((i >= r_act || j >= c_act) && g[i * ld + j] != 0.0f)
                fail_msg("%s[%lld, %lld] = %g outside the active slice [:%lld, :%lld]", name,
                         (long long)i, (long long)j, g[i * ld + j], (long long)r_act, (long long)c_act);
}

inline void zero(std::vector<float> &v) { std::fill(v.begin(), v.end(), 0.0f); }

}  // namespace mos_test
