// lib/capi/convert.hpp: conversions between public option structs and core
// configurations that more than one lib/capi file needs (versioned options
// structs, caller-filled result structs, the `_init` twins of the INIT macros,
// per-call thread counts; supernet options: mos_supernet_create and
// mos_train), written once.
#pragma once

#include <cstdint>
#include <cstring>

#include "backend/threads.hpp"
#include "core/error.hpp"
#include "io/safetensors.hpp"
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

// MOS_INVALID_ARGUMENT for a value outside the enum.
mos::Routing to_routing(mos_routing r);
mos_routing from_routing(mos::Routing r);
// MOS_INVALID_ARGUMENT for a value outside the enum. Takes the field's
// address: a C caller may store any int there, and loading an out-of-range
// value as the enum type would be undefined in C++.
mos::DType to_dtype(const mos_dtype *field);

// The core configuration of mos_supernet_options (NULL = the defaults; a
// wrong version is MOS_VERSION). vocab is the options' vocab_size (0 = the
// tokenizer's); tokenizer_path is left to the caller.
mos::SupernetConfig supernet_config(const mos_supernet_options *options);

}  // namespace mos::capi
