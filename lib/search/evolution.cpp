// lib/search/evolution.cpp: the evolutionary search, its evaluation cache, the
// Pareto front and its SVG plot (see evolution.hpp).
#include "search/evolution.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <exception>
#include <limits>

#include "core/error.hpp"
#include "dist/comm.hpp"
#include "model/size.hpp"

namespace mos {

void check_evolution_options(const EvolutionOptions &o) {
    check(o.population >= 2 && o.population <= 100000, MOS_INVALID_ARGUMENT, "population ", o.population,
          " outside 2..100000");
    check(o.parents >= 1 && o.parents <= o.population, MOS_INVALID_ARGUMENT, "parents ", o.parents,
          " outside 1..population (", o.population, ")");
    check(o.mutations >= 0 && o.crossovers >= 0, MOS_INVALID_ARGUMENT, "negative mutation or crossover count");
    check(o.parents + o.mutations + o.crossovers <= o.population, MOS_INVALID_ARGUMENT, "parents + mutations + "
          "crossovers = ", o.parents + o.mutations + o.crossovers, " exceeds the population ", o.population);
    check(o.iterations >= 1 && o.iterations <= 10000, MOS_INVALID_ARGUMENT, "iterations ", o.iterations,
          " outside 1..10000");
    check(o.mutation_prob >= 0.0 && o.mutation_prob <= 1.0, MOS_INVALID_ARGUMENT, "mutation probability ",
          o.mutation_prob, " outside [0, 1]");
    check(o.max_tries >= 1, MOS_INVALID_ARGUMENT, "max_tries must be >= 1");
    check(o.promote > 0.0 && o.promote <= 1.0, MOS_INVALID_ARGUMENT, "promote fraction ", o.promote,
          " outside (0, 1]");
    check(o.patience >= 0 && o.patience <= 10000, MOS_INVALID_ARGUMENT, "patience ", o.patience,
          " outside 0..10000");
    check(std::isfinite(o.min_delta) && o.min_delta >= 0.0, MOS_INVALID_ARGUMENT, "min_delta ", o.min_delta,
          " is not a finite number >= 0");
    check(std::isfinite(o.parent_sigmas) && o.parent_sigmas <= 100.0, MOS_INVALID_ARGUMENT, "parent_sigmas ",
          o.parent_sigmas, " is not a finite number <= 100");
}

EvalCache::EvalCache(const Space &space, uint64_t vocab, FitnessFn fitness, LatencyFn latency, dist::Comm *comm)
    : space_(space), vocab_(vocab), fitness_(std::move(fitness)), latency_(std::move(latency)), comm_(comm) {}

void EvalCache::spread(const std::vector<Entry *> &todo, const FitnessFn &fn, std::vector<double> &values,
                       int64_t &local, double &seconds) {
    const int rank = comm_ ? comm_->rank() : 0, size = comm_ ? comm_->size() : 1;
    values.assign(todo.size(), 0.0);
    std::exception_ptr error;
    try {
        for (size_t i = static_cast<size_t>(rank); i < todo.size(); i += static_cast<size_t>(size)) {
            const auto t0 = std::chrono::steady_clock::now();
            values[i] = fn(todo[i]->e.arch);
            seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            local++;
        }
    } catch (...) {
        error = std::current_exception();
    }
    if (size <= 1) {
        if (error) std::rethrow_exception(error);
        return;
    }
    comm_->agree(error, "evaluating fitness");
    comm_->sum(values.data(), values.size());
}

void EvalCache::fill(const std::vector<Arch> &archs) {
    // The archs without fitness, first occurrence first: the same list on
    // every rank, since every rank's cache holds the same archs.
    std::vector<Entry *> todo;
    for (const Arch &a : archs) {
        facts(a);
        Entry &en = cache_.at(arch_to_json(a));
        if (!en.has_fitness && std::find(todo.begin(), todo.end(), &en) == todo.end()) todo.push_back(&en);
    }
    const int size = comm_ ? comm_->size() : 1;
    if (size <= 1) {
        for (Entry *en : todo) full(en->e.arch);
    } else if (!todo.empty()) {
        std::vector<double> values;
        spread(todo, fitness_, values, local_evals_, fitness_seconds_);
        for (size_t i = 0; i < todo.size(); i++) {
            todo[i]->e.fitness = values[i];
            todo[i]->has_fitness = true;
            fitness_evals_++;
        }
    }
    if (racing() && !todo.empty()) calibrate();
}

void EvalCache::fill_screen(const std::vector<Arch> &archs) {
    check(racing(), MOS_INTERNAL, "fill_screen without a screening function");
    std::vector<Entry *> todo;
    for (const Arch &a : archs) {
        facts(a);
        Entry &en = cache_.at(arch_to_json(a));
        if (!en.has_fitness && !en.has_screen && std::find(todo.begin(), todo.end(), &en) == todo.end())
            todo.push_back(&en);
    }
    if (todo.empty()) return;
    std::vector<double> values;
    spread(todo, screen_, values, local_screens_, screen_seconds_);
    for (size_t i = 0; i < todo.size(); i++) {
        todo[i]->screen = values[i];
        todo[i]->has_screen = true;
        screen_evals_++;
    }
}

void EvalCache::calibrate() {
    // Full against screened loss over every arch with both (map order: the
    // same on every rank).
    double n = 0, sx = 0, sy = 0;
    for (const auto &kv : cache_)
        if (kv.second.has_fitness && kv.second.has_screen) {
            n += 1;
            sx += kv.second.screen;
            sy += kv.second.e.fitness;
        }
    calib_a_ = 0;
    calib_b_ = 1;
    calib_sd_ = 0;
    if (n == 0) return;
    const double mx = sx / n, my = sy / n;
    double sxx = 0, sxy = 0;
    for (const auto &kv : cache_)
        if (kv.second.has_fitness && kv.second.has_screen) {
            const double dx = kv.second.screen - mx;
            sxx += dx * dx;
            sxy += dx * (kv.second.e.fitness - my);
        }
    // A line needs a few points spread apart; a slope that is not positive
    // would invert the screened order, so fall back to the mean offset.
    if (n >= 3 && sxx > 1e-12 * n && sxy > 0) {
        calib_b_ = sxy / sxx;
        calib_a_ = my - calib_b_ * mx;
    } else {
        calib_a_ = my - mx;
    }
    if (n >= 3) {
        double ss = 0;
        for (const auto &kv : cache_)
            if (kv.second.has_fitness && kv.second.has_screen) {
                const double r = kv.second.e.fitness - calibrated(kv.second.screen);
                ss += r * r;
            }
        calib_sd_ = std::sqrt(ss / n);
    }
}

bool EvalCache::has_fitness(const Arch &a) {
    facts(a);
    return cache_.at(arch_to_json(a)).has_fitness;
}

double EvalCache::screened(const Arch &a) {
    facts(a);
    const Entry &en = cache_.at(arch_to_json(a));
    return en.has_screen ? en.screen : std::numeric_limits<double>::quiet_NaN();
}

double EvalCache::rank_value(const Arch &a) {
    facts(a);
    const Entry &en = cache_.at(arch_to_json(a));
    if (en.has_fitness) return en.e.fitness;
    check(en.has_screen, MOS_INTERNAL, "rank_value of an arch neither scored nor screened");
    return calibrated(en.screen);
}

bool EvalCache::all_continue(bool go) {
    if (comm_ == nullptr || !comm_->distributed()) return go;
    double stops = go ? 0.0 : 1.0;
    comm_->sum(&stops, 1);
    return stops == 0.0;
}

const Evaluated &EvalCache::facts(const Arch &a) {
    const std::string key = arch_to_json(a);
    auto it = cache_.find(key);
    if (it != cache_.end()) return it->second.e;
    Entry en;
    en.e.arch = a;
    en.e.params = arch_params(a, vocab_).total();
    en.e.flops = arch_flops(a, vocab_, 30, 30).total();
    en.e.latency_ms = latency_ ? latency_(a) : 0.0;
    return cache_.emplace(key, std::move(en)).first->second.e;
}

const Evaluated &EvalCache::full(const Arch &a) {
    facts(a);
    Entry &en = cache_.at(arch_to_json(a));
    if (!en.has_fitness) {
        const auto t0 = std::chrono::steady_clock::now();
        en.e.fitness = fitness_(a);
        fitness_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        en.has_fitness = true;
        fitness_evals_++;
        local_evals_++;
    }
    return en.e;
}

bool EvalCache::feasible(const Arch &a, const Constraints &c) {
    const Evaluated &e = facts(a);
    return (c.latency_ms <= 0 || e.latency_ms <= c.latency_ms) && (c.params == 0 || e.params <= c.params) &&
           (c.flops == 0 || e.flops <= c.flops);
}

std::vector<Evaluated> EvalCache::evaluated() const {
    std::vector<Evaluated> out;
    for (const auto &kv : cache_)
        if (kv.second.has_fitness) out.push_back(kv.second.e);
    return out;
}

namespace {

void check_achievable(const Space &space, const Constraints &c, EvalCache &cache) {
    const Evaluated &s = cache.facts(arch_smallest(space));
    if (cache.feasible(s.arch, c)) return;
    char buf[512];
    std::snprintf(buf, sizeof buf,
                  "no arch of the space satisfies the constraints (latency <= %.3f ms, params <= %llu, FLOPs <= "
                  "%llu; 0 = none): the smallest arch has latency %.3f ms, %llu params, %llu FLOPs",
                  c.latency_ms, static_cast<unsigned long long>(c.params), static_cast<unsigned long long>(c.flops),
                  s.latency_ms, static_cast<unsigned long long>(s.params), static_cast<unsigned long long>(s.flops));
    fail(MOS_OUT_OF_RANGE, buf);
}

template <typename Gen>
Arch feasible_child(EvalCache &cache, const Constraints &c, int max_tries, Gen gen, const char *what) {
    for (int i = 0; i < max_tries; i++) {
        Arch a = gen();
        if (cache.feasible(a, c)) return a;
    }
    fail(MOS_OUT_OF_RANGE, "no feasible ", what, " found in ", max_tries,
         " tries; the constraints leave almost no arch of the space");
}

// One racing generation: screen the archs of `pop` with no fitness yet,
// give the full fitness to the promising ones (the best o.promote fraction
// by screened loss, and any whose calibrated estimate beats the generation's
// best full fitness), then rank `pop` into `ranked` by full fitness where
// there is one and the calibrated estimate otherwise. `gen_best` is the best
// member with a full fitness (the promotions guarantee one).
void race_generation(const std::vector<Arch> &pop, const EvolutionOptions &o, EvalCache &cache,
                     std::vector<const Evaluated *> &ranked, const Evaluated *&gen_best) {
    cache.fill_screen(pop);
    std::vector<Arch> cand;
    std::vector<std::string> keys, full_keys;
    std::vector<double> full_fit;  // of the distinct fully scored members
    double best_full = std::numeric_limits<double>::infinity();
    for (const Arch &a : pop) {
        const std::string key = arch_to_json(a);
        if (cache.has_fitness(a)) {
            best_full = std::min(best_full, cache.full(a).fitness);
            if (std::find(full_keys.begin(), full_keys.end(), key) == full_keys.end()) {
                full_keys.push_back(key);
                full_fit.push_back(cache.full(a).fitness);
            }
            continue;
        }
        if (std::find(keys.begin(), keys.end(), key) != keys.end()) continue;
        keys.push_back(key);
        cand.push_back(a);
    }
    // The parents' cutoff (parent_sigmas >= 0, once the generation holds a
    // fully scored member, so that the calibration has been fitted): the
    // parents-th best value of the ranking that picks the parents (full
    // fitness, else calibrated estimate) over the distinct members. An arch
    // can only become a parent if it reaches it, so only those whose
    // estimate, less a margin of the calibration's residual spread, does are
    // fully scored (and, as always, any estimated to beat the best).
    const bool by_cutoff = o.parent_sigmas >= 0 && !full_fit.empty();
    double cutoff = std::numeric_limits<double>::infinity();
    if (by_cutoff) {
        std::vector<double> values = full_fit;
        for (const Arch &a : cand) values.push_back(cache.calibrated(cache.screened(a)));
        const size_t k = std::min(values.size(), static_cast<size_t>(o.parents)) - 1;
        std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(k), values.end());
        cutoff = values[k];
    }
    const double margin = by_cutoff ? o.parent_sigmas * cache.calibration_spread() : 0.0;
    std::vector<size_t> order(cand.size());
    for (size_t i = 0; i < order.size(); i++) order[i] = i;
    std::vector<double> sc(cand.size());
    for (size_t i = 0; i < cand.size(); i++) sc[i] = cache.screened(cand[i]);
    std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) { return sc[x] < sc[y]; });
    const size_t k = cand.empty() ? 0
                                  : std::max<size_t>(1, static_cast<size_t>(std::ceil(
                                                            o.promote * static_cast<double>(cand.size()) - 1e-9)));
    std::vector<Arch> promote;
    for (size_t r = 0; r < order.size(); r++) {
        const double est = cache.calibrated(sc[order[r]]);
        const bool take = (by_cutoff ? est - margin <= cutoff : r < k) || (std::isfinite(best_full) && est < best_full);
        if (take) promote.push_back(cand[order[r]]);
    }
    cache.fill(promote);
    std::vector<std::pair<double, const Evaluated *>> v;
    v.reserve(pop.size());
    for (const Arch &a : pop) v.emplace_back(cache.rank_value(a), &cache.facts(a));
    std::stable_sort(v.begin(), v.end(), [](const std::pair<double, const Evaluated *> &x,
                                            const std::pair<double, const Evaluated *> &y) {
        return x.first < y.first;
    });
    ranked.clear();
    gen_best = nullptr;
    for (const auto &e : v) {
        ranked.push_back(e.second);
        if (gen_best == nullptr && cache.has_fitness(e.second->arch)) gen_best = e.second;
    }
    check(gen_best != nullptr, MOS_INTERNAL, "racing generation without a fully scored arch");
}

}  // namespace

