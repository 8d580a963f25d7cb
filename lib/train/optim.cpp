// lib/train/optim.cpp: the inverse-sqrt and warm-up + cosine learning-rate
// schedules.
#include "train/optim.hpp"

#include <cmath>

#include "core/error.hpp"

namespace mos {

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
