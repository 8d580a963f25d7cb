// lib/search/evolution.hpp: HAT's evolutionary search over the archs of a
// space under latency / parameter / FLOP constraints (docs/search.md).
//
// Each iteration keeps the `parents` fittest of the population and adds
// `mutations` children (every gene resampled with probability mutation_prob)
// and `crossovers` children (every gene from either of two parents). A child
// that breaks a constraint is regenerated. Fitness (validation loss, lower is
// better) and latency are evaluated once per arch and cached across iterations
// and across budgets, so searching several budgets costs little more than one.
//
// Racing (docs/search.md, "Racing"): when the cache has a screening function
// (the loss on a small first part of the validation subset), each generation's
// archs without a fitness are first screened, and only the promising ones get
// the full fitness: the best `promote` fraction by screened loss, plus any
// whose calibrated estimate beats the best full fitness of the generation.
// The others are ranked by that estimate (a least-squares line from screened
// to full loss over every arch that has both). The reported best arch always
// has a full fitness.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "model/arch.hpp"
#include "model/space.hpp"

namespace mos {

namespace dist {
class Comm;
}

struct EvolutionOptions {
    int population = 125;
    int parents = 25;
    int mutations = 50;
    int crossovers = 50;
    int iterations = 30;
    double mutation_prob = 0.3;
    uint64_t seed = 1;
    int max_tries = 10000;  // attempts to find one feasible child before giving up
    // Racing only (a cache with a screening function): the fraction of a
    // generation's screened-only archs, best screened loss first, that get the
    // full fitness (at least one), in (0, 1].
    double promote = 0.25;
    // Convergence (docs/search.md, "Convergence and several budgets"): stop once `patience`
    // iterations in a row improved the best full fitness by less than
    // `min_delta` nats; 0 = run every iteration.
    int patience = 0;
    double min_delta = 0.001;
    // Racing only: with parent_sigmas >= 0, once a generation holds a fully
    // scored member, the archs fully scored are those whose calibrated
    // estimate minus parent_sigmas times the calibration's residual spread
    // reaches the parents' cutoff (the parents-th best value of the ranking
    // that picks the parents), instead of the `promote` fraction (docs/
    // search.md, "Convergence and several budgets"). Negative = the fraction
    // always.
    double parent_sigmas = -1.0;
};

void check_evolution_options(const EvolutionOptions &o);

struct Constraints {
    double latency_ms = 0;   // 0 = no latency limit
    uint64_t params = 0;     // 0 = no limit
    uint64_t flops = 0;      // 0 = no limit
};

struct Evaluated {
    Arch arch;
    double fitness = 0;      // validation loss per token
    double latency_ms = 0;
    uint64_t params = 0, flops = 0;
};

// Evaluations shared by every budget of one search: fitness and latency of an
// arch are computed at most once (keyed by its canonical JSON).
//
// With a communicator of several ranks (docs/search.md, "Searching on many
// machines"), every rank runs the same search and calls the cache in the same
// order; fill() spreads the fitness of a generation's new archs over the ranks
// and sums the values, so every rank holds every fitness and the search goes
// on identically everywhere. With one process fill() evaluates in order, as
// full() would.
class EvalCache {
public:
    using FitnessFn = std::function<double(const Arch &)>;
    using LatencyFn = std::function<double(const Arch &)>;
    // `comm` (may be null: one process) must outlive the cache.
    EvalCache(const Space &space, uint64_t vocab, FitnessFn fitness, LatencyFn latency,
              dist::Comm *comm = nullptr);

    // Racing: `screen` is a cheaper estimate of the fitness (the loss on the
    // first part of the validation subset); empty turns racing off.
    void set_screen(FitnessFn screen) { screen_ = std::move(screen); }
    bool racing() const { return static_cast<bool>(screen_); }

    // Computes the fitness of every arch of `archs` not yet evaluated: the
    // new archs in the order of `archs` (duplicates once), the i-th on rank
    // i % size, the values summed over the ranks. Every rank must call it with
    // the same archs; a failure on any rank throws on every rank.
    void fill(const std::vector<Arch> &archs);
    // Racing: screens every arch of `archs` that has neither a fitness nor a
    // screened loss, spread over the ranks as fill(), then refits the
    // calibration.
    void fill_screen(const std::vector<Arch> &archs);
    bool has_fitness(const Arch &a);
    // The screened loss (NaN when the arch was not screened).
    double screened(const Arch &a);
    // The full fitness when there is one, else the calibrated estimate from
    // the screened loss (calibrated(); the arch must have been screened).
    double rank_value(const Arch &a);
    // The full-fitness estimate of a screened loss: a + b * screened, the
    // least-squares line over every arch with both values (at least 3 and
    // distinct screened losses; with fewer, the mean difference; with none,
    // the screened loss itself).
    double calibrated(double screened_loss) const { return calib_a_ + calib_b_ * screened_loss; }
    // The root mean square residual of the calibration over the archs it was
    // fitted on (0 with fewer than 3).
    double calibration_spread() const { return calib_sd_; }
    // Whether every rank wants to go on (each passes its own wish): the
    // search stops everywhere when any rank asks to stop.
    bool all_continue(bool go);

