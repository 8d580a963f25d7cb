// lib/train/step.hpp: one supernet update (docs/training.md): the subnets of the
// update are chosen (uniform: one random arch, HAT; sandwich: the largest, the
// smallest and one random arch, MoS), each runs forward and backward on the same
// batch, gradients are averaged over subnets and tokens, and Adam steps.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "data/batch.hpp"
#include "model/arch.hpp"
#include "model/bundle.hpp"
#include "train/optim.hpp"

namespace mos {

namespace dist {
class Comm;
}

enum class Sampling : int { Uniform = 0, Sandwich = 1 };
const char *sampling_name(Sampling s);
Sampling parse_sampling(const std::string &s);  // "uniform" | "sandwich"

// The archs of update `step`: drawn from `rng`, which the caller keeps (and
// checkpoints) so that a resumed run draws the same sequence.
std::vector<Arch> sample_update_archs(const Space &space, Sampling s, Rng &rng);

struct StepStats {
    double loss_sum = 0.0;  // label-smoothed loss summed over tokens, averaged over subnets
    double nll_sum = 0.0;
    int64_t tokens = 0;     // target tokens of the batch (of every rank's shard)
    double grad_norm = 0.0;
    float lr = 0.0f;
};

// Forward + backward of every arch on `batch`, then one Adam step with learning
// rate `lr` as update number `step` (>= 1). Adam moments live in the bundle
// (allocated on first use). `dropout_seed` makes dropout reproducible.
// With `teacher` (a buffer of at least B*T*V floats), the first arch is the
// teacher: the others learn from its output distribution (in-place
// distillation) instead of the labels.
// With a distributed `comm`, `batch` is this rank's shard of the update's batch
// (it may have no rows): the target tokens are summed over ranks first so that
// every shard's gradient is divided by the whole batch's token count, the
// gradients are summed over ranks (MPI_Allreduce) once the last subnet's
// backward is done, and every rank takes the same Adam step. The loss sums of
// the result are then those of the whole batch.
StepStats train_step(SupernetBundle &b, Workspace &ws, const std::vector<Arch> &archs, const Batch &batch,
                     int64_t step, float lr, const AdamConfig &adam, uint64_t dropout_seed,
                     float *teacher = nullptr, dist::Comm *comm = nullptr);

// One thread's share of a data-parallel update (train_step_teams).
struct TrainTeam {
    Workspace *ws = nullptr;  // its own activations, large enough for every team's shard
    Batch batch;              // a shard of the update's batch (may have no rows)
    // Its own gradient (every team but the first, which accumulates into the
    // net's) and its gradients of the subnets' mixed FFN weights (SharedWeights).
    // Allocated at the first update, for the largest subnets, and left
    // uninitialised: a page is touched first by the team's own thread, and the
    // expert and router ranges of `grad` never are.
    std::unique_ptr<float[]> grad, mixed;
    size_t grad_floats = 0, mixed_floats = 0;
};

// The same update with data parallelism inside the process (docs/training.md,
// "Threads: products or shards"). First, for every subnet of the update, the
// routers, mixes and bf16 weight copies are made once (Supernet::prepare, all
// threads; kept in b.shared). Then one parallel region of one thread per team,
// each with one OpenMP thread of its own: the tasks (subnet i, shard p) --
// subnet 0's first, then the others costliest first -- go to whichever team is
// free, which runs the forward and backward of subnet i on teams[p].batch into
// its own gradient and mixed-weight gradients. A team on a slower core thus runs
// fewer tasks instead of holding the others back. Per subnet, the teams'
// mixed-weight gradients are summed and taken through the mixes and routers once
// (Supernet::mix_backward); the teams' gradients are summed (over all threads),
// and one Adam step follows. With one team it is train_step. The loss is the
// mean over the whole batch's target tokens, as with ranks (the shards' sum is
// the single-shard gradient up to rounding; which team adds which shard, and so
// the last bits, depend on timing); every (subnet, shard) draws its own dropout
// stream, whichever team runs it. `teacher` (in-place distillation) holds the
// whole batch's rows, shard p's after those of the shards before it; a student
// task waits until its shard's teacher rows are written. Every workspace must
// hold every shard (MOS_OUT_OF_RANGE names the pair otherwise). `comm` as in
// train_step: the teams' shards are then this rank's shard, split again.
StepStats train_step_teams(SupernetBundle &b, std::vector<TrainTeam> &teams, const std::vector<Arch> &archs,
                           int64_t step, float lr, const AdamConfig &adam, uint64_t dropout_seed,
                           float *teacher = nullptr, dist::Comm *comm = nullptr);

}  // namespace mos
