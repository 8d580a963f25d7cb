// lib/capi/arch.cpp: the C API of architectures (mos/arch.h).
#include "capi/buffer.hpp"
#include "capi/guard.hpp"
#include "capi/handles.hpp"
#include "model/arch.hpp"
#include "model/size.hpp"
#include "mos/arch.h"

using mos::capi::guard;
using mos::capi::require;

namespace {

mos_arch *make(std::shared_ptr<const mos::Space> space, mos::Arch arch) {
    auto h = std::make_unique<mos_arch>();
    h->space = std::move(space);
    h->arch = std::move(arch);
    return h.release();
}

// A getter that cannot return a status: 0 with the message set on NULL.
template <typename F>
uint32_t get(const char *fn, const mos_arch *arch, F field) {
    return mos::capi::get_value(fn, uint32_t{0}, [&] {
        MOS_REQUIRE_NONNULL(arch);
        return static_cast<uint32_t>(field(arch->arch));
    });
}

}  // namespace

extern "C" {

MOS_API size_t mos_arch_features(void) { return MOS_ARCH_FEATURES; }

MOS_API mos_status mos_arch_create_largest(mos_arch **out, const mos_space *space) {
    if (out) *out = nullptr;
    return guard("mos_arch_create_largest", [&] {
        MOS_REQUIRE_NONNULL(out);
        MOS_REQUIRE_NONNULL(space);
        *out = make(space->space, mos::arch_largest(*space->space));
    });
}

MOS_API mos_status mos_arch_create_smallest(mos_arch **out, const mos_space *space) {
    if (out) *out = nullptr;
    return guard("mos_arch_create_smallest", [&] {
        MOS_REQUIRE_NONNULL(out);
        MOS_REQUIRE_NONNULL(space);
        *out = make(space->space, mos::arch_smallest(*space->space));
    });
}

MOS_API mos_status mos_arch_sample(mos_arch **out, const mos_space *space, uint64_t seed) {
    if (out) *out = nullptr;
    return guard("mos_arch_sample", [&] {
        MOS_REQUIRE_NONNULL(out);
        MOS_REQUIRE_NONNULL(space);
        *out = make(space->space, mos::arch_sample(*space->space, seed));
    });
}

MOS_API mos_status mos_arch_create_json(mos_arch **out, const mos_space *space, const char *json,
                                        size_t len) {
    if (out) *out = nullptr;
    return guard("mos_arch_create_json", [&] {
        MOS_REQUIRE_NONNULL(out);
        MOS_REQUIRE_NONNULL(space);
        const std::string text = mos::capi::text_in(json, len, "json");
        *out = make(space->space, mos::arch_from_json(*space->space, text));
    });
}

MOS_API mos_status mos_arch_load(mos_arch **out, const mos_space *space, const char *path) {
    if (out) *out = nullptr;
    return guard("mos_arch_load", [&] {
        MOS_REQUIRE_NONNULL(out);
        MOS_REQUIRE_NONNULL(space);
        MOS_REQUIRE_NONNULL(path);
        *out = make(space->space, mos::arch_load(*space->space, path));
    });
}

MOS_API mos_status mos_arch_mutate(mos_arch **out, const mos_arch *parent, double p,
                                   uint64_t seed) {
    if (out) *out = nullptr;
    return guard("mos_arch_mutate", [&] {
        MOS_REQUIRE_NONNULL(out);
        MOS_REQUIRE_NONNULL(parent);
        // arch_mutate rejects p outside [0, 1] (and NaN) itself.
        mos::Rng rng(seed);
        *out = make(parent->space, mos::arch_mutate(*parent->space, parent->arch, p, rng));
    });
}

MOS_API mos_status mos_arch_crossover(mos_arch **out, const mos_arch *a, const mos_arch *b,
                                      uint64_t seed) {
    if (out) *out = nullptr;
    return guard("mos_arch_crossover", [&] {
        MOS_REQUIRE_NONNULL(out);
        MOS_REQUIRE_NONNULL(a);
        MOS_REQUIRE_NONNULL(b);
        require(a->space == b->space || *a->space == *b->space,
                "a and b belong to different spaces");
        mos::Rng rng(seed);
        *out = make(a->space, mos::arch_crossover(*a->space, a->arch, b->arch, rng));
    });
}

MOS_API mos_status mos_arch_to_json(char *buf, size_t cap, size_t *needed, const mos_arch *arch) {
    return guard("mos_arch_to_json", [&] {
        MOS_REQUIRE_NONNULL(arch);
        mos::capi::copy_out(mos::arch_to_json(arch->arch), buf, cap, needed);
    });
}

MOS_API mos_status mos_arch_validate(const mos_arch *arch, const mos_space *space) {
    return guard("mos_arch_validate", [&] {
        MOS_REQUIRE_NONNULL(arch);
        MOS_REQUIRE_NONNULL(space);
        mos::validate(*space->space, arch->arch);
    });
}

MOS_API mos_status mos_arch_encode(float *out, size_t cap, size_t *needed, const mos_arch *arch) {
    return guard("mos_arch_encode", [&] {
        MOS_REQUIRE_NONNULL(arch);
        mos::capi::copy_out(mos::arch_encode(*arch->space, arch->arch), out, cap, needed);
    });
}

MOS_API mos_status mos_arch_encode_fine(float *out, size_t cap, size_t *needed,
                                        const mos_arch *arch) {
    return guard("mos_arch_encode_fine", [&] {
        MOS_REQUIRE_NONNULL(arch);
        mos::capi::copy_out(mos::arch_encode_fine(*arch->space, arch->arch), out, cap, needed);
    });
}

MOS_API mos_status mos_arch_params(uint64_t *out, const mos_arch *arch, uint64_t vocab) {
    return guard("mos_arch_params", [&] {
        MOS_REQUIRE_NONNULL(out);
        MOS_REQUIRE_NONNULL(arch);
        *out = mos::arch_params(arch->arch, vocab).total();
    });
}

MOS_API mos_status mos_arch_flops(uint64_t *out, const mos_arch *arch, uint64_t vocab,
                                  uint64_t src_len, uint64_t tgt_len) {
    return guard("mos_arch_flops", [&] {
        MOS_REQUIRE_NONNULL(out);
        MOS_REQUIRE_NONNULL(arch);
        *out = mos::arch_flops(arch->arch, vocab, src_len, tgt_len).total();
    });
}

MOS_API uint32_t mos_arch_encoder_layers(const mos_arch *arch) {
    return get("mos_arch_encoder_layers", arch, [](const mos::Arch &a) { return a.enc.size(); });
}

MOS_API uint32_t mos_arch_decoder_layers(const mos_arch *arch) {
    return get("mos_arch_decoder_layers", arch, [](const mos::Arch &a) { return a.dec.size(); });
}

MOS_API uint32_t mos_arch_encoder_embed_dim(const mos_arch *arch) {
    return get("mos_arch_encoder_embed_dim", arch, [](const mos::Arch &a) { return a.enc_embed; });
}

MOS_API uint32_t mos_arch_decoder_embed_dim(const mos_arch *arch) {
    return get("mos_arch_decoder_embed_dim", arch, [](const mos::Arch &a) { return a.dec_embed; });
}

MOS_API mos_status mos_arch_encoder_layer(uint32_t *ffn_dim, uint32_t *heads, const mos_arch *arch,
                                          uint32_t index) {
    return guard("mos_arch_encoder_layer", [&] {
        MOS_REQUIRE_NONNULL(arch);
        const auto &layers = arch->arch.enc;
        mos::check(index < layers.size(), MOS_OUT_OF_RANGE, "index ", index, "; the arch has ",
                   layers.size(), " encoder layers");
        const mos::EncoderLayerArch &l = layers[index];
        if (ffn_dim) *ffn_dim = static_cast<uint32_t>(l.ffn_dim);
        if (heads) *heads = static_cast<uint32_t>(l.heads);
    });
}

MOS_API mos_status mos_arch_decoder_layer(uint32_t *ffn_dim, uint32_t *self_heads,
                                          uint32_t *cross_heads, uint32_t *cross_k,
                                          const mos_arch *arch, uint32_t index) {
    return guard("mos_arch_decoder_layer", [&] {
        MOS_REQUIRE_NONNULL(arch);
        const auto &layers = arch->arch.dec;
        mos::check(index < layers.size(), MOS_OUT_OF_RANGE, "index ", index, "; the arch has ",
                   layers.size(), " decoder layers");
        const mos::DecoderLayerArch &l = layers[index];
        if (ffn_dim) *ffn_dim = static_cast<uint32_t>(l.ffn_dim);
        if (self_heads) *self_heads = static_cast<uint32_t>(l.self_heads);
        if (cross_heads) *cross_heads = static_cast<uint32_t>(l.cross_heads);
        if (cross_k) *cross_k = static_cast<uint32_t>(l.cross_k);
    });
}

MOS_API mos_status mos_arch_space(mos_space **out, const mos_arch *arch) {
    if (out) *out = nullptr;
    return guard("mos_arch_space", [&] {
        MOS_REQUIRE_NONNULL(out);
        MOS_REQUIRE_NONNULL(arch);
        auto h = std::make_unique<mos_space>();
        h->space = arch->space;
        *out = h.release();
    });
}

MOS_API void mos_arch_destroy(mos_arch *arch) { delete arch; }

}  // extern "C"
