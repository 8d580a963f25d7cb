// lib/train/optim.hpp: the learning-rate schedules (docs/training.md); the
// optimiser itself, Adam, is kernels/adam.hpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "kernels/adam.hpp"

namespace mos {

enum class Schedule : int { InverseSqrt = 0, Cosine = 1 };
const char *schedule_name(Schedule s);
Schedule parse_schedule(const std::string &s);  // "inverse-sqrt" | "cosine"

struct ScheduleConfig {
    Schedule kind = Schedule::InverseSqrt;
    float lr = 5e-4f;         // peak learning rate (after warm-up)
    float init_lr = 1e-7f;    // at step 0
    float min_lr = 1e-6f;     // cosine: at max_steps
    int64_t warmup = 4000;    // linear warm-up steps
    int64_t max_steps = 0;    // cosine: length of the decay (required > warmup)
};

// Throws MOS_INVALID_ARGUMENT naming a bad field.
void check_schedule(const ScheduleConfig &c);
// Learning rate of update number `step` (1-based).
float schedule_lr(const ScheduleConfig &c, int64_t step);

}  // namespace mos
