// tools/mos-cli/cmd_quickstart.cpp: `mos-cli quickstart`: the product in a few
// minutes on the built-in supernet (docs/builtin.md), end to end through the
// public C API:
//   1. shows that training works: a fresh supernet trained for about a minute
//      on the built-in corpus, its training and validation loss falling (the
//      built-in itself was trained by the same trainer: scripts/train-builtin.sh);
//   2. times sampled subnets on this machine and fits the latency predictor;
//   3. searches the built-in supernet for three latency budgets (bounded:
//      a small population and few iterations, a validation subset);
//   4. scores the winners and the largest and smallest subnets (routed and
//      timed once, in stages 2 and 3), translates test verses with each and
//      prints a table of budget, measured latency, params, test loss and BLEU.
// The corpus and the built-in supernet are found wherever libmos was installed
// or built, so it runs outside the source tree too.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cli.hpp"
#include "json_out.hpp"
#include "options.hpp"
#include "progress.hpp"

namespace mos_cli {

namespace {

// The quickstart recipe: bounded so that the whole job takes about five
// minutes on two cores (docs/cli.md).
struct QuickOpts {
    std::string data, src = "en", tgt = "es", work = "quickstart-run", supernet = "builtin";
    std::string budgets;                // explicit latency budgets (ms), else three chosen here
    double train_seconds = 60, progress_every = kDefaultLogEvery;
    uint32_t vocab = 2000;              // the demonstration's tokenizer: small, so it trains in seconds
    uint32_t max_sentences = 100;       // validation (search fitness) and test (loss, BLEU) subsets
    uint32_t latency_archs = 40, beam, population = 16, iterations = 4;
    int32_t threads = 0;
    bool json = false;
    QuickOpts() {
        const mos_translate_options t = MOS_TRANSLATE_OPTIONS_INIT;
        beam = t.beam;
    }
};

struct Row {
    explicit Row(std::string n) : name(std::move(n)) {}
    std::string name, model;
    double budget = 0, latency = 0, loss = 0, bleu = 0, route_ms = 0;
    unsigned long long params = 0;
    std::vector<std::string> samples;
};

// The first verses of the test split: never seen in training.
const char *const kSamples[] = {
    "A river went out of Eden to water the garden; and from there it was parted, and became the source of four "
    "rivers.",
    "The waters rose fifteen cubits higher, and the mountains were covered.",
    "This is the book of the generations of Adam. In the day that God created man, he made him in God\xe2\x80\x99s "
    "likeness.",
};
constexpr size_t kNumSamples = sizeof kSamples / sizeof kSamples[0];

// Every split the job reads, before any work starts.
void check_corpus(const QuickOpts &o) {
    for (const char *split : {"train", "valid", "test"})
        for (const std::string &lang : {o.src, o.tgt}) {
            const std::string base = o.data + "/" + split + "." + lang;
            if (access(base.c_str(), R_OK) != 0 && access((base + ".gz").c_str(), R_OK) != 0)
                throw CliError("corpus '" + o.data + "': cannot read " + base + " or " + base + ".gz");
        }
}

// What the demonstration run showed: the first and last training loss and
// validation loss (largest subnet), recorded on the way to the usual printer.
struct DemoWatch {
    TrainWatch watch;
    double first_loss = NAN, last_loss = NAN, first_valid = NAN, last_valid = NAN;
    int64_t steps = 0, first_valid_step = 0;
};

int on_demo_progress(const mos_train_progress *p, void *user) {
    auto *d = static_cast<DemoWatch *>(user);
    if (p->event == MOS_TRAIN_EVENT_STEP) {
        if (std::isnan(d->first_loss)) d->first_loss = p->loss;
        d->last_loss = p->loss;
        d->steps = p->step;
    } else if (p->event == MOS_TRAIN_EVENT_VALID) {
        if (std::isnan(d->first_valid)) {
            d->first_valid = p->valid_loss_largest;
            d->first_valid_step = p->step;
        }
        d->last_valid = p->valid_loss_largest;
    }
    return on_train_progress(p, &d->watch);
}

std::string fmt(const char *format, double a, double b = 0, double c = 0, double d = 0) {
    char line[512];
    std::snprintf(line, sizeof line, format, a, b, c, d);
    return line;
}

// Stage 1: a fresh supernet of the same space, trained for a minute.
DemoWatch demo_training(const QuickOpts &o, const mos_space *space, Progress &progress) {
    DemoWatch d;
    d.watch.progress = &progress;
    const std::string ckpt = o.work + "/demo.safetensors";
    mos_supernet_options n = MOS_SUPERNET_OPTIONS_INIT;
    n.dropout = 0.1f;  // little regularisation for a few dozen updates
    mos_train_options t = MOS_TRAIN_OPTIONS_INIT;
    t.data_dir = o.data.c_str();
    t.src_lang = o.src.c_str();
    t.tgt_lang = o.tgt.c_str();
    t.out_path = ckpt.c_str();
    t.vocab_size = o.vocab;
    t.max_len = 96;
    t.max_seconds = o.train_seconds;
    t.lr = 1e-3f;
    t.warmup = 30;
    t.valid_every = 10;
    t.valid_sentences = o.max_sentences;
    t.threads = o.threads;
    mos_supernet *raw = nullptr;
    check(mos_train(&raw, space, &n, &t, on_demo_progress, &d));
    mos_supernet_destroy(raw);
    return d;
}

// The manifest of a built-in supernet, or an empty object for a file.
Json builtin_manifest(const std::string &supernet) {
    std::string name;
    if (!builtin_name(supernet, &name)) return Json::object();
    const Json j = Json::parse(builtin_manifest_text(name), nullptr, false);
    return j.is_object() ? j : Json::object();
}

std::vector<double> parse_budgets(const std::string &text) {
    std::vector<double> out;
    size_t pos = 0;
    while (pos <= text.size()) {
        const size_t comma = std::min(text.find(',', pos), text.size());
        const std::string item = text.substr(pos, comma - pos);
        char *end = nullptr;
        const double v = std::strtod(item.c_str(), &end);
        if (item.empty() || *end != '\0' || !std::isfinite(v) || v <= 0)
            throw UsageError("--budgets: '" + item + "' is not a positive number of milliseconds");
        out.push_back(v);
        pos = comma + 1;
    }
    return out;
}

void run_quickstart(QuickOpts o) {
    Progress progress("quickstart", o.progress_every);
    std::vector<double> budgets;
    if (!o.budgets.empty()) budgets = parse_budgets(o.budgets);
    if (o.data.empty()) o.data = find_builtin_corpus();
    check_corpus(o);
    prepare_output_dir("--work", o.work);
    const SupernetPtr net = open_supernet(o.supernet);
    const Json manifest = builtin_manifest(o.supernet);
    mos_space *sp = nullptr;
    check(mos_supernet_space(&sp, net.get()));
    const SpacePtr space(sp);
    mos_supernet_options got = MOS_SUPERNET_OPTIONS_INIT;
    check(mos_supernet_get_options(&got, net.get()));
    if (!o.json) {
        std::printf("libmos %s quickstart: corpus %s (%s -> %s), work directory %s\n", mos_version_string(),
                    o.data.c_str(), o.src.c_str(), o.tgt.c_str(), o.work.c_str());
        std::printf("supernet: %s, %llu weights, %s routing, %u experts, vocabulary %u", o.supernet.c_str(),
                    static_cast<unsigned long long>(mos_supernet_num_params(net.get())), mos_routing_name(got.routing),
                    got.experts, got.vocab_size);
        if (manifest.contains("updates")) std::printf(", trained %s updates", manifest["updates"].dump().c_str());
        std::printf("\n");
    }
    std::fflush(stdout);
    std::vector<std::pair<std::string, double>> stage_seconds;

    // 1. Training works.
    DemoWatch demo;
    if (o.train_seconds > 0) {
        progress.restart("1/4 train");
        progress.note(fmt("training a fresh supernet of the same space for %.0f s to show the trainer at work "
                          "(the built-in took hours: scripts/train-builtin.sh)",
                          o.train_seconds));
        demo = demo_training(o, space.get(), progress);
        progress.note(fmt("in %.0f updates the training loss went from %.2f to %.2f", static_cast<double>(demo.steps),
                          demo.first_loss, demo.last_loss) +
                      fmt(", the validation loss of the largest subnet from %.2f (update %.0f) to %.2f", demo.first_valid,
                          static_cast<double>(demo.first_valid_step), demo.last_valid));
        stage_seconds.emplace_back("train", progress.seconds());
    }

    // 2. Latency predictor for this machine.
    const std::string lat_data = o.work + "/latency.jsonl", predictor = o.work + "/latency.safetensors";
    progress.restart("2/4 latency");
    progress.note("timing " + std::to_string(o.latency_archs) +
                  " sampled subnets on this machine, fitting the latency predictor");
    mos_latency_options lo = MOS_LATENCY_OPTIONS_INIT;
    lo.runs = 8;
    lo.warmup = 2;
    lo.threads = o.threads;
    // Two passes: the joint drift fit at a fraction of a full collection's
    // time; a first run should not spend minutes here (docs/search.md).
    lo.passes = 2;
    check(mos_latency_collect(space.get(), got.vocab_size, o.latency_archs, 7, &lo, lat_data.c_str(),
                              on_count_progress, &progress));
    const mos_predictor_train_options po = MOS_PREDICTOR_TRAIN_OPTIONS_INIT;
    mos_predictor_report pr = MOS_PREDICTOR_REPORT_INIT;
    check(mos_predictor_train(&pr, lat_data.c_str(), predictor.c_str(), &po));
    if (pr.heldout_samples > 0)
        progress.note(fmt("predictor: held-out MAPE %.2f%%, RMSE %.3f ms, Kendall tau %.3f", pr.mape, pr.rmse_ms,
                          pr.kendall_tau) +
                      " (" + std::to_string(pr.train_samples) + " train / " + std::to_string(pr.heldout_samples) +
                      " held out)");
    else
        progress.note("predictor: " + std::to_string(pr.train_samples) +
                      " train samples, none held out, so its error is unknown");
    stage_seconds.emplace_back("latency", progress.seconds());

    // Budgets between the smallest and the largest subnet's measured latency.
    mos_arch *la = nullptr, *sa = nullptr;
    check(mos_arch_create_largest(&la, space.get()));
    const ArchPtr largest(la);
    check(mos_arch_create_smallest(&sa, space.get()));
    const ArchPtr smallest(sa);
    auto measure = [&](const mos_arch *arch, double *route_ms, ModelPtr *keep) {
        mos_model *m = nullptr;
        const double t0 = progress.seconds();
        mos_route_options ro = MOS_ROUTE_OPTIONS_INIT;
        ro.threads = o.threads;
        check(mos_route(&m, net.get(), arch, &ro));
        if (route_ms) *route_ms = (progress.seconds() - t0) * 1e3;
        ModelPtr model(m);
        mos_latency_result lr = MOS_LATENCY_RESULT_INIT;
        check(mos_latency_measure(&lr, model.get(), &lo));
        if (keep) *keep = std::move(model);
        return lr.mean_ms;
    };
    ModelPtr small_model, large_model;
    double small_route = 0, large_route = 0;
    const double lat_small = measure(smallest.get(), &small_route, &small_model);
    const double lat_large = measure(largest.get(), &large_route, &large_model);
    if (budgets.empty()) {
        const double hi = std::max(lat_large, lat_small * 1.2);
        for (double f : {0.25, 0.5, 0.75}) budgets.push_back(lat_small + f * (hi - lat_small));
    }
    // The predictor, calibrated on the two extremes measured just now: a line
    // from measured to predicted milliseconds corrects its scale and offset on
    // this run (identity when it cannot tell the extremes apart).
    mos_predictor *rp = nullptr;
    check(mos_predictor_load(&rp, nullptr, predictor.c_str()));
    const PredictorPtr pred(rp);
    double pred_small = 0, pred_large = 0;
    check(mos_predictor_predict(&pred_small, pred.get(), smallest.get()));
    check(mos_predictor_predict(&pred_large, pred.get(), largest.get()));
    const bool calibrated = pred_large > pred_small * 1.05 && lat_large > lat_small * 1.05;
    auto to_predicted = [&](double ms) {
        const double p = calibrated ? pred_small + (ms - lat_small) * (pred_large - pred_small) / (lat_large - lat_small)
                                    : ms;
        return std::max(p, pred_small * 1.001);  // the smallest subnet always fits
    };

    // 3. Search: every budget at once under a 5% margin, then the winners are
    // measured; a budget whose winner is over is searched again with its
    // target lowered by the excess (at most twice).
    progress.restart("3/4 search");
    std::string line = "searching for budgets";
    for (double b : budgets) line += fmt(" %.1f", b);
    line += fmt(" ms (measured: smallest %.1f ms, largest %.1f ms; predicted %.1f and %.1f ms); population ",
                lat_small, lat_large, pred_small, pred_large) +
            std::to_string(o.population) + " archs, " + std::to_string(o.iterations) + " iterations, fitness on " +
            std::to_string(o.max_sentences) + " validation verses";
    progress.note(line);
    mos_search_options so = MOS_SEARCH_OPTIONS_INIT;
    so.src_lang = o.src.c_str();
    so.tgt_lang = o.tgt.c_str();
    so.valid_sentences = o.max_sentences;
    so.predictor_path = predictor.c_str();
    so.population = o.population;
    so.parents = std::max(1u, o.population / 4);
    so.mutations = o.population * 3 / 8;
    so.crossovers = o.population - so.parents - so.mutations;
    so.iterations = o.iterations;
    so.threads = o.threads;
    auto search = [&](const std::vector<double> &targets) {
        so.budgets_ms = targets.data();
        so.n_budgets = targets.size();
        mos_search_result *rr = nullptr;
        check(mos_search(&rr, net.get(), o.data.c_str(), &so, on_count_progress, &progress));
        return SearchResultPtr(rr);
    };
    std::vector<double> factor(budgets.size(), 0.95), targets;
    for (size_t i = 0; i < budgets.size(); i++) targets.push_back(to_predicted(budgets[i] * factor[i]));
    const SearchResultPtr first = search(targets);
    write_text_file(o.work + "/search.json", api_string(mos_search_result_to_json, first.get()));
    // Each winner is routed and timed once; stage 4 reports these figures,
    // the ones the over-budget decision was made on.
    std::vector<ArchPtr> winners;
    std::vector<double> winner_ms, winner_route_ms(budgets.size(), 0);
    std::vector<ModelPtr> winner_models(budgets.size());
    for (size_t i = 0; i < budgets.size(); i++) {
        mos_arch *a = nullptr;
        check(mos_search_result_arch(&a, first.get(), i));
        winners.emplace_back(a);
        winner_ms.push_back(measure(a, &winner_route_ms[i], &winner_models[i]));
    }
    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; i < budgets.size(); i++) {
            if (winner_ms[i] <= budgets[i]) continue;
            progress.note(fmt("the winner for %.1f ms measured %.1f ms: searching that budget again, %.0f%% lower",
                              budgets[i], winner_ms[i], 100.0 * (1.0 - budgets[i] / winner_ms[i])));
            factor[i] *= budgets[i] / winner_ms[i] * 0.97;
            const SearchResultPtr again = search({to_predicted(budgets[i] * factor[i])});
            mos_arch *a = nullptr;
            check(mos_search_result_arch(&a, again.get(), 0));
            winners[i].reset(a);
            winner_ms[i] = measure(a, &winner_route_ms[i], &winner_models[i]);
        }
    }
    stage_seconds.emplace_back("search", progress.seconds());

