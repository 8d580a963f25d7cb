// lib/capi/convert.hpp: conversions between public option structs and core
// configurations that more than one lib/capi file needs (versioned options
// structs, caller-filled result structs, the `_init` twins of the INIT macros,
// per-call thread counts; supernet options: mos_supernet_create and
// mos_train), written once.
#pragma once

#include <cstdint>
#include <cstring>
#include <initializer_list>

#include "backend/threads.hpp"
#include "capi/enums.hpp"
#include "core/error.hpp"
#include "io/safetensors.hpp"
#include "kernels/packed.hpp"
#include "model/params.hpp"
#include "model/supernet.hpp"
#include "mos/supernet.h"

namespace mos::capi {

// *options, or `defaults` when options is NULL (docs/api-conventions.md);
// MOS_VERSION naming `what` when its version field is not `version`.
template <typename T>
T versioned(const T *options, const T &defaults, uint32_t version, const char *what) {
    if (!options) return defaults;
    mos::check(options->version == version, MOS_VERSION, what, " version ", options->version, " is not ", version);
    return *options;
}

// *options read as the newest version of an options struct that grew by
// appending fields (docs/api-conventions.md, "Options"): `sizes` holds the
// size of each version, sizes[0] the size of version 1 (`offsetof` the first
// field version 2 added) and the last sizeof(T). A struct of an older version
// is read only up to its own end, since its caller's struct ends there; the
// fields it lacks keep their `defaults`. NULL options are the defaults.
// MOS_VERSION naming `what` for a version outside 1..sizes.size(). The result
// carries the newest version number.
template <typename T>
T versioned(const T *options, const T &defaults, std::initializer_list<size_t> sizes, const char *what) {
    const auto newest = static_cast<uint32_t>(sizes.size());
    T o = defaults;
    o.version = newest;
    if (!options) return o;
    mos::check(options->version >= 1u && options->version <= newest, MOS_VERSION, what, " version ",
               options->version, " is not one of 1..", newest);
    const size_t size = sizes.begin()[options->version - 1u];
    mos::check(size <= sizeof(T), MOS_INTERNAL, what, ": version ", options->version, " size ", size, " exceeds ",
               sizeof(T));
    std::memcpy(static_cast<void *>(&o), options, size);
    o.version = newest;
    return o;
}

// The body of every mos_x_init(): *p = the INIT macro's value byte for byte.
// `defaults` is a static object initialised with the macro, so its padding is
// zero and the function's result is fully determined (tests/capi/test_conventions.c
// compares it with the macro by memcmp).
template <typename T>
void init_from(T *p, const T &defaults, const char *name) {
    if (p == nullptr) fail(MOS_INVALID_ARGUMENT, name, " is NULL");
    std::memcpy(static_cast<void *>(p), &defaults, sizeof(T));
}

// A caller-filled result struct (mos_bleu_score, mos_eval_result, ...): its
// version must be `version` (MOS_VERSION naming `what` otherwise, *out left
// alone); then every byte but the version is zeroed, so that a failure later
// in the call leaves it zeroed.
template <typename T>
void begin_result(T *out, uint32_t version, const char *what) {
    if (out == nullptr) fail(MOS_INVALID_ARGUMENT, what, " is NULL");
    mos::check(out->version == version, MOS_VERSION, what, "->version is ", out->version, "; this library knows ",
               version);
    std::memset(static_cast<void *>(out), 0, sizeof(T));
    out->version = version;
}

// The thread count of one call (the `threads` option of translate, route,
// evaluate, latency, search and train): 0..1024, 0 = all cores. The scope
// sets it for the calling thread until the call returns and then restores the
// caller's OpenMP and OpenBLAS counts (backend/threads.hpp, docs/threading.md).
inline void check_threads(int32_t threads) {
    mos::check(threads >= 0 && threads <= 1024, MOS_INVALID_ARGUMENT, "threads ", threads, " outside 0..1024");
}

// MOS_INVALID_ARGUMENT for a value outside the enum; the field is read as
// an int (capi/enums.hpp), so any value a C caller stored there is safe.
mos::Routing to_routing(const mos_routing &field);
mos_routing from_routing(mos::Routing r);
mos::DType to_dtype(const mos_dtype &field);
// A model's precision (mos_route_options.dtype, mos_convert_options.dtype):
// F32, BF16 or INT8; MOS_INVALID_ARGUMENT naming `what` otherwise (read as
// an int, as to_dtype).
mos::Precision to_precision(const mos_dtype &field, const char *what);
// A 0|1 flag of an options struct; MOS_INVALID_ARGUMENT naming `what` otherwise.
bool to_flag(int32_t v, const char *what);

// The core configuration of mos_supernet_options (NULL = the defaults; a
// wrong version is MOS_VERSION). vocab is the options' vocab_size (0 = the
// tokenizer's); tokenizer_path is left to the caller.
mos::SupernetConfig supernet_config(const mos_supernet_options *options);

}  // namespace mos::capi