std::vector<Arch> seed_archs(EvalCache &cache, const Constraints &c, int n) {
    std::vector<Evaluated> all = cache.evaluated();
    std::vector<const Evaluated *> ok;
    for (const Evaluated &e : all)
        if (cache.feasible(e.arch, c)) ok.push_back(&e);
    std::stable_sort(ok.begin(), ok.end(), [](const Evaluated *x, const Evaluated *y) { return x->fitness < y->fitness; });
    std::vector<Arch> out;
    for (const Evaluated *e : ok) {
        if (static_cast<int>(out.size()) >= n) break;
        out.push_back(e->arch);
    }
    return out;
}

Evaluated evolve(const Space &space, const Constraints &c, const EvolutionOptions &o, EvalCache &cache,
                 const EvolutionCallback &cb, bool *stopped, const std::vector<Arch> &seeds,
                 EvolutionOutcome *outcome) {
    if (stopped) *stopped = false;
    EvolutionOutcome local_outcome;
    EvolutionOutcome &out = outcome ? *outcome : local_outcome;
    out = EvolutionOutcome();
    check_evolution_options(o);
    check_achievable(space, c, cache);
    const auto t0 = std::chrono::steady_clock::now();
    Rng rng(o.seed);
    std::vector<Arch> pop;
    pop.reserve(o.population);
    // The smallest arch is feasible (checked above); seed the population with it
    // so that a tight budget still has one member, then sample the rest.
    pop.push_back(arch_smallest(space));
    // Seeds (what earlier budgets learned) next, then random archs.
    for (const Arch &a : seeds)
        if (static_cast<int>(pop.size()) < o.population && cache.feasible(a, c)) pop.push_back(a);
    while (static_cast<int>(pop.size()) < o.population)
        pop.push_back(feasible_child(cache, c, o.max_tries, [&] { return arch_sample(space, rng); }, "random arch"));

    Evaluated best;
    bool have_best = false;
    int stale = 0;
    for (int it = 0; it < o.iterations; it++) {
        // Every new arch of the generation at once (spread over the ranks of
        // a distributed search), then ranked from the cache.
        std::vector<const Evaluated *> scored;
        const Evaluated *gen_best = nullptr;
        if (cache.racing()) {
            race_generation(pop, o, cache, scored, gen_best);
        } else {
            cache.fill(pop);
            scored.reserve(pop.size());
            for (const Arch &a : pop) scored.push_back(&cache.full(a));
            std::stable_sort(scored.begin(), scored.end(),
                             [](const Evaluated *x, const Evaluated *y) { return x->fitness < y->fitness; });
            gen_best = scored[0];
        }
        out.iterations = it + 1;
        // Patience: iterations since the best improved by at least min_delta.
        if (!have_best || gen_best->fitness < best.fitness - o.min_delta) stale = 0;
        else stale++;
        if (!have_best || gen_best->fitness < best.fitness) {
            best = *gen_best;
            have_best = true;
            out.best_iteration = it + 1;
        }
        const bool converged = o.patience > 0 && stale >= o.patience;
        if (cb) {
            EvolutionProgress p;
            p.iteration = it + 1;
            p.iterations = o.iterations;
            p.best_fitness = best.fitness;
            p.best = best;
            p.evaluations = cache.fitness_evals();
            p.screened = cache.screen_evals();
            p.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            if (!cache.all_continue(cb(p))) {
                check(stopped != nullptr, MOS_ABORTED, "search stopped by the progress callback after iteration ",
                      it + 1);
                *stopped = true;
                return best;
            }
        }
        if (converged && it + 1 < o.iterations) {
            out.converged = true;
            break;
        }
        if (it + 1 == o.iterations) break;
        std::vector<Arch> parents;
        for (int i = 0; i < o.parents && i < static_cast<int>(scored.size()); i++) parents.push_back(scored[i]->arch);
        std::vector<Arch> next = parents;
        for (int i = 0; i < o.mutations; i++)
            next.push_back(feasible_child(cache, c, o.max_tries, [&] {
                const Arch &p = parents[rng.below(parents.size())];
                return arch_mutate(space, p, o.mutation_prob, rng);
            }, "mutation"));
        for (int i = 0; i < o.crossovers; i++)
            next.push_back(feasible_child(cache, c, o.max_tries, [&] {
                const Arch &a = parents[rng.below(parents.size())];
                const Arch &b = parents[rng.below(parents.size())];
                return arch_crossover(space, a, b, rng);
            }, "crossover"));
        // HAT fills any remainder of the population with random archs.
        while (static_cast<int>(next.size()) < o.population)
            next.push_back(feasible_child(cache, c, o.max_tries, [&] { return arch_sample(space, rng); }, "arch"));
        pop.swap(next);
    }
    return best;
}