    // 4. Score and translate with the models routed and timed above.
    progress.restart("4/4 test");
    progress.note("scoring and translating " + std::to_string(o.max_sentences) +
                  " test verses with each subnet (beam " + std::to_string(o.beam) + ")");
    std::vector<Row> rows;
    std::vector<const mos_arch *> archs;
    std::vector<ModelPtr> models;  // routed and timed in stages 2 and 3
    for (size_t i = 0; i < winners.size(); i++) {
        Row r(fmt("searched@%.1fms", budgets[i]));
        r.budget = budgets[i];
        r.latency = winner_ms[i];
        r.route_ms = winner_route_ms[i];
        rows.push_back(r);
        archs.push_back(winners[i].get());
        models.push_back(std::move(winner_models[i]));
    }
    Row small_row("smallest"), large_row("largest");
    small_row.latency = lat_small;
    small_row.route_ms = small_route;
    large_row.latency = lat_large;
    large_row.route_ms = large_route;
    rows.insert(rows.begin(), small_row);
    archs.insert(archs.begin(), smallest.get());
    models.insert(models.begin(), std::move(small_model));
    rows.push_back(large_row);
    archs.push_back(largest.get());
    models.push_back(std::move(large_model));
    mos_translate_options to = MOS_TRANSLATE_OPTIONS_INIT;
    to.beam = o.beam;
    to.threads = o.threads;
    mos_eval_options eo = MOS_EVAL_OPTIONS_INIT;
    eo.split = "test";
    eo.src_lang = o.src.c_str();
    eo.tgt_lang = o.tgt.c_str();
    eo.max_sentences = o.max_sentences;
    eo.bleu_beam = o.beam;
    eo.threads = o.threads;
    for (size_t i = 0; i < rows.size(); i++) {
        Row &r = rows[i];
        const ModelPtr model = std::move(models[i]);
        r.params = mos_model_num_params(model.get());
        mos_eval_result ev = MOS_EVAL_RESULT_INIT;
        check(mos_evaluate(&ev, net.get(), archs[i], o.data.c_str(), &eo));
        r.loss = ev.loss;
        r.bleu = ev.bleu;
        std::string file = r.name;
        std::replace(file.begin(), file.end(), '@', '-');
        r.model = o.work + "/" + file + ".model.safetensors";
        check(mos_model_save(model.get(), r.model.c_str()));
        mos_texts *out = nullptr;
        check(mos_model_translate(&out, model.get(), kSamples, kNumSamples, &to));
        const TextsPtr texts(out);
        for (size_t k = 0; k < kNumSamples; k++) r.samples.push_back(mos_texts_get(texts.get(), k));
        progress.update(i + 1, rows.size(), "subnets; " + r.name + fmt(": BLEU %.2f", r.bleu));
    }
    stage_seconds.emplace_back("test", progress.seconds());
    progress.finish();
    double total_s = 0;
    for (const auto &s : stage_seconds) total_s += s.second;

