// lib/backend/info.hpp: versions of the compute libraries behind the GEMM
// backends and the build facts of the C API (mos_build_info). Kept here so
// that only lib/backend includes oneDNN headers.
#pragma once

#include <string>

namespace mos {

// oneDNN runtime version, e.g. "2.6.3".
std::string onednn_version();

// "key=value" lines: libmos version, oneDNN version, OpenBLAS core and
// configuration, OpenMP version, cores, and the CPU features libmos uses.
std::string build_info();

}  // namespace mos
