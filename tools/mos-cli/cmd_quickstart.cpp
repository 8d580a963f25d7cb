// tools/mos-cli/cmd_quickstart.cpp: `mos-cli quickstart`: the main job on the
// built-in corpus, end to end through the public C API:
//   1. train a `small` neuron-wise MoS supernet (m = 2) for a time budget;
//   2. time sampled archs on this machine and train a latency predictor;
//   3. search the supernet for two latency budgets (train once, deploy many);
//   4. route the winners (and the largest and smallest subnets), translate
//      test sentences with each, and print a table of budget, latency,
//      params, test loss and BLEU.
// The corpus is found wherever mos-cli was installed or built
// (find_builtin_corpus), so it runs outside the source tree too.
#include <unistd.h>

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

// The quickstart recipe: what differs from the library's defaults is chosen
// for a few minutes of training on two cores (docs/cli.md, docs/results.md).
struct QuickOpts {
    std::string data, src = "en", tgt = "es", work = "quickstart-run", space = "small";
    double train_seconds = 360, progress_every = kDefaultLogEvery;
    uint32_t vocab = 4000;          // a smaller tokenizer trains faster in a short run
    uint32_t max_sentences = 200;   // validation, search fitness and test subsets
    uint32_t latency_archs = 60, beam, population = 30, iterations = 6;
    int32_t threads = 0;
    bool json = false;
    QuickOpts() {
        const mos_translate_options t = MOS_TRANSLATE_OPTIONS_INIT;
        beam = t.beam;
    }
};

struct Row {
    std::string name, model;
    double budget = 0, latency = 0, loss = 0, bleu = 0, route_ms = 0;
    unsigned long long params = 0;
};

// Every split the job reads, before any work starts.
void check_corpus(const QuickOpts &o) {
    for (const char *split : {"train", "valid", "test"})
        for (const std::string &lang : {o.src, o.tgt}) {
            const std::string base = o.data + "/" + split + "." + lang;
            if (access(base.c_str(), R_OK) != 0 && access((base + ".gz").c_str(), R_OK) != 0)
                throw CliError("corpus '" + o.data + "': cannot read " + base + " or " + base + ".gz");
        }
}

