// tools/mos-cli/cmd_arch.cpp: `mos-cli arch sample` (the JSON of a seeded,
// largest or smallest arch of a space) and `mos-cli arch show` (checks an arch
// file against a space and prints its layers, encodings, parameters and
// FLOPs), through mos/arch.h.
#include <cinttypes>
#include <cstdio>
#include <string>
#include <vector>

#include "cli.hpp"

namespace mos_cli {

namespace {

struct SampleArgs {
    std::string space;
    uint64_t seed = 0;
    bool largest = false, smallest = false;
};

struct ShowArgs {
    std::string arch, space;
    uint64_t vocab = 8000, src_len = 30, tgt_len = 30;
};

std::string arch_json(const mos_arch *arch) {
    size_t needed = 0;
    check(mos_arch_to_json(arch, nullptr, 0, &needed));
    std::string text(needed, '\0');
    check(mos_arch_to_json(arch, text.data(), text.size(), nullptr));
    text.resize(needed - 1);
    return text;
}

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
    std::fputs(arch_json(owned.get()).c_str(), stdout);
}

std::string join(const std::vector<uint32_t> &v) {
    std::string s;
    for (size_t i = 0; i < v.size(); ++i) s += (i ? " " : "") + std::to_string(v[i]);
    return s;
}

void print_floats(const char *label, mos_status (*encode)(const mos_arch *, float *, size_t, size_t *),
                  const mos_arch *arch) {
    size_t n = 0;
    check(encode(arch, nullptr, 0, &n));
    std::vector<float> f(n);
    check(encode(arch, f.data(), f.size(), nullptr));
    std::printf("%s", label);
    for (float x : f) std::printf(" %.4f", static_cast<double>(x));
    std::printf("\n");
}

void run_show(const ShowArgs &a) {
    const SpacePtr space = open_space(a.space);
    mos_arch *raw = nullptr;
    check(mos_arch_load(&raw, space.get(), a.arch.c_str()));  // parses and validates
    const ArchPtr arch(raw);
    const mos_arch *h = arch.get();

    std::vector<uint32_t> ffn, heads;
    for (uint32_t i = 0; i < mos_arch_encoder_layers(h); ++i) {
        uint32_t f = 0, n = 0;
        check(mos_arch_encoder_layer(h, i, &f, &n));
        ffn.push_back(f);
        heads.push_back(n);
    }
    std::printf("valid: %s is an arch of space %s\n", a.arch.c_str(), a.space.c_str());
    std::printf("encoder: embed_dim %u, %u layers, ffn_dim %s, heads %s\n", mos_arch_encoder_embed_dim(h),
                mos_arch_encoder_layers(h), join(ffn).c_str(), join(heads).c_str());
    std::vector<uint32_t> dffn, self, cross, k;
    for (uint32_t i = 0; i < mos_arch_decoder_layers(h); ++i) {
        uint32_t f = 0, s = 0, c = 0, kk = 0;
        check(mos_arch_decoder_layer(h, i, &f, &s, &c, &kk));
        dffn.push_back(f);
        self.push_back(s);
        cross.push_back(c);
        k.push_back(kk);
    }
    std::printf("decoder: embed_dim %u, %u layers, ffn_dim %s, self_heads %s, cross_heads %s, cross_k %s\n",
                mos_arch_decoder_embed_dim(h), mos_arch_decoder_layers(h), join(dffn).c_str(),
                join(self).c_str(), join(cross).c_str(), join(k).c_str());
    print_floats("encoding:", mos_arch_encode, h);
    print_floats("fine encoding:", mos_arch_encode_fine, h);
    uint64_t params = 0, flops = 0;
    check(mos_arch_params(h, a.vocab, &params));
    check(mos_arch_flops(h, a.vocab, a.src_len, a.tgt_len, &flops));
    std::printf("params: %" PRIu64 " (vocabulary %" PRIu64 ")\n", params, a.vocab);
    std::printf("flops: %" PRIu64 " (vocabulary %" PRIu64 ", %" PRIu64 " source and %" PRIu64
                " target tokens)\n",
                flops, a.vocab, a.src_len, a.tgt_len);
}

}  // namespace

void register_arch(CLI::App &app) {
    CLI::App *arch = app.add_subcommand("arch", "architectures of a search space: sample, check, size");
    arch->require_subcommand(1);

    static SampleArgs sa;
    CLI::App *sample = arch->add_subcommand(
        "sample", "print the JSON of a seeded uniform sample (default seed 0), or the largest or smallest arch");
    sample->add_option("--space", sa.space, "preset name (hat-wmt, small) or space JSON file")->required();
    CLI::Option *seed = sample->add_option("--seed", sa.seed, "seed of the uniform sample (same seed, same arch)");
    CLI::Option *largest = sample->add_flag("--largest", sa.largest, "every dimension at its largest choice");
    CLI::Option *smallest = sample->add_flag("--smallest", sa.smallest, "every dimension at its smallest choice");
    seed->excludes(largest)->excludes(smallest);
    largest->excludes(smallest);
    sample->callback([] { run_sample(sa); });

    static ShowArgs sh;
    CLI::App *show = arch->add_subcommand(
        "show", "check an arch file against a space; print its layers, encodings, parameters and FLOPs");
    show->add_option("ARCH", sh.arch, "arch JSON file")->required();
    show->add_option("--space", sh.space, "preset name (hat-wmt, small) or space JSON file")->required();
    show->add_option("--vocab", sh.vocab, "vocabulary size for parameters and FLOPs (default 8000)")
        ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 32));
    show->add_option("--src-len", sh.src_len, "source tokens for FLOPs (default 30)")
        ->check(CLI::PositiveNumber);
    show->add_option("--tgt-len", sh.tgt_len, "target tokens for FLOPs (default 30)")
        ->check(CLI::PositiveNumber);
    show->callback([] { run_show(sh); });
}

}  // namespace mos_cli
