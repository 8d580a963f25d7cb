// tools/mos-cli/cmd_search.cpp: `mos-cli latency` (time a model or a subnet
// with HAT's protocol; collect a latency dataset; train a latency predictor)
// and `mos-cli search` (evolutionary search of a supernet under budgets;
// SIGINT or SIGTERM stops it after the current iteration and still writes the
// best archs found so far).
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cli.hpp"
#include "json_out.hpp"
#include "options.hpp"
#include "progress.hpp"

namespace mos_cli {

namespace {

struct LatencyOpts {
    std::string model, supernet, space = "small", out, train_predictor, kind = "linear";
    ArchSpec arch;
    mos_latency_options lo = MOS_LATENCY_OPTIONS_INIT;
    uint32_t collect = 0, vocab;
    uint64_t seed;
    double holdout = 0.2, progress_every = kDefaultLogEvery;
    bool greedy = false, json = false;
    CLI::Option *out_opt = nullptr, *runs_opt = nullptr, *warmup_opt = nullptr;
    LatencyOpts() {
        // The vocabulary of a new supernet and the library's default seed.
        const mos_train_options t = MOS_TRAIN_OPTIONS_INIT;
        vocab = t.vocab_size;
        seed = t.seed;
    }
};

void measure_latency(const LatencyOpts &o) {
    if (o.out_opt->count() > 0) throw UsageError("--out applies to --collect and --train-predictor");
    ModelPtr model;
    if (!o.model.empty()) {
        mos_model *m = nullptr;
        check(mos_model_load(&m, o.model.c_str()));
        model.reset(m);
    } else {
        model = route_from(o.supernet, o.arch, nullptr, o.lo.threads);
    }
    mos_latency_options lo = o.lo;
    if (o.greedy) lo.beam = 1;
    mos_latency_result r = MOS_LATENCY_RESULT_INIT;
    check(mos_latency_measure(&r, model.get(), &lo));
    const uint64_t params = mos_model_num_params(model.get());
    if (o.json) {
        Json j;
        j["latency_ms"] = r.mean_ms;
        j["p10_ms"] = r.p10_ms;
        j["p50_ms"] = r.p50_ms;
        j["p90_ms"] = r.p90_ms;
        j["stdev_ms"] = r.stdev_ms;
        j["runs"] = r.runs;
        j["beam"] = lo.beam;
        j["src_len"] = lo.src_len;
        j["steps"] = lo.steps;
        j["draft_tokens"] = lo.draft_tokens;
        j["threads"] = lo.threads;
        j["params"] = params;
        print_json(j);
        return;
    }
    const std::string spec =
        lo.draft_tokens > 0 ? " (speculative, " + std::to_string(lo.draft_tokens) + " draft tokens)" : "";
    std::printf("latency %.3f ms (p10 %.3f, p50 %.3f, p90 %.3f, stdev %.3f) over %u runs; beam %u%s, %u source "
                "tokens, %u steps; %llu params\n",
                r.mean_ms, r.p10_ms, r.p50_ms, r.p90_ms, r.stdev_ms, r.runs, lo.beam, spec.c_str(), lo.src_len,
                lo.steps, static_cast<unsigned long long>(params));
}

// Runs per arch of --collect unless --runs / --warmup say otherwise.
constexpr uint32_t kCollectRuns = 6, kCollectWarmup = 1;

void collect_latency(const LatencyOpts &o) {
    if (o.out.empty()) throw UsageError("--collect needs --out DATASET");
    prepare_output_file("--out", o.out);
    const SpacePtr space = open_space(o.space);
    mos_latency_options lo = o.lo;
    if (o.greedy) lo.beam = 1;
    // Archs are timed interleaved, so every run is already a fresh start:
    // fewer runs per arch than a single measurement (docs/search.md).
    if (o.runs_opt->count() == 0) lo.runs = kCollectRuns;
    if (o.warmup_opt->count() == 0) lo.warmup = kCollectWarmup;
    Progress progress("latency collect", o.progress_every);
    check(mos_latency_collect(space.get(), o.vocab, o.collect, o.seed, &lo, o.out.c_str(), on_count_progress,
                              &progress));
    progress.note("wrote " + std::to_string(o.collect) + " timed archs to " + o.out);
}

void train_predictor(const LatencyOpts &o) {
    if (o.out.empty()) throw UsageError("--train-predictor needs --out PREDICTOR");
    prepare_output_file("--out", o.out);
    mos_predictor_train_options po = MOS_PREDICTOR_TRAIN_OPTIONS_INIT;
    po.holdout = o.holdout;
    po.seed = o.seed;
    po.kind = o.kind == "mlp" ? MOS_PREDICTOR_MLP : o.kind == "cost" ? MOS_PREDICTOR_COST : MOS_PREDICTOR_LINEAR;
    mos_predictor_report r = MOS_PREDICTOR_REPORT_INIT;
    check(mos_predictor_train(&r, o.train_predictor.c_str(), o.out.c_str(), &po));
    // A tiny dataset can leave no sample out: its error is then unknown, not 0.
    const bool measured = r.heldout_samples > 0;
    if (o.json) {
        Json j;
        j["predictor"] = o.out;
        j["kind"] = o.kind;
        j["train_samples"] = r.train_samples;
        j["heldout_samples"] = r.heldout_samples;
        j["mape"] = number_or_null(r.mape, measured);
        j["rmse_ms"] = number_or_null(r.rmse_ms, measured);
        j["kendall_tau"] = number_or_null(r.kendall_tau, measured);
        print_json(j);
        return;
    }
    if (measured)
        std::printf("predictor %s (%s): held-out MAPE %.2f%%, RMSE %.3f ms, Kendall tau %.3f (%u train / %u held "
                    "out)\n",
                    o.out.c_str(), o.kind.c_str(), r.mape, r.rmse_ms, r.kendall_tau, r.train_samples, r.heldout_samples);
    else
        std::printf("predictor %s: trained on %u samples; no held-out samples, so its error is unknown "
                    "(collect more archs or raise --holdout)\n",
                    o.out.c_str(), r.train_samples);
}

struct SearchOpts {
    std::string supernet, data, src, tgt, split, predictor, out, plot, budgets, precision = "auto";
    double latency = 0, progress_every = kDefaultLogEvery;
    mos_search_options s = MOS_SEARCH_OPTIONS_INIT;
    bool json = false;
    CLI::Option *latency_opt = nullptr, *budgets_opt = nullptr;
    SearchOpts() { split = s.split; }
};

std::string budget_text(double ms) { return ms <= 0 ? "none" : number_text(ms); }

void run_search(SearchOpts o) {
    std::vector<double> budgets;
    if (o.latency_opt->count() > 0) budgets.push_back(o.latency);  // checked finite and > 0 by the parser
    if (o.budgets_opt->count() > 0) budgets = parse_budget_list("--budgets", o.budgets);
    if (!budgets.empty() && o.predictor.empty() && !o.s.measure)
        throw UsageError("a latency budget needs --predictor FILE (mos-cli latency --train-predictor) or --measure");
    // Under mpirun every rank searches (the fitness evaluations are spread
    // over the ranks) and gets the same result; rank 0 alone writes it.
    const bool writer = cli_rank() == 0;
    // Every output location is checked before the search runs.
    if (writer && !o.out.empty()) prepare_output_file("--out", o.out);
    if (writer && !o.plot.empty()) prepare_output_file("--plot", o.plot);

    const SupernetPtr net = open_supernet(o.supernet);
    o.s.split = o.split.c_str();
    o.s.src_lang = o.src.c_str();
    o.s.tgt_lang = o.tgt.c_str();
    o.s.budgets_ms = budgets.empty() ? nullptr : budgets.data();
    o.s.n_budgets = budgets.size();
    o.s.predictor_path = o.predictor.empty() ? nullptr : o.predictor.c_str();
    o.s.fitness_precision = o.precision == "f32" ? MOS_FITNESS_F32 : o.precision == "bf16" ? MOS_FITNESS_BF16
                                                                                          : MOS_FITNESS_AUTO;
    mos_search_result *res = nullptr;
    bool stopped = false;
    {
        Progress progress("search", o.progress_every);
        StopSignals signals("writing the best archs found so far after this iteration",
                            "waiting for the result to be written");
        // A signal stops the search at its next report (after an iteration);
        // mos_search then returns MOS_ABORTED with the best archs so far.
        auto on_progress = [](uint64_t done, uint64_t total, const char *what, void *user) -> int {
            on_count_progress(done, total, what, user);
            return StopSignals::requested() ? 1 : 0;
        };
        const mos_status s = mos_search(&res, net.get(), o.data.c_str(), &o.s, on_progress, &progress);
        stopped = s == MOS_ABORTED && res != nullptr;
        progress.finish();
        if (!stopped) check(s);
        if (stopped)
            progress.note(std::string("stopped by ") + StopSignals::name() + "; the result holds the best archs found "
                          "so far" + (o.out.empty() ? "" : ", written to " + o.out));
    }
    const SearchResultPtr result(res);
    const std::string text = api_string(mos_search_result_to_json, result.get());
    if (!writer) return;
    if (!o.out.empty()) write_text_file(o.out, text);
    if (!o.plot.empty()) write_text_file(o.plot, api_string(mos_search_result_to_svg, result.get()));
    const Json doc = Json::parse(text);
    for (const Json &w : doc["warnings"]) std::fprintf(stderr, "mos-cli: warning: %s\n", w.get<std::string>().c_str());
    if (o.json) {
        print_json(doc);
        return;
    }
    std::printf("%-10s %11s %11s %12s %12s  %s\n", "budget ms", "latency ms", "valid loss", "params", "GFLOPs",
                "iterations");
    for (const Json &r : doc["results"]) {
        const double lat = r["latency_ms"].is_number() ? r["latency_ms"].get<double>() : NAN;
        char lat_text[32] = "-";
        if (std::isfinite(lat) && doc["latency_source"] != "none")
            std::snprintf(lat_text, sizeof lat_text, "%.2f", lat);
        std::printf("%-10s %11s %11.4f %12llu %12.3f  %d (%s)\n", budget_text(r["budget_ms"].get<double>()).c_str(),
                    lat_text, r["fitness"].get<double>(), r["params"].get<unsigned long long>(),
                    r["flops"].get<double>() / 1e9, r["iterations"].get<int>(), r["end"].get<std::string>().c_str());
    }
    const Json &st = doc["stats"];
    std::printf("%llu archs evaluated", st["archs_evaluated"].get<unsigned long long>());
    if (st["archs_screened"].get<long long>() > 0)
        std::printf(" (%llu screened on %lld pairs)", st["archs_screened"].get<unsigned long long>(),
                    st["screen_pairs"].get<long long>());
    std::printf(" in %.1f s, fitness in %s; latency: %s", st["seconds"].get<double>(),
                st["fitness_precision"].get<std::string>().c_str(), doc["latency_source"].get<std::string>().c_str());
    if (!o.out.empty()) std::printf("; result: %s", o.out.c_str());
    if (!o.plot.empty()) std::printf("; plot: %s", o.plot.c_str());
    std::printf("\n");
    if (o.out.empty())
        std::printf("(give --out FILE to keep the archs: mos-cli route --arch FILE --budget MS uses it)\n");
}

}  // namespace

void register_search(CLI::App &app) {
    auto l = std::make_shared<LatencyOpts>();
    CLI::App *lat = app.add_subcommand(
        "latency", "time a model (HAT protocol), collect a latency dataset, or train a latency predictor");
    CLI::Option *model = lat->add_option("--model", l->model, "mode 1: time this model file");
    CLI::Option *supernet =
        lat->add_option("--supernet", l->supernet, "mode 1: or a supernet (file or builtin), routed to --arch first");
    const ArchOptions arch = add_arch_options(lat, l->arch, "largest");
    CLI::Option *collect = add_int(lat, "--collect", l->collect,
                                   "mode 2: time N archs sampled from --space, write a dataset to --out", 1u, 1000000u)
                               ->default_str("");  // no default: giving it selects the mode
    CLI::Option *train = lat->add_option("--train-predictor", l->train_predictor,
                                         "mode 3: train a latency predictor on this dataset, write it to --out");
    model->excludes(supernet)->excludes(collect)->excludes(train);
    supernet->excludes(collect)->excludes(train);
    collect->excludes(train);
    arch.exclude(model);
    arch.exclude(collect);
    arch.exclude(train);
    lat->add_option("--space", l->space, "--collect: space preset or JSON file")->capture_default_str();
    add_int(lat, "--vocab", l->vocab, "--collect: vocabulary size of the timed models", 16u, 1000000u);
    add_real(lat, "--holdout", l->holdout,
             "--train-predictor: fraction of the samples held out to measure its error",
             Bounds{0.0, 0.9, true, true});
    lat->add_option("--predictor-kind", l->kind,
                    "--train-predictor: linear (ridge regression on the rich features; the default, most accurate "
                    "here), mlp (HAT's MLP on its 10 features) or cost (per-operation timings, calibrated)")
        ->check(CLI::IsMember({"linear", "mlp", "cost"}))
        ->capture_default_str();
    add_int(lat, "--seed", l->seed, "--collect: sampling seed; --train-predictor: hold-out and init seed");
    l->out_opt = lat->add_option("--out", l->out, "--collect / --train-predictor: file to write");
    CLI::Option *beam = add_int(lat, "--beam", l->lo.beam, "beam size of the timed decoding", 1, 64);
    lat->add_flag("--greedy", l->greedy, "time greedy decoding (beam 1)")->excludes(beam);
    add_int(lat, "--draft-tokens", l->lo.draft_tokens,
            "with --greedy: time speculative decoding with N draft tokens per check, as translate --draft-tokens "
            "serves (f32 models; 0 = off)",
            0, 15);
    add_int(lat, "--src-len", l->lo.src_len, "source tokens of the timed sentence", 1, 1024);
    add_int(lat, "--steps", l->lo.steps, "decoder steps timed", 1, 1024);
    l->runs_opt = add_int(lat, "--runs", l->lo.runs, "timed runs (--collect: 6 per arch)", 1, 100000);
    l->warmup_opt = add_int(lat, "--warmup", l->lo.warmup, "untimed warm-up runs (--collect: 1 per arch)", 0, 1000);
    add_int(lat, "--passes", l->lo.passes,
            "--collect: at most this many passes over the archs, each in other groups; fewer once the labels "
            "are steady (more: steadier labels on a busy machine)",
            1, 16);
    add_int(lat, "--max-seconds", l->lo.max_seconds,
            "--collect: start no pass after the first that would end past this many seconds (0 = no limit)", 0u,
            1000000u);
    CLI::Option *threads = add_threads(lat, l->lo.threads);
    threads->description("modes 1 and 2: threads of the timed decoding (0 = all cores)");
    train->excludes(threads);
    add_json_flag(lat, l->json);
    add_progress_option(lat, l->progress_every);
    lat->callback([l, model, supernet, collect, train] {
        if (model->count() > 0 || supernet->count() > 0)
            measure_latency(*l);
        else if (collect->count() > 0)
            collect_latency(*l);
        else if (train->count() > 0)
            train_predictor(*l);
        else
            throw UsageError("give a mode: --model MODEL | --supernet CKPT [--arch A], --collect N --out DATASET, "
                             "or --train-predictor DATASET --out PREDICTOR");
    });

    auto o = std::make_shared<SearchOpts>();
    CLI::App *s = app.add_subcommand("search", "evolutionary search of a supernet for latency/params/FLOPs budgets");
    s->add_option("--supernet", o->supernet, "supernet checkpoint or exported file, or builtin (docs/builtin.md)")->required();
    s->add_option("--data", o->data, "corpus directory with the validation split")->required();
    s->add_option("--src", o->src, "source language suffix")->required();
    s->add_option("--tgt", o->tgt, "target language suffix")->required();
    s->add_option("--split", o->split, "validation split")->capture_default_str();
    const Bounds positive{0.0, std::numeric_limits<double>::max(), true, false};
    o->latency_opt = add_real(s, "--latency-ms", o->latency, "one latency budget (ms)", positive);
    o->budgets_opt = s->add_option("--budgets", o->budgets, "several latency budgets in ms, e.g. 20,40,80");
    o->latency_opt->excludes(o->budgets_opt);
    add_int(s, "--max-params", o->s.max_params, "maximum parameters (0 = no limit)");
    add_int(s, "--max-flops", o->s.max_flops, "maximum FLOPs per 30-token source and 30-token target (0 = no limit)");
    add_hidden_alias(s, "--params", o->s.max_params, unsigned_check(0, UINT64_MAX));
    add_hidden_alias(s, "--flops", o->s.max_flops, unsigned_check(0, UINT64_MAX));
    CLI::Option *pred =
        s->add_option("--predictor", o->predictor, "latency predictor file (mos-cli latency --train-predictor)");
    CLI::Option *measure = s->add_flag("--measure", o->s.measure, "measure latencies here instead of predicting them");
    pred->excludes(measure);
    add_int(s, "--max-sentences", o->s.valid_sentences, "use at most N pairs of the split for the fitness", 1u,
            UINT32_MAX);
    add_hidden_alias(s, "--valid-sentences", o->s.valid_sentences, unsigned_check(1, UINT32_MAX));
    add_int(s, "--screen-sentences", o->s.screen_sentences,
            "racing: score every new arch on the first N pairs first, and only the promising ones on all of them "
            "(0 = off; docs/search.md)",
            0u, UINT32_MAX);
    add_real(s, "--promote", o->s.promote_fraction,
             "racing: fraction of each generation's screened archs (best first) scored on all pairs",
             Bounds{0.0, 1.0, true, false});
    add_int(s, "--patience", o->s.patience,
            "stop a budget once N iterations in a row improved its best loss by less than --min-delta "
            "(0 = run every iteration; docs/search.md)",
            0u, 10000u);
    add_real(s, "--min-delta", o->s.min_delta, "the improvement in nats that resets --patience",
             Bounds{0.0, 1e9});
    add_int(s, "--seed-archs", o->s.seed_archs,
            "several budgets: start each later budget from up to N of the best archs scored so far that meet it "
            "(0 = random archs)",
            0u, 100000u);
    add_real(s, "--parent-sigmas", o->s.parent_sigmas,
             "racing: fully score only archs whose estimate, less this many residual deviations, beats the "
             "parents' cutoff (negative = off: --promote throughout)",
             Bounds{-1e9, 100.0});
    s->add_option("--fitness-precision", o->precision,
                  "products of the fitness forward: f32, bf16, or auto (bf16 where the CPU has it natively); the "
                  "best archs are re-scored in f32")
        ->check(CLI::IsMember({"f32", "bf16", "auto"}))
        ->capture_default_str();
    add_int(s, "--population", o->s.population, "population", 2, 100000);
    add_int(s, "--parents", o->s.parents, "parents kept per iteration", 1, 100000);
    add_int(s, "--mutations", o->s.mutations, "mutated children per iteration", 0, 100000);
    add_int(s, "--crossovers", o->s.crossovers, "crossover children per iteration", 0, 100000);
    add_int(s, "--iterations", o->s.iterations, "iterations", 1, 10000);
    add_real(s, "--mutation-prob", o->s.mutation_prob, "gene mutation probability", Bounds{0.0, 1.0});
    add_int(s, "--seed", o->s.seed, "seed of the evolution");
    add_threads(s, o->s.threads);
    s->add_option("--out", o->out, "write the result (mos-search-result JSON) to this file (directories are created)");
    s->add_option("--plot", o->plot, "write an SVG of the Pareto front to this file (directories are created)");
    add_json_flag(s, o->json);
    add_progress_option(s, o->progress_every);
    s->callback([o] { run_search(*o); });
}

}  // namespace mos_cli
