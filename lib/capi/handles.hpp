// lib/capi/handles.hpp: the C++ structs behind the opaque C handles.
//
// Each public `typedef struct mos_x mos_x;` is completed here and nowhere
// else, so every lib/capi/*.cpp sees the same layout. Handles are immutable
// after creation unless their header says otherwise. Shared parts are held by
// shared_ptr so that a handle made from another (an arch from a space) stays
// valid after the other is destroyed. Keep this file to plain structs: helpers
// belong in the .cpp of their header or in capi/buffer.hpp.
#pragma once

#include <memory>

#include "model/arch.hpp"
#include "model/space.hpp"
#include "mos/arch.h"
#include "mos/space.h"

// mos/space.h: a validated search space.
struct mos_space {
    std::shared_ptr<const mos::Space> space;
};

// mos/arch.h: an arch and the space it was made from (validated against it).
struct mos_arch {
    std::shared_ptr<const mos::Space> space;
    mos::Arch arch;
};
