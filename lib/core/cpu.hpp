// lib/core/cpu.hpp: run-time CPU feature detection and the thread-count policy.
//
// The ISA is chosen at run time (never from the build machine's /proc/cpuinfo):
// oneDNN and OpenBLAS dispatch themselves, and our own kernels use
// function multi-versioning where it matters.
#pragma once

#include <cstdint>
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

// The 64-byte operand of ldtilecfg (_tile_loadconfig), palette 1: every tile
// used here is `rows` rows of `colsb` bytes, tiles 0 to count - 1.
struct alignas(64) AmxTileConfig {
    uint8_t palette = 1, start_row = 0;
    uint8_t reserved[14] = {};
    uint16_t colsb[16] = {};
    uint8_t rows[16] = {};
    static AmxTileConfig uniform(int count, uint8_t rows, uint16_t colsb) {
        AmxTileConfig c;
        for (int t = 0; t < count && t < 16; t++) {
            c.rows[t] = rows;
            c.colsb[t] = colsb;
        }
        return c;
    }
};
static_assert(sizeof(AmxTileConfig) == 64, "ldtilecfg reads 64 bytes");

// Threads: one OpenMP pool serves our kernels, oneDNN and OpenBLAS (OpenMP
// build). n <= 0 means "all cores" (omp_get_num_procs()).
int resolve_threads(int n);
int max_threads();

// The OpenBLAS core name ("SkylakeX", "Haswell", ...) or "none".
std::string openblas_core();
std::string openblas_config();

}  // namespace mos