void run_quickstart(QuickOpts o) {
    Progress progress("quickstart", o.progress_every);
    if (o.data.empty()) o.data = find_builtin_corpus();
    check_corpus(o);
    prepare_output_dir("--work", o.work);
    if (!o.json)
        std::printf("libmos %s quickstart: corpus %s (%s -> %s), work directory %s\n", mos_version_string(),
                    o.data.c_str(), o.src.c_str(), o.tgt.c_str(), o.work.c_str());
    std::fflush(stdout);
    const SpacePtr space = open_space(o.space);

    // 1. Train.
    const std::string ckpt = o.work + "/supernet.safetensors";
    progress.restart("1/4 train");
    char line[256];
    std::snprintf(line, sizeof line, "training a neuron-wise MoS supernet (2 experts, space %s) for %.0f s",
                  o.space.c_str(), o.train_seconds);
    progress.note(line);
    mos_supernet_options n = MOS_SUPERNET_OPTIONS_INIT;
    n.routing = MOS_ROUTING_NEURON;
    n.experts = 2;
    n.dropout = 0.1f;  // little regularisation for a few hundred updates
    mos_train_options t = MOS_TRAIN_OPTIONS_INIT;
    t.data_dir = o.data.c_str();
    t.src_lang = o.src.c_str();
    t.tgt_lang = o.tgt.c_str();
    t.out_path = ckpt.c_str();
    t.vocab_size = o.vocab;
    t.max_len = 96;
    t.max_seconds = o.train_seconds;
    t.lr = 1e-3f;
    t.warmup = 60;  // a six-minute run has a few hundred updates at most
    t.valid_every = 200;
    t.valid_sentences = o.max_sentences;
    t.threads = o.threads;
    TrainWatch watch;
    watch.progress = &progress;
    mos_supernet *raw = nullptr;
    check(mos_train(&raw, space.get(), &n, &t, on_train_progress, &watch));
    const SupernetPtr net(raw);

    // 2. Latency predictor for this machine.
    const std::string lat_data = o.work + "/latency.jsonl", predictor = o.work + "/latency.safetensors";
    progress.restart("2/4 latency");
    progress.note("timing " + std::to_string(o.latency_archs) +
                  " sampled archs on this machine, training the latency predictor");
    mos_latency_options lo = MOS_LATENCY_OPTIONS_INIT;
    lo.runs = 10;
    lo.warmup = 2;
    lo.threads = o.threads;
    mos_supernet_options got = MOS_SUPERNET_OPTIONS_INIT;
    check(mos_supernet_get_options(&got, net.get()));
    check(mos_latency_collect(space.get(), got.vocab_size, o.latency_archs, 7, &lo, lat_data.c_str(),
                              on_count_progress, &progress));
    mos_predictor_train_options po = MOS_PREDICTOR_TRAIN_OPTIONS_INIT;
    po.seed = t.seed;
    mos_predictor_report pr = MOS_PREDICTOR_REPORT_INIT;
    check(mos_predictor_train(&pr, lat_data.c_str(), predictor.c_str(), &po));
    if (pr.heldout_samples > 0)
        std::snprintf(line, sizeof line,
                      "predictor: held-out MAPE %.2f%%, RMSE %.3f ms, Kendall tau %.3f (%u train / %u held out)",
                      pr.mape, pr.rmse_ms, pr.kendall_tau, pr.train_samples, pr.heldout_samples);
    else
        std::snprintf(line, sizeof line, "predictor: %u train samples, none held out, so its error is unknown",
                      pr.train_samples);
    progress.note(line);

    // Budgets between the smallest and the largest subnet's predicted latency.
    mos_predictor *rp = nullptr;
    check(mos_predictor_load(&rp, nullptr, predictor.c_str()));
    const PredictorPtr pred(rp);
    mos_arch *la = nullptr, *sa = nullptr;
    check(mos_arch_create_largest(&la, space.get()));
    const ArchPtr largest(la);
    check(mos_arch_create_smallest(&sa, space.get()));
    const ArchPtr smallest(sa);
    double lat_small = 0, lat_large = 0;
    check(mos_predictor_predict(&lat_small, pred.get(), smallest.get()));
    check(mos_predictor_predict(&lat_large, pred.get(), largest.get()));
    // The smallest arch must fit every budget (the search starts from it); a
    // predictor trained on few samples may even rank the extremes wrongly.
    const double b_lo = lat_small, b_hi = lat_large > lat_small * 1.2 ? lat_large : lat_small * 2.0;
    std::vector<double> budgets = {b_lo + 0.3 * (b_hi - b_lo), b_lo + 0.6 * (b_hi - b_lo)};

    // 3. Search.
    progress.restart("3/4 search");
    std::snprintf(line, sizeof line, "searching for budgets %.2f ms and %.2f ms (predicted range %.2f..%.2f ms)",
                  budgets[0], budgets[1], lat_small, lat_large);
    progress.note(line);
    mos_search_options so = MOS_SEARCH_OPTIONS_INIT;
    so.src_lang = o.src.c_str();
    so.tgt_lang = o.tgt.c_str();
    so.valid_sentences = o.max_sentences;
    so.budgets_ms = budgets.data();
    so.n_budgets = budgets.size();
    so.predictor_path = predictor.c_str();
    so.population = o.population;
    so.parents = o.population / 5;
    so.mutations = o.population * 2 / 5;
    so.crossovers = o.population * 2 / 5;
    so.iterations = o.iterations;
    so.threads = o.threads;
    mos_search_result *rr = nullptr;
    check(mos_search(&rr, net.get(), o.data.c_str(), &so, on_count_progress, &progress));
    const SearchResultPtr res(rr);
    write_text_file(o.work + "/search.json", api_string(mos_search_result_to_json, res.get()));

    // 4. Route, time, translate, score.
    progress.restart("4/4 route and test");
    progress.note("routing, timing and translating " + std::to_string(o.max_sentences) +
                  " test sentences with each subnet");
    std::vector<std::pair<std::string, const mos_arch *>> archs;
    std::vector<ArchPtr> owned;
    std::vector<double> row_budget;
    for (size_t i = 0; i < mos_search_result_count(res.get()); i++) {
        mos_arch *a = nullptr;
        check(mos_search_result_arch(&a, res.get(), i));
        owned.emplace_back(a);
        char name[64];
        std::snprintf(name, sizeof name, "searched@%.1fms", budgets[i]);
        archs.emplace_back(name, a);
        row_budget.push_back(budgets[i]);
    }
    archs.emplace_back("smallest", smallest.get());
    row_budget.push_back(0);
    archs.emplace_back("largest", largest.get());
    row_budget.push_back(0);
    std::vector<Row> rows;
    std::vector<std::string> sample_out;
    const char *samples[] = {"In the beginning God created the heaven and the earth.",
                             "And God said, Let there be light: and there was light.",
                             "The Lord is my shepherd; I shall not want."};
    for (size_t i = 0; i < archs.size(); i++) {
        Row r;
        r.name = archs[i].first;
        r.budget = row_budget[i];
        mos_model *m = nullptr;
        const double t0 = progress.seconds();
        mos_route_options ro = MOS_ROUTE_OPTIONS_INIT;
        ro.threads = o.threads;
        check(mos_route(&m, net.get(), archs[i].second, &ro));
        r.route_ms = (progress.seconds() - t0) * 1e3;
        const ModelPtr model(m);
        r.params = mos_model_num_params(model.get());
        mos_latency_result lr = MOS_LATENCY_RESULT_INIT;
        check(mos_latency_measure(&lr, model.get(), &lo));
        r.latency = lr.mean_ms;
        mos_eval_options eo = MOS_EVAL_OPTIONS_INIT;
        eo.split = "test";
        eo.src_lang = o.src.c_str();
        eo.tgt_lang = o.tgt.c_str();
        eo.max_sentences = o.max_sentences;
        eo.bleu_beam = o.beam;
        eo.threads = o.threads;
        mos_eval_result ev = MOS_EVAL_RESULT_INIT;
        check(mos_evaluate(&ev, net.get(), archs[i].second, o.data.c_str(), &eo));
        r.loss = ev.loss;
        r.bleu = ev.bleu;
        r.model = o.work + "/" + archs[i].first.substr(0, archs[i].first.find('@')) + (i < 2 ? std::to_string(i) : "") +
                  ".model.safetensors";
        check(mos_model_save(model.get(), r.model.c_str()));
        progress.update(i + 1, archs.size(), "subnets; " + r.name + " -> " + r.model);
        if (i == archs.size() - 1) {
            // A few translations of the largest subnet.
            mos_translate_options to = MOS_TRANSLATE_OPTIONS_INIT;
            to.beam = o.beam;
            to.threads = o.threads;
            mos_texts *out = nullptr;
            check(mos_model_translate(&out, model.get(), samples, 3, &to));
            const TextsPtr texts(out);
            for (size_t k = 0; k < 3; k++) sample_out.push_back(mos_texts_get(texts.get(), k));
        }
        rows.push_back(r);
    }
    progress.finish();
    const double total_s = progress.seconds();
    if (o.json) {
        Json j;
        j["corpus"] = o.data;
        j["work"] = o.work;
        j["supernet"] = ckpt;
        j["predictor"] = {{"path", predictor},
                          {"train_samples", pr.train_samples},
                          {"heldout_samples", pr.heldout_samples},
                          {"mape", number_or_null(pr.mape, pr.heldout_samples > 0)},
                          {"rmse_ms", number_or_null(pr.rmse_ms, pr.heldout_samples > 0)},
                          {"kendall_tau", number_or_null(pr.kendall_tau, pr.heldout_samples > 0)}};
        j["test_sentences"] = o.max_sentences;
        j["beam"] = o.beam;
        j["subnets"] = Json::array();
        for (const Row &r : rows)
            j["subnets"].push_back({{"name", r.name},
                                    {"budget_ms", number_or_null(r.budget, r.budget > 0)},
                                    {"latency_ms", r.latency},
                                    {"params", r.params},
                                    {"test_loss", r.loss},
                                    {"bleu", number_or_null(r.bleu, r.bleu >= 0)},
                                    {"route_ms", r.route_ms},
                                    {"model", r.model}});
        j["samples"] = Json::array();
        for (size_t k = 0; k < sample_out.size(); k++)
            j["samples"].push_back({{"source", samples[k]}, {"translation", sample_out[k]}});
        print_json(j);
        return;
    }
    std::printf("\nSample translations (largest subnet, beam %u):\n", o.beam);
    for (size_t k = 0; k < sample_out.size(); k++) std::printf("  %s\n  -> %s\n", samples[k], sample_out[k].c_str());
    std::printf("\n%-18s %10s %12s %10s %12s %8s\n", "subnet", "budget ms", "latency ms", "params", "test loss",
                "BLEU");
    for (const Row &r : rows) {
        char budget[32] = "-";
        if (r.budget > 0) std::snprintf(budget, sizeof budget, "%.2f", r.budget);
        std::printf("%-18s %10s %12.2f %10llu %12.4f %8.2f\n", r.name.c_str(), budget, r.latency, r.params, r.loss,
                    r.bleu);
    }
    std::printf("\nlatency: HAT protocol (batch 1, %u source tokens, %u steps, beam %u), measured here; test loss and "
                "BLEU on the first %u test sentences (beam %u). Files in %s. Total time %.0f s.\n",
                lo.src_len, lo.steps, lo.beam, o.max_sentences, o.beam, o.work.c_str(), total_s);
}

}  // namespace

