// tests/search/test_search_racing.cpp: racing in the evolutionary search
// (lib/search/evolution.cpp, docs/search.md "Racing"), on synthetic fitness
// functions of the arch so that it runs in milliseconds: deterministic for a
// seed, the reported best arch always fully scored, fewer full evaluations
// than without racing, a perfect screen with everything promoted equal to no
// racing, the calibration line, and a stopped search.
#include <cmath>
#include <map>
#include <string>

#include "core/rng.hpp"
#include "model/arch.hpp"
#include "model/space.hpp"
#include "search/evolution.hpp"

#include "synthetic_fitness.hpp"

#include "../common/test_support.hpp"

namespace {

struct Run {
    mos::Evaluated best;
    int64_t full = 0, screened = 0;
    std::map<std::string, double> full_values;  // what the fitness function returned
};

// One evolution; screen_noise < 0: no racing.
Run run(double screen_noise, double promote, uint64_t seed, double budget, bool stop_early = false) {
    const mos::Space space = test_space();
    Run r;
    auto fitness = [&r](const mos::Arch &a) {
        const double v = true_loss(a);
        r.full_values[mos::arch_to_json(a)] = v;
        return v;
    };
    mos::EvalCache cache(space, 8000, fitness, latency);
    if (screen_noise >= 0)
        cache.set_screen([screen_noise](const mos::Arch &a) { return 1.3 * true_loss(a) + 0.2 + screen_noise * arch_noise(a); });
    mos::EvolutionOptions o;
    o.population = 40;
    o.parents = 8;
    o.mutations = 16;
    o.crossovers = 16;
    o.iterations = 8;
    o.seed = seed;
    o.promote = promote;
    mos::Constraints c;
    c.latency_ms = budget;
    bool stopped = false;
    mos::EvolutionCallback cb;
    if (stop_early) cb = [](const mos::EvolutionProgress &p) { return p.iteration < 3; };
    r.best = mos::evolve(space, c, o, cache, cb, &stopped);
    if (stop_early) assert_true(stopped);
    r.full = cache.fitness_evals();
    r.screened = cache.screen_evals();
    return r;
}

double mid_budget() {
    const mos::Space space = test_space();
    return 0.5 * (latency(mos::arch_smallest(space)) + latency(mos::arch_largest(space)));
}

void assert_fully_scored(const Run &r) {
    const auto it = r.full_values.find(mos::arch_to_json(r.best.arch));
    assert_true(it != r.full_values.end());
    assert_true(r.best.fitness == it->second);
    assert_true(r.best.fitness == true_loss(r.best.arch));
}

void racing_is_deterministic(void **) {
    const double b = mid_budget();
    const Run a = run(0.05, 0.25, 7, b), c = run(0.05, 0.25, 7, b);
    assert_true(a.best.arch == c.best.arch);
    assert_int_equal(a.full, c.full);
    assert_int_equal(a.screened, c.screened);
    assert_true(a.screened > 0);
    assert_true(a.best.latency_ms <= b);
}

void racing_winner_is_fully_scored(void **) {
    const double b = mid_budget();
    for (uint64_t seed = 1; seed <= 4; seed++) {
        const Run r = run(0.2, 0.1, seed, b);  // a noisy screen, few promoted
        assert_fully_scored(r);
        assert_true(r.best.latency_ms <= b);
    }
}

void racing_scores_fewer_archs(void **) {
    const double b = mid_budget();
    const Run off = run(-1, 0.25, 3, b), on = run(0.02, 0.25, 3, b);
    assert_int_equal(off.screened, 0);
    assert_true(on.full < off.full);
    // Every arch with a full fitness in the racing run was screened first
    // (the smallest seed arch included) or promoted from the screen.
    assert_true(on.screened >= on.full);
    // A nearly exact screen finds about as good an arch.
    assert_true(on.best.fitness <= off.best.fitness + 0.05);
}

void racing_promote_all_equals_off(void **) {
    // A screen that orders archs exactly as the fitness, with every screened
    // arch promoted: the same evolution as without racing.
    const double b = mid_budget();
    const Run off = run(-1, 1.0, 5, b), on = run(0.0, 1.0, 5, b);
    assert_true(on.best.arch == off.best.arch);
    assert_true(on.best.fitness == off.best.fitness);
    assert_int_equal(on.full, off.full);
}

void calibration_fits_a_line(void **) {
    const mos::Space space = test_space();
    mos::EvalCache cache(space, 8000, true_loss, latency);
    cache.set_screen([](const mos::Arch &a) { return 2.0 * true_loss(a) + 1.0; });
    // Before any pair: the screened loss itself.
    assert_true(cache.calibrated(3.0) == 3.0);
    mos::Rng rng(11);
    std::vector<mos::Arch> archs;
    for (int i = 0; i < 6; i++) archs.push_back(mos::arch_sample(space, rng));
    cache.fill_screen(archs);
    assert_int_equal(cache.screen_evals(), 6);
    assert_int_equal(cache.fitness_evals(), 0);
    assert_true(std::isnan(cache.screened(mos::arch_largest(space))));
    cache.fill(archs);
    assert_int_equal(cache.fitness_evals(), 6);
    // full = (screen - 1) / 2 exactly.
    assert_true(std::fabs(cache.calibrated(9.0) - 4.0) < 1e-9);
    assert_true(std::fabs(cache.rank_value(archs[0]) - true_loss(archs[0])) < 1e-12);
}

void racing_stop_keeps_a_scored_best(void **) {
    const Run r = run(0.1, 0.2, 9, mid_budget(), true);
    assert_fully_scored(r);
}

void promote_fraction_is_checked(void **) {
    mos::EvolutionOptions o;
    o.promote = 0.0;
    bool threw = false;
    try {
        mos::check_evolution_options(o);
    } catch (const std::exception &) {
        threw = true;
    }
    assert_true(threw);
}

}  // namespace

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(racing_is_deterministic),      cmocka_unit_test(racing_winner_is_fully_scored),
        cmocka_unit_test(racing_scores_fewer_archs),    cmocka_unit_test(racing_promote_all_equals_off),
        cmocka_unit_test(calibration_fits_a_line),      cmocka_unit_test(racing_stop_keeps_a_scored_best),
        cmocka_unit_test(promote_fraction_is_checked),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
