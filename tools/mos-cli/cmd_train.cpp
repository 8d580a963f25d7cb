// tools/mos-cli/cmd_train.cpp: `mos-cli train` (train or resume a supernet on
// a corpus directory, with the progress printer; SIGINT or SIGTERM writes a
// checkpoint and exits cleanly) and `mos-cli eval` (loss and BLEU of one
// subnet on a split).
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "cli.hpp"
#include "json_out.hpp"
#include "options.hpp"
#include "progress.hpp"

namespace mos_cli {

namespace {

// --- train ---

struct TrainOpts {
    std::string data, src, tgt, out, resume, space = "small", routing, sampling, schedule, precision = "f32";
    std::string split;  // --split: sets MOS_TRAIN_SPLIT for this run (docs/training.md)
    mos_train_options t = MOS_TRAIN_OPTIONS_INIT;
    mos_supernet_options n = MOS_SUPERNET_OPTIONS_INIT;
    double progress_every = kDefaultLogEvery;
    bool quiet = false, json = false;
    CLI::Option *experts_opt = nullptr, *valid_every_opt = nullptr, *max_sentences_opt = nullptr,
                *valid_sentences_opt = nullptr, *resume_opt = nullptr;
    std::vector<CLI::Option *> kept;  // what --resume takes from the checkpoint
    TrainOpts() {
        routing = mos_routing_name(n.routing);
        sampling = t.sampling == MOS_SAMPLING_UNIFORM ? "uniform" : "sandwich";
        schedule = t.schedule == MOS_SCHEDULE_COSINE ? "cosine" : "inverse-sqrt";
    }
};

std::string resume_command(const TrainOpts &o) {
    std::string c = "mos-cli train --resume " + shell_quote(o.out) + " --data " + shell_quote(o.data) + " --src " +
                    shell_quote(o.src) + " --tgt " + shell_quote(o.tgt) + " --out " + shell_quote(o.out);
    if (o.t.max_steps > 0) c += " --max-steps " + std::to_string(o.t.max_steps);
    if (o.t.max_seconds > 0) c += " --max-seconds " + number_text(o.t.max_seconds);
    if (o.valid_every_opt->count() > 0) c += " --valid-every " + std::to_string(o.t.valid_every);
    if (o.max_sentences_opt->count() + o.valid_sentences_opt->count() > 0)
        c += " --max-sentences " + std::to_string(o.t.valid_sentences);
    if (o.t.threads > 0) c += " --threads " + std::to_string(o.t.threads);
    if (!o.split.empty()) c += " --split " + o.split;
    return c;
}

void run_train(TrainOpts o) {
    const bool resume = o.resume_opt->count() > 0;
    if (resume) {
        std::string given;
        for (const CLI::Option *k : o.kept)
            if (k->count() > 0) given += (given.empty() ? "" : ", ") + k->get_name();
        if (!given.empty())
            throw UsageError("--resume continues with the checkpoint's supernet, batching, sampling, schedule, "
                             "precision and seed; drop " + given);
    }
    SpacePtr space;
    if (!resume) {
        check(mos_routing_parse(&o.n.routing, o.routing.c_str()));  // checked by the parser already
        if (o.n.routing == MOS_ROUTING_NONE) {
            if (o.experts_opt->count() > 0 && o.n.experts != 1)
                throw UsageError("--routing none has one expert per linear; --experts applies to layer and neuron");
            o.n.experts = 1;
        }
        o.n.seed = o.t.seed;
        space = open_space(o.space);
    }
    // The checkpoint (and OUT.best next to it) must be writable before the
    // corpus is read and the tokenizer trained.
    prepare_output_file("--out", o.out);
    prepare_output_file("--out", o.out + ".best");
    o.t.data_dir = o.data.c_str();
    o.t.src_lang = o.src.c_str();
    o.t.tgt_lang = o.tgt.c_str();
    o.t.out_path = o.out.c_str();
    o.t.resume_path = resume ? o.resume.c_str() : nullptr;
    o.t.sampling = o.sampling == "uniform" ? MOS_SAMPLING_UNIFORM : MOS_SAMPLING_SANDWICH;
    o.t.schedule = o.schedule == "cosine" ? MOS_SCHEDULE_COSINE : MOS_SCHEDULE_INVERSE_SQRT;
    o.t.precision = o.precision == "bf16" ? MOS_PRECISION_BF16
                    : o.precision == "auto" ? MOS_PRECISION_AUTO
                                            : MOS_PRECISION_F32;
    // How an update uses its threads is read by the library from MOS_TRAIN_SPLIT.
    if (!o.split.empty() && setenv("MOS_TRAIN_SPLIT", o.split.c_str(), 1) != 0)
        throw UsageError("--split: cannot set MOS_TRAIN_SPLIT");

    Progress progress("train", o.progress_every);
    TrainWatch watch;
    watch.progress = &progress;
    watch.quiet = o.quiet;
    watch.stop_reason = [] { return StopSignals::requested() ? std::string(StopSignals::name()) : std::string(); };
    mos_status s;
    {
        StopSignals signals("writing a checkpoint after this update", "waiting for the checkpoint to be written");
        mos_supernet *net = nullptr;
        s = mos_train(&net, resume ? nullptr : space.get(), resume ? nullptr : &o.n, &o.t, on_train_progress, &watch);
        mos_supernet_destroy(net);
        progress.finish();
        if (s != MOS_ABORTED) check(s);
    }
    const bool stopped = s == MOS_ABORTED;
    const std::string best = o.out + ".best";
    struct stat st;
    const bool has_best = stat(best.c_str(), &st) == 0;
    const std::string resume_cmd = resume_command(o);
    if (stopped) {
        progress.note("stopped by " + std::string(StopSignals::name()) + " at step " + std::to_string(watch.step) +
                      "; checkpoint " + o.out);
        progress.note("resume with: " + resume_cmd);
    } else {
        progress.note("done: step " + std::to_string(watch.step) + "; checkpoint " + o.out +
                      (has_best ? " (best: " + best + ")" : ""));
    }
    if (o.json) {
        Json j;
        j["checkpoint"] = o.out;
        j["best_checkpoint"] = has_best ? Json(best) : Json(nullptr);
        j["step"] = watch.step;
        j["max_steps"] = watch.max_steps > 0 ? Json(watch.max_steps) : Json(nullptr);
        j["elapsed_seconds"] = watch.elapsed;
        j["stopped_by"] = stopped ? Json(StopSignals::name()) : Json(nullptr);
        j["valid_loss_largest"] = number_or_null(watch.valid_largest);
        j["valid_loss_smallest"] = number_or_null(watch.valid_smallest);
        j["resume_command"] = stopped ? Json(resume_cmd) : Json(nullptr);
        print_json(j);
    }
}

// --- eval ---

struct EvalOpts {
    std::string supernet, model, data, split = "test", src, tgt;
    ArchSpec arch;
    uint32_t max_sentences = 0, beam;
    int32_t threads = 0;
    bool json = false, no_bleu = false;
    EvalOpts() {
        const mos_translate_options t = MOS_TRANSLATE_OPTIONS_INIT;
        beam = t.beam;
    }
};

void run_eval(const EvalOpts &o) {
    if (o.model.empty() == o.supernet.empty())
        throw UsageError("give --supernet CKPT [--arch ARCH], or --model MODEL");
    mos_eval_options e = MOS_EVAL_OPTIONS_INIT;
    e.split = o.split.c_str();
    e.src_lang = o.src.c_str();
    e.tgt_lang = o.tgt.c_str();
    e.max_sentences = o.max_sentences;
    e.bleu_beam = o.no_bleu ? 0u : o.beam;
    e.threads = o.threads;
    mos_eval_result r = MOS_EVAL_RESULT_INIT;
    if (!o.model.empty()) {
        // A routed model: its own teacher-forced loss (the supernet's for its
        // arch) and the BLEU of its translations.
        mos_model *m = nullptr;
        check(mos_model_load(&m, o.model.c_str()));
        const ModelPtr model(m);
        check(mos_model_evaluate(&r, model.get(), o.data.c_str(), &e));
    } else {
        o.arch.check_usage();
        const SupernetPtr net = open_supernet(o.supernet);
        mos_space *sp = nullptr;
        check(mos_supernet_space(&sp, net.get()));
        const SpacePtr space(sp);
        const ArchPtr arch = resolve_arch(space.get(), o.arch);
        check(mos_evaluate(&r, net.get(), arch.get(), o.data.c_str(), &e));
    }
    const bool has_bleu = !o.no_bleu && r.bleu >= 0;
    if (o.json) {
        Json j;
        j["supernet"] = o.supernet.empty() ? Json(nullptr) : Json(o.supernet);
        j["model"] = o.model.empty() ? Json(nullptr) : Json(o.model);
        j["arch"] = o.model.empty() ? Json(o.arch.describe()) : Json(nullptr);
        j["split"] = o.split;
        j["sentences"] = r.sentences;
        j["tokens"] = r.tokens;
        j["loss"] = r.loss;
        j["nll"] = r.nll;
        j["bleu"] = number_or_null(r.bleu, has_bleu);
        j["beam"] = has_bleu ? Json(o.beam) : Json(nullptr);
        print_json(j);
        return;
    }
    std::printf("%s: %llu sentences, %llu target tokens, loss %.4f, nll %.4f", o.split.c_str(),
                static_cast<unsigned long long>(r.sentences), static_cast<unsigned long long>(r.tokens), r.loss, r.nll);
    if (has_bleu) std::printf(", BLEU %.2f (beam %u)", r.bleu, o.beam);
    std::printf("\n");
}

}  // namespace

void register_train(CLI::App &app) {
    auto o = std::make_shared<TrainOpts>();
    CLI::App *c = app.add_subcommand("train", "train (or resume) a supernet on a parallel corpus");
    c->add_option("--data", o->data, "corpus directory with train.SRC, train.TGT, valid.* (.gz allowed)")->required();
    c->add_option("--src", o->src, "source language suffix, e.g. en")->required();
    c->add_option("--tgt", o->tgt, "target language suffix, e.g. es")->required();
    c->add_option("--out", o->out, "checkpoint to write (best: OUT.best; missing directories are created)")
        ->required();
    CLI::Option *resume = c->add_option("--resume", o->resume, "continue exactly from this checkpoint");
    // What a checkpoint keeps (the supernet, its batching, sampling and
    // schedule) cannot be changed on --resume: saying so beats ignoring it.
    std::vector<CLI::Option *> kept;
    kept.push_back(c->add_option("--space", o->space, "preset (small, hat-wmt) or space JSON file")
                       ->capture_default_str());
    kept.push_back(c->add_option("--routing", o->routing, "none | layer | neuron")
                       ->capture_default_str()
                       ->check(CLI::IsMember({"none", "layer", "neuron"})));
    o->experts_opt = add_int(c, "--experts", o->n.experts, "experts per MoS linear (1 with --routing none)", 1, 64);
    kept.push_back(o->experts_opt);
    kept.push_back(add_int(c, "--router-hidden", o->n.router_hidden, "router hidden width", 1, 4096));
    kept.push_back(
        add_real(c, "--dropout", o->n.dropout, "dropout p_max (width-scaled)", Bounds{0.0, 1.0, false, true}));
    kept.push_back(add_int(c, "--vocab", o->t.vocab_size, "SentencePiece vocabulary size", 16, 1000000));
    kept.push_back(add_int(c, "--max-tokens", o->t.max_tokens, "tokens per batch, each side", 16, 1u << 20));
    kept.push_back(add_int(c, "--max-len", o->t.max_len, "skip sentence pairs longer than this (tokens)", 2, 1024));
    kept.push_back(c->add_option("--sampling", o->sampling, "uniform | sandwich")
                       ->capture_default_str()
                       ->check(CLI::IsMember({"uniform", "sandwich"})));
    kept.push_back(c->add_option("--schedule", o->schedule, "inverse-sqrt | cosine")
                       ->capture_default_str()
                       ->check(CLI::IsMember({"inverse-sqrt", "cosine"})));
    kept.push_back(add_real(c, "--lr", o->t.lr, "peak learning rate", Bounds{0.0, 1.0, true, false}));
    kept.push_back(add_real(c, "--min-lr", o->t.min_lr, "final learning rate of the cosine schedule",
                            Bounds{0.0, 1.0}));
    kept.push_back(add_int(c, "--warmup", o->t.warmup, "warm-up updates"));
    kept.push_back(add_real(c, "--clip", o->t.clip_norm, "gradient norm clipping (0 = off)",
                            Bounds{0.0, std::numeric_limits<double>::max()}));
    kept.push_back(add_int(c, "--seed", o->t.seed, "seed of data order, sampling, dropout and initialisation"));
    kept.push_back(c->add_flag("--distill", o->t.distill,
                               "in-place distillation from the largest subnet (sandwich only)"));
    kept.push_back(c->add_option("--precision", o->precision,
                                 "matrix products: f32 | bf16 (bf16 products, f32 weights) | auto (bf16 where native)")
                       ->capture_default_str()
                       ->check(CLI::IsMember({"f32", "bf16", "auto"})));
    o->resume_opt = resume;
    o->kept = kept;
    add_int(c, "--max-steps", o->t.max_steps, "stop after N updates in all (0 = no limit)", 0, INT64_MAX);
    add_real(c, "--max-seconds", o->t.max_seconds, "stop after this much training time in all (0 = no limit)",
             Bounds{0.0, 1e9});
    o->valid_every_opt = add_int(c, "--valid-every", o->t.valid_every, "validate and save every N updates", 1u,
                                 UINT32_MAX);
    o->max_sentences_opt = add_int(c, "--max-sentences", o->t.valid_sentences,
                                   "use at most N pairs of the validation split (0 = all)");
    o->valid_sentences_opt =
        add_hidden_alias(c, "--valid-sentences", o->t.valid_sentences, unsigned_check(0, UINT32_MAX));
    add_threads(c, o->t.threads);
    c->add_option("--split", o->split,
                  "how an update uses its threads: products (each product split over them; the default) | shards "
                  "(each thread trains its own shard of the batch); sets MOS_TRAIN_SPLIT")
        ->check(CLI::IsMember({"products", "shards"}));
    c->add_flag("--quiet", o->quiet, "print only setup and validation lines, no progress");
    add_json_flag(c, o->json);
    add_progress_option(c, o->progress_every);
    c->callback([o] { run_train(*o); });

    auto e = std::make_shared<EvalOpts>();
    CLI::App *ev =
        app.add_subcommand("eval", "loss and BLEU of a subnet of a supernet, or of a routed model, on a corpus split");
    CLI::Option *supernet = ev->add_option("--supernet", e->supernet, "supernet checkpoint or file, or builtin (docs/builtin.md), evaluated at --arch");
    CLI::Option *model = ev->add_option("--model", e->model, "or: a model file (from mos-cli route)");
    model->excludes(supernet);
    add_arch_options(ev, e->arch, "largest").exclude(model);
    ev->add_option("--data", e->data, "corpus directory")->required();
    ev->add_option("--src", e->src, "source language suffix")->required();
    ev->add_option("--tgt", e->tgt, "target language suffix")->required();
    ev->add_option("--split", e->split, "split name (train, valid, test, ...)")->capture_default_str();
    add_int(ev, "--max-sentences", e->max_sentences, "use at most N pairs of the split (0 = all)");
    CLI::Option *beam = add_int(ev, "--beam", e->beam, "beam size of the BLEU translations", 1, 64);
    CLI::Option *no_bleu = ev->add_flag("--no-bleu", e->no_bleu, "loss only");
    no_bleu->excludes(beam);
    add_threads(ev, e->threads);
    add_json_flag(ev, e->json);
    ev->callback([e] { run_eval(*e); });
}

}  // namespace mos_cli
