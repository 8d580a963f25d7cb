// lib/search/evolution.hpp: HAT's evolutionary search over the archs of a
// space under latency / parameter / FLOP constraints (docs/search.md).
//
// Each iteration keeps the `parents` fittest of the population and adds
// `mutations` children (every gene resampled with probability mutation_prob)
// and `crossovers` children (every gene from either of two parents). A child
// that breaks a constraint is regenerated. Fitness (validation loss, lower is
// better) and latency are evaluated once per arch and cached across iterations
// and across budgets, so searching several budgets costs little more than one.
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

    // Computes the fitness of every arch of `archs` not yet evaluated: the
    // new archs in the order of `archs` (duplicates once), the i-th on rank
    // i % size, the values summed over the ranks. Every rank must call it with
    // the same archs; a failure on any rank throws on every rank.
    void fill(const std::vector<Arch> &archs);
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
    // Every arch whose fitness was computed.
    std::vector<Evaluated> evaluated() const;

private:
    struct Entry {
        Evaluated e;
        bool has_fitness = false;
    };
    Space space_;
    uint64_t vocab_;
    FitnessFn fitness_;
    LatencyFn latency_;
    dist::Comm *comm_;
    std::map<std::string, Entry> cache_;
    int64_t fitness_evals_ = 0, local_evals_ = 0;
    double fitness_seconds_ = 0;
};

struct EvolutionProgress {
    int iteration = 0, iterations = 0;
    double best_fitness = 0;
    Evaluated best;          // the best feasible arch so far
    int64_t evaluations = 0;
    double seconds = 0;
};
// Return false to stop (see evolve).
using EvolutionCallback = std::function<bool(const EvolutionProgress &)>;

// The best feasible arch found. Throws MOS_OUT_OF_RANGE when even the space's
// cheapest archs break the constraints, naming the smallest achievable
// latency / params / FLOPs. When `cb` returns false: with `stopped` non-null,
// sets *stopped and returns the best feasible arch found so far (the callback
// runs after each iteration's population is scored, so there is one);
// otherwise throws MOS_ABORTED.
Evaluated evolve(const Space &space, const Constraints &c, const EvolutionOptions &o, EvalCache &cache,
                 const EvolutionCallback &cb, bool *stopped = nullptr);

// The Pareto front (latency ascending, fitness strictly decreasing).
std::vector<Evaluated> pareto_front(std::vector<Evaluated> all);

// An SVG picture of fitness against latency: every evaluated arch, the Pareto
// front, the chosen arch of each budget, budgets as dashed lines.
std::string pareto_svg(const std::vector<Evaluated> &all, const std::vector<Evaluated> &front,
                       const std::vector<double> &budgets, const std::vector<Evaluated> &chosen);

}  // namespace mos
