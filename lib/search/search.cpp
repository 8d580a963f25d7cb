// lib/search/search.cpp: a whole search (see search.hpp): fitness on a
// fixed validation subset through the inference-only forward of the routed
// subnet (eval/forward.hpp; equal to the supernet's forward to float
// tolerance), latency from a predictor or a timing, and the per-budget
// evolutions.
#include "search/search.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>

#include <nlohmann/json.hpp>

#include "backend/threads.hpp"
#include "core/error.hpp"
#include "core/progress.hpp"
#include "data/batcher.hpp"
#include "data/corpus.hpp"
#include "data/tokenizer.hpp"
#include "dist/comm.hpp"
#include "eval/loss.hpp"
#include "model/size.hpp"

namespace mos {

MeanLoss subnet_fitness(const Supernet &net, const ArchDims &dims, EvalWorkspace &ws,
                        const std::vector<TokenBatch> &batches, EvalPrecision p) {
    const DenseModel m = route(net, dims);
    return mean_loss(m, ws, batches, net.config().label_smoothing, p);
}

const char *search_precision_name(SearchConfig::Precision p) {
    switch (p) {
    case SearchConfig::Precision::F32: return "f32";
    case SearchConfig::Precision::BF16: return "bf16";
    case SearchConfig::Precision::AUTO: return "auto";
    }
    return "?";
}

SearchConfig::Precision parse_search_precision(const std::string &name) {
    if (name == "f32") return SearchConfig::Precision::F32;
    if (name == "bf16") return SearchConfig::Precision::BF16;
    if (name == "auto") return SearchConfig::Precision::AUTO;
    fail(MOS_INVALID_ARGUMENT, "fitness precision '", name, "' is not f32, bf16 or auto");
}

namespace {

// The search on `comm`'s ranks; sets `prepared` once the data and the latency
// source are ready on this rank (errors after that are agreed on by the ranks
// where they happen).
SearchReport search_on(const SupernetBundle &b, const SearchConfig &cfg, const ProgressFn &progress,
                       dist::Comm &comm, bool &prepared) {
    const auto t0 = std::chrono::steady_clock::now();
    SearchReport rep;
    rep.ranks = comm.size();

    // Fitness: validation loss per token of the subnet on the fixed subset.
    const Tokenizer tok = Tokenizer::load(b.tokenizer);
    const TokenizedData pairs = read_tokenized_split(tok, cfg.data_dir, cfg.split, cfg.src_lang, cfg.tgt_lang,
                                                     cfg.valid_sentences, kEvalMaxLen);
    check(!pairs.pairs.empty(), MOS_FORMAT, "no usable validation pair in ", cfg.data_dir, " split ", cfg.split);
    const std::vector<TokenBatch> batches = fixed_batches(pairs, kEvalBatchTokens);
    rep.valid_pairs = static_cast<int64_t>(pairs.pairs.size());
    for (const TokenPair &p : pairs.pairs) {
        rep.valid_src_tokens += static_cast<int64_t>(p.src.size());
        rep.valid_tgt_tokens += static_cast<int64_t>(p.tgt.size());
    }
    const uint64_t vocab = static_cast<uint64_t>(b.net->config().vocab);
    // Precision: AUTO and BF16 both mean bf16 products where they are native.
    const EvalPrecision prec = effective_precision(cfg.precision == SearchConfig::Precision::F32
                                                       ? EvalPrecision::F32
                                                       : EvalPrecision::BF16);
    rep.precision = eval_precision_name(prec);
    if (cfg.precision == SearchConfig::Precision::BF16 && prec != EvalPrecision::BF16)
        rep.warnings.push_back("bf16 fitness asked for, but this CPU has no native bf16 products: ran in f32");
    EvalWorkspace ws;
    auto fitness = [&](const Arch &a) {
        for (const TokenPair &p : pairs.pairs)
            rep.fitness_flops += static_cast<double>(arch_flops(a, vocab, p.src.size(), p.tgt.size()).total());
        return subnet_fitness(*b.net, arch_dims(b.space, a), ws, batches, prec).loss;
    };
    // Racing: the screening subset is the first screen_sentences pairs (none
    // when that is the whole subset: racing is then off).
    TokenizedData screen_pairs;
    std::vector<TokenBatch> screen_batches;
    if (cfg.screen_sentences > 0 && cfg.screen_sentences < static_cast<int64_t>(pairs.pairs.size())) {
        screen_pairs.pairs.assign(pairs.pairs.begin(), pairs.pairs.begin() + cfg.screen_sentences);
        screen_batches = fixed_batches(screen_pairs, kEvalBatchTokens);
        rep.screen_pairs = cfg.screen_sentences;
        rep.promote = cfg.evolution.promote;
    }
    rep.patience = cfg.evolution.patience;
    rep.min_delta = cfg.evolution.min_delta;
    rep.parent_sigmas = cfg.evolution.parent_sigmas;
    auto screen = [&](const Arch &a) {
        for (const TokenPair &p : screen_pairs.pairs)
            rep.fitness_flops += static_cast<double>(arch_flops(a, vocab, p.src.size(), p.tgt.size()).total());
        return subnet_fitness(*b.net, arch_dims(b.space, a), ws, screen_batches, prec).loss;
    };

    // Latency: predictor, measurement, or none.
    LatencyPredictor pred;
    EvalCache::LatencyFn latency;
    if (!cfg.predictor_path.empty()) {
        pred = load_predictor(cfg.predictor_path, nullptr);
        check(pred.space == b.space, MOS_INVALID_ARGUMENT, "the latency predictor '", cfg.predictor_path,
              "' was trained for another search space");
        const std::string here = machine_name();
        const int threads = num_threads();
        if (pred.machine != here)
            rep.warnings.push_back("latency predictor measured on '" + pred.machine + "', running on '" + here +
                                   "': predictions may not hold here");
        if (pred.threads != threads)
            rep.warnings.push_back("latency predictor measured with " + std::to_string(pred.threads) +
                                   " threads, searching with " + std::to_string(threads));
        if (pred.vocab != 0 && pred.vocab != static_cast<int64_t>(vocab))
            rep.warnings.push_back("latency predictor measured with a vocabulary of " + std::to_string(pred.vocab) +
                                   ", the supernet has " + std::to_string(vocab));
        if (pred.precision != latency_precision(cfg.latency))
            rep.warnings.push_back("latency predictor measured in " + pred.precision + ", serving decodes in " +
                                   latency_precision(cfg.latency));
        latency = [&](const Arch &a) {
            return pred.predict(a);
        };
        rep.latency_source = "predictor " + cfg.predictor_path;
    } else if (cfg.measure) {
        // Measured on rank 0 and sent to the others: timings differ between
        // machines, and every rank must see the same latencies to run the
        // same search (every rank asks for the same archs in the same order).
        latency = [&](const Arch &a) {
            double ms = 0;
            comm.on_root([&] {
                const DenseModel m = route(*b.net, arch_dims(b.space, a));
                ms = measure_latency(m, cfg.latency).mean_ms;
            }, "measuring latency");
            if (comm.distributed()) {
                int64_t bits = 0;
                std::memcpy(&bits, &ms, sizeof ms);
                comm.broadcast(bits, 0);
                std::memcpy(&ms, &bits, sizeof ms);
            }
            return ms;
        };
        rep.latency_source = "measured";
    } else {
        rep.latency_source = "none";
    }

    // Every rank read the data and has its latency source (or all fail here,
    // a rank that failed before joining this agreement from run_search).
    prepared = true;
    if (comm.distributed()) comm.agree(nullptr, "preparing the search");
    EvalCache cache(b.space, static_cast<uint64_t>(b.net->config().vocab), fitness, latency, &comm);
    if (rep.screen_pairs > 0) cache.set_screen(screen);
    rep.budgets_ms = cfg.budgets_ms;
    std::vector<double> budgets = cfg.budgets_ms;
    if (budgets.empty()) budgets.push_back(0.0);
    for (size_t i = 0; i < budgets.size(); i++) {
        Constraints c;
        c.latency_ms = budgets[i];
        c.params = cfg.max_params;
        c.flops = cfg.max_flops;
        EvolutionCallback ecb;
        if (progress)
            ecb = [&](const EvolutionProgress &p) {
                const uint64_t its = static_cast<uint64_t>(p.iterations);
                Progress sp;
                sp.done = static_cast<uint64_t>(i) * its + static_cast<uint64_t>(p.iteration);
                sp.total = static_cast<uint64_t>(budgets.size()) * its;
                // The best arch in brief: embedding width x layers of each side.
                const Arch &a = p.best.arch;
                char what[200];
                std::snprintf(what, sizeof what,
                              "iterations; best validation loss %.4f (enc %dx%zu, dec %dx%zu, %.1f ms); %lld archs "
                              "evaluated%s",
                              p.best_fitness, a.enc_embed, a.enc.size(), a.dec_embed, a.dec.size(),
                              p.best.latency_ms, static_cast<long long>(p.evaluations),
                              p.screened > 0 ? (", " + std::to_string(p.screened) + " screened").c_str() : "");
                sp.what = what;
                return progress(sp);
            };
        BudgetResult r;
        r.budget_ms = budgets[i];
        // Later budgets start from the best archs earlier ones scored.
        const std::vector<Arch> seeds = i > 0 && cfg.seed_archs > 0 ? seed_archs(cache, c, cfg.seed_archs)
                                                                     : std::vector<Arch>();
        r.seeds = static_cast<int>(seeds.size());
        EvolutionOutcome outcome;
        r.best = evolve(b.space, c, cfg.evolution, cache, ecb, &rep.stopped, seeds, &outcome);
        r.complete = !rep.stopped;
        r.iterations = outcome.iterations;
        r.best_iteration = outcome.best_iteration;
        r.end = rep.stopped ? "stopped" : outcome.converged ? "converged" : "completed";
        rep.results.push_back(r);
        if (!rep.stopped) continue;
        // Stopped: the later budgets get the best arch already evaluated that meets them.
        const std::vector<Evaluated> seen = cache.evaluated();
        for (size_t k = i + 1; k < budgets.size(); k++) {
            Constraints ck = c;
            ck.latency_ms = budgets[k];
            const Evaluated *pick = nullptr;
            for (const Evaluated &e : seen)
                if (cache.feasible(e.arch, ck) && (pick == nullptr || e.fitness < pick->fitness)) pick = &e;
            if (pick == nullptr) continue;
            BudgetResult rk;
            rk.budget_ms = budgets[k];
            rk.best = *pick;
            rk.complete = false;
            rk.end = "not searched";
            rep.results.push_back(rk);
        }
        break;
    }
    for (BudgetResult &r : rep.results) r.search_fitness = r.best.fitness;
    if (prec != EvalPrecision::F32) {
        // The winners in f32, so that results compare across precisions:
        // computed on rank 0 and sent to the others (one value per winner).
        const auto tr = std::chrono::steady_clock::now();
        EvalWorkspace ws32;
        for (BudgetResult &r : rep.results) {
            double loss = 0;
            comm.on_root([&] { loss = subnet_fitness(*b.net, arch_dims(b.space, r.best.arch), ws32, batches).loss; },
                         "re-scoring a winner in f32");
            if (comm.distributed()) {
                int64_t bits = 0;
                std::memcpy(&bits, &loss, sizeof loss);
                comm.broadcast(bits, 0);
                std::memcpy(&loss, &bits, sizeof loss);
            }
            r.best.fitness = loss;
        }
        rep.rescore_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - tr).count();
    }
    rep.evaluated = cache.evaluated();
    rep.pareto = pareto_front(rep.evaluated);
    rep.fitness_evals = cache.fitness_evals();
    rep.rank_fitness_evals = cache.local_fitness_evals();
    rep.screen_evals = cache.screen_evals();
    // Each rank counted the FLOPs and seconds of its own evaluations.
    double spent[3] = {rep.fitness_flops, cache.fitness_seconds(), cache.screen_seconds()};
    comm.sum(spent, 3);
    rep.fitness_flops = spent[0];
    rep.fitness_seconds = spent[1];
    rep.screen_seconds = spent[2];
    rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return rep;
}

}  // namespace

