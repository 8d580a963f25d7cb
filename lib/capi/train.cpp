// lib/capi/train.cpp: the C API of training and evaluation (mos/train.h).
#include <cstddef>
#include <cstring>

#include "backend/threads.hpp"
#include "capi/convert.hpp"
#include "capi/model_handles.hpp"
#include "mos/train.h"
#include "train/trainer.hpp"

using mos::capi::guard;
using mos::capi::require;

namespace {

mos::TrainConfig to_config(const mos_train_options &o) {
    require(o.data_dir && o.src_lang && o.tgt_lang, "data_dir, src_lang and tgt_lang are required");
    require(o.out_path != nullptr, "out_path is required");
    const int sampling = mos::capi::enum_value(o.sampling), schedule = mos::capi::enum_value(o.schedule);
    require(sampling == MOS_SAMPLING_UNIFORM || sampling == MOS_SAMPLING_SANDWICH,
            "sampling must be MOS_SAMPLING_UNIFORM or MOS_SAMPLING_SANDWICH");
    require(schedule == MOS_SCHEDULE_INVERSE_SQRT || schedule == MOS_SCHEDULE_COSINE,
            "schedule must be MOS_SCHEDULE_INVERSE_SQRT or MOS_SCHEDULE_COSINE");
    mos::capi::check_threads(o.threads);
    mos::TrainConfig c;
    c.data_dir = o.data_dir;
    c.src_lang = o.src_lang;
    c.tgt_lang = o.tgt_lang;
    c.out_path = o.out_path;
    c.vocab_size = o.vocab_size;
    c.max_tokens = o.max_tokens;
    c.max_len = o.max_len;
    c.max_steps = o.max_steps;
    c.max_seconds = o.max_seconds;
    c.sampling = sampling == MOS_SAMPLING_UNIFORM ? mos::Sampling::Uniform : mos::Sampling::Sandwich;
    c.schedule.kind = schedule == MOS_SCHEDULE_COSINE ? mos::Schedule::Cosine : mos::Schedule::InverseSqrt;
    c.schedule.lr = o.lr;
    c.schedule.min_lr = o.min_lr;
    c.schedule.warmup = o.warmup;
    c.schedule.max_steps = o.max_steps;
    c.adam.clip_norm = o.clip_norm;
    c.valid_every = o.valid_every;
    c.valid_sentences = o.valid_sentences;
    c.seed = o.seed;
    c.distill = o.distill;
    const int precision = mos::capi::enum_value(o.precision);
    require(precision == MOS_PRECISION_F32 || precision == MOS_PRECISION_BF16 || precision == MOS_PRECISION_AUTO,
            "precision must be MOS_PRECISION_F32, MOS_PRECISION_BF16 or MOS_PRECISION_AUTO");
    c.precision = static_cast<mos::TrainPrecision>(precision);
    c.mpi_comm = o.mpi_comm;
    return c;
}

// The caller's options as version 2: a version 1 struct (which ends before
// precision) is read only up to its end, and gets the later fields' defaults.
mos_train_options train_options(const mos_train_options *options) {
    return mos::capi::versioned(options, mos_train_options MOS_TRAIN_OPTIONS_INIT,
                                {offsetof(mos_train_options, precision), sizeof(mos_train_options)}, "options");
}

mos::TrainCallback train_callback(mos_train_progress_fn progress, void *user) {
    if (!progress) return {};
    return [progress, user](const mos::TrainProgress &p) {
        mos_train_progress c;
        c.event = static_cast<mos_train_event>(p.event);
        c.step = p.step;
        c.max_steps = p.max_steps;
        c.loss = p.loss;
        c.nll = p.nll;
        c.lr = p.lr;
        c.tokens_per_second = p.tokens_per_second;
        c.elapsed_seconds = p.elapsed;
        c.eta_seconds = p.eta;
        c.valid_loss_largest = p.valid_largest;
        c.valid_loss_smallest = p.valid_smallest;
        c.message = p.message.c_str();
        return progress(&c, user) == 0;
    };
}

// mos_eval_options checked (NULL = defaults, which lack the languages).
mos_eval_options eval_options(const mos_eval_options *options) {
    const mos_eval_options o = mos::capi::versioned(options, mos_eval_options MOS_EVAL_OPTIONS_INIT,
                                                    MOS_EVAL_OPTIONS_VERSION, "options");
    require(o.split != nullptr, "options->split is NULL");
    require(o.src_lang != nullptr && o.tgt_lang != nullptr, "options->src_lang and options->tgt_lang are required");
    mos::check(o.bleu_beam <= 64, MOS_INVALID_ARGUMENT, "bleu_beam ", o.bleu_beam, " outside 0..64");
    mos::capi::check_threads(o.threads);
    return o;
}

// Fills a result begun with begin_result.
void eval_out(mos_eval_result *out, const mos::EvalResult &r) {
    out->loss = r.loss;
    out->nll = r.nll;
    out->bleu = r.bleu;
    out->sentences = static_cast<uint64_t>(r.sentences);
    out->tokens = static_cast<uint64_t>(r.tokens);
}

}  // namespace