    if (o.json) {
        Json j;
        j["corpus"] = o.data;
        j["work"] = o.work;
        j["supernet"] = o.supernet;
        if (!manifest.empty()) j["builtin"] = manifest;
        if (o.train_seconds > 0)
            j["demo_training"] = {{"seconds", o.train_seconds},
                                  {"updates", demo.steps},
                                  {"first_loss", number_or_null(demo.first_loss, !std::isnan(demo.first_loss))},
                                  {"last_loss", number_or_null(demo.last_loss, !std::isnan(demo.last_loss))},
                                  {"first_valid_loss", number_or_null(demo.first_valid, !std::isnan(demo.first_valid))},
                                  {"last_valid_loss", number_or_null(demo.last_valid, !std::isnan(demo.last_valid))}};
        j["predictor"] = {{"path", predictor},
                          {"train_samples", pr.train_samples},
                          {"heldout_samples", pr.heldout_samples},
                          {"mape", number_or_null(pr.mape, pr.heldout_samples > 0)},
                          {"rmse_ms", number_or_null(pr.rmse_ms, pr.heldout_samples > 0)},
                          {"kendall_tau", number_or_null(pr.kendall_tau, pr.heldout_samples > 0)}};
        j["test_sentences"] = o.max_sentences;
        j["beam"] = o.beam;
        j["subnets"] = Json::array();
        for (const Row &r : rows) {
            Json s = {{"name", r.name},
                      {"budget_ms", number_or_null(r.budget, r.budget > 0)},
                      {"latency_ms", r.latency},
                      {"within_budget", r.budget > 0 ? Json(r.latency <= r.budget) : Json(nullptr)},
                      {"params", r.params},
                      {"test_loss", r.loss},
                      {"bleu", number_or_null(r.bleu, r.bleu >= 0)},
                      {"route_ms", r.route_ms},
                      {"model", r.model},
                      {"translations", Json::array()}};
            for (size_t k = 0; k < kNumSamples; k++)
                s["translations"].push_back({{"source", kSamples[k]}, {"translation", r.samples[k]}});
            j["subnets"].push_back(s);
        }
        j["stage_seconds"] = Json::object();
        for (const auto &s : stage_seconds) j["stage_seconds"][s.first] = s.second;
        j["total_seconds"] = total_s;
        print_json(j);
        return;
    }
    std::printf("\nTest verses translated by each subnet (beam %u):\n", o.beam);
    for (size_t k = 0; k < kNumSamples; k++) {
        std::printf("\n  %s\n", kSamples[k]);
        for (const Row &r : rows) std::printf("  %-18s %s\n", r.name.c_str(), r.samples[k].c_str());
    }
    std::printf("\n%-18s %10s %12s %10s %10s %8s\n", "subnet", "budget ms", "latency ms", "params", "test loss",
                "BLEU");
    for (const Row &r : rows) {
        char budget[32] = "-";
        if (r.budget > 0) std::snprintf(budget, sizeof budget, "%.1f", r.budget);
        std::printf("%-18s %10s %12.1f %10llu %10.3f %8.2f%s\n", r.name.c_str(), budget, r.latency, r.params, r.loss,
                    r.bleu, r.budget > 0 && r.latency > r.budget ? "  over budget" : "");
    }
    std::printf("\nlatency: HAT protocol (batch 1, %u source tokens, %u decoder steps, beam %u), measured on this "
                "machine after routing; test loss and BLEU on the first %u test verses (beam %u). Files in %s.\n",
                lo.src_len, lo.steps, lo.beam, o.max_sentences, o.beam, o.work.c_str());
    std::printf("time:");
    for (const auto &s : stage_seconds) std::printf(" %s %.0f s,", s.first.c_str(), s.second);
    std::printf(" total %.0f s\n", total_s);
}

}  // namespace

