// lib/capi/search.cpp: the C API of latency measurement, the latency predictor
// and mos_search (mos/search.h).
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

mos::LatencyOptions latency_options(const mos_latency_options *o) {
    const mos_latency_options d = mos::capi::versioned(o, mos_latency_options MOS_LATENCY_OPTIONS_INIT,
                                                       MOS_LATENCY_OPTIONS_VERSION, "latency options");
    mos::check(d.src_len <= 1024 && d.steps <= 1024 && d.beam <= 64 && d.warmup <= 1000 && d.runs <= 100000,
               MOS_INVALID_ARGUMENT, "latency option out of range");
    mos::LatencyOptions l;
    l.src_len = static_cast<int>(d.src_len);
    l.steps = static_cast<int>(d.steps);
    l.beam = static_cast<int>(d.beam);
    l.warmup = static_cast<int>(d.warmup);
    l.runs = static_cast<int>(d.runs);
    mos::check_latency_options(l);
    return l;
}

mos_predictor_report report_out(const mos::PredictorReport &r) {
    mos_predictor_report o;
    o.mape = r.mape;
    o.rmse_ms = r.rmse_ms;
    o.kendall_tau = r.kendall_tau;
    o.train_samples = static_cast<uint32_t>(r.train_samples);
    o.heldout_samples = static_cast<uint32_t>(r.heldout_samples);
    return o;
}

// A core progress function that forwards to the caller's callback (none if
// it is NULL); a non-zero return asks to stop.
mos::ProgressFn progress_fn(mos_progress_fn progress, void *user) {
    if (!progress) return {};
    return [progress, user](const mos::Progress &p) { return progress(p.done, p.total, p.what.c_str(), user) == 0; };
}

// The core configuration of mos_search's options (checked, converted).
mos::SearchConfig search_config(const mos_search_options &o, const char *data_dir) {
    mos::check(o.version == MOS_SEARCH_OPTIONS_VERSION, MOS_VERSION, "options version ", o.version, " is not ",
               MOS_SEARCH_OPTIONS_VERSION);
    require(o.src_lang && o.tgt_lang, "src_lang and tgt_lang are required");
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
    return c;
}

}  // namespace

