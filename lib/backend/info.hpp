// lib/backend/info.hpp: versions of the compute libraries behind the GEMM
// backends, for the build facts of the C API. Kept here so that only
// lib/backend includes oneDNN headers.
#pragma once

#include <string>

namespace mos {

// oneDNN runtime version, e.g. "2.6.3".
std::string onednn_version();

}  // namespace mos