void register_quickstart(CLI::App &app) {
    auto o = std::make_shared<QuickOpts>();
    CLI::App *qs = app.add_subcommand(
        "quickstart", "the product in minutes: train, time, search, route and translate with the built-in supernet");
    qs->add_option("--supernet", o->supernet, "supernet to search and route: builtin, builtin:NAME or a file")
        ->capture_default_str();
    qs->add_option("--data", o->data, "corpus directory (default: the built-in corpus, wherever it is installed)");
    qs->add_option("--src", o->src, "source language")->capture_default_str();
    qs->add_option("--tgt", o->tgt, "target language")->capture_default_str();
    qs->add_option("--work", o->work, "directory for the predictor, search result and models (created)")
        ->capture_default_str();
    add_real(qs, "--train-seconds", o->train_seconds, "length of the training demonstration (0 = skip it)",
             Bounds{0.0, 1e9});
    add_int(qs, "--vocab", o->vocab, "tokenizer size of the training demonstration", 16, 1000000);
    // The predictor needs 5 samples (mos_predictor_train): say so before anything runs.
    add_int(qs, "--latency-archs", o->latency_archs, "subnets timed for the latency predictor", 5, 1000000);
    qs->add_option("--budgets", o->budgets,
                   "latency budgets in ms, comma-separated (default: three between the smallest and largest "
                   "subnet's measured latency)");
    add_int(qs, "--max-sentences", o->max_sentences,
            "use at most N verses of the validation split (search fitness) and of the test split (loss, BLEU)", 1u,
            UINT32_MAX);
    add_hidden_alias(qs, "--test-sentences", o->max_sentences, unsigned_check(1, UINT32_MAX));
    add_int(qs, "--beam", o->beam, "beam size of the test translations", 1, 64);
    add_int(qs, "--population", o->population, "search population", 5, 100000);
    add_int(qs, "--iterations", o->iterations, "search iterations", 1, 10000);
    add_threads(qs, o->threads);
    add_json_flag(qs, o->json);
    add_progress_option(qs, o->progress_every);
    qs->callback([o] { run_quickstart(*o); });
}

}  // namespace mos_cli
