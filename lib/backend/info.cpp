// lib/backend/info.cpp: the oneDNN runtime version (backend/info.hpp).
#include "backend/info.hpp"

#include <oneapi/dnnl/dnnl.h>

namespace mos {

std::string onednn_version() {
    const dnnl_version_t *v = dnnl_version();
    return std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
}

}  // namespace mos