SearchReport run_search(const SupernetBundle &b, const SearchConfig &cfg, const ProgressFn &progress) {
    check(b.net != nullptr, MOS_INVALID_ARGUMENT, "no supernet");
    check(!b.tokenizer.empty(), MOS_UNSUPPORTED, "the supernet has no tokenizer, so it cannot read validation text");
    check(cfg.valid_sentences >= 1, MOS_INVALID_ARGUMENT, "valid_sentences must be >= 1");
    check(cfg.predictor_path.empty() || !cfg.measure, MOS_INVALID_ARGUMENT,
          "give a latency predictor or ask to measure, not both");
    for (double x : cfg.budgets_ms)
        check(std::isfinite(x) && x > 0, MOS_INVALID_ARGUMENT, "latency budget ", x, " ms is not positive");
    check(cfg.budgets_ms.empty() || !cfg.predictor_path.empty() || cfg.measure, MOS_INVALID_ARGUMENT,
          "a latency budget needs a latency predictor or measuring");
    check_evolution_options(cfg.evolution);
    check(cfg.seed_archs >= 0 && cfg.seed_archs <= 100000, MOS_INVALID_ARGUMENT, "seed_archs ", cfg.seed_archs,
          " outside 0..100000");
    check_latency_options(cfg.latency);
    dist::Comm comm = dist::Comm::attach(cfg.mpi_comm);
    bool prepared = false;
    try {
        return search_on(b, cfg, progress, comm, prepared);
    } catch (...) {
        // A rank that fails before the search starts tells the others, which
        // wait for it in agree() after their own preparation.
        if (!prepared && comm.distributed()) comm.agree(std::current_exception(), "preparing the search");
        throw;
    }
}

