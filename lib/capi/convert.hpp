// lib/capi/convert.hpp: conversions between public option structs and core
// configurations that more than one lib/capi file needs (supernet options:
// mos_supernet_create and mos_train), written once.
#pragma once

#include "model/params.hpp"
#include "model/supernet.hpp"
#include "mos/supernet.h"

namespace mos::capi {

// MOS_INVALID_ARGUMENT for a value outside the enum.
mos::Routing to_routing(mos_routing r);
mos_routing from_routing(mos::Routing r);

// The core configuration of mos_supernet_options (NULL = the defaults; a
// wrong version is MOS_VERSION). vocab is the options' vocab_size (0 = the
// tokenizer's); tokenizer_path is left to the caller.
mos::SupernetConfig supernet_config(const mos_supernet_options *options);

}  // namespace mos::capi
