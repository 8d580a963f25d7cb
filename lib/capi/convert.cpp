// lib/capi/convert.cpp: option conversions shared by lib/capi files (see convert.hpp).
#include "capi/convert.hpp"

#include <cstring>

#include "core/error.hpp"

namespace mos::capi {

mos::Routing to_routing(mos_routing r) {
    switch (r) {
    case MOS_ROUTING_NONE: return mos::Routing::None;
    case MOS_ROUTING_LAYER: return mos::Routing::Layer;
    case MOS_ROUTING_NEURON: return mos::Routing::Neuron;
    }
    mos::fail(MOS_INVALID_ARGUMENT, "routing ", static_cast<int>(r), " is not one of 0 (none), 1 (layer), 2 (neuron)");
}

mos_routing from_routing(mos::Routing r) {
    switch (r) {
    case mos::Routing::None: return MOS_ROUTING_NONE;
    case mos::Routing::Layer: return MOS_ROUTING_LAYER;
    case mos::Routing::Neuron: break;
    }
    return MOS_ROUTING_NEURON;
}

mos::DType to_dtype(const mos_dtype *field) {
    int d = 0;
    static_assert(sizeof(mos_dtype) == sizeof(int), "mos_dtype is stored as an int");
    std::memcpy(&d, field, sizeof d);
    if (d == MOS_DTYPE_F32) return mos::DType::F32;
    if (d == MOS_DTYPE_BF16) return mos::DType::BF16;
    mos::fail(MOS_INVALID_ARGUMENT, "dtype ", d, " is not MOS_DTYPE_F32 or MOS_DTYPE_BF16");
}

mos::SupernetConfig supernet_config(const mos_supernet_options *options) {
    const mos_supernet_options o = versioned(options, mos_supernet_options MOS_SUPERNET_OPTIONS_INIT,
                                             MOS_SUPERNET_OPTIONS_VERSION, "supernet options");
    mos::SupernetConfig c;
    c.routing = to_routing(o.routing);
    c.experts = o.experts;
    c.router_hidden = o.router_hidden;
    c.vocab = o.vocab_size;
    c.dropout = o.dropout;
    c.attn_dropout = o.attn_dropout;
    c.label_smoothing = o.label_smoothing;
    c.seed = o.seed;
    return c;
}

}  // namespace mos::capi