std::vector<Evaluated> pareto_front(std::vector<Evaluated> all) {
    std::sort(all.begin(), all.end(), [](const Evaluated &a, const Evaluated &b) {
        return a.latency_ms != b.latency_ms ? a.latency_ms < b.latency_ms : a.fitness < b.fitness;
    });
    std::vector<Evaluated> front;
    double best = std::numeric_limits<double>::infinity();
    for (const Evaluated &e : all)
        if (e.fitness < best) {
            front.push_back(e);
            best = e.fitness;
        }
    return front;
}

std::string pareto_svg(const std::vector<Evaluated> &all, const std::vector<Evaluated> &front,
                       const std::vector<double> &budgets, const std::vector<Evaluated> &chosen) {
    const double W = 720, H = 480, L = 80, R = 30, T = 50, B = 60;
    double x0 = std::numeric_limits<double>::infinity(), x1 = -x0, y0 = x0, y1 = -x0;
    for (const Evaluated &e : all) {
        x0 = std::min(x0, e.latency_ms);
        x1 = std::max(x1, e.latency_ms);
        y0 = std::min(y0, e.fitness);
        y1 = std::max(y1, e.fitness);
    }
    for (double b : budgets) {
        x0 = std::min(x0, b);
        x1 = std::max(x1, b);
    }
    if (all.empty()) x0 = 0, x1 = 1, y0 = 0, y1 = 1;
    if (x1 <= x0) x1 = x0 + 1;
    if (y1 <= y0) y1 = y0 + 1;
    const double px = (x1 - x0) * 0.05, py = (y1 - y0) * 0.05;
    x0 -= px, x1 += px, y0 -= py, y1 += py;
    auto X = [&](double v) { return L + (v - x0) / (x1 - x0) * (W - L - R); };
    auto Y = [&](double v) { return H - B - (v - y0) / (y1 - y0) * (H - T - B); };
    std::string s;
    char buf[512];
    std::snprintf(buf, sizeof buf,
                  "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
                  "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" "
                  "fill=\"white\"/>\n<text x=\"%.0f\" y=\"24\" font-size=\"15\">Search: validation loss vs "
                  "latency (%zu archs evaluated)</text>\n",
                  W, H, L, all.size());
    s += buf;
    // Axes with five ticks each.
    std::snprintf(buf, sizeof buf,
                  "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n"
                  "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n",
                  L, H - B, W - R, H - B, L, T, L, H - B);
    s += buf;
    for (int i = 0; i <= 4; i++) {
        const double vx = x0 + (x1 - x0) * i / 4, vy = y0 + (y1 - y0) * i / 4;
        std::snprintf(buf, sizeof buf,
                      "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.2f</text>\n"
                      "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.3f</text>\n",
                      X(vx), H - B + 18, vx, L - 6, Y(vy) + 4, vy);
        s += buf;
    }
    std::snprintf(buf, sizeof buf,
                  "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">latency (ms)</text>\n"
                  "<text transform=\"translate(18,%.1f) rotate(-90)\" text-anchor=\"middle\">validation loss"
                  "</text>\n",
                  (L + W - R) / 2, H - 18, (T + H - B) / 2);
    s += buf;
    for (double b : budgets) {
        std::snprintf(buf, sizeof buf,
                      "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#d62728\" "
                      "stroke-dasharray=\"6,4\"/>\n<text x=\"%.1f\" y=\"%.1f\" fill=\"#d62728\">budget %.1f ms"
                      "</text>\n",
                      X(b), T, X(b), H - B, X(b) + 4, T + 12, b);
        s += buf;
    }
    for (const Evaluated &e : all) {
        std::snprintf(buf, sizeof buf, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"#9ecae1\"/>\n",
                      X(e.latency_ms), Y(e.fitness));
        s += buf;
    }
    if (!front.empty()) {
        s += "<polyline fill=\"none\" stroke=\"#08519c\" stroke-width=\"2\" points=\"";
        for (const Evaluated &e : front) {
            std::snprintf(buf, sizeof buf, "%.1f,%.1f ", X(e.latency_ms), Y(e.fitness));
            s += buf;
        }
        s += "\"/>\n";
    }
    for (const Evaluated &e : chosen) {
        std::snprintf(buf, sizeof buf,
                      "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"6\" fill=\"none\" stroke=\"#d62728\" "
                      "stroke-width=\"2\"/>\n",
                      X(e.latency_ms), Y(e.fitness));
        s += buf;
    }
    std::snprintf(buf, sizeof buf,
                  "<text x=\"%.1f\" y=\"%.1f\" fill=\"#08519c\">line: Pareto front; red rings: best arch per "
                  "budget</text>\n</svg>\n",
                  L + 10, T + 28);
    s += buf;
    return s;
}

}  // namespace mos