extern "C" {

MOS_API mos_status mos_train_options_init(mos_train_options *options) {
    return guard("mos_train_options_init", [&] {
        static const mos_train_options k = MOS_TRAIN_OPTIONS_INIT;
        mos::capi::init_from(options, k, "options");
    });
}

MOS_API mos_status mos_train(mos_supernet **out, const mos_space *space, const mos_supernet_options *net_options,
                             const mos_train_options *options, mos_train_progress_fn progress, void *user) {
    if (out) *out = nullptr;
    std::unique_ptr<mos_supernet> h;
    bool stopped = false;
    const mos_status s = guard("mos_train", [&] {
        MOS_REQUIRE_NONNULL(out);
        MOS_REQUIRE_NONNULL(options);
        const mos_train_options opts = train_options(options);
        const mos::TrainConfig cfg = to_config(opts);
        const std::string resume = opts.resume_path ? opts.resume_path : "";
        mos::SupernetConfig net;
        if (!resume.empty()) {
            require(space == nullptr && net_options == nullptr,
                    "space and net_options must be NULL when resuming (the checkpoint has them)");
        } else {
            MOS_REQUIRE_NONNULL(space);
            net = mos::capi::supernet_config(net_options);
            require(net_options == nullptr || net_options->tokenizer_path == nullptr,
                    "net_options.tokenizer_path is not supported by mos_train yet: it trains its own tokenizer");
        }
        // The thread count holds for this call only (0: all cores).
        const mos::ThreadScope threads(opts.threads);
        mos::TrainRun run = mos::run_training(cfg, resume.empty() ? space->space.get() : nullptr,
                                              resume.empty() ? &net : nullptr, resume, train_callback(progress, user));
        h = std::make_unique<mos_supernet>();
        h->bundle = std::move(run.bundle);
        stopped = run.stopped;
        if (stopped)
            mos::fail(MOS_ABORTED, "stopped by the progress callback; checkpoint written to '", cfg.out_path, "'");
    });
    if ((s == MOS_OK || (s == MOS_ABORTED && stopped)) && out) *out = h.release();
    return s;
}

MOS_API mos_status mos_eval_options_init(mos_eval_options *options) {
    return guard("mos_eval_options_init", [&] {
        static const mos_eval_options k = MOS_EVAL_OPTIONS_INIT;
        mos::capi::init_from(options, k, "options");
    });
}

MOS_API mos_status mos_eval_result_init(mos_eval_result *result) {
    return guard("mos_eval_result_init", [&] {
        static const mos_eval_result k = MOS_EVAL_RESULT_INIT;
        mos::capi::init_from(result, k, "result");
    });
}

MOS_API mos_status mos_evaluate(mos_eval_result *out, const mos_supernet *net, const mos_arch *arch,
                                const char *data_dir, const mos_eval_options *options) {
    return guard("mos_evaluate", [&] {
        mos::capi::begin_result(out, MOS_EVAL_RESULT_VERSION, "out");
        MOS_REQUIRE_NONNULL(net);
        MOS_REQUIRE_NONNULL(arch);
        MOS_REQUIRE_NONNULL(data_dir);
        const mos_eval_options o = eval_options(options);
        const mos::ThreadScope threads(o.threads);
        const mos::EvalResult r = mos::evaluate_split(net->bundle, arch->arch, data_dir, o.split, o.src_lang,
                                                      o.tgt_lang, o.max_sentences, static_cast<int>(o.bleu_beam));
        eval_out(out, r);
    });
}

MOS_API mos_status mos_model_evaluate(mos_eval_result *out, const mos_model *model, const char *data_dir,
                                      const mos_eval_options *options) {
    return guard("mos_model_evaluate", [&] {
        mos::capi::begin_result(out, MOS_EVAL_RESULT_VERSION, "out");
        MOS_REQUIRE_NONNULL(model);
        MOS_REQUIRE_NONNULL(data_dir);
        const mos_eval_options o = eval_options(options);
        mos::check(model->tokenizer != nullptr, MOS_UNSUPPORTED,
                   "the model carries no tokenizer, so its split cannot be read");
        const mos::ThreadScope threads(o.threads);
        const mos::EvalResult r = mos::evaluate_model_split(model->bundle, *model->tokenizer, data_dir, o.split,
                                                            o.src_lang, o.tgt_lang, o.max_sentences,
                                                            static_cast<int>(o.bleu_beam));
        eval_out(out, r);
    });
}

}  // extern "C"
