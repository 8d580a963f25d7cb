// lib/capi/base.cpp: status strings, the thread-local last error, versions and
// build facts (mos/base.h).
#include <cstring>
#include <string>

#include "backend/info.hpp"
#include "capi/guard.hpp"
#include "core/cpu.hpp"
#include "mos/base.h"

namespace mos::capi {

namespace {
thread_local std::string t_last_error;
}

void set_error(const char *fn, const std::string &message) {
    try {
        t_last_error = std::string(fn) + ": " + message;
    } catch (...) {
        t_last_error.clear();  // out of memory while reporting: keep going
    }
}

void clear_error() { t_last_error.clear(); }

}  // namespace mos::capi

extern "C" {

MOS_API const char *mos_status_str(mos_status status) {
    switch (status) {
    case MOS_OK: return "MOS_OK: success";
    case MOS_INVALID_ARGUMENT: return "MOS_INVALID_ARGUMENT: invalid argument";
    case MOS_OUT_OF_MEMORY: return "MOS_OUT_OF_MEMORY: out of memory";
    case MOS_UNSUPPORTED: return "MOS_UNSUPPORTED: not supported by this build or CPU";
    case MOS_OUT_OF_RANGE: return "MOS_OUT_OF_RANGE: size or index out of range";
    case MOS_IO: return "MOS_IO: input/output error";
    case MOS_FORMAT: return "MOS_FORMAT: malformed file or text";
    case MOS_VERSION: return "MOS_VERSION: unknown format or struct version";
    case MOS_ABORTED: return "MOS_ABORTED: aborted by callback";
    case MOS_BACKEND: return "MOS_BACKEND: compute backend error";
    case MOS_INTERNAL: return "MOS_INTERNAL: internal error";
    }
    return "unknown status";
}

MOS_API const char *mos_last_error(void) { return mos::capi::t_last_error.c_str(); }

MOS_API void mos_clear_error(void) { mos::capi::clear_error(); }

MOS_API const char *mos_version_string(void) { return MOS_VERSION_STRING; }

MOS_API uint32_t mos_version_number(void) { return MOS_VERSION_NUMBER; }

MOS_API int mos_has_feature(mos_feature feature) {
    const mos::CpuFeatures &f = mos::cpu_features();
    switch (feature) {
    case MOS_FEATURE_AVX2: return f.avx2;
    case MOS_FEATURE_AVX512: return f.avx512;
    case MOS_FEATURE_BF16: return f.bf16;
    case MOS_FEATURE_OPENMP: return 1;
    case MOS_FEATURE_ONEDNN: return 1;
    case MOS_FEATURE_OPENBLAS: return 1;
    }
    return 0;
}

MOS_API const char *mos_build_info(void) {
    static const std::string info = mos::build_info();
    return info.c_str();
}

}  // extern "C"
