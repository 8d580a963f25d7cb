// tests/search/test_search_convergence.cpp: stopping a converged evolution
// (patience), seeding a later budget with the best archs of earlier ones, and
// racing's parents' cutoff (lib/search/evolution.cpp; docs/search.md
// "Convergence and several budgets"), on synthetic fitness
// functions of the arch so that it runs in milliseconds.
#include <cmath>
#include <exception>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "core/rng.hpp"
#include "model/arch.hpp"
#include "model/space.hpp"
#include "search/evolution.hpp"

#include "synthetic_fitness.hpp"

#include "../common/test_support.hpp"

namespace {

double budget_at(double f) {
    const mos::Space space = test_space();
    const double lo = latency(mos::arch_smallest(space)), hi = latency(mos::arch_largest(space));
    return lo + f * (hi - lo);
}

mos::EvolutionOptions small_options(uint64_t seed) {
    mos::EvolutionOptions o;
    o.population = 40;
    o.parents = 8;
    o.mutations = 16;
    o.crossovers = 16;
    o.iterations = 30;
    o.seed = seed;
    return o;
}

struct Run {
    mos::Evaluated best;
    mos::EvolutionOutcome outcome;
    std::vector<double> best_by_iteration;  // the callback's best fitness after each iteration
    int64_t full = 0;
};

Run evolve_once(mos::EvalCache &cache, const mos::EvolutionOptions &o, double budget,
                const std::vector<mos::Arch> &seeds = {}) {
    Run r;
    mos::Constraints c;
    c.latency_ms = budget;
    const int64_t before = cache.fitness_evals();
    auto cb = [&r](const mos::EvolutionProgress &p) {
        r.best_by_iteration.push_back(p.best_fitness);
        return true;
    };
    r.best = mos::evolve(test_space(), c, o, cache, cb, nullptr, seeds, &r.outcome);
    r.full = cache.fitness_evals() - before;
    return r;
}

Run plain_run(const mos::EvolutionOptions &o, double budget) {
    mos::EvalCache cache(test_space(), 8000, true_loss, latency);
    return evolve_once(cache, o, budget);
}

void no_patience_runs_every_iteration(void **) {
    mos::EvolutionOptions o = small_options(3);
    o.iterations = 12;
    const Run r = plain_run(o, budget_at(0.5));
    assert_int_equal(r.outcome.iterations, 12);
    assert_false(r.outcome.converged);
    assert_int_equal(static_cast<int>(r.best_by_iteration.size()), 12);
    assert_true(r.outcome.best_iteration >= 1 && r.outcome.best_iteration <= 12);
}

void patience_stops_when_converged(void **) {
    // Any improvement below 10 nats counts as none: the evolution stops
    // `patience` iterations after the first.
    mos::EvolutionOptions o = small_options(3);
    o.patience = 3;
    o.min_delta = 10.0;
    const Run r = plain_run(o, budget_at(0.5));
    assert_true(r.outcome.converged);
    assert_int_equal(r.outcome.iterations, 4);
    assert_int_equal(static_cast<int>(r.best_by_iteration.size()), 4);
}

void patience_keeps_the_trajectory(void **) {
    // Patience only cuts the evolution short: up to where it stops, every
    // iteration's best is the one of the evolution without patience, the
    // stop comes exactly after `patience` iterations without an improvement
    // of min_delta, and the result is the best at that point.
    const double b = budget_at(0.6);
    for (uint64_t seed = 1; seed <= 4; seed++) {
        mos::EvolutionOptions o = small_options(seed);
        const Run full = plain_run(o, b);
        o.patience = 2;
        o.min_delta = 0.002;
        const Run cut = plain_run(o, b);
        const int n = cut.outcome.iterations;
        assert_true(n >= 1 && n <= o.iterations);
        for (int i = 0; i < n; i++) assert_true(cut.best_by_iteration[i] == full.best_by_iteration[i]);
        assert_true(cut.best.fitness == full.best_by_iteration[n - 1]);
        // Replay the rule on the full trajectory.
        int stale = 0, stop = o.iterations;
        for (int i = 1; i < o.iterations; i++) {
            stale = full.best_by_iteration[i] < full.best_by_iteration[i - 1] - o.min_delta ? 0 : stale + 1;
            if (stale >= o.patience) {
                stop = i + 1;
                break;
            }
        }
        assert_int_equal(n, stop);
        assert_true(cut.outcome.converged == (stop < o.iterations));
        assert_true(cut.full <= full.full);
    }
}

bool throws(const mos::EvolutionOptions &o) {
    try {
        mos::check_evolution_options(o);
    } catch (const std::exception &) {
        return true;
    }
    return false;
}

void patience_is_checked(void **) {
    mos::EvolutionOptions o;
    o.patience = -1;
    assert_true(throws(o));
    o.patience = 5;
    o.min_delta = std::numeric_limits<double>::quiet_NaN();
    assert_true(throws(o));
    o.min_delta = -0.1;
    assert_true(throws(o));
    o.min_delta = 0.001;
    o.parent_sigmas = std::numeric_limits<double>::infinity();
    assert_true(throws(o));
    o.parent_sigmas = 1.0;
    assert_false(throws(o));
}

void seeds_are_the_best_feasible_scored_archs(void **) {
    mos::EvalCache cache(test_space(), 8000, true_loss, latency);
    evolve_once(cache, small_options(5), budget_at(0.3));
    mos::Constraints c;
    c.latency_ms = budget_at(0.6);
    const std::vector<mos::Arch> s = mos::seed_archs(cache, c, 10);
    assert_int_equal(static_cast<int>(s.size()), 10);
    double prev = -std::numeric_limits<double>::infinity();
    for (const mos::Arch &a : s) {
        assert_true(cache.has_fitness(a));
        assert_true(cache.feasible(a, c));
        assert_true(true_loss(a) >= prev);
        prev = true_loss(a);
    }
    // No scored feasible arch is better than the last seed but left out.
    int better = 0;
    for (const mos::Evaluated &e : cache.evaluated())
        if (cache.feasible(e.arch, c) && e.fitness < prev) better++;
    assert_true(better <= 9);
    // A tighter budget than the earlier one: only the archs meeting it.
    mos::Constraints tight;
    tight.latency_ms = budget_at(0.1);
    for (const mos::Arch &a : mos::seed_archs(cache, tight, 1000)) assert_true(latency(a) <= tight.latency_ms);
    assert_int_equal(static_cast<int>(mos::seed_archs(cache, c, 0).size()), 0);
}

void seeded_budget_starts_from_earlier_bests(void **) {
    // Budget 2 seeded with budget 1's best archs: its first generation
    // already holds them (no new evaluation for them), so its best is never
    // worse than the best seed, and the search is deterministic.
    const double b1 = budget_at(0.4), b2 = budget_at(0.6);
    mos::EvolutionOptions o = small_options(2);
    o.patience = 3;
    auto two_budgets = [&](int nseeds, Run &second) {
        mos::EvalCache cache(test_space(), 8000, true_loss, latency);
        evolve_once(cache, o, b1);
        mos::Constraints c;
        c.latency_ms = b2;
        const std::vector<mos::Arch> seeds = mos::seed_archs(cache, c, nseeds);
        second = evolve_once(cache, o, b2, seeds);
        return seeds;
    };
    Run s1, s2, plain;
    const std::vector<mos::Arch> seeds = two_budgets(o.parents, s1);
    two_budgets(o.parents, s2);
    two_budgets(0, plain);
    assert_int_equal(static_cast<int>(seeds.size()), o.parents);
    assert_true(s1.best.arch == s2.best.arch);
    assert_int_equal(s1.full, s2.full);
    assert_int_equal(s1.outcome.iterations, s2.outcome.iterations);
    assert_true(s1.best_by_iteration[0] <= true_loss(seeds[0]));
    assert_true(s1.best.latency_ms <= b2);
    assert_true(s1.best.fitness == true_loss(s1.best.arch));
    // Seeds reuse scored archs: the first generation costs fewer new
    // evaluations than a random one (the unseeded run's first generation
    // scores the whole random population).
    assert_true(s1.best_by_iteration[0] <= plain.best_by_iteration[0]);
}

void infeasible_seeds_are_skipped(void **) {
    // The largest arch breaks a tight budget: given as a seed, it is never
    // evaluated.
    const mos::Space space = test_space();
    const std::string largest = mos::arch_to_json(mos::arch_largest(space));
    bool saw_largest = false;
    auto fitness = [&](const mos::Arch &a) {
        if (mos::arch_to_json(a) == largest) saw_largest = true;
        return true_loss(a);
    };
    mos::EvalCache cache(space, 8000, fitness, latency);
    mos::EvolutionOptions o = small_options(4);
    o.iterations = 2;
    const Run r = evolve_once(cache, o, budget_at(0.2), {mos::arch_largest(space)});
    assert_false(saw_largest);
    assert_true(r.best.latency_ms <= budget_at(0.2));
}

struct RaceRun {
    mos::Evaluated best;
    int64_t full = 0, screened = 0;
    std::map<std::string, double> full_values;
    double spread = 0;
};

RaceRun race(double sigmas, uint64_t seed, double noise, int iterations = 10) {
    RaceRun r;
    auto fitness = [&r](const mos::Arch &a) {
        const double v = true_loss(a);
        r.full_values[mos::arch_to_json(a)] = v;
        return v;
    };
    mos::EvalCache cache(test_space(), 8000, fitness, latency);
    cache.set_screen([noise](const mos::Arch &a) { return 1.3 * true_loss(a) + 0.2 + noise * arch_noise(a); });
    mos::EvolutionOptions o = small_options(seed);
    o.iterations = iterations;
    o.parent_sigmas = sigmas;
    mos::Constraints c;
    c.latency_ms = budget_at(0.5);
    r.best = mos::evolve(test_space(), c, o, cache, nullptr);
    r.full = cache.fitness_evals();
    r.screened = cache.screen_evals();
    r.spread = cache.calibration_spread();
    return r;
}

void parent_cutoff_scores_fewer(void **) {
    // With a good screen, fully scoring only the archs that could become
    // parents costs fewer full scores than the fixed fraction, the winner is
    // always fully scored and no worse than a tenth of a nat off, and the
    // rule is deterministic.
    for (uint64_t seed = 1; seed <= 3; seed++) {
        const RaceRun frac = race(-1.0, seed, 0.02), cut = race(0.5, seed, 0.02), again = race(0.5, seed, 0.02);
        assert_true(cut.best.arch == again.best.arch);
        assert_int_equal(cut.full, again.full);
        assert_true(cut.full < frac.full);
        const auto it = cut.full_values.find(mos::arch_to_json(cut.best.arch));
        assert_true(it != cut.full_values.end() && it->second == cut.best.fitness);
        assert_true(cut.best.fitness <= frac.best.fitness + 0.1);
        assert_true(cut.spread > 0);
    }
}

void parent_cutoff_margin_widens(void **) {
    // Two generations: the first is promoted by the fraction (no `parents`
    // fully scored members yet) and is the same for both; in the second a
    // wider margin promotes a superset, and a huge one every screened arch.
    const RaceRun narrow = race(0.0, 6, 0.05, 2), wide = race(100.0, 6, 0.05, 2), frac = race(-1.0, 6, 0.05, 2);
    assert_true(wide.full >= narrow.full);
    assert_int_equal(wide.screened, narrow.screened);
    assert_true(wide.full > frac.full);
}

void calibration_spread_is_the_residual(void **) {
    const mos::Space space = test_space();
    mos::EvalCache exact(space, 8000, true_loss, latency);
    exact.set_screen([](const mos::Arch &a) { return 2.0 * true_loss(a) + 1.0; });
    mos::Rng rng(3);
    std::vector<mos::Arch> archs;
    for (int i = 0; i < 8; i++) archs.push_back(mos::arch_sample(space, rng));
    exact.fill_screen(archs);
    exact.fill(archs);
    assert_true(exact.calibration_spread() < 1e-9);
    mos::EvalCache noisy(space, 8000, true_loss, latency);
    noisy.set_screen([](const mos::Arch &a) { return 2.0 * true_loss(a) + 1.0 + 0.1 * arch_noise(a); });
    noisy.fill_screen(archs);
    noisy.fill(archs);
    assert_true(noisy.calibration_spread() > 1e-6 && noisy.calibration_spread() < 0.1);
}

}  // namespace

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(no_patience_runs_every_iteration),
        cmocka_unit_test(patience_stops_when_converged),
        cmocka_unit_test(patience_keeps_the_trajectory),
        cmocka_unit_test(patience_is_checked),
        cmocka_unit_test(seeds_are_the_best_feasible_scored_archs),
        cmocka_unit_test(seeded_budget_starts_from_earlier_bests),
        cmocka_unit_test(infeasible_seeds_are_skipped),
        cmocka_unit_test(parent_cutoff_scores_fewer),
        cmocka_unit_test(parent_cutoff_margin_widens),
        cmocka_unit_test(calibration_spread_is_the_residual),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
