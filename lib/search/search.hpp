// lib/search/search.hpp: a whole search on a trained supernet: the
// fitness of an arch is the validation loss of its subnet (inherited, routed
// weights) on a fixed subset of a validation split; latency comes from a
// predictor file or from timing the routed model here; one evolution runs per
// latency budget, all sharing the evaluation cache.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/progress.hpp"
#include "eval/loss.hpp"
#include "model/bundle.hpp"
#include "search/evolution.hpp"
#include "search/latency.hpp"
#include "search/predictor.hpp"

namespace mos {

struct SearchConfig {
    std::string data_dir, split = "valid", src_lang, tgt_lang;
    int64_t valid_sentences = 500;
    std::vector<double> budgets_ms;  // empty: one search without a latency limit
    uint64_t max_params = 0, max_flops = 0;
    std::string predictor_path;      // latency from this predictor...
    bool measure = false;            // ...or measured here (slow)
    LatencyOptions latency;          // protocol when measuring
    EvolutionOptions evolution;
    // Racing (docs/search.md, "Racing"): every new arch is first scored on
    // the first `screen_sentences` pairs of the subset, and only the promising
    // ones (evolution.promote) on all of it; 0 (or a subset no larger than
    // the screen) = every arch scored on the whole subset.
    int64_t screen_sentences = 0;
    // Products of the fitness forward: F32, BF16 (bf16 inputs, f32
    // accumulation; f32 where the CPU lacks native bf16), or AUTO (BF16 where
    // native, else F32). Each budget's winner is re-scored in f32 when the
    // search ran in bf16, so reported fitness is always f32.
    enum class Precision { F32 = 0, BF16 = 1, AUTO = 2 } precision = Precision::F32;
    // The ranks to search on (docs/search.md, "Searching on many machines"):
    // a pointer to an MPI_Comm, or null: MPI_COMM_WORLD when MPI is running,
    // else this process alone. Every rank runs the search with the same
    // config and gets the same report; the fitness evaluations are spread.
    const void *mpi_comm = nullptr;
    // Several budgets (docs/search.md, "Convergence and several budgets"): each later
    // budget's first population holds up to `seed_archs` of the best fully
    // scored archs that meet it (after the smallest arch), then random ones;
    // 0 = every budget starts from random archs.
    int seed_archs = 0;
};

struct BudgetResult {
    double budget_ms = 0;  // 0 = none
    Evaluated best;
    bool complete = true;  // false: the search was stopped before this budget's evolution ended
    double search_fitness = 0;  // best.fitness as the search computed it (in the search's precision)
    int iterations = 0;         // iterations this budget's evolution ran (0: not searched, stopped before)
    int best_iteration = 0;     // the iteration that found `best` (0: taken from earlier budgets)
    int seeds = 0;              // archs of earlier budgets in its first population
    // "completed" (every iteration), "converged" (patience), "stopped" (the
    // progress callback), "not searched" (stopped before this budget).
    std::string end = "completed";
};

struct SearchReport {
    std::vector<double> budgets_ms;    // as configured (empty: no latency limit)
    std::vector<BudgetResult> results;
    std::vector<Evaluated> evaluated;  // every arch whose fitness was computed
    std::vector<Evaluated> pareto;
    int64_t fitness_evals = 0;         // over every rank
    int ranks = 1;                     // processes the search ran on
    int64_t rank_fitness_evals = 0;    // of fitness_evals, the ones this rank computed
    double fitness_seconds = 0;        // summed over the ranks
    double fitness_flops = 0;          // forward FLOPs of all fitness evaluations (unpadded)
    int64_t valid_pairs = 0, valid_src_tokens = 0, valid_tgt_tokens = 0;  // the fitness subset
    int64_t screen_pairs = 0;          // racing: pairs of the screening subset (0: racing off)
    double promote = 0;                // racing: the promoted fraction
    int64_t screen_evals = 0;          // racing: archs screened, over every rank
    double screen_seconds = 0;         // racing: summed over the ranks
    std::string precision = "f32";     // the precision the fitness products ran in
    double rescore_seconds = 0;        // f32 re-scoring of the winners (bf16 searches)
    int patience = 0;                  // the convergence rule (EvolutionOptions)
    double min_delta = 0;
    double parent_sigmas = -1;         // racing: the parents' cutoff margin (< 0: off)
    double seconds = 0;
    std::string latency_source;        // "predictor FILE" | "measured" | "none"
    bool stopped = false;              // the progress callback stopped the search early
    std::vector<std::string> warnings;
};

// The fitness of subnet `dims`: its mean loss on `batches` through the
// inference-only forward of the model route() makes of it (nothing kept for
// backward; in f32 it equals mean_loss through the supernet's forward to
// float tolerance). `ws` is reused across calls; one thread at a time.
MeanLoss subnet_fitness(const Supernet &net, const ArchDims &dims, EvalWorkspace &ws,
                        const std::vector<TokenBatch> &batches, EvalPrecision p = EvalPrecision::F32);

// "f32" | "bf16" | "auto", and back (MOS_INVALID_ARGUMENT for another name).
const char *search_precision_name(SearchConfig::Precision p);
SearchConfig::Precision parse_search_precision(const std::string &name);

// Runs the search. `progress` (may be empty) hears after every iteration of
// every budget's evolution: done and total iterations over all budgets, and
// the best validation loss and archs evaluated so far in `what`; returning
// false stops the search early: the report then has `stopped` set and, for
// the budget being searched, the best arch found so far, and for each later
// budget the best evaluated arch that meets it, if any (results not complete).
SearchReport run_search(const SupernetBundle &b, const SearchConfig &cfg, const ProgressFn &progress);

// JSON of a report (docs/search.md): budgets with their best arch, fitness,
// latency, params and FLOPs; the Pareto front; statistics; warnings.
std::string search_report_json(const SearchReport &r);
// SVG of a report (pareto_svg): every evaluated arch, the front, the budgets
// and the chosen arch of each.
std::string search_report_svg(const SearchReport &r);

}  // namespace mos
