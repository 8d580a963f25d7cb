// lib/backend/profile.hpp: the phase profile: wall time and calls of every
// kernel family (GEMMs by form, LayerNorm, attention's element-wise work, the
// loss, the optimiser, memory traffic, ...), so that one run on 1 thread and one
// on N threads show which part of an update does not scale (docs/benchmarks.md,
// "Phase profile").
//
// Each kernel entry opens a PhaseScope. Times are exclusive: a scope's time
// excludes the scopes opened inside it on the same thread (linear_forward's
// own time is its bias copy; its GEMM counts under the GEMM's phase). Scopes
// are opened by the thread that issues the kernels, outside their OpenMP
// regions, so a phase's time is the wall time of its parallel work.
//
// Off by default. MOS_PROFILE=1 turns it on for the process and prints a table
// to stderr at exit; profile_enable() turns it on from code (mos-bench-train
// --profile). When off, a scope costs one relaxed atomic load.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace mos {

enum class Phase : int {
    GemmForward = 0,     // x W^T: layer forward products, the output projection
    GemmBackwardData,    // dy W: gradients of the inputs
    GemmBackwardWeight,  // dy^T x: gradients of the weights
    GemmAttention,       // batched per-head products of attention
    GemmOther,           // any other form (A^T B^T)
    GemmCalibration,     // the auto backend timing the backends on a new shape class
    Attention,           // softmax rows, masks and attention dropout (not its GEMMs)
    LayerNorm,
    Elementwise,         // ReLU, residual adds, dropout, bias add and bias gradients
    Loss,                // cross-entropy forward and backward
    Embedding,           // embedding lookups, positions, their gradient
    Mix,                 // the MoS mix of expert weights and its backward
    Router,              // the MoS router MLPs
    Optimizer,           // gradient norm and Adam
    Memory,              // zeroing buffers and gradients, concatenations, copies
    Convert,             // f32 -> bf16 copies of GEMM operands
    TeamWait,            // data-parallel teams: a team's time in the region outside its own work
                         // (waiting for slower teams, starting and joining)
    Count
};

const char *phase_name(Phase p);

namespace detail {
extern std::atomic<bool> g_profile_on;
void phase_begin(Phase p);
void phase_end();
}  // namespace detail

inline bool profile_on() { return detail::g_profile_on.load(std::memory_order_relaxed); }
void profile_enable(bool on);
// Clears every counter (phases and parallel regions).
void profile_reset();

struct PhaseStat {
    Phase phase = Phase::Count;
    int64_t calls = 0;
    double seconds = 0.0;      // exclusive wall time
    double cpu_seconds = 0.0;  // exclusive CPU time of the calling thread (its share of the
                               // parallel work; on a loaded machine, free of the time it waited)
};
// Every phase, in enum order, since the last reset.
std::vector<PhaseStat> profile_snapshot();
// A table: phase, calls, wall ms, share, the calling thread's CPU ms, share; `per` divides calls
// and times (e.g. the number of updates), `total_seconds` (if > 0) adds a line
// for the time no scope covered.
std::string profile_table(const std::vector<PhaseStat> &stats, double per, double total_seconds);

// Adds time measured elsewhere to a phase (e.g. Phase::TeamWait, which has no
// kernel to open a scope around). No-op when the profile is off.
void profile_add(Phase p, int64_t calls, double seconds);

// Opens a phase for its lifetime (on the calling thread).
class PhaseScope {
public:
    explicit PhaseScope(Phase p) : on_(profile_on()) {
        if (on_) detail::phase_begin(p);
    }
    ~PhaseScope() {
        if (on_) detail::phase_end();
    }
    PhaseScope(const PhaseScope &) = delete;
    PhaseScope &operator=(const PhaseScope &) = delete;

private:
    bool on_;
};

}  // namespace mos
