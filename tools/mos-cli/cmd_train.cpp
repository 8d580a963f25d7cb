// tools/mos-cli/cmd_train.cpp: `mos-cli train` (train or resume a supernet on a
// corpus directory, with a progress line on a terminal and plain log lines
// otherwise; Ctrl-C writes a checkpoint and exits cleanly) and `mos-cli eval`
// (loss and BLEU of one subnet on a split).
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <memory>
#include <string>

#include "cli.hpp"

namespace mos_cli {

namespace {

std::atomic<int> g_interrupted{0};

extern "C" void on_sigint(int) { g_interrupted.store(1); }

struct TrainOpts {
    std::string data, src, tgt, space = "small", routing = "neuron", out, resume, sampling = "sandwich",
                       schedule = "inverse-sqrt";
    unsigned experts = 2, vocab = 8000, max_tokens = 4096, max_len = 128, warmup = 4000, valid_every = 500,
             valid_sentences = 500, router_hidden = 128;
    long long max_steps = 0;
    double max_seconds = 0, lr = 5e-4, clip = 0, dropout = 0.3;
    unsigned long long seed = 1;
    int threads = 0;
    bool quiet = false, distill = false;
};

struct ProgressState {
    bool tty = false;
    bool quiet = false;
    double last_print = -1e9;
    bool line_open = false;
};

std::string hms(double s) {
    if (s < 0) return "?";
    char buf[32];
    const long t = static_cast<long>(s + 0.5);
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
    return buf;
}

int on_progress(const mos_train_progress *p, void *user) {
    auto *st = static_cast<ProgressState *>(user);
    if (p->event == MOS_TRAIN_EVENT_STEP) {
        // A terminal gets one rewritten line a few times a second; logs get a
        // line every 10 s (and every 100th step at most once per second).
        const double every = st->tty ? 0.25 : 10.0;
        if (!st->quiet && (p->elapsed_seconds - st->last_print >= every || p->step == p->max_steps)) {
            st->last_print = p->elapsed_seconds;
            char steps[64];
            if (p->max_steps > 0)
                std::snprintf(steps, sizeof steps, "%lld/%lld", static_cast<long long>(p->step),
                              static_cast<long long>(p->max_steps));
            else
                std::snprintf(steps, sizeof steps, "%lld", static_cast<long long>(p->step));
            std::fprintf(stderr, "%sstep %s  loss %.3f  nll %.3f  lr %.2e  %.0f tok/s  elapsed %s  eta %s%s",
                         st->tty ? "\r\033[K" : "", steps, p->loss, p->nll, p->lr, p->tokens_per_second,
                         hms(p->elapsed_seconds).c_str(), hms(p->eta_seconds).c_str(), st->tty ? "" : "\n");
            st->line_open = st->tty;
        }
    } else if (!st->quiet || p->event != MOS_TRAIN_EVENT_CHECKPOINT) {
        if (st->line_open) std::fputc('\n', stderr);
        st->line_open = false;
        std::fprintf(stderr, "[step %lld] %s\n", static_cast<long long>(p->step), p->message);
    }
    std::fflush(stderr);
    if (g_interrupted.load()) {
        // 1 = Ctrl-C seen; 2 = announced (the trainer reports again while saving).
        int seen = 1;
        if (g_interrupted.compare_exchange_strong(seen, 2)) {
            if (st->line_open) std::fputc('\n', stderr);
            st->line_open = false;
            std::fprintf(stderr, "interrupted: writing a checkpoint\n");
        }
        return 1;
    }
    return 0;
}

void run_train(const TrainOpts &o) {
    mos_train_options t = MOS_TRAIN_OPTIONS_INIT;
    t.data_dir = o.data.c_str();
    t.src_lang = o.src.c_str();
    t.tgt_lang = o.tgt.c_str();
    t.out_path = o.out.c_str();
    t.resume_path = o.resume.empty() ? nullptr : o.resume.c_str();
    t.vocab_size = o.vocab;
    t.max_tokens = o.max_tokens;
    t.max_len = o.max_len;
    t.max_steps = o.max_steps;
    t.max_seconds = o.max_seconds;
    t.sampling = o.sampling == "uniform" ? MOS_SAMPLING_UNIFORM : MOS_SAMPLING_SANDWICH;
    t.schedule = o.schedule == "cosine" ? MOS_SCHEDULE_COSINE : MOS_SCHEDULE_INVERSE_SQRT;
    t.lr = static_cast<float>(o.lr);
    t.warmup = o.warmup;
    t.clip_norm = static_cast<float>(o.clip);
    t.valid_every = o.valid_every;
    t.valid_sentences = o.valid_sentences;
    t.seed = o.seed;
    t.threads = o.threads;
    t.distill = o.distill;

    mos_space *space = nullptr;
    std::unique_ptr<mos_space, void (*)(mos_space *)> space_guard(nullptr, mos_space_destroy);
    mos_supernet_options n = MOS_SUPERNET_OPTIONS_INIT;
    const bool resume = !o.resume.empty();
    if (!resume) {
        space = load_space(o.space);
        space_guard.reset(space);
        check(mos_routing_parse(o.routing.c_str(), &n.routing));
        n.experts = n.routing == MOS_ROUTING_NONE ? 1 : o.experts;
        n.router_hidden = o.router_hidden;
        n.dropout = static_cast<float>(o.dropout);
        n.seed = o.seed;
    }
    ProgressState ps;
    ps.tty = isatty(STDERR_FILENO) != 0;
    ps.quiet = o.quiet;
    std::signal(SIGINT, on_sigint);
    mos_supernet *net = nullptr;
    const mos_status s = mos_train(&net, resume ? nullptr : space, resume ? nullptr : &n, &t, on_progress, &ps);
    std::signal(SIGINT, SIG_DFL);
    if (ps.line_open) std::fputc('\n', stderr);
    mos_supernet_destroy(net);
    if (s == MOS_ABORTED) {
        std::fprintf(stderr, "stopped; resume with: mos-cli train --resume %s --data %s --src %s --tgt %s --out %s\n",
                     o.out.c_str(), o.data.c_str(), o.src.c_str(), o.tgt.c_str(), o.out.c_str());
        return;
    }
    check(s);
    std::fprintf(stderr, "done: %s (best: %s.best)\n", o.out.c_str(), o.out.c_str());
}

struct EvalOpts {
    std::string supernet, model, arch = "largest", data, split = "test", src, tgt;
    unsigned max_sentences = 0, beam = 4;
    bool json = false, no_bleu = false;
};

void run_eval(const EvalOpts &o) {
    mos_supernet *net = nullptr;
    check(mos_supernet_load(&net, o.supernet.c_str()));
    std::unique_ptr<mos_supernet, void (*)(mos_supernet *)> net_guard(net, mos_supernet_destroy);
    mos_space *space = nullptr;
    check(mos_supernet_space(net, &space));
    std::unique_ptr<mos_space, void (*)(mos_space *)> space_guard(space, mos_space_destroy);
    mos_arch *arch = load_arch(space, o.arch);
    std::unique_ptr<mos_arch, void (*)(mos_arch *)> arch_guard(arch, mos_arch_destroy);
    mos_eval_result r;
    check(mos_evaluate(net, arch, o.data.c_str(), o.split.c_str(), o.src.c_str(), o.tgt.c_str(), o.max_sentences,
                       o.no_bleu ? 0u : o.beam, &r));
    if (o.json) {
        std::printf("{\"split\": \"%s\", \"sentences\": %llu, \"tokens\": %llu, \"loss\": %.6f, \"nll\": %.6f, "
                    "\"bleu\": %.2f}\n",
                    o.split.c_str(), static_cast<unsigned long long>(r.sentences),
                    static_cast<unsigned long long>(r.tokens), r.loss, r.nll, r.bleu);
    } else {
        std::printf("%s: %llu sentences, %llu target tokens, loss %.4f, nll %.4f", o.split.c_str(),
                    static_cast<unsigned long long>(r.sentences), static_cast<unsigned long long>(r.tokens), r.loss,
                    r.nll);
        if (r.bleu >= 0) std::printf(", BLEU %.2f (beam %u)", r.bleu, o.beam);
        std::printf("\n");
    }
}

}  // namespace

void register_train(CLI::App &app) {
    auto o = std::make_shared<TrainOpts>();
    CLI::App *c = app.add_subcommand("train", "train (or resume) a supernet on a parallel corpus");
    c->add_option("--data", o->data, "corpus directory with train.SRC, train.TGT, valid.* (.gz allowed)")->required();
    c->add_option("--src", o->src, "source language suffix, e.g. en")->required();
    c->add_option("--tgt", o->tgt, "target language suffix, e.g. es")->required();
    c->add_option("--out", o->out, "checkpoint to write (best: OUT.best)")->required();
    c->add_option("--resume", o->resume, "continue exactly from this checkpoint");
    c->add_option("--space", o->space, "preset (small, hat-wmt) or space JSON file")->capture_default_str();
    c->add_option("--routing", o->routing, "none | layer | neuron")->capture_default_str();
    c->add_option("--experts", o->experts, "experts per MoS linear")->capture_default_str()->check(CLI::Range(1, 64));
    c->add_option("--router-hidden", o->router_hidden, "router hidden width")->capture_default_str();
    c->add_option("--vocab", o->vocab, "SentencePiece vocabulary size")->capture_default_str();
    c->add_option("--max-tokens", o->max_tokens, "tokens per batch")->capture_default_str();
    c->add_option("--max-len", o->max_len, "skip longer sentence pairs (tokens)")->capture_default_str();
    c->add_option("--max-steps", o->max_steps, "stop after N updates (0 = no limit)")->capture_default_str();
    c->add_option("--max-seconds", o->max_seconds, "stop after this much time (0 = no limit)")->capture_default_str();
    c->add_option("--sampling", o->sampling, "uniform | sandwich")
        ->capture_default_str()
        ->check(CLI::IsMember({"uniform", "sandwich"}));
    c->add_option("--schedule", o->schedule, "inverse-sqrt | cosine")
        ->capture_default_str()
        ->check(CLI::IsMember({"inverse-sqrt", "cosine"}));
    c->add_option("--lr", o->lr, "peak learning rate")->capture_default_str();
    c->add_option("--warmup", o->warmup, "warm-up updates")->capture_default_str();
    c->add_option("--clip", o->clip, "gradient norm clipping (0 = off)")->capture_default_str();
    c->add_option("--dropout", o->dropout, "dropout p_max (width-scaled)")->capture_default_str();
    c->add_option("--valid-every", o->valid_every, "validate and save every N updates")->capture_default_str();
    c->add_option("--valid-sentences", o->valid_sentences, "validation pairs used (0 = all)")->capture_default_str();
    c->add_option("--seed", o->seed, "seed of data order, sampling, dropout, init")->capture_default_str();
    c->add_option("--threads", o->threads, "threads (0 = all cores)")->capture_default_str();
    c->add_flag("--distill", o->distill, "in-place distillation from the largest subnet (sandwich only)");
    c->add_flag("--quiet", o->quiet, "print only validation results");
    c->callback([o] { run_train(*o); });

    auto e = std::make_shared<EvalOpts>();
    CLI::App *ev = app.add_subcommand("eval", "loss and BLEU of a subnet of a supernet on a corpus split");
    ev->add_option("--supernet", e->supernet, "supernet checkpoint")->required();
    ev->add_option("--arch", e->arch, "arch JSON file, or largest / smallest")->capture_default_str();
    ev->add_option("--data", e->data, "corpus directory")->required();
    ev->add_option("--src", e->src, "source language suffix")->required();
    ev->add_option("--tgt", e->tgt, "target language suffix")->required();
    ev->add_option("--split", e->split, "split name (train, valid, test, ...)")->capture_default_str();
    ev->add_option("--max-sentences", e->max_sentences, "use the first N pairs (0 = all)")->capture_default_str();
    ev->add_option("--beam", e->beam, "beam size of the BLEU translations")->capture_default_str()->check(
        CLI::Range(1, 64));
    ev->add_flag("--no-bleu", e->no_bleu, "loss only");
    ev->add_flag("--json", e->json, "print one JSON object");
    ev->callback([e] { run_eval(*e); });
}

}  // namespace mos_cli
