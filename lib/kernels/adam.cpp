// lib/kernels/adam.cpp: Adam with optional global-norm clipping (see adam.hpp).
#include "kernels/adam.hpp"

#include <cmath>

#include "backend/profile.hpp"
#include "core/error.hpp"

namespace mos {

double grad_norm(const float *grad, size_t n) {
    PhaseScope scope(Phase::Optimizer);
    double sq = 0.0;
#pragma omp parallel for reduction(+ : sq) schedule(static)
    for (size_t i = 0; i < n; i++) sq += static_cast<double>(grad[i]) * grad[i];
    return std::sqrt(sq);
}

void adam_update(float *param, const float *grad, float *m, float *v, size_t n, int64_t t, float lr,
                 const AdamConfig &cfg, float gscale) {
    check(t >= 1, MOS_INVALID_ARGUMENT, "Adam step ", t, " must be >= 1");
    PhaseScope scope(Phase::Optimizer);
    const float b1 = cfg.beta1, b2 = cfg.beta2, eps = cfg.eps;
    const double bc1 = 1.0 - std::pow(static_cast<double>(b1), static_cast<double>(t));
    const double bc2 = 1.0 - std::pow(static_cast<double>(b2), static_cast<double>(t));
    const float step = static_cast<float>(lr * std::sqrt(bc2) / bc1);
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        const float g = grad[i] * gscale;
        const float mi = b1 * m[i] + (1.0f - b1) * g;
        const float vi = b2 * v[i] + (1.0f - b2) * g * g;
        m[i] = mi;
        v[i] = vi;
        param[i] -= step * mi / (std::sqrt(vi) + eps);
    }
}

double adam_step(float *param, const float *grad, float *m, float *v, size_t n, int64_t t, float lr,
                 const AdamConfig &cfg) {
    check(t >= 1, MOS_INVALID_ARGUMENT, "Adam step ", t, " must be >= 1");
    if (!(cfg.clip_norm > 0.0f)) {
        // No clipping: the norm (reported only) is summed in the update's own loop,
        // one pass over the gradients and one parallel region instead of two. The
        // weights are those of the two-pass path bit for bit (gscale = 1).
        PhaseScope scope(Phase::Optimizer);
        const float b1 = cfg.beta1, b2 = cfg.beta2, eps = cfg.eps;
        const double bc1 = 1.0 - std::pow(static_cast<double>(b1), static_cast<double>(t));
        const double bc2 = 1.0 - std::pow(static_cast<double>(b2), static_cast<double>(t));
        const float step = static_cast<float>(lr * std::sqrt(bc2) / bc1);
        double sq = 0.0;
#pragma omp parallel for reduction(+ : sq) schedule(static)
        for (size_t i = 0; i < n; i++) {
            const float g = grad[i];
            sq += static_cast<double>(g) * g;
            const float mi = b1 * m[i] + (1.0f - b1) * g;
            const float vi = b2 * v[i] + (1.0f - b2) * g * g;
            m[i] = mi;
            v[i] = vi;
            param[i] -= step * mi / (std::sqrt(vi) + eps);
        }
        return std::sqrt(sq);
    }
    const double norm = grad_norm(grad, n);
    float gscale = 1.0f;
    if (cfg.clip_norm > 0.0f && norm > cfg.clip_norm) gscale = static_cast<float>(cfg.clip_norm / (norm + 1e-6));
    adam_update(param, grad, m, v, n, t, lr, cfg, gscale);
    return norm;
}

}  // namespace mos
