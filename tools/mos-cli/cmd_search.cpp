// tools/mos-cli/cmd_search.cpp: `mos-cli latency` (time a model or a subnet
// with HAT's protocol; collect a latency dataset; train a latency predictor)
// and `mos-cli search` (evolutionary search of a supernet under budgets).
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "cli.hpp"

namespace mos_cli {

namespace {

int print_progress(uint64_t done, uint64_t total, const char *what, void *user) {
    const bool tty = *static_cast<bool *>(user);
    std::fprintf(stderr, "%s%llu/%llu %s%s", tty ? "\r\033[K" : "", static_cast<unsigned long long>(done),
                 static_cast<unsigned long long>(total), what, tty && done < total ? "" : "\n");
    std::fflush(stderr);
    return 0;
}

std::string slurp_api(mos_status (*fn)(const mos_search_result *, char *, size_t, size_t *),
                      const mos_search_result *r) {
    size_t n = 0;
    check(fn(r, nullptr, 0, &n));
    std::string s(n, '\0');
    check(fn(r, s.data(), s.size(), nullptr));
    s.resize(n - 1);
    return s;
}

void write_text(const std::string &path, const std::string &text) {
    std::ofstream out(path, std::ios::binary);
    if (!out) throw CliError("cannot write '" + path + "'");
    out << text;
    if (!out.flush()) throw CliError("cannot write '" + path + "'");
}

std::vector<double> parse_budgets(const std::string &s) {
    std::vector<double> v;
    std::stringstream ss(s);
    std::string item;
    while (std::getline(ss, item, ',')) {
        try {
            size_t used = 0;
            const double x = std::stod(item, &used);
            if (used != item.size() || !(x > 0)) throw std::invalid_argument(item);
            v.push_back(x);
        } catch (const std::exception &) {
            throw CliError("--budgets: '" + item + "' is not a positive number of milliseconds");
        }
    }
    return v;
}

struct LatencyOpts {
    std::string model, supernet, arch = "largest", space = "small", out, train_predictor;
    unsigned collect = 0, vocab = 8000, beam = 5, runs = 20, warmup = 3;
    unsigned long long seed = 1;
    double holdout = 0.2;
    bool greedy = false;
};

void run_latency(const LatencyOpts &o) {
    mos_latency_options lo = MOS_LATENCY_OPTIONS_INIT;
    lo.beam = o.greedy ? 1 : o.beam;
    lo.runs = o.runs;
    lo.warmup = o.warmup;
    bool tty = isatty(STDERR_FILENO) != 0;
    if (!o.train_predictor.empty()) {
        if (o.out.empty()) throw CliError("--train-predictor needs --out PREDICTOR");
        mos_predictor_report r;
        check(mos_predictor_train(o.train_predictor.c_str(), o.holdout, o.seed, o.out.c_str(), &r));
        std::printf("{\"predictor\": \"%s\", \"train_samples\": %u, \"heldout_samples\": %u, \"mape\": %.3f, "
                    "\"rmse_ms\": %.4f, \"kendall_tau\": %.4f}\n",
                    o.out.c_str(), r.train_samples, r.heldout_samples, r.mape, r.rmse_ms, r.kendall_tau);
        return;
    }
    if (o.collect > 0) {
        if (o.out.empty()) throw CliError("--collect needs --out DATASET");
        mos_space *space = load_space(o.space);
        std::unique_ptr<mos_space, void (*)(mos_space *)> g(space, mos_space_destroy);
        check(mos_latency_collect(space, o.vocab, o.collect, o.seed, &lo, o.out.c_str(), print_progress, &tty));
        std::fprintf(stderr, "wrote %s\n", o.out.c_str());
        return;
    }
    mos_model *model = nullptr;
    if (!o.model.empty())
        check(mos_model_load(&model, o.model.c_str()));
    else if (!o.supernet.empty())
        model = route_from(o.supernet, o.arch, nullptr);
    else
        throw CliError("give --model MODEL, --supernet CKPT [--arch A], --collect N or --train-predictor DATA");
    std::unique_ptr<mos_model, void (*)(mos_model *)> g(model, mos_model_destroy);
    mos_latency_result r;
    check(mos_latency_measure(model, &lo, &r));
    std::printf("{\"latency_ms\": %.4f, \"p10_ms\": %.4f, \"p50_ms\": %.4f, \"p90_ms\": %.4f, \"stdev_ms\": %.4f, "
                "\"runs\": %u, \"beam\": %u, \"src_len\": %u, \"steps\": %u, \"params\": %llu}\n",
                r.mean_ms, r.p10_ms, r.p50_ms, r.p90_ms, r.stdev_ms, r.runs, lo.beam, lo.src_len, lo.steps,
                static_cast<unsigned long long>(mos_model_num_params(model)));
}

struct SearchOpts {
    std::string supernet, data, src, tgt, split = "valid", predictor, out, plot, budgets;
    double latency = 0;
    unsigned long long params = 0, flops = 0, seed = 1;
    unsigned valid_sentences = 500, population = 125, parents = 25, mutations = 50, crossovers = 50,
             iterations = 30;
    double mutation_prob = 0.3;
    bool measure = false;
};

void run_search(const SearchOpts &o) {
    std::vector<double> budgets = o.budgets.empty() ? std::vector<double>() : parse_budgets(o.budgets);
    if (o.latency > 0) budgets.insert(budgets.begin(), o.latency);
    mos_supernet *net = nullptr;
    check(mos_supernet_load(&net, o.supernet.c_str()));
    std::unique_ptr<mos_supernet, void (*)(mos_supernet *)> g(net, mos_supernet_destroy);
    mos_search_options s = MOS_SEARCH_OPTIONS_INIT;
    s.split = o.split.c_str();
    s.src_lang = o.src.c_str();
    s.tgt_lang = o.tgt.c_str();
    s.valid_sentences = o.valid_sentences;
    s.budgets_ms = budgets.empty() ? nullptr : budgets.data();
    s.n_budgets = budgets.size();
    s.max_params = o.params;
    s.max_flops = o.flops;
    s.predictor_path = o.predictor.empty() ? nullptr : o.predictor.c_str();
    s.measure = o.measure;
    s.population = o.population;
    s.parents = o.parents;
    s.mutations = o.mutations;
    s.crossovers = o.crossovers;
    s.iterations = o.iterations;
    s.mutation_prob = o.mutation_prob;
    s.seed = o.seed;
    bool tty = isatty(STDERR_FILENO) != 0;
    mos_search_result *res = nullptr;
    check(mos_search(net, o.data.c_str(), &s, &res, print_progress, &tty));
    std::unique_ptr<mos_search_result, void (*)(mos_search_result *)> rg(res, mos_search_result_destroy);
    const std::string json = slurp_api(mos_search_result_to_json, res);
    if (o.out.empty())
        std::fputs(json.c_str(), stdout);
    else
        write_text(o.out, json);
    if (!o.plot.empty()) write_text(o.plot, slurp_api(mos_search_result_to_svg, res));
    for (size_t i = 0; i < mos_search_result_count(res); i++) {
        double fit = 0, lat = 0;
        check(mos_search_result_scores(res, i, &fit, &lat));
        std::fprintf(stderr, "budget %s: best validation loss %.4f at %.2f ms\n",
                     budgets.empty() ? "none" : (std::to_string(budgets[i]) + " ms").c_str(), fit, lat);
    }
}

}  // namespace

void register_search(CLI::App &app) {
    auto l = std::make_shared<LatencyOpts>();
    CLI::App *lat = app.add_subcommand("latency", "time a model (HAT protocol), collect latencies, train a predictor");
    lat->add_option("--model", l->model, "model file to time");
    lat->add_option("--supernet", l->supernet, "or: a supernet checkpoint, routed to --arch first");
    lat->add_option("--arch", l->arch, "arch JSON file, or largest / smallest")->capture_default_str();
    lat->add_option("--collect", l->collect, "time N sampled archs of --space and write a dataset to --out");
    lat->add_option("--space", l->space, "space preset or JSON file for --collect")->capture_default_str();
    lat->add_option("--vocab", l->vocab, "vocabulary size for --collect")->capture_default_str();
    lat->add_option("--train-predictor", l->train_predictor, "train a predictor on this dataset, write --out");
    lat->add_option("--holdout", l->holdout, "fraction of the dataset held out for the error")->capture_default_str();
    lat->add_option("--out", l->out, "output file");
    lat->add_option("--beam", l->beam, "beam size")->capture_default_str()->check(CLI::Range(1, 64));
    lat->add_flag("--greedy", l->greedy, "time greedy decoding (beam 1)");
    lat->add_option("--runs", l->runs, "timed runs")->capture_default_str()->check(CLI::Range(1, 100000));
    lat->add_option("--warmup", l->warmup, "untimed warm-up runs")->capture_default_str();
    lat->add_option("--seed", l->seed, "sampling seed")->capture_default_str();
    lat->callback([l] { run_latency(*l); });

    auto o = std::make_shared<SearchOpts>();
    CLI::App *s = app.add_subcommand("search", "evolutionary search of a supernet for latency/params/FLOPs budgets");
    s->add_option("--supernet", o->supernet, "supernet checkpoint")->required();
    s->add_option("--data", o->data, "corpus directory with the validation split")->required();
    s->add_option("--src", o->src, "source language suffix")->required();
    s->add_option("--tgt", o->tgt, "target language suffix")->required();
    s->add_option("--split", o->split, "validation split")->capture_default_str();
    s->add_option("--latency-ms", o->latency, "latency budget (ms)");
    s->add_option("--budgets", o->budgets, "several latency budgets, e.g. 20,40,80");
    s->add_option("--params", o->params, "maximum parameters");
    s->add_option("--flops", o->flops, "maximum FLOPs per 30+30-token pair");
    s->add_option("--predictor", o->predictor, "latency predictor file (mos-cli latency --train-predictor)");
    s->add_flag("--measure", o->measure, "measure latencies here instead of predicting them");
    s->add_option("--valid-sentences", o->valid_sentences, "validation subset size")->capture_default_str();
    s->add_option("--population", o->population, "population")->capture_default_str();
    s->add_option("--parents", o->parents, "parents kept per iteration")->capture_default_str();
    s->add_option("--mutations", o->mutations, "mutated children per iteration")->capture_default_str();
    s->add_option("--crossovers", o->crossovers, "crossover children per iteration")->capture_default_str();
    s->add_option("--iterations", o->iterations, "iterations")->capture_default_str();
    s->add_option("--mutation-prob", o->mutation_prob, "gene mutation probability")->capture_default_str();
    s->add_option("--seed", o->seed, "seed")->capture_default_str();
    s->add_option("--out", o->out, "result JSON file (default: stdout)");
    s->add_option("--plot", o->plot, "write an SVG of the Pareto front");
    s->callback([o] { run_search(*o); });
}

}  // namespace mos_cli
