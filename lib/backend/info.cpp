// lib/backend/info.cpp: library versions and build facts (backend/info.hpp).
#include "backend/info.hpp"

#include <omp.h>

#include <cstdlib>

#include <oneapi/dnnl/dnnl.h>

#include "backend/gemm.hpp"
#include "core/cpu.hpp"
#include "core/error.hpp"
#include "kernels/packed.hpp"
#include "mos/version.h"

namespace mos {

std::string onednn_version() {
    const dnnl_version_t *v = dnnl_version();
    return std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
}

std::string build_info() {
    const CpuFeatures &f = cpu_features();
    std::string s;
    s += "libmos=" MOS_VERSION_STRING "\n";
    s += "onednn=" + onednn_version() + "\n";
    s += "openblas_core=" + openblas_core() + "\n";
    s += "openblas_config=" + openblas_config() + "\n";
    // The GEMM backend and, for auto, its policy here and why (docs/benchmarks.md).
    // An invalid MOS_BACKEND is reported here (GEMMs fail with its message).
    try {
        const Backend b = default_backend();
        const char *env = std::getenv("MOS_BACKEND");
        s += std::string("gemm_backend=") + backend_name(b) + (env && *env ? " (MOS_BACKEND)" : " (default)") + "\n";
        if (b == Backend::Auto) s += auto_policy() + "\n";
    } catch (const Error &e) {
        s += std::string("gemm_backend=invalid: ") + e.what() + "\n";
    }
    // The bf16 kernel per class of rows, and the rates it was chosen from
    // (timed at this call when no bf16 product ran before; docs/serving.md).
    s += "bf16_kernel=" + bf16_kernel_report() + "\n";
    s += "threads=openmp " + std::to_string(_OPENMP) + "\n";
    s += "max_threads=" + std::to_string(max_threads()) + "\n";
    s += std::string("cpu_avx2=") + (f.avx2 ? "1" : "0") + "\n";
    s += std::string("cpu_avx512=") + (f.avx512 ? "1" : "0") + "\n";
    s += std::string("cpu_bf16=") + (f.bf16 ? "1" : "0") + "\n";
    return s;
}

}  // namespace mos
