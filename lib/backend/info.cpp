// lib/backend/info.cpp: library versions and build facts (backend/info.hpp).
#include "backend/info.hpp"

#include <omp.h>

#include <oneapi/dnnl/dnnl.h>

#include "core/cpu.hpp"
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
    s += "threads=openmp " + std::to_string(_OPENMP) + "\n";
    s += "max_threads=" + std::to_string(max_threads()) + "\n";
    s += std::string("cpu_avx2=") + (f.avx2 ? "1" : "0") + "\n";
    s += std::string("cpu_avx512=") + (f.avx512 ? "1" : "0") + "\n";
    s += std::string("cpu_bf16=") + (f.bf16 ? "1" : "0") + "\n";
    return s;
}

}  // namespace mos
