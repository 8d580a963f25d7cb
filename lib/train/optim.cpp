// lib/train/optim.cpp: Adam with optional global-norm clipping, and the
// inverse-sqrt and warm-up + cosine learning-rate schedules.
#include "train/optim.hpp"

#include <cmath>

#include "core/error.hpp"

namespace mos {

double adam_step(float *param, const float *grad, float *m, float *v, size_t n, int64_t t, float lr,
                 const AdamConfig &cfg) {
    check(t >= 1, MOS_INVALID_ARGUMENT, "Adam step ", t, " must be >= 1");
    double sq = 0.0;
#pragma omp parallel for reduction(+ : sq) schedule(static)
    for (size_t i = 0; i < n; i++) sq += static_cast<double>(grad[i]) * grad[i];
    const double norm = std::sqrt(sq);
    float gscale = 1.0f;
    if (cfg.clip_norm > 0.0f && norm > cfg.clip_norm) gscale = static_cast<float>(cfg.clip_norm / (norm + 1e-6));
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
    return norm;
}

const char *schedule_name(Schedule s) { return s == Schedule::Cosine ? "cosine" : "inverse-sqrt"; }

Schedule parse_schedule(const std::string &s) {
    if (s == "inverse-sqrt") return Schedule::InverseSqrt;
    if (s == "cosine") return Schedule::Cosine;
    fail(MOS_INVALID_ARGUMENT, "unknown schedule '", s, "'; allowed inverse-sqrt|cosine");
}

void check_schedule(const ScheduleConfig &c) {
    check(std::isfinite(c.lr) && c.lr > 0.0f && c.lr < 1.0f, MOS_INVALID_ARGUMENT, "learning rate ", c.lr,
          " outside (0, 1)");
    check(std::isfinite(c.init_lr) && c.init_lr >= 0.0f && c.init_lr <= c.lr, MOS_INVALID_ARGUMENT,
          "initial learning rate ", c.init_lr, " outside [0, lr]");
    check(c.warmup >= 0, MOS_INVALID_ARGUMENT, "warm-up ", c.warmup, " is negative");
    if (c.kind == Schedule::Cosine) {
        check(c.max_steps > c.warmup, MOS_INVALID_ARGUMENT, "cosine schedule needs max steps (", c.max_steps,
              ") greater than warm-up (", c.warmup, ")");
        check(std::isfinite(c.min_lr) && c.min_lr >= 0.0f && c.min_lr <= c.lr, MOS_INVALID_ARGUMENT,
              "minimum learning rate ", c.min_lr, " outside [0, lr]");
    }
}

float schedule_lr(const ScheduleConfig &c, int64_t step) {
    if (step < 1) step = 1;
    if (c.warmup > 0 && step <= c.warmup)
        return c.init_lr + (c.lr - c.init_lr) * static_cast<float>(step) / static_cast<float>(c.warmup);
    if (c.kind == Schedule::InverseSqrt) {
        const double w = c.warmup > 0 ? static_cast<double>(c.warmup) : 1.0;
        return static_cast<float>(c.lr * std::sqrt(w) / std::sqrt(static_cast<double>(step)));
    }
    const double span = static_cast<double>(c.max_steps - c.warmup);
    const double x = std::min(1.0, static_cast<double>(step - c.warmup) / span);
    const double pi = 3.14159265358979323846;
    return static_cast<float>(c.min_lr + 0.5 * (c.lr - c.min_lr) * (1.0 + std::cos(pi * x)));
}

}  // namespace mos
