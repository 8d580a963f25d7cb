// tools/mos-cli/cmd_quickstart.cpp: `mos-cli quickstart`: the main job on the
// built-in corpus, end to end through the public C API:
//   1. train a `small` neuron-wise MoS supernet (m = 2) for a time budget;
//   2. time sampled archs on this machine and train a latency predictor;
//   3. search the supernet for two latency budgets (train once, deploy many);
//   4. route the winners (and the largest and smallest subnets), translate
//      test sentences with each, and print a table of budget, latency,
//      params, validation loss and BLEU.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "cli.hpp"

namespace mos_cli {

namespace {

struct QuickOpts {
    std::string data = "data/bible-en-es", src = "en", tgt = "es", work = "quickstart-run", space = "small";
    double train_seconds = 360;
    unsigned vocab = 4000, test_sentences = 200, latency_archs = 60, valid_sentences = 200, beam = 4;
    unsigned population = 30, iterations = 6;
    int threads = 0;
};

int train_progress(const mos_train_progress *p, void *user) {
    const bool tty = *static_cast<bool *>(user);
    if (p->event == MOS_TRAIN_EVENT_STEP) {
        static double last = -1e9;
        if (p->elapsed_seconds - last < (tty ? 0.25 : 15.0)) return 0;
        last = p->elapsed_seconds;
        std::fprintf(stderr, "%s  step %lld  loss %.3f  %.0f tok/s  elapsed %.0f s  eta %.0f s%s", tty ? "\r\033[K" : "",
                     static_cast<long long>(p->step), p->loss, p->tokens_per_second, p->elapsed_seconds,
                     p->eta_seconds, tty ? "" : "\n");
    } else {
        std::fprintf(stderr, "%s  %s\n", tty ? "\r\033[K" : "", p->message);
    }
    std::fflush(stderr);
    return 0;
}

int count_progress(uint64_t done, uint64_t total, const char *what, void *user) {
    const bool tty = *static_cast<bool *>(user);
    // Search iterations are worth a log line each; counts of timed archs only at the end.
    if (tty || done == total || std::strstr(what, "iterations") != nullptr)
        std::fprintf(stderr, "%s  %llu/%llu %s%s", tty ? "\r\033[K" : "", static_cast<unsigned long long>(done),
                     static_cast<unsigned long long>(total), what, tty && done < total ? "" : "\n");
    std::fflush(stderr);
    return 0;
}

double now_s() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct Row {
    std::string name;
    double budget = 0, latency = 0, loss = 0, bleu = 0;
    unsigned long long params = 0;
};

void run_quickstart(const QuickOpts &o) {
    const double t_start = now_s();
    bool tty = isatty(STDERR_FILENO) != 0;
    if (access((o.data + "/train." + o.src + ".gz").c_str(), R_OK) != 0 &&
        access((o.data + "/train." + o.src).c_str(), R_OK) != 0)
        throw CliError("built-in corpus not found at '" + o.data + "': run from the repository root or pass --data");
    if (access(o.work.c_str(), F_OK) != 0 && mkdir_p(o.work) != 0)
        throw CliError("cannot create the work directory '" + o.work + "'");
    std::printf("libmos %s quickstart: %s (%s -> %s), work directory %s\n", mos_version_string(), o.data.c_str(),
                o.src.c_str(), o.tgt.c_str(), o.work.c_str());
    std::fflush(stdout);

    // 1. Train.
    const std::string ckpt = o.work + "/supernet.safetensors";
    std::fprintf(stderr, "[1/4] training a neuron-wise MoS supernet (2 experts, space %s) for %.0f s\n",
                 o.space.c_str(), o.train_seconds);
    mos_space *space = load_space(o.space);
    std::unique_ptr<mos_space, void (*)(mos_space *)> sg(space, mos_space_destroy);
    mos_supernet_options n = MOS_SUPERNET_OPTIONS_INIT;
    n.routing = MOS_ROUTING_NEURON;
    n.experts = 2;
    n.dropout = 0.1f;
    mos_train_options t = MOS_TRAIN_OPTIONS_INIT;
    t.data_dir = o.data.c_str();
    t.src_lang = o.src.c_str();
    t.tgt_lang = o.tgt.c_str();
    t.out_path = ckpt.c_str();
    t.vocab_size = o.vocab;
    t.max_tokens = 4096;
    t.max_len = 96;
    t.max_seconds = o.train_seconds;
    t.lr = 1e-3f;
    t.warmup = 60;  // a six-minute run has a few hundred updates at most
    t.valid_every = 200;
    t.valid_sentences = o.valid_sentences;
    t.threads = o.threads;
    mos_supernet *net = nullptr;
    check(mos_train(&net, space, &n, &t, train_progress, &tty));
    std::unique_ptr<mos_supernet, void (*)(mos_supernet *)> ng(net, mos_supernet_destroy);

    // 2. Latency predictor for this machine.
    const std::string lat_data = o.work + "/latency.jsonl", predictor = o.work + "/latency.safetensors";
    std::fprintf(stderr, "[2/4] timing %u sampled archs on this machine, training the latency predictor\n",
                 o.latency_archs);
    mos_latency_options lo = MOS_LATENCY_OPTIONS_INIT;
    lo.runs = 10;
    lo.warmup = 2;
    mos_supernet_options got;
    got.version = MOS_SUPERNET_OPTIONS_VERSION;
    check(mos_supernet_get_options(net, &got));
    check(mos_latency_collect(space, got.vocab_size, o.latency_archs, 7, &lo, lat_data.c_str(), count_progress, &tty));
    mos_predictor_report pr;
    check(mos_predictor_train(lat_data.c_str(), 0.2, 1, predictor.c_str(), &pr));
    std::fprintf(stderr, "  predictor: held-out MAPE %.2f%%, RMSE %.3f ms, Kendall tau %.3f (%u train / %u held out)\n",
                 pr.mape, pr.rmse_ms, pr.kendall_tau, pr.train_samples, pr.heldout_samples);

    // Budgets between the smallest and the largest subnet's predicted latency.
    mos_predictor *pred = nullptr;
    check(mos_predictor_load(&pred, predictor.c_str(), nullptr));
    std::unique_ptr<mos_predictor, void (*)(mos_predictor *)> pg(pred, mos_predictor_destroy);
    mos_arch *largest = nullptr, *smallest = nullptr;
    check(mos_arch_create_largest(&largest, space));
    check(mos_arch_create_smallest(&smallest, space));
    std::unique_ptr<mos_arch, void (*)(mos_arch *)> lg(largest, mos_arch_destroy), smg(smallest, mos_arch_destroy);
    double lat_small = 0, lat_large = 0;
    check(mos_predictor_predict(pred, smallest, &lat_small));
    check(mos_predictor_predict(pred, largest, &lat_large));
    // The smallest arch must fit every budget (the search starts from it); a
    // predictor trained on few samples may even rank the extremes wrongly.
    const double b_lo = lat_small, b_hi = lat_large > lat_small * 1.2 ? lat_large : lat_small * 2.0;
    std::vector<double> budgets = {b_lo + 0.3 * (b_hi - b_lo), b_lo + 0.6 * (b_hi - b_lo)};

    // 3. Search.
    std::fprintf(stderr, "[3/4] searching for budgets %.2f ms and %.2f ms (predicted range %.2f..%.2f ms)\n",
                 budgets[0], budgets[1], lat_small, lat_large);
    mos_search_options so = MOS_SEARCH_OPTIONS_INIT;
    so.src_lang = o.src.c_str();
    so.tgt_lang = o.tgt.c_str();
    so.valid_sentences = o.valid_sentences;
    so.budgets_ms = budgets.data();
    so.n_budgets = budgets.size();
    so.predictor_path = predictor.c_str();
    so.population = o.population;
    so.parents = o.population / 5;
    so.mutations = o.population * 2 / 5;
    so.crossovers = o.population * 2 / 5;
    so.iterations = o.iterations;
    mos_search_result *res = nullptr;
    check(mos_search(net, o.data.c_str(), &so, &res, count_progress, &tty));
    std::unique_ptr<mos_search_result, void (*)(mos_search_result *)> rg(res, mos_search_result_destroy);

    // 4. Route, time, translate, score.
    std::fprintf(stderr, "[4/4] routing, timing and translating %u test sentences with each subnet\n",
                 o.test_sentences);
    std::vector<std::pair<std::string, mos_arch *>> archs;
    std::vector<std::unique_ptr<mos_arch, void (*)(mos_arch *)>> owned;
    std::vector<double> row_budget;
    for (size_t i = 0; i < mos_search_result_count(res); i++) {
        mos_arch *a = nullptr;
        check(mos_search_result_arch(res, i, &a));
        owned.emplace_back(a, mos_arch_destroy);
        char name[64];
        std::snprintf(name, sizeof name, "searched@%.1fms", budgets[i]);
        archs.emplace_back(name, a);
        row_budget.push_back(budgets[i]);
    }
    archs.emplace_back("smallest", smallest);
    row_budget.push_back(0);
    archs.emplace_back("largest", largest);
    row_budget.push_back(0);
    std::vector<Row> rows;
    for (size_t i = 0; i < archs.size(); i++) {
        Row r;
        r.name = archs[i].first;
        r.budget = row_budget[i];
        mos_model *m = nullptr;
        const double t0 = now_s();
        check(mos_route(net, archs[i].second, &m));
        const double route_ms = (now_s() - t0) * 1e3;
        std::unique_ptr<mos_model, void (*)(mos_model *)> mg(m, mos_model_destroy);
        r.params = mos_model_num_params(m);
        mos_latency_result lr;
        check(mos_latency_measure(m, &lo, &lr));
        r.latency = lr.mean_ms;
        mos_eval_result ev;
        check(mos_evaluate(net, archs[i].second, o.data.c_str(), "test", o.src.c_str(), o.tgt.c_str(),
                           o.test_sentences, o.beam, &ev));
        r.loss = ev.loss;
        r.bleu = ev.bleu;
        rows.push_back(r);
        const std::string model_path = o.work + "/" + archs[i].first.substr(0, archs[i].first.find('@')) +
                                       (i < 2 ? std::to_string(i) : "") + ".model.safetensors";
        check(mos_model_save(m, model_path.c_str()));
        std::fprintf(stderr, "  %-18s routed in %.1f ms -> %s\n", r.name.c_str(), route_ms, model_path.c_str());
        if (i == archs.size() - 1) {
            // Show a few translations of the largest subnet.
            const char *samples[] = {"In the beginning God created the heaven and the earth.",
                                     "And God said, Let there be light: and there was light.",
                                     "The Lord is my shepherd; I shall not want."};
            mos_translate_options to = MOS_TRANSLATE_OPTIONS_INIT;
            to.beam = o.beam;
            mos_texts *out = nullptr;
            check(mos_model_translate(m, samples, 3, &to, &out));
            std::printf("\nSample translations (largest subnet, beam %u):\n", o.beam);
            for (size_t k = 0; k < 3; k++) std::printf("  %s\n  -> %s\n", samples[k], mos_texts_get(out, k));
            mos_texts_destroy(out);
        }
    }
    std::printf("\n%-18s %10s %12s %10s %12s %8s\n", "subnet", "budget ms", "latency ms", "params", "test loss",
                "BLEU");
    for (const Row &r : rows) {
        char budget[32] = "-";
        if (r.budget > 0) std::snprintf(budget, sizeof budget, "%.2f", r.budget);
        std::printf("%-18s %10s %12.2f %10llu %12.4f %8.2f\n", r.name.c_str(), budget, r.latency, r.params, r.loss,
                    r.bleu);
    }
    std::printf("\nlatency: HAT protocol (batch 1, 30 source tokens, 30 steps, beam 5), measured here; test loss and "
                "BLEU on the first %u test sentences (beam %u). Total time %.0f s.\n",
                o.test_sentences, o.beam, now_s() - t_start);
}

}  // namespace

void register_quickstart(CLI::App &app) {
    auto o = std::make_shared<QuickOpts>();
    CLI::App *qs = app.add_subcommand(
        "quickstart", "run the main job (train, search, route, translate) on the built-in corpus");
    qs->add_option("--data", o->data, "corpus directory")->capture_default_str();
    qs->add_option("--src", o->src, "source language")->capture_default_str();
    qs->add_option("--tgt", o->tgt, "target language")->capture_default_str();
    qs->add_option("--space", o->space, "space preset or JSON file")->capture_default_str();
    qs->add_option("--work", o->work, "directory for the checkpoint, predictor and models")->capture_default_str();
    qs->add_option("--train-seconds", o->train_seconds, "training time budget")->capture_default_str();
    qs->add_option("--vocab", o->vocab, "tokenizer vocabulary")->capture_default_str();
    qs->add_option("--test-sentences", o->test_sentences, "test sentences translated per subnet")
        ->capture_default_str();
    qs->add_option("--latency-archs", o->latency_archs, "archs timed for the predictor")->capture_default_str();
    qs->add_option("--population", o->population, "search population")->capture_default_str();
    qs->add_option("--iterations", o->iterations, "search iterations")->capture_default_str();
    qs->add_option("--threads", o->threads, "threads (0 = all cores)")->capture_default_str();
    qs->callback([o] { run_quickstart(*o); });
}

}  // namespace mos_cli
