// lib/capi/supernet.cpp: the C API of supernets and mos_route (mos/supernet.h).
#include "capi/buffer.hpp"
#include "capi/convert.hpp"
#include "capi/model_handles.hpp"
#include "model/average.hpp"
#include "model/builtin.hpp"
#include "mos/supernet.h"

using mos::capi::from_routing;
using mos::capi::guard;

extern "C" {

MOS_API mos_status mos_supernet_options_init(mos_supernet_options *options) {
    return guard("mos_supernet_options_init", [&] {
        static const mos_supernet_options k = MOS_SUPERNET_OPTIONS_INIT;
        mos::capi::init_from(options, k, "options");
    });
}

MOS_API mos_status mos_route_options_init(mos_route_options *options) {
    return guard("mos_route_options_init", [&] {
        static const mos_route_options k = MOS_ROUTE_OPTIONS_INIT;
        mos::capi::init_from(options, k, "options");
    });
}

MOS_API const char *mos_routing_name(mos_routing routing) {
    switch (mos::capi::enum_value(routing)) {
    case MOS_ROUTING_NONE: return "none";
    case MOS_ROUTING_LAYER: return "layer";
    case MOS_ROUTING_NEURON: return "neuron";
    }
    return "unknown";
}

MOS_API mos_status mos_routing_parse(mos_routing *out, const char *name) {
    return guard("mos_routing_parse", [&] {
        MOS_REQUIRE_NONNULL(out);
        MOS_REQUIRE_NONNULL(name);
        *out = from_routing(mos::parse_routing(name));
    });
}

MOS_API mos_status mos_supernet_create(mos_supernet **out, const mos_space *space,
                                       const mos_supernet_options *options) {
    if (out) *out = nullptr;
    return guard("mos_supernet_create", [&] {
        MOS_REQUIRE_NONNULL(out);
        MOS_REQUIRE_NONNULL(space);
        const mos::SupernetConfig cfg = mos::capi::supernet_config(options);
        const char *tokenizer = options ? options->tokenizer_path : nullptr;
        auto h = std::make_unique<mos_supernet>();
        h->bundle = mos::make_supernet(*space->space, cfg, tokenizer ? tokenizer : "");
        *out = h.release();
    });
}

MOS_API mos_status mos_supernet_load(mos_supernet **out, const char *path) {
    if (out) *out = nullptr;
    return guard("mos_supernet_load", [&] {
        MOS_REQUIRE_NONNULL(out);
        MOS_REQUIRE_NONNULL(path);
        auto h = std::make_unique<mos_supernet>();
        h->bundle = mos::load_supernet(path);
        *out = h.release();
    });
}

MOS_API mos_status mos_supernet_save(const mos_supernet *net, const char *path) {
    return guard("mos_supernet_save", [&] {
        MOS_REQUIRE_NONNULL(net);
        MOS_REQUIRE_NONNULL(path);
        mos::save_supernet(path, net->bundle);
    });
}

MOS_API mos_status mos_export_options_init(mos_export_options *options) {
    return guard("mos_export_options_init", [&] {
        MOS_REQUIRE_NONNULL(options);
        *options = mos_export_options MOS_EXPORT_OPTIONS_INIT;
    });
}

MOS_API mos_status mos_supernet_export(const mos_supernet *net, const char *path,
                                       const mos_export_options *options) {
    return guard("mos_supernet_export", [&] {
        MOS_REQUIRE_NONNULL(net);
        MOS_REQUIRE_NONNULL(path);
        const mos_export_options o = mos::capi::versioned(options, mos_export_options MOS_EXPORT_OPTIONS_INIT,
                                                          MOS_EXPORT_OPTIONS_VERSION, "export options");
        mos::SupernetSaveOptions how;
        how.weights_only = true;
        how.weights = mos::capi::to_dtype(o.weights);
        mos::save_supernet(path, net->bundle, how);
    });
}

MOS_API mos_status mos_supernet_average(mos_supernet **out, const mos_supernet *const *nets, size_t n) {
    if (out) *out = nullptr;
    return guard("mos_supernet_average", [&] {
        MOS_REQUIRE_NONNULL(out);
        MOS_REQUIRE_NONNULL(nets);
        std::vector<const mos::SupernetBundle *> bundles;
        for (size_t i = 0; i < n; i++) {
            mos::check(nets[i] != nullptr, MOS_INVALID_ARGUMENT, "nets[", i, "] is NULL");
            bundles.push_back(&nets[i]->bundle);
        }
        auto h = std::make_unique<mos_supernet>();
        h->bundle = mos::average_supernets(bundles);
        *out = h.release();
    });
}

MOS_API mos_status mos_supernet_load_builtin(mos_supernet **out, const char *name) {
    if (out) *out = nullptr;
    return guard("mos_supernet_load_builtin", [&] {
        MOS_REQUIRE_NONNULL(out);
        auto h = std::make_unique<mos_supernet>();
        h->bundle = mos::load_builtin(name ? name : "");
        *out = h.release();
    });
}

MOS_API mos_status mos_builtin_manifest(char *buf, size_t cap, size_t *needed, const char *name) {
    if (needed) *needed = 0;
    return guard("mos_builtin_manifest", [&] {
        mos::capi::copy_out(mos::find_builtin(name ? name : "").manifest_json, buf, cap, needed);
    });
}

MOS_API void mos_supernet_destroy(mos_supernet *net) { delete net; }

MOS_API mos_status mos_supernet_get_options(mos_supernet_options *out, const mos_supernet *net) {
    return guard("mos_supernet_get_options", [&] {
        MOS_REQUIRE_NONNULL(out);
        MOS_REQUIRE_NONNULL(net);
        mos::check(out->version == MOS_SUPERNET_OPTIONS_VERSION, MOS_VERSION, "options version ", out->version,
                   " is not ", MOS_SUPERNET_OPTIONS_VERSION);
        const mos::SupernetConfig &c = net->bundle.net->config();
        out->routing = from_routing(c.routing);
        out->experts = static_cast<uint32_t>(c.experts);
        out->router_hidden = static_cast<uint32_t>(c.router_hidden);
        out->vocab_size = static_cast<uint32_t>(c.vocab);
        out->dropout = c.dropout;
        out->attn_dropout = c.attn_dropout;
        out->label_smoothing = c.label_smoothing;
        out->seed = c.seed;
        out->tokenizer_path = nullptr;
    });
}

MOS_API mos_status mos_supernet_space(mos_space **out, const mos_supernet *net) {
    if (out) *out = nullptr;
    return guard("mos_supernet_space", [&] {
        MOS_REQUIRE_NONNULL(out);
        MOS_REQUIRE_NONNULL(net);
        auto h = std::make_unique<mos_space>();
        h->space = std::make_shared<const mos::Space>(net->bundle.space);
        *out = h.release();
    });
}

MOS_API mos_status mos_supernet_get_meta(char *buf, size_t cap, size_t *needed, const mos_supernet *net,
                                         const char *key) {
    return guard("mos_supernet_get_meta", [&] {
        MOS_REQUIRE_NONNULL(net);
        MOS_REQUIRE_NONNULL(key);
        mos::capi::copy_out(mos::supernet_meta(net->bundle, key), buf, cap, needed);
    });
}

MOS_API uint64_t mos_supernet_num_params(const mos_supernet *net) {
    return mos::capi::get_value("mos_supernet_num_params", uint64_t{0}, [&] {
        MOS_REQUIRE_NONNULL(net);
        return static_cast<uint64_t>(net->bundle.net->param_floats());
    });
}

MOS_API bool mos_supernet_has_tokenizer(const mos_supernet *net) {
    return mos::capi::get_value("mos_supernet_has_tokenizer", false, [&] {
        MOS_REQUIRE_NONNULL(net);
        return !net->bundle.tokenizer.empty();
    });
}

MOS_API mos_status mos_supernet_set_tokenizer(mos_supernet *net, const char *path) {
    return guard("mos_supernet_set_tokenizer", [&] {
        MOS_REQUIRE_NONNULL(net);
        MOS_REQUIRE_NONNULL(path);
        mos::set_tokenizer(net->bundle, path);
    });
}

MOS_API mos_status mos_route(mos_model **out, const mos_supernet *net, const mos_arch *arch,
                             const mos_route_options *options) {
    if (out) *out = nullptr;
    return guard("mos_route", [&] {
        MOS_REQUIRE_NONNULL(out);
        MOS_REQUIRE_NONNULL(net);
        MOS_REQUIRE_NONNULL(arch);
        // Version 1 (threads only) is still read: its callers' structs end
        // before dtype, so only its fields are copied.
        const mos_route_options o = mos::capi::versioned(
            options, mos_route_options MOS_ROUTE_OPTIONS_INIT,
            {offsetof(mos_route_options, dtype), sizeof(mos_route_options)}, "options");
        mos::capi::check_threads(o.threads);
        mos::PrecisionOptions p;
        p.precision = mos::capi::to_precision(o.dtype, "options->dtype");
        p.allow_emulation = mos::capi::to_flag(o.emulate, "options->emulate");
        const mos::ThreadScope threads(o.threads);
        auto h = std::make_unique<mos_model>();
        h->bundle = mos::route_bundle(net->bundle, arch->arch, p);
        h->init_tokenizer();
        *out = h.release();
    });
}

}  // extern "C"