    // Cheap facts (latency from the latency function, params, FLOPs).
    const Evaluated &facts(const Arch &a);
    // Facts plus fitness (the expensive part).
    const Evaluated &full(const Arch &a);
    bool feasible(const Arch &a, const Constraints &c);

    // Archs whose fitness was computed, over every rank.
    int64_t fitness_evals() const { return fitness_evals_; }
    // Of those, the ones this rank computed, and the seconds it took.
    int64_t local_fitness_evals() const { return local_evals_; }
    double fitness_seconds() const { return fitness_seconds_; }
    // Racing: archs screened (over every rank), the ones this rank screened
    // and its seconds screening.
    int64_t screen_evals() const { return screen_evals_; }
    int64_t local_screen_evals() const { return local_screens_; }
    double screen_seconds() const { return screen_seconds_; }
    // Every arch whose fitness was computed.
    std::vector<Evaluated> evaluated() const;

private:
    struct Entry {
        Evaluated e;
        bool has_fitness = false;
        bool has_screen = false;
        double screen = 0;
    };
    // Computes fn for `todo` (spread over the ranks) into `values`; adds to
    // the given counters.
    void spread(const std::vector<Entry *> &todo, const FitnessFn &fn, std::vector<double> &values,
                int64_t &local, double &seconds);
    void calibrate();
    Space space_;
    uint64_t vocab_;
    FitnessFn fitness_, screen_;
    LatencyFn latency_;
    dist::Comm *comm_;
    std::map<std::string, Entry> cache_;
    int64_t fitness_evals_ = 0, local_evals_ = 0;
    double fitness_seconds_ = 0;
    int64_t screen_evals_ = 0, local_screens_ = 0;
    double screen_seconds_ = 0;
    double calib_a_ = 0, calib_b_ = 1, calib_sd_ = 0;
};

struct EvolutionProgress {
    int iteration = 0, iterations = 0;
    double best_fitness = 0;
    Evaluated best;          // the best feasible arch so far
    int64_t evaluations = 0;  // archs with a full fitness
    int64_t screened = 0;     // archs screened (racing)
    double seconds = 0;
};
// Return false to stop (see evolve).
using EvolutionCallback = std::function<bool(const EvolutionProgress &)>;

// How an evolution ended.
struct EvolutionOutcome {
    int iterations = 0;       // iterations run
    bool converged = false;   // stopped by the patience rule
    int best_iteration = 0;   // the iteration whose generation held the best arch
};

// The best feasible arch found (with a full fitness, racing or not). Throws MOS_OUT_OF_RANGE when even the space's
// cheapest archs break the constraints, naming the smallest achievable
// latency / params / FLOPs. When `cb` returns false: with `stopped` non-null,
// sets *stopped and returns the best feasible arch found so far (the callback
// runs after each iteration's population is scored, so there is one);
// otherwise throws MOS_ABORTED.
//
// `seeds` (docs/search.md, "Convergence and several budgets") join the first population
// after the space's smallest arch, in their order (those that break the
// constraints are skipped, at most population - 1 are taken); random feasible
// archs fill the rest. `outcome` (may be null) says how the evolution ended.
Evaluated evolve(const Space &space, const Constraints &c, const EvolutionOptions &o, EvalCache &cache,
                 const EvolutionCallback &cb, bool *stopped = nullptr, const std::vector<Arch> &seeds = {},
                 EvolutionOutcome *outcome = nullptr);

// Seeds for a later budget: up to `n` archs with a full fitness in `cache`
// that meet `c`, best fitness first (ties in the cache's order, the same on
// every rank).
std::vector<Arch> seed_archs(EvalCache &cache, const Constraints &c, int n);

// The Pareto front (latency ascending, fitness strictly decreasing).
std::vector<Evaluated> pareto_front(std::vector<Evaluated> all);

// An SVG picture of fitness against latency: every evaluated arch, the Pareto
// front, the chosen arch of each budget, budgets as dashed lines.
std::string pareto_svg(const std::vector<Evaluated> &all, const std::vector<Evaluated> &front,
                       const std::vector<double> &budgets, const std::vector<Evaluated> &chosen);

}  // namespace mos
