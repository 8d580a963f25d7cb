// lib/capi/search.cpp: the C API of latency measurement, the latency predictor
// and mos_search (mos/search.h).
#include <cmath>
#include <cstddef>
#include <cstring>

#include "capi/convert.hpp"
#include "capi/model_handles.hpp"
#include "mos/search.h"
#include "search/latency_data.hpp"
#include "search/search.hpp"

using mos::capi::guard;
using mos::capi::require;

struct mos_predictor {
    mos::LatencyPredictor p;
    std::shared_ptr<const mos::Space> space;
};

struct mos_search_result {
    mos::SearchReport report;
    std::shared_ptr<const mos::Space> space;
};

namespace {

// The checked options (NULL = defaults); the caller runs under
// ThreadScope(threads).
// A version 1 struct (which ends before `passes`) collects in one pass
// without a time limit, as version 1 did; a version 2 struct (which ends
// before `draft_tokens`) times plain steps.
mos_latency_options latency_public(const mos_latency_options *o) {
    mos_latency_options d = mos::capi::versioned(
        o, mos_latency_options MOS_LATENCY_OPTIONS_INIT,
        {offsetof(mos_latency_options, passes), offsetof(mos_latency_options, draft_tokens), sizeof(mos_latency_options)},
        "latency options");
    if (o != nullptr && o->version < 2u) {
        d.passes = 1;
        d.max_seconds = 0;
    }
    mos::capi::check_threads(d.threads);
    mos::check(d.passes >= 1 && d.passes <= 16, MOS_INVALID_ARGUMENT, "latency options: passes ", d.passes,
               " outside 1..16");
    return d;
}

mos::LatencyOptions latency_options(const mos_latency_options &d) {
    mos::check(d.src_len <= 1024 && d.steps <= 1024 && d.beam <= 64 && d.warmup <= 1000 && d.runs <= 100000,
               MOS_INVALID_ARGUMENT, "latency option out of range");
    mos::LatencyOptions l;
    l.src_len = static_cast<int>(d.src_len);
    l.steps = static_cast<int>(d.steps);
    l.beam = static_cast<int>(d.beam);
    l.warmup = static_cast<int>(d.warmup);
    l.runs = static_cast<int>(d.runs);
    mos::check(d.draft_tokens <= static_cast<uint32_t>(mos::kMaxDraftTokens), MOS_INVALID_ARGUMENT,
               "latency options: draft_tokens ", d.draft_tokens, " outside 0..", mos::kMaxDraftTokens);
    l.draft_tokens = static_cast<int>(d.draft_tokens);
    mos::check_latency_options(l);
    return l;
}

// Fills a report begun with begin_result.
void report_out(mos_predictor_report *o, const mos::PredictorReport &r) {
    o->mape = r.mape;
    o->rmse_ms = r.rmse_ms;
    o->kendall_tau = r.kendall_tau;
    o->train_samples = static_cast<uint32_t>(r.train_samples);
    o->heldout_samples = static_cast<uint32_t>(r.heldout_samples);
}

// A core progress function that forwards to the caller's callback (none if
// it is NULL); a non-zero return asks to stop.
mos::ProgressFn progress_fn(mos_progress_fn progress, void *user) {
    if (!progress) return {};
    return [progress, user](const mos::Progress &p) { return progress(p.done, p.total, p.what.c_str(), user) == 0; };
}

// The caller's options as version 3 (NULL: the defaults): a version 1 or 2
// struct is read only up to its end (version 1 ends before mpi_comm, version
// 2 before screen_sentences) and searches as those versions did: mpi_comm
// NULL (version 1), no racing, f32 fitness, no patience, no seeding.
mos_search_options search_options(const mos_search_options *options) {
    mos_search_options o = mos::capi::versioned(options, mos_search_options MOS_SEARCH_OPTIONS_INIT,
                                                {offsetof(mos_search_options, mpi_comm),
                                                 offsetof(mos_search_options, screen_sentences), sizeof(mos_search_options)},
                                                "options");
    if (options != nullptr && options->version < 3u) {
        o.screen_sentences = 0;
        o.fitness_precision = MOS_FITNESS_F32;
        o.patience = 0;
        o.seed_archs = 0;
        o.parent_sigmas = -1.0;
    }
    return o;
}

// The core configuration of mos_search's options (checked, converted).
mos::SearchConfig search_config(const mos_search_options &o, const char *data_dir) {
    require(o.src_lang && o.tgt_lang, "src_lang and tgt_lang are required");
    mos::capi::check_threads(o.threads);
    require(o.budgets_ms != nullptr || o.n_budgets == 0, "budgets_ms is NULL but n_budgets is not 0");
    mos::check(o.n_budgets <= 64, MOS_INVALID_ARGUMENT, "n_budgets ", o.n_budgets, " exceeds 64");
    mos::check(o.population <= 100000 && o.parents <= 100000 && o.mutations <= 100000 && o.crossovers <= 100000 &&
                   o.iterations <= 10000,
               MOS_INVALID_ARGUMENT, "evolution size out of range");
    mos::SearchConfig c;
    c.data_dir = data_dir;
    c.split = o.split ? o.split : "valid";
    c.src_lang = o.src_lang;
    c.tgt_lang = o.tgt_lang;
    c.valid_sentences = o.valid_sentences;
    c.budgets_ms.assign(o.budgets_ms, o.budgets_ms + o.n_budgets);
    c.max_params = o.max_params;
    c.max_flops = o.max_flops;
    if (o.predictor_path) c.predictor_path = o.predictor_path;
    c.measure = o.measure;
    c.evolution.population = static_cast<int>(o.population);
    c.evolution.parents = static_cast<int>(o.parents);
    c.evolution.mutations = static_cast<int>(o.mutations);
    c.evolution.crossovers = static_cast<int>(o.crossovers);
    c.evolution.iterations = static_cast<int>(o.iterations);
    c.evolution.mutation_prob = o.mutation_prob;
    c.evolution.seed = o.seed;
    mos::check(o.promote_fraction > 0.0 && o.promote_fraction <= 1.0, MOS_INVALID_ARGUMENT, "promote_fraction ",
               o.promote_fraction, " outside (0, 1]");
    c.evolution.promote = o.promote_fraction;
    c.screen_sentences = o.screen_sentences;
    switch (o.fitness_precision) {
    case MOS_FITNESS_F32: c.precision = mos::SearchConfig::Precision::F32; break;
    case MOS_FITNESS_BF16: c.precision = mos::SearchConfig::Precision::BF16; break;
    case MOS_FITNESS_AUTO: c.precision = mos::SearchConfig::Precision::AUTO; break;
    default:
        mos::fail(MOS_INVALID_ARGUMENT, "fitness_precision ", o.fitness_precision, " is not a mos_fitness_precision");
    }
    mos::check(o.patience <= 10000, MOS_INVALID_ARGUMENT, "patience ", o.patience, " exceeds 10000");
    mos::check(std::isfinite(o.min_delta) && o.min_delta >= 0.0, MOS_INVALID_ARGUMENT, "min_delta ", o.min_delta,
               " is not a finite number >= 0");
    mos::check(o.seed_archs <= 100000, MOS_INVALID_ARGUMENT, "seed_archs ", o.seed_archs, " exceeds 100000");
    mos::check(std::isfinite(o.parent_sigmas) && o.parent_sigmas <= 100.0, MOS_INVALID_ARGUMENT, "parent_sigmas ",
               o.parent_sigmas, " is not a finite number <= 100");
    c.evolution.patience = static_cast<int>(o.patience);
    c.evolution.min_delta = o.min_delta;
    c.evolution.parent_sigmas = o.parent_sigmas;
    c.seed_archs = static_cast<int>(o.seed_archs);
    c.mpi_comm = o.mpi_comm;
    return c;
}

}  // namespace

