// tools/mos-cli/cmd_model.cpp: `mos-cli route` (specialise a subnet of a
// supernet checkpoint into a standalone model file), `mos-cli translate`
// (translate stdin line by line with a model, or with a subnet of a
// supernet), `mos-cli model show` (what a model file holds) and `mos-cli
// model convert` (a model file at another precision).
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli.hpp"
#include "json_out.hpp"
#include "options.hpp"

namespace mos_cli {

namespace {

// --dtype: a model's precision (docs/serving.md).
const std::vector<std::string> kDTypes = {"f32", "bf16", "int8"};

mos_dtype dtype_of(const std::string &name) {
    if (name == "bf16") return MOS_DTYPE_BF16;
    if (name == "int8") return MOS_DTYPE_INT8;
    return MOS_DTYPE_F32;
}

CLI::Option *add_dtype(CLI::App *cmd, std::string &var, const std::string &help) {
    return cmd->add_option("--dtype", var, help)->capture_default_str()->check(CLI::IsMember(kDTypes));
}

// Says on stderr why a model computes in f32 on this CPU, if it does.
void report_fallback(const mos_model *m) {
    const std::string w = model_meta(m, "warning");
    if (!w.empty()) std::fprintf(stderr, "warning: %s\n", w.c_str());
}

struct RouteOpts {
    std::string supernet, out, dtype = "f32";
    ArchSpec arch;
    mos_route_options r = MOS_ROUTE_OPTIONS_INIT;
    bool json = false;
};

void run_route(const RouteOpts &o) {
    o.arch.check_usage();
    prepare_output_file("--out", o.out);
    double ms = 0.0;
    const ModelPtr model = route_from(o.supernet, o.arch, &ms, o.r.threads, dtype_of(o.dtype));
    report_fallback(model.get());
    check(mos_model_save(model.get(), o.out.c_str()));
    const uint64_t params = mos_model_num_params(model.get());
    if (o.json) {
        Json j;
        j["supernet"] = o.supernet;
        j["arch"] = o.arch.describe();
        j["out"] = o.out;
        j["params"] = params;
        j["dtype"] = o.dtype;
        j["route_ms"] = ms;
        print_json(j);
        return;
    }
    std::fprintf(stderr, "routed %s (%llu weights, %s) in %.2f ms -> %s\n", o.arch.describe().c_str(),
                 static_cast<unsigned long long>(params), o.dtype.c_str(), ms, o.out.c_str());
}

struct ConvertOpts {
    std::string in, out, dtype = "f32";
    bool json = false;
};

void run_convert(const ConvertOpts &o) {
    prepare_output_file("--out", o.out);
    mos_model *m = nullptr;
    check(mos_model_load(&m, o.in.c_str()));
    const ModelPtr in(m);
    mos_convert_options co = MOS_CONVERT_OPTIONS_INIT;
    co.dtype = dtype_of(o.dtype);
    m = nullptr;
    check(mos_model_convert(&m, in.get(), &co));
    const ModelPtr out(m);
    report_fallback(out.get());
    check(mos_model_save(out.get(), o.out.c_str()));
    const std::string from = model_meta(in.get(), "dtype");
    if (o.json) {
        Json j;
        j["model"] = o.in;
        j["out"] = o.out;
        j["from"] = from;
        j["dtype"] = o.dtype;
        print_json(j);
        return;
    }
    std::fprintf(stderr, "converted %s (%s) -> %s (%s)\n", o.in.c_str(), from.c_str(), o.out.c_str(), o.dtype.c_str());
}

struct TranslateOpts {
    std::string supernet, model;
    ArchSpec arch;
    mos_translate_options t = MOS_TRANSLATE_OPTIONS_INIT;
    std::string max_len;
    uint32_t batch = 256;         // lines read from stdin per library call
    float max_len_a = -1.0f;      // --max-len-a; -1 = not given (A of --max-len holds)
    bool scores = false;
    TranslateOpts() { max_len = std::to_string(t.max_len_a) + "," + std::to_string(t.max_len_b); }
};

// --max-len: "N" (at most N tokens) or "A,B" (at most A * source tokens + B),
// the max_len_a / max_len_b of mos_translate_options.
CLI::Validator max_len_check() {
    return CLI::Validator(
        [](std::string &s) -> std::string {
            const size_t comma = s.find(',');
            std::string a = comma == std::string::npos ? "0" : s.substr(0, comma);
            std::string b = comma == std::string::npos ? s : s.substr(comma + 1);
            std::string err = unsigned_check(0, 16)(a);
            if (!err.empty()) return "A of A,B: " + err;
            err = unsigned_check(0, 4096)(b);
            if (!err.empty()) return (comma == std::string::npos ? "" : "B of A,B: ") + err;
            if (a == "0" && b == "0") return "'" + s + "' allows no output token";
            s = a + "," + b;
            return {};
        },
        "N|A,B");
}

void run_translate(TranslateOpts o) {
    if (o.t.nbest > o.t.beam)
        throw UsageError("--n-best " + std::to_string(o.t.nbest) + " exceeds --beam " + std::to_string(o.t.beam));
    ModelPtr model;
    if (!o.model.empty()) {
        mos_model *m = nullptr;
        check(mos_model_load(&m, o.model.c_str()));
        model.reset(m);
    } else if (!o.supernet.empty()) {
        model = route_from(o.supernet, o.arch, nullptr, o.t.threads);
    } else {
        throw UsageError("give --model MODEL, or --supernet CKPT [--arch ARCH]");
    }
    const size_t comma = o.max_len.find(',');
    o.t.max_len_a = static_cast<uint32_t>(std::strtoul(o.max_len.substr(0, comma).c_str(), nullptr, 10));
    o.t.max_len_b = static_cast<uint32_t>(std::strtoul(o.max_len.substr(comma + 1).c_str(), nullptr, 10));
    // --max-len-a, when given, replaces A of --max-len (mos_translate_options.max_len_factor).
    o.t.max_len_factor = o.max_len_a;
    // One line per sentence, as before, unless n-best lists or scores are asked for.
    const bool plain = o.t.nbest == 1 && !o.scores;
    std::vector<std::string> lines;
    std::string line;
    size_t first_line = 0;  // input line index of lines[0]
    auto flush = [&] {
        if (lines.empty()) return;
        std::vector<const char *> src(lines.size());
        for (size_t i = 0; i < lines.size(); i++) src[i] = lines[i].c_str();
        if (plain) {
            mos_texts *raw = nullptr;
            check(mos_model_translate(&raw, model.get(), src.data(), src.size(), &o.t));
            const TextsPtr out(raw);
            for (size_t i = 0; i < mos_texts_count(out.get()); i++) std::printf("%s\n", mos_texts_get(out.get(), i));
        } else {
            mos_translations *raw = nullptr;
            check(mos_model_translate_batch(&raw, model.get(), src.data(), src.size(), &o.t));
            const TranslationsPtr out(raw);
            for (size_t i = 0; i < mos_translations_count(out.get()); i++) {
                const size_t nb = o.t.nbest == 1 ? 1 : mos_translations_nbest(out.get(), i);
                for (size_t k = 0; k < nb; k++) {
                    if (o.t.nbest > 1) std::printf("%zu\t", first_line + i);
                    if (o.scores) {
                        float score = 0.0f, logprob = 0.0f;
                        check(mos_translations_score(&score, &logprob, out.get(), i, k));
                        std::printf("%.4f\t%.4f\t", static_cast<double>(score), static_cast<double>(logprob));
                    }
                    std::printf("%s\n", mos_translations_text(out.get(), i, k));
                }
            }
        }
        std::fflush(stdout);
        first_line += lines.size();
        lines.clear();
    };
    size_t line_no = 0;
    while (std::getline(std::cin, line)) {
        ++line_no;
        if (line.find('\0') != std::string::npos)
            throw CliError("stdin line " + std::to_string(line_no) + " holds a NUL byte; sentences are text");
        if (!line.empty() && line.back() == '\r') line.pop_back();
        lines.push_back(line);
        if (lines.size() >= o.batch) flush();
    }
    if (std::cin.bad()) throw CliError("cannot read the sentences from stdin");
    flush();
}

struct ShowOpts {
    std::string path;
    uint64_t src_len, tgt_len;
    bool json = false;
    ShowOpts() {
        const mos_latency_options l = MOS_LATENCY_OPTIONS_INIT;
        src_len = l.src_len;
        tgt_len = l.steps;
    }
};

void run_model_show(const ShowOpts &o) {
    mos_model *m = nullptr;
    check(mos_model_load(&m, o.path.c_str()));
    const ModelPtr model(m);
    mos_arch *a = nullptr;
    check(mos_model_arch(&a, model.get()));
    const ArchPtr arch(a);
    mos_space *s = nullptr;
    check(mos_arch_space(&s, arch.get()));
    const SpacePtr space(s);
    const uint32_t vocab = mos_model_vocab_size(model.get());
    const bool tokenizer = mos_model_has_tokenizer(model.get());
    ArchFacts f = arch_facts(arch.get(), vocab, o.src_len, o.tgt_len);
    f.params = mos_model_num_params(model.get());
    const std::string space_name = api_string(mos_space_name, space.get());
    // The corpus languages of the supernet it was routed from ("" if unknown).
    const std::string src_lang = model_meta(model.get(), "src_lang");
    const std::string tgt_lang = model_meta(model.get(), "tgt_lang");
    const std::string dtype = model_meta(model.get(), "dtype"), compute = model_meta(model.get(), "compute_dtype");
    if (o.json) {
        Json j;
        j["model"] = o.path;
        j["space"] = space_name;
        j["dtype"] = dtype;
        j["compute_dtype"] = compute;
        j["src_lang"] = src_lang.empty() ? Json(nullptr) : Json(src_lang);
        j["tgt_lang"] = tgt_lang.empty() ? Json(nullptr) : Json(tgt_lang);
        j["tokenizer"] = tokenizer;
        add_arch_facts(j, arch.get(), f);
        print_json(j);
        return;
    }
    std::printf("model: %s\nspace: %s\nvocabulary: %u (tokenizer: %s)\n", o.path.c_str(), space_name.c_str(), vocab,
                tokenizer ? "yes" : "no, so it translates token ids only");
    std::printf("languages: %s\n",
                src_lang.empty() || tgt_lang.empty() ? "unknown" : (src_lang + " -> " + tgt_lang).c_str());
    std::printf("precision: %s%s\n", dtype.c_str(),
                compute == dtype ? "" : (" (computed in " + compute + " on this CPU)").c_str());
    std::fputs(arch_facts_text(f).c_str(), stdout);
}

}  // namespace

void register_model(CLI::App &app) {
    auto r = std::make_shared<RouteOpts>();
    CLI::App *route = app.add_subcommand("route", "specialise a subnet of a supernet into a dense model file");
    route->add_option("--supernet", r->supernet, "supernet checkpoint or exported file, or builtin (docs/builtin.md)")->required();
    add_arch_options(route, r->arch, "");
    route->add_option("--out", r->out, "model file to write (missing directories are created)")->required();
    add_dtype(route, r->dtype, "the model's precision: f32, bf16 (weights rounded) or int8 (weights quantised "
                               "per output channel); docs/serving.md");
    add_threads(route, r->r.threads);
    add_json_flag(route, r->json);
    route->callback([r] { run_route(*r); });

    auto t = std::make_shared<TranslateOpts>();
    CLI::App *tr = app.add_subcommand("translate", "translate stdin (one sentence per line) to stdout");
    CLI::Option *model = tr->add_option("--model", t->model, "model file (from mos-cli route)");
    CLI::Option *supernet =
        tr->add_option("--supernet", t->supernet, "or: a supernet (file or builtin), routed to --arch first");
    model->excludes(supernet);
    add_arch_options(tr, t->arch, "largest").exclude(model);
    add_int(tr, "--beam", t->t.beam, "beam size; 1 = greedy", 1, 64);
    add_real(tr, "--lenpen", t->t.length_penalty, "length penalty: beam score = log-probability / length^P",
             Bounds{0.0, 10.0});
    tr->add_option("--max-len", t->max_len,
                   "output length limit in tokens: N, or A,B for A * source tokens + B")
        ->capture_default_str()
        ->check(max_len_check());
    add_int(tr, "--max-src-len", t->t.max_src_len, "longer sources are cut to this many tokens", 1, 4096);
    add_int(tr, "--batch", t->batch,
            "sentences read from stdin per translation call (each call is cut into batches by --batch-sentences "
            "and --batch-tokens)",
            1, 65536);
    add_int(tr, "--batch-sentences", t->t.max_batch_sentences, "at most N sentences per batch", 1, 4096);
    add_int(tr, "--batch-tokens", t->t.max_batch_tokens,
            "at most N padded source tokens per batch (sentences x the longest); 0 = no token limit", 0, 1u << 24);
    tr->add_option("--max-len-a", t->max_len_a,
                   "a float factor replacing A of --max-len: at most floor(F * source tokens) + B tokens")
        ->check(real_check(Bounds{0.0, 16.0}));
    add_int(tr, "--n-best", t->t.nbest,
            "print the N best hypotheses of each sentence, best first, as INDEX<TAB>TEXT lines (INDEX: the "
            "input line, from 0); N <= --beam",
            1, 64);
    add_int(tr, "--draft-tokens", t->t.draft_tokens,
            "greedy, one sentence per batch, f32 model: speculative decoding, an int8 copy of the model drafting "
            "N tokens per check (the same output, lower latency; docs/serving.md); 0 = off",
            0, 15);
    tr->add_flag("--scores", t->scores,
                 "print SCORE<TAB>LOGPROB<TAB> before each translation: the length-penalised beam score and the "
                 "sum of the token log-probabilities");
    add_threads(tr, t->t.threads);
    tr->callback([t] { run_translate(*t); });

    CLI::App *mod = app.add_subcommand("model", "specialised model files");
    mod->require_subcommand(1);
    auto s = std::make_shared<ShowOpts>();
    CLI::App *show =
        mod->add_subcommand("show", "what a model file holds: space, vocabulary, languages, arch, parameters, FLOPs");
    show->add_option("MODEL", s->path, "model file (from mos-cli route)")->required();
    add_int(show, "--src-len", s->src_len, "source tokens for FLOPs", 1, 1u << 20);
    add_int(show, "--tgt-len", s->tgt_len, "target tokens for FLOPs", 1, 1u << 20);
    add_json_flag(show, s->json);
    show->callback([s] { run_model_show(*s); });
    auto c = std::make_shared<ConvertOpts>();
    CLI::App *conv = mod->add_subcommand("convert", "write a model file at another precision (f32, bf16, int8)");
    conv->add_option("MODEL", c->in, "model file (from mos-cli route)")->required();
    conv->add_option("--out", c->out, "model file to write (missing directories are created)")->required();
    add_dtype(conv, c->dtype, "the new model's precision: f32, bf16 or int8")->required();
    add_json_flag(conv, c->json);
    conv->callback([c] { run_convert(*c); });
}

}  // namespace mos_cli