namespace {

nlohmann::ordered_json eval_json(const Evaluated &e) {
    nlohmann::ordered_json j;
    j["fitness"] = e.fitness;
    j["latency_ms"] = e.latency_ms;
    j["params"] = e.params;
    j["flops"] = e.flops;
    j["arch"] = nlohmann::ordered_json::parse(arch_to_json(e.arch));
    return j;
}

}  // namespace

std::string search_report_svg(const SearchReport &r) {
    std::vector<Evaluated> chosen;
    for (const BudgetResult &b : r.results) chosen.push_back(b.best);
    return pareto_svg(r.evaluated, r.pareto, r.budgets_ms, chosen);
}

std::string search_report_json(const SearchReport &r) {
    nlohmann::ordered_json j;
    j["format"] = "mos-search-result";
    j["version"] = 1;
    j["fitness"] = "validation loss per token (nats)";
    j["latency_source"] = r.latency_source;
    j["stopped"] = r.stopped;
    j["results"] = nlohmann::ordered_json::array();
    for (const BudgetResult &b : r.results) {
        nlohmann::ordered_json e = eval_json(b.best);
        e["budget_ms"] = b.budget_ms;
        e["complete"] = b.complete;
        e["search_fitness"] = b.search_fitness;
        e["iterations"] = b.iterations;
        e["best_iteration"] = b.best_iteration;
        e["seed_archs"] = b.seeds;
        e["end"] = b.end;
        j["results"].push_back(e);
    }
    j["pareto"] = nlohmann::ordered_json::array();
    for (const Evaluated &e : r.pareto) j["pareto"].push_back(eval_json(e));
    j["stats"] = {{"archs_evaluated", r.fitness_evals},
                  {"ranks", r.ranks},
                  {"archs_evaluated_by_this_rank", r.rank_fitness_evals},
                  {"seconds", r.seconds},
                  {"fitness_seconds", r.fitness_seconds},
                  {"seconds_per_evaluation", r.fitness_evals ? r.fitness_seconds / r.fitness_evals : 0.0},
                  {"fitness_gflop", r.fitness_flops / 1e9},
                  {"fitness_precision", r.precision},
                  {"screen_pairs", r.screen_pairs},
                  {"promote", r.promote},
                  {"archs_screened", r.screen_evals},
                  {"archs_fully_scored", r.fitness_evals},
                  {"screen_seconds", r.screen_seconds},
                  {"seconds_per_screen", r.screen_evals ? r.screen_seconds / r.screen_evals : 0.0},
                  {"rescore_seconds", r.rescore_seconds},
                  {"patience", r.patience},
                  {"min_delta", r.min_delta},
                  {"parent_sigmas", r.parent_sigmas},
                  {"valid_pairs", r.valid_pairs},
                  {"valid_src_tokens", r.valid_src_tokens},
                  {"valid_tgt_tokens", r.valid_tgt_tokens}};
    j["warnings"] = r.warnings;
    return j.dump(2) + "\n";
}

}  // namespace mos
