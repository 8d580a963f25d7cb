// tools/mos-cli/cmd_model.cpp: `mos-cli route` (specialise a subnet of a
// supernet checkpoint into a standalone model file) and `mos-cli translate`
// (translate stdin line by line with a model, or with a subnet of a supernet).
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli.hpp"

namespace mos_cli {

namespace {

struct Opts {
    std::string supernet, arch, out, model;
    unsigned beam = 4;
    float lenpen = 0.6f;
    size_t batch = 16;
};

}  // namespace

// Loads the supernet, the arch of its space (a JSON file, or "largest" /
// "smallest"), and routes it. Prints nothing; the caller owns the model.
mos_model *route_from(const std::string &supernet_path, const std::string &arch_spec, double *ms) {
    mos_supernet *net = nullptr;
    check(mos_supernet_load(&net, supernet_path.c_str()));
    std::unique_ptr<mos_supernet, void (*)(mos_supernet *)> net_guard(net, mos_supernet_destroy);
    mos_space *space = nullptr;
    check(mos_supernet_space(net, &space));
    std::unique_ptr<mos_space, void (*)(mos_space *)> space_guard(space, mos_space_destroy);
    mos_arch *arch = load_arch(space, arch_spec);
    std::unique_ptr<mos_arch, void (*)(mos_arch *)> arch_guard(arch, mos_arch_destroy);
    mos_model *model = nullptr;
    const auto t0 = std::chrono::steady_clock::now();
    check(mos_route(net, arch, &model));
    if (ms) *ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    return model;
}

namespace {

void run_route(const Opts &o) {
    double ms = 0.0;
    mos_model *model = route_from(o.supernet, o.arch, &ms);
    std::unique_ptr<mos_model, void (*)(mos_model *)> guard(model, mos_model_destroy);
    check(mos_model_save(model, o.out.c_str()));
    std::fprintf(stderr, "routed %s (%llu weights) in %.2f ms -> %s\n", o.arch.c_str(),
                 static_cast<unsigned long long>(mos_model_num_params(model)), ms, o.out.c_str());
}

void run_translate(const Opts &o) {
    mos_model *model = nullptr;
    if (!o.model.empty()) {
        if (!o.supernet.empty()) throw CliError("give either --model or --supernet, not both");
        check(mos_model_load(&model, o.model.c_str()));
    } else {
        if (o.supernet.empty()) throw CliError("give --model MODEL or --supernet CKPT [--arch ARCH]");
        model = route_from(o.supernet, o.arch, nullptr);
    }
    std::unique_ptr<mos_model, void (*)(mos_model *)> guard(model, mos_model_destroy);
    mos_translate_options t = MOS_TRANSLATE_OPTIONS_INIT;
    t.beam = o.beam;
    t.length_penalty = o.lenpen;
    std::vector<std::string> lines;
    std::string line;
    auto flush = [&] {
        if (lines.empty()) return;
        std::vector<const char *> src(lines.size());
        for (size_t i = 0; i < lines.size(); i++) src[i] = lines[i].c_str();
        mos_texts *out = nullptr;
        check(mos_model_translate(model, src.data(), src.size(), &t, &out));
        for (size_t i = 0; i < mos_texts_count(out); i++) std::printf("%s\n", mos_texts_get(out, i));
        std::fflush(stdout);
        mos_texts_destroy(out);
        lines.clear();
    };
    while (std::getline(std::cin, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        lines.push_back(line);
        if (lines.size() >= o.batch) flush();
    }
    flush();
}

}  // namespace

void register_model(CLI::App &app) {
    auto o = std::make_shared<Opts>();
    CLI::App *route = app.add_subcommand("route", "specialise a subnet of a supernet into a dense model file");
    route->add_option("--supernet", o->supernet, "supernet checkpoint")->required();
    route->add_option("--arch", o->arch, "arch JSON file, or 'largest' / 'smallest'")->required();
    route->add_option("--out", o->out, "model file to write")->required();
    route->callback([o] { run_route(*o); });

    auto t = std::make_shared<Opts>();
    t->arch = "largest";
    CLI::App *tr = app.add_subcommand("translate", "translate stdin (one sentence per line) to stdout");
    tr->add_option("--model", t->model, "model file (from mos-cli route)");
    tr->add_option("--supernet", t->supernet, "or: a supernet checkpoint, routed to --arch first");
    tr->add_option("--arch", t->arch, "arch JSON file, or 'largest' / 'smallest'")->capture_default_str();
    tr->add_option("--beam", t->beam, "beam size; 1 = greedy")->capture_default_str()->check(CLI::Range(1, 64));
    tr->add_option("--lenpen", t->lenpen, "length penalty")->capture_default_str()->check(CLI::Range(0.0, 10.0));
    tr->add_option("--batch", t->batch, "sentences translated together")->capture_default_str()->check(CLI::Range(1, 1024));
    tr->callback([t] { run_translate(*t); });
}

}  // namespace mos_cli
