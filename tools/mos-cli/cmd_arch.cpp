// tools/mos-cli/cmd_arch.cpp: `mos-cli arch sample` (the JSON of a seeded
// uniform sample of a space) and `mos-cli arch show` (checks an arch against a
// space and prints its layers, encodings, parameters and FLOPs; the arch is
// named as everywhere else: largest, smallest, an arch file or a search
// result), through mos/arch.h.
#include <cstdio>
#include <string>

#include "cli.hpp"
#include "json_out.hpp"
#include "options.hpp"

namespace mos_cli {

namespace {

struct SampleArgs {
    std::string space;
    uint64_t seed;
    bool largest = false, smallest = false;
    // The library's default seed (that of training and search).
    SampleArgs() {
        const mos_search_options s = MOS_SEARCH_OPTIONS_INIT;
        seed = s.seed;
    }
};

struct ShowArgs {
    ArchSpec arch;
    std::string space;
    uint64_t vocab, src_len, tgt_len;
    bool json = false;
    ShowArgs() {
        // The vocabulary of a new supernet and the sentence lengths of the
        // latency protocol: the sizes the other commands use by default.
        const mos_train_options t = MOS_TRAIN_OPTIONS_INIT;
        const mos_latency_options l = MOS_LATENCY_OPTIONS_INIT;
        vocab = t.vocab_size;
        src_len = l.src_len;
        tgt_len = l.steps;
    }
};

void run_sample(const SampleArgs &a) {
    const SpacePtr space = open_space(a.space);
    mos_arch *arch = nullptr;
    if (a.largest)
        check(mos_arch_create_largest(&arch, space.get()));
    else if (a.smallest)
        check(mos_arch_create_smallest(&arch, space.get()));
    else
        check(mos_arch_sample(&arch, space.get(), a.seed));
    const ArchPtr owned(arch);
    std::fputs(api_string(mos_arch_to_json, owned.get()).c_str(), stdout);
}

void run_show(const ShowArgs &a) {
    const SpacePtr space = open_space(a.space);
    const ArchPtr arch = resolve_arch(space.get(), a.arch);  // parses and validates
    const ArchFacts f = arch_facts(arch.get(), a.vocab, a.src_len, a.tgt_len);
    if (a.json) {
        Json j;
        j["space"] = api_string(mos_space_name, space.get());
        add_arch_facts(j, arch.get(), f);
        print_json(j);
        return;
    }
    std::printf("valid: %s is an arch of space %s\n", a.arch.describe().c_str(), a.space.c_str());
    std::fputs(arch_facts_text(f).c_str(), stdout);
}

}  // namespace

void register_arch(CLI::App &app) {
    CLI::App *arch = app.add_subcommand("arch", "architectures of a search space: sample, check, size");
    arch->require_subcommand(1);

    static SampleArgs sa;
    CLI::App *sample = arch->add_subcommand(
        "sample", "print the JSON of a seeded uniform sample of a space (the same seed gives the same arch)");
    sample->add_option("--space", sa.space, "preset name (hat-wmt, small) or space JSON file")->required();
    CLI::Option *seed = add_int(sample, "--seed", sa.seed, "seed of the uniform sample");
    // Older spellings of `arch show largest|smallest --json`, kept working.
    CLI::Option *largest = sample->add_flag("--largest", sa.largest)->group("");
    CLI::Option *smallest = sample->add_flag("--smallest", sa.smallest)->group("");
    seed->excludes(largest)->excludes(smallest);
    largest->excludes(smallest);
    sample->callback([] { run_sample(sa); });

    static ShowArgs sh;
    CLI::App *show = arch->add_subcommand(
        "show", "check an arch against a space; print its layers, encodings, parameters and FLOPs");
    show->add_option("ARCH", sh.arch.arch,
                     "largest | smallest | an arch JSON file | a search result (with --budget)")
        ->required();
    add_budget_option(show, sh.arch);
    show->add_option("--space", sh.space, "preset name (hat-wmt, small) or space JSON file")->required();
    add_int(show, "--vocab", sh.vocab, "vocabulary size for parameters and FLOPs", 1, uint64_t{1} << 32);
    add_int(show, "--src-len", sh.src_len, "source tokens for FLOPs", 1, 1u << 20);
    add_int(show, "--tgt-len", sh.tgt_len, "target tokens for FLOPs", 1, 1u << 20);
    add_json_flag(show, sh.json);
    show->callback([] { run_show(sh); });
}

}  // namespace mos_cli