void register_quickstart(CLI::App &app) {
    auto o = std::make_shared<QuickOpts>();
    CLI::App *qs = app.add_subcommand(
        "quickstart", "run the main job (train, search, route, translate) on the built-in corpus");
    qs->add_option("--data", o->data, "corpus directory (default: the built-in corpus, wherever it is installed)");
    qs->add_option("--src", o->src, "source language")->capture_default_str();
    qs->add_option("--tgt", o->tgt, "target language")->capture_default_str();
    qs->add_option("--space", o->space, "space preset or JSON file")->capture_default_str();
    qs->add_option("--work", o->work, "directory for the checkpoint, predictor, search result and models (created)")
        ->capture_default_str();
    add_real(qs, "--train-seconds", o->train_seconds, "training time budget", Bounds{0.0, 1e9, true, false});
    add_int(qs, "--vocab", o->vocab, "tokenizer vocabulary (quickstart recipe)", 16, 1000000);
    add_int(qs, "--max-sentences", o->max_sentences,
            "use at most N pairs of the validation and test splits (validation, search, BLEU)", 1u, UINT32_MAX);
    add_hidden_alias(qs, "--test-sentences", o->max_sentences, unsigned_check(1, UINT32_MAX));
    // The predictor needs 5 samples (mos_predictor_train): say so before training.
    add_int(qs, "--latency-archs", o->latency_archs, "archs timed for the latency predictor", 5, 1000000);
    add_int(qs, "--beam", o->beam, "beam size of the test translations", 1, 64);
    add_int(qs, "--population", o->population, "search population", 5, 100000);
    add_int(qs, "--iterations", o->iterations, "search iterations", 1, 10000);
    add_threads(qs, o->threads);
    add_json_flag(qs, o->json);
    add_progress_option(qs, o->progress_every);
    qs->callback([o] { run_quickstart(*o); });
}

}  // namespace mos_cli
