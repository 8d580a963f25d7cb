// lib/train/optim.hpp: Adam and the learning-rate schedules of DESIGN.md §4.
//
// Adam (Kingma & Ba) as fairseq runs it: beta = (0.9, 0.98), eps = 1e-8, no
// weight decay, bias-corrected step size lr * sqrt(1 - b2^t) / (1 - b1^t).
// Every parameter is updated every step, also those a small subnet did not
// touch (their gradient is zero and their moments decay), as PyTorch does for
// the sliced super-size tensors.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace mos {

struct AdamConfig {
    float beta1 = 0.9f;
    float beta2 = 0.98f;
    float eps = 1e-8f;
    float clip_norm = 0.0f;  // > 0: scale gradients to at most this global L2 norm
};

// One Adam step over n parameters with moments m and v (same layout) at step
// t >= 1. Returns the global gradient norm before clipping.
double adam_step(float *param, const float *grad, float *m, float *v, size_t n, int64_t t, float lr,
                 const AdamConfig &cfg);

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
