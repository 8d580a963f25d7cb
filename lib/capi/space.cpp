// lib/capi/space.cpp: the C API of search spaces (mos/space.h).
#include "capi/buffer.hpp"
#include "capi/guard.hpp"
#include "capi/handles.hpp"
#include "model/space.hpp"
#include "mos/space.h"

using mos::capi::guard;

namespace {

mos_space *make(mos::Space s) {
    auto h = std::make_unique<mos_space>();
    h->space = std::make_shared<const mos::Space>(std::move(s));
    return h.release();
}

const std::vector<int> &choices_of(const mos::Space &s, mos_space_dim dim) {
    switch (dim) {
    case MOS_SPACE_ENCODER_EMBED_DIM: return s.enc_embed;
    case MOS_SPACE_ENCODER_LAYERS: return s.enc_layers;
    case MOS_SPACE_ENCODER_FFN_DIM: return s.enc_ffn;
    case MOS_SPACE_ENCODER_HEADS: return s.enc_heads;
    case MOS_SPACE_DECODER_EMBED_DIM: return s.dec_embed;
    case MOS_SPACE_DECODER_LAYERS: return s.dec_layers;
    case MOS_SPACE_DECODER_FFN_DIM: return s.dec_ffn;
    case MOS_SPACE_DECODER_SELF_HEADS: return s.dec_self_heads;
    case MOS_SPACE_DECODER_CROSS_HEADS: return s.dec_cross_heads;
    case MOS_SPACE_DECODER_CROSS_K: return s.dec_cross_k;
    }
    mos::fail(MOS_INVALID_ARGUMENT, "dim = ", static_cast<int>(dim), "; allowed 1..10");
}

}  // namespace

extern "C" {

MOS_API mos_status mos_space_create_preset(mos_space **out, const char *name) {
    if (out) *out = nullptr;
    return guard("mos_space_create_preset", [&] {
        MOS_REQUIRE_NONNULL(out);
        MOS_REQUIRE_NONNULL(name);
        *out = make(mos::space_preset(name));
    });
}

MOS_API const char *mos_space_preset_name(size_t index) {
    // An iteration sentinel, not an error: it leaves mos_last_error() alone so
    // that a caller may list the presets while reporting another failure.
    const auto &names = mos::space_preset_names();
    return index < names.size() ? names[index].c_str() : nullptr;
}

MOS_API mos_status mos_space_create_json(mos_space **out, const char *json, size_t len) {
    if (out) *out = nullptr;
    return guard("mos_space_create_json", [&] {
        MOS_REQUIRE_NONNULL(out);
        *out = make(mos::space_from_json(mos::capi::text_in(json, len, "json")));
    });
}

MOS_API mos_status mos_space_load(mos_space **out, const char *path) {
    if (out) *out = nullptr;
    return guard("mos_space_load", [&] {
        MOS_REQUIRE_NONNULL(out);
        MOS_REQUIRE_NONNULL(path);
        *out = make(mos::space_load(path));
    });
}

MOS_API mos_status mos_space_to_json(char *buf, size_t cap, size_t *needed,
                                     const mos_space *space) {
    return guard("mos_space_to_json", [&] {
        MOS_REQUIRE_NONNULL(space);
        mos::capi::copy_out(mos::space_to_json(*space->space), buf, cap, needed);
    });
}

MOS_API mos_status mos_space_choices(uint32_t *out, size_t cap, size_t *needed,
                                     const mos_space *space, mos_space_dim dim) {
    return guard("mos_space_choices", [&] {
        MOS_REQUIRE_NONNULL(space);
        const std::vector<int> &c = choices_of(*space->space, dim);
        // Validated spaces hold only positive values.
        const std::vector<uint32_t> v(c.begin(), c.end());
        mos::capi::copy_out(v, out, cap, needed);
    });
}

MOS_API uint32_t mos_space_qkv_dim(const mos_space *space) {
    return mos::capi::get_value("mos_space_qkv_dim", uint32_t{0}, [&] {
        MOS_REQUIRE_NONNULL(space);
        return static_cast<uint32_t>(space->space->qkv_dim);
    });
}

MOS_API mos_status mos_space_name(char *buf, size_t cap, size_t *needed, const mos_space *space) {
    return guard("mos_space_name", [&] {
        MOS_REQUIRE_NONNULL(space);
        mos::capi::copy_out(space->space->name, buf, cap, needed);
    });
}

MOS_API void mos_space_destroy(mos_space *space) { delete space; }

}  // extern "C"
