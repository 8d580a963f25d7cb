// tools/mos-cli/cmd_supernet.cpp: `mos-cli supernet export` (a checkpoint's
// weights only, optionally stored as BF16: a file to ship), `mos-cli supernet
// average` (the mean of several checkpoints, exported the same way) and
// `mos-cli supernet builtin` (where a built-in supernet is and its manifest;
// docs/builtin.md).
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cli.hpp"
#include "json_out.hpp"
#include "options.hpp"

namespace mos_cli {

namespace {

struct ExportOpts {
    std::string supernet, out, dtype = "f32";
    bool json = false;
};

void run_export(const ExportOpts &o) {
    prepare_output_file("--out", o.out);
    mos_export_options e = MOS_EXPORT_OPTIONS_INIT;
    e.weights = o.dtype == "bf16" ? MOS_DTYPE_BF16 : MOS_DTYPE_F32;
    const SupernetPtr net = open_supernet(o.supernet);
    check(mos_supernet_export(net.get(), o.out.c_str(), &e));
    const uint64_t params = mos_supernet_num_params(net.get());
    if (o.json) {
        Json j;
        j["supernet"] = o.supernet;
        j["out"] = o.out;
        j["dtype"] = o.dtype;
        j["params"] = params;
        print_json(j);
        return;
    }
    std::fprintf(stderr, "exported %llu weights of %s as %s -> %s\n", static_cast<unsigned long long>(params),
                 o.supernet.c_str(), o.dtype.c_str(), o.out.c_str());
}

struct AverageOpts {
    std::vector<std::string> inputs;
    std::string out, dtype = "f32";
};

void run_average(const AverageOpts &o) {
    prepare_output_file("--out", o.out);
    std::vector<SupernetPtr> nets;
    std::vector<const mos_supernet *> raw;
    for (const std::string &in : o.inputs) {
        nets.push_back(open_supernet(in));
        raw.push_back(nets.back().get());
    }
    mos_supernet *avg = nullptr;
    check(mos_supernet_average(&avg, raw.data(), raw.size()));
    const SupernetPtr mean(avg);
    mos_export_options e = MOS_EXPORT_OPTIONS_INIT;
    e.weights = o.dtype == "bf16" ? MOS_DTYPE_BF16 : MOS_DTYPE_F32;
    check(mos_supernet_export(mean.get(), o.out.c_str(), &e));
    std::fprintf(stderr, "averaged %zu supernets as %s -> %s\n", raw.size(), o.dtype.c_str(), o.out.c_str());
}

struct BuiltinOpts {
    std::string name;
};

void run_builtin(const BuiltinOpts &o) {
    const char *name = o.name.empty() ? nullptr : o.name.c_str();
    size_t needed = 0;
    check(mos_builtin_manifest(nullptr, 0, &needed, name));
    std::string text(needed, '\0');
    check(mos_builtin_manifest(&text[0], text.size(), &needed, name));
    text.resize(needed - 1);
    std::printf("%s\n", text.c_str());
}

}  // namespace

void register_supernet(CLI::App &app) {
    CLI::App *sn = app.add_subcommand("supernet", "supernet files: export weights to ship, the built-in supernets");
    sn->require_subcommand(1);

    auto e = std::make_shared<ExportOpts>();
    CLI::App *ex = sn->add_subcommand(
        "export", "write a supernet's weights only (no optimiser or training state), optionally as BF16");
    ex->add_option("--supernet", e->supernet, "supernet checkpoint or file, or builtin")->required();
    ex->add_option("--out", e->out, "file to write (missing directories are created)")->required();
    ex->add_option("--dtype", e->dtype, "stored weights: f32 (exact) or bf16 (half the size)")
        ->capture_default_str()
        ->check(CLI::IsMember({"f32", "bf16"}));
    add_json_flag(ex, e->json);
    ex->callback([e] { run_export(*e); });

    auto a = std::make_shared<AverageOpts>();
    CLI::App *av = sn->add_subcommand(
        "average", "average the weights of checkpoints of one run and export the mean (weights only)");
    av->add_option("SUPERNETS", a->inputs, "checkpoints of one training run (same space, options, tokenizer)")
        ->required();
    av->add_option("--out", a->out, "file to write (missing directories are created)")->required();
    av->add_option("--dtype", a->dtype, "stored weights: f32 (exact) or bf16 (half the size)")
        ->capture_default_str()
        ->check(CLI::IsMember({"f32", "bf16"}));
    av->callback([a] { run_average(*a); });

    auto b = std::make_shared<BuiltinOpts>();
    CLI::App *bi = sn->add_subcommand("builtin", "print the manifest of a built-in supernet (recipe, checksum, quality)");
    bi->add_option("NAME", b->name, "built-in name (default: bible-en-es)");
    bi->callback([b] { run_builtin(*b); });
}

}  // namespace mos_cli