extern "C" {

MOS_API mos_status mos_latency_options_init(mos_latency_options *options) {
    return guard("mos_latency_options_init", [&] {
        MOS_REQUIRE_NONNULL(options);
        *options = mos_latency_options MOS_LATENCY_OPTIONS_INIT;
    });
}

MOS_API mos_status mos_latency_measure(const mos_model *model, const mos_latency_options *options,
                                       mos_latency_result *out) {
    return guard("mos_latency_measure", [&] {
        MOS_REQUIRE_NONNULL(model);
        MOS_REQUIRE_NONNULL(out);
        const mos::LatencyResult r = mos::measure_latency(*model->bundle.model, latency_options(options));
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
        mos::collect_latency_data(out_path, *space->space, vocab, n, seed, latency_options(options),
                                  progress_fn(progress, user));
    });
}

MOS_API mos_status mos_predictor_train(const char *dataset_path, double holdout, uint64_t seed, const char *out_path,
                                       mos_predictor_report *report) {
    return guard("mos_predictor_train", [&] {
        MOS_REQUIRE_NONNULL(dataset_path);
        MOS_REQUIRE_NONNULL(out_path);
        mos::PredictorTrainOptions o;
        o.holdout = holdout;
        o.seed = seed;
        const mos::PredictorReport r = mos::train_predictor_file(dataset_path, o, out_path);
        if (report) *report = report_out(r);
    });
}

MOS_API mos_status mos_predictor_load(mos_predictor **out, const char *path, mos_predictor_report *report) {
    if (out) *out = nullptr;
    return guard("mos_predictor_load", [&] {
        MOS_REQUIRE_NONNULL(out);
        MOS_REQUIRE_NONNULL(path);
        auto h = std::make_unique<mos_predictor>();
        mos::PredictorReport r;
        h->p = mos::load_predictor(path, &r);
        h->space = std::make_shared<const mos::Space>(mos::space_from_json(h->p.space_json));
        if (report) *report = report_out(r);
        *out = h.release();
    });
}

MOS_API mos_status mos_predictor_predict(const mos_predictor *p, const mos_arch *arch, double *ms) {
    return guard("mos_predictor_predict", [&] {
        MOS_REQUIRE_NONNULL(p);
        MOS_REQUIRE_NONNULL(arch);
        MOS_REQUIRE_NONNULL(ms);
        mos::check(*arch->space == *p->space, MOS_INVALID_ARGUMENT,
                   "the arch belongs to another search space than the predictor's");
        *ms = p->p.predict(mos::arch_encode(*p->space, arch->arch));
    });
}

MOS_API void mos_predictor_destroy(mos_predictor *p) { delete p; }

MOS_API mos_status mos_search_options_init(mos_search_options *options) {
    return guard("mos_search_options_init", [&] {
        MOS_REQUIRE_NONNULL(options);
        *options = mos_search_options MOS_SEARCH_OPTIONS_INIT;
    });
}

MOS_API mos_status mos_search(const mos_supernet *net, const char *data_dir, const mos_search_options *options,
                              mos_search_result **out, mos_progress_fn progress, void *user) {
    if (out) *out = nullptr;
    return guard("mos_search", [&] {
        MOS_REQUIRE_NONNULL(net);
        MOS_REQUIRE_NONNULL(data_dir);
        MOS_REQUIRE_NONNULL(options);
        MOS_REQUIRE_NONNULL(out);
        const mos::SearchConfig c = search_config(*options, data_dir);
        auto h = std::make_unique<mos_search_result>();
        h->report = mos::run_search(net->bundle, c, progress_fn(progress, user));
        h->space = std::make_shared<const mos::Space>(net->bundle.space);
        *out = h.release();
    });
}

MOS_API size_t mos_search_result_count(const mos_search_result *r) { return r ? r->report.results.size() : 0; }

MOS_API mos_status mos_search_result_arch(const mos_search_result *r, size_t i, mos_arch **out) {
    if (out) *out = nullptr;
    return guard("mos_search_result_arch", [&] {
        MOS_REQUIRE_NONNULL(r);
        MOS_REQUIRE_NONNULL(out);
        mos::check(i < r->report.results.size(), MOS_OUT_OF_RANGE, "budget index ", i, " of ",
                   r->report.results.size());
        auto h = std::make_unique<mos_arch>();
        h->space = r->space;
        h->arch = r->report.results[i].best.arch;
        *out = h.release();
    });
}

MOS_API mos_status mos_search_result_scores(const mos_search_result *r, size_t i, double *fitness,
                                            double *latency_ms) {
    return guard("mos_search_result_scores", [&] {
        MOS_REQUIRE_NONNULL(r);
        mos::check(i < r->report.results.size(), MOS_OUT_OF_RANGE, "budget index ", i, " of ",
                   r->report.results.size());
        if (fitness) *fitness = r->report.results[i].best.fitness;
        if (latency_ms) *latency_ms = r->report.results[i].best.latency_ms;
    });
}

MOS_API mos_status mos_search_result_to_json(const mos_search_result *r, char *buf, size_t cap, size_t *needed) {
    return guard("mos_search_result_to_json", [&] {
        MOS_REQUIRE_NONNULL(r);
        mos::capi::copy_out(mos::search_report_json(r->report), buf, cap, needed);
    });
}

MOS_API mos_status mos_search_result_to_svg(const mos_search_result *r, char *buf, size_t cap, size_t *needed) {
    return guard("mos_search_result_to_svg", [&] {
        MOS_REQUIRE_NONNULL(r);
        mos::capi::copy_out(mos::search_report_svg(r->report), buf, cap, needed);
    });
}

MOS_API void mos_search_result_destroy(mos_search_result *r) { delete r; }

}  // extern "C"
