// lib/capi/convert.hpp: conversions between public option structs and core
// configurations that more than one lib/capi file needs (versioned options
// structs; supernet options: mos_supernet_create and mos_train), written once.
#pragma once

#include <cstdint>

#include "core/error.hpp"
#include "model/params.hpp"
#include "model/supernet.hpp"
#include "mos/supernet.h"

namespace mos::capi {

// *options, or `defaults` when options is NULL (docs/api-conventions.md);
// MOS_VERSION naming `what` when its version field is not `version`.
template <typename T>
T versioned(const T *options, const T &defaults, uint32_t version, const char *what) {
    if (!options) return defaults;
    mos::check(options->version == version, MOS_VERSION, what, " version ", options->version, " is not ", version);
    return *options;
}

// MOS_INVALID_ARGUMENT for a value outside the enum.
mos::Routing to_routing(mos_routing r);
mos_routing from_routing(mos::Routing r);

// The core configuration of mos_supernet_options (NULL = the defaults; a
// wrong version is MOS_VERSION). vocab is the options' vocab_size (0 = the
// tokenizer's); tokenizer_path is left to the caller.
mos::SupernetConfig supernet_config(const mos_supernet_options *options);

}  // namespace mos::capi