extern "C" {

MOS_API mos_status mos_latency_options_init(mos_latency_options *options) {
    return guard("mos_latency_options_init", [&] {
        static const mos_latency_options k = MOS_LATENCY_OPTIONS_INIT;
        mos::capi::init_from(options, k, "options");
    });
}

MOS_API mos_status mos_latency_result_init(mos_latency_result *result) {
    return guard("mos_latency_result_init", [&] {
        static const mos_latency_result k = MOS_LATENCY_RESULT_INIT;
        mos::capi::init_from(result, k, "result");
    });
}

MOS_API mos_status mos_latency_measure(mos_latency_result *out, const mos_model *model,
                                       const mos_latency_options *options) {
    return guard("mos_latency_measure", [&] {
        mos::capi::begin_result(out, MOS_LATENCY_RESULT_VERSION, "out");
        MOS_REQUIRE_NONNULL(model);
        const mos_latency_options o = latency_public(options);
        const mos::LatencyOptions l = latency_options(o);
        const mos::ThreadScope threads(o.threads);
        const mos::LatencyResult r = mos::measure_latency(*model->bundle.model, l);
        out->mean_ms = r.mean_ms;
        out->p10_ms = r.p10_ms;
        out->p50_ms = r.p50_ms;
        out->p90_ms = r.p90_ms;
        out->stdev_ms = r.stdev_ms;
        out->runs = static_cast<uint32_t>(r.runs);
    });
}

MOS_API mos_status mos_latency_collect(const mos_space *space, uint32_t vocab, uint32_t n, uint64_t seed,
                                       const mos_latency_options *options, const char *out_path,
                                       mos_progress_fn progress, void *user) {
    return guard("mos_latency_collect", [&] {
        MOS_REQUIRE_NONNULL(space);
        MOS_REQUIRE_NONNULL(out_path);
        const mos_latency_options o = latency_public(options);
        const mos::LatencyOptions l = latency_options(o);
        const mos::ThreadScope threads(o.threads);
        mos::CollectOptions co;
        co.passes = static_cast<int>(o.passes);
        co.max_seconds = o.max_seconds;
        mos::collect_latency_data(out_path, *space->space, vocab, n, seed, l, progress_fn(progress, user), co);
    });
}

MOS_API mos_status mos_predictor_train_options_init(mos_predictor_train_options *options) {
    return guard("mos_predictor_train_options_init", [&] {
        static const mos_predictor_train_options k = MOS_PREDICTOR_TRAIN_OPTIONS_INIT;
        mos::capi::init_from(options, k, "options");
    });
}

MOS_API mos_status mos_predictor_report_init(mos_predictor_report *report) {
    return guard("mos_predictor_report_init", [&] {
        static const mos_predictor_report k = MOS_PREDICTOR_REPORT_INIT;
        mos::capi::init_from(report, k, "report");
    });
}

MOS_API mos_status mos_predictor_train(mos_predictor_report *report, const char *dataset_path, const char *out_path,
                                       const mos_predictor_train_options *options) {
    return guard("mos_predictor_train", [&] {
        if (report) mos::capi::begin_result(report, MOS_PREDICTOR_REPORT_VERSION, "report");
        MOS_REQUIRE_NONNULL(dataset_path);
        MOS_REQUIRE_NONNULL(out_path);
        // Version 1 ends before `kind`: only its fields are read.
        mos_predictor_train_options po = MOS_PREDICTOR_TRAIN_OPTIONS_INIT;
        if (options) {
            mos::check(options->version == 1 || options->version == MOS_PREDICTOR_TRAIN_OPTIONS_VERSION, MOS_VERSION,
                       "options version ", options->version, " is not 1 or ", MOS_PREDICTOR_TRAIN_OPTIONS_VERSION);
            po.holdout = options->holdout;
            po.seed = options->seed;
            if (options->version >= 2) po.kind = options->kind;
        }
        mos::PredictorTrainOptions o;
        o.holdout = po.holdout;
        o.seed = po.seed;
        switch (po.kind) {
        case MOS_PREDICTOR_DEFAULT: o.kind = mos::kDefaultPredictorKind; break;
        case MOS_PREDICTOR_LINEAR: o.kind = mos::PredictorKind::Linear; break;
        case MOS_PREDICTOR_MLP: o.kind = mos::PredictorKind::Mlp; break;
        case MOS_PREDICTOR_COST: o.kind = mos::PredictorKind::Cost; break;
        default:
            mos::fail(MOS_INVALID_ARGUMENT, "options->kind ", po.kind,
                      " is unknown; allowed 0 (default), 1 (linear), 2 (mlp), 3 (cost)");
        }
        const mos::PredictorReport r = mos::train_predictor_file(dataset_path, o, out_path);
        if (report) report_out(report, r);
    });
}

MOS_API mos_status mos_predictor_load(mos_predictor **out, mos_predictor_report *report, const char *path) {
    if (out) *out = nullptr;
    return guard("mos_predictor_load", [&] {
        MOS_REQUIRE_NONNULL(out);
        if (report) mos::capi::begin_result(report, MOS_PREDICTOR_REPORT_VERSION, "report");
        MOS_REQUIRE_NONNULL(path);
        auto h = std::make_unique<mos_predictor>();
        mos::PredictorReport r;
        h->p = mos::load_predictor(path, &r);
        h->space = std::make_shared<const mos::Space>(h->p.space);
        if (report) report_out(report, r);
        *out = h.release();
    });
}

MOS_API mos_status mos_predictor_predict(double *ms, const mos_predictor *p, const mos_arch *arch) {
    return guard("mos_predictor_predict", [&] {
        MOS_REQUIRE_NONNULL(ms);
        MOS_REQUIRE_NONNULL(p);
        MOS_REQUIRE_NONNULL(arch);
        mos::check(*arch->space == *p->space, MOS_INVALID_ARGUMENT,
                   "the arch belongs to another search space than the predictor's");
        *ms = p->p.predict(arch->arch);
    });
}

MOS_API void mos_predictor_destroy(mos_predictor *p) { delete p; }

MOS_API mos_status mos_search_options_init(mos_search_options *options) {
    return guard("mos_search_options_init", [&] {
        static const mos_search_options k = MOS_SEARCH_OPTIONS_INIT;
        mos::capi::init_from(options, k, "options");
    });
}

MOS_API mos_status mos_search(mos_search_result **out, const mos_supernet *net, const char *data_dir,
                              const mos_search_options *options, mos_progress_fn progress, void *user) {
    if (out) *out = nullptr;
    std::unique_ptr<mos_search_result> h;
    const mos_status s = guard("mos_search", [&] {
        MOS_REQUIRE_NONNULL(out);
        MOS_REQUIRE_NONNULL(net);
        MOS_REQUIRE_NONNULL(data_dir);
        const mos_search_options o = search_options(options);
        const mos::SearchConfig c = search_config(o, data_dir);
        const mos::ThreadScope threads(o.threads);
        h = std::make_unique<mos_search_result>();
        h->report = mos::run_search(net->bundle, c, progress_fn(progress, user));
        h->space = std::make_shared<const mos::Space>(net->bundle.space);
        if (h->report.stopped)
            mos::fail(MOS_ABORTED, "search stopped by the progress callback after ", h->report.fitness_evals,
                      " archs evaluated; *out holds the best archs found so far");
    });
    // Stopped early: the status says so and *out still gets the best so far.
    if (out && h && (s == MOS_OK || (s == MOS_ABORTED && h->report.stopped))) *out = h.release();
    return s;
}

MOS_API size_t mos_search_result_count(const mos_search_result *r) {
    return mos::capi::get_value("mos_search_result_count", size_t{0}, [&] {
        MOS_REQUIRE_NONNULL(r);
        return r->report.results.size();
    });
}

MOS_API mos_status mos_search_result_arch(mos_arch **out, const mos_search_result *r, size_t i) {
    if (out) *out = nullptr;
    return guard("mos_search_result_arch", [&] {
        MOS_REQUIRE_NONNULL(out);
        MOS_REQUIRE_NONNULL(r);
        mos::check(i < r->report.results.size(), MOS_OUT_OF_RANGE, "budget index ", i, " of ",
                   r->report.results.size());
        auto h = std::make_unique<mos_arch>();
        h->space = r->space;
        h->arch = r->report.results[i].best.arch;
        *out = h.release();
    });
}

MOS_API mos_status mos_search_result_scores(double *fitness, double *latency_ms, const mos_search_result *r,
                                            size_t i) {
    return guard("mos_search_result_scores", [&] {
        MOS_REQUIRE_NONNULL(r);
        mos::check(i < r->report.results.size(), MOS_OUT_OF_RANGE, "budget index ", i, " of ",
                   r->report.results.size());
        if (fitness) *fitness = r->report.results[i].best.fitness;
        if (latency_ms) *latency_ms = r->report.results[i].best.latency_ms;
    });
}

MOS_API mos_status mos_search_result_to_json(char *buf, size_t cap, size_t *needed, const mos_search_result *r) {
    return guard("mos_search_result_to_json", [&] {
        MOS_REQUIRE_NONNULL(r);
        mos::capi::copy_out(mos::search_report_json(r->report), buf, cap, needed);
    });
}

MOS_API mos_status mos_search_result_to_svg(char *buf, size_t cap, size_t *needed, const mos_search_result *r) {
    return guard("mos_search_result_to_svg", [&] {
        MOS_REQUIRE_NONNULL(r);
        mos::capi::copy_out(mos::search_report_svg(r->report), buf, cap, needed);
    });
}

MOS_API void mos_search_result_destroy(mos_search_result *r) { delete r; }

}  // extern "C"
