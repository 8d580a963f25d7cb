// lib/core/cpu.cpp: CPU feature detection (cpuid via the compiler builtins),
// thread-count resolution and the OpenBLAS build facts.
#include "core/cpu.hpp"

#include <omp.h>
#include <sys/syscall.h>
#include <unistd.h>

extern "C" {
// From OpenBLAS (declared here so that only this file depends on its header).
char *openblas_get_corename(void);
char *openblas_get_config(void);
}

namespace mos {

const CpuFeatures &cpu_features() {
    static const CpuFeatures f = [] {
        CpuFeatures r;
        __builtin_cpu_init();
        r.avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
        r.avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                   __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
        // gcc 12's __builtin_cpu_supports has no "avx512bf16": read cpuid leaf 7
        // sub-leaf 1, EAX bit 5 (and sub-leaf 0 for VNNI, the same way).
        unsigned a = 0, b = 0, c = 0, d = 0;
        __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0));
        if (a >= 7) {
            // Leaf 7 sub-leaf 0, ECX bit 11: AVX512_VNNI.
            __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(7), "c"(0));
            r.vnni = r.avx512 && ((c >> 11) & 1u);
            // EDX bit 22: AMX-BF16, bit 24: AMX-TILE.
            r.amx = r.avx512 && ((d >> 22) & 1u) && ((d >> 24) & 1u);
            __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(7), "c"(1));
            r.bf16 = r.avx512 && ((a >> 5) & 1u);
        }
        return r;
    }();
    return f;
}

bool amx_ready() {
    static const bool ready = [] {
        if (!cpu_features().amx) return false;
#if defined(__linux__) && defined(SYS_arch_prctl)
        // ARCH_REQ_XCOMP_PERM (0x1023) for XFEATURE_XTILEDATA (18): without it
        // the first tile instruction faults.
        return syscall(SYS_arch_prctl, 0x1023, 18) == 0;
#else
        return false;
#endif
    }();
    return ready;
}

int max_threads() { return omp_get_num_procs(); }

int resolve_threads(int n) {
    if (n <= 0) return max_threads();
    return n;
}

std::string openblas_core() {
    const char *s = openblas_get_corename();
    return s ? std::string(s) : std::string("none");
}

std::string openblas_config() {
    const char *s = openblas_get_config();
    return s ? std::string(s) : std::string("none");
}

}  // namespace mos
