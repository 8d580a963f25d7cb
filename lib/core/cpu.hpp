// lib/core/cpu.hpp: run-time CPU feature detection and the thread-count policy.
//
// The ISA is chosen at run time (never from the build machine's /proc/cpuinfo):
// oneDNN and OpenBLAS dispatch themselves, and our own kernels use
// function multi-versioning where it matters.
#pragma once

#include <string>

namespace mos {

struct CpuFeatures {
    bool avx2 = false;     // AVX2 + FMA
    bool avx512 = false;   // AVX-512 F, BW, VL, DQ
    bool bf16 = false;     // AVX-512 BF16 (vdpbf16ps)
    bool vnni = false;     // AVX-512 VNNI (vpdpbusd)
    bool amx = false;      // AMX-TILE + AMX-BF16 (tile products); a process must still ask the
                           // kernel for the tile state before using them (amx_ready())
};

// Detected once, thread-safe.
const CpuFeatures &cpu_features();
// Whether this process may run AMX tile instructions: the CPU has them and
// Linux granted the process the tile state (arch_prctl ARCH_REQ_XCOMP_PERM),
// asked once, at the first call.
bool amx_ready();

// Threads: one OpenMP pool serves our kernels, oneDNN and OpenBLAS (OpenMP
// build). n <= 0 means "all cores" (omp_get_num_procs()).
int resolve_threads(int n);
int max_threads();

// The OpenBLAS core name ("SkylakeX", "Haswell", ...) or "none".
std::string openblas_core();
std::string openblas_config();

}  // namespace mos
