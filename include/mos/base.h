/* mos/base.h: status codes, error messages, versions and build facts of libmos.
 *
 * Every fallible libmos function returns a mos_status. MOS_OK is 0; every other
 * value is a stable positive code whose meaning never changes. After a failure,
 * mos_last_error() returns a message naming the function and the offending value,
 * valid until the next libmos call on the same thread that clears or sets it
 * (every function taking a handle does; the functions of this header, the
 * _destroy functions and the static lookups mos_routing_name,
 * mos_space_preset_name and mos_arch_features leave it alone).
 *
 * Pure C (C99 and C++); part of the stable API. See docs/api-conventions.md.
 */
#ifndef MOS_BASE_H
#define MOS_BASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mos/export.h"
#include "mos/version.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes. Values are explicit and append-only (checked by tests/abi). */
typedef enum mos_status {
    MOS_OK = 0,                /* success */
    MOS_INVALID_ARGUMENT = 1,  /* NULL pointer, bad value, wrong object */
    MOS_OUT_OF_MEMORY = 2,     /* an allocation failed */
    MOS_UNSUPPORTED = 3,       /* valid request this build or CPU cannot do */
    MOS_OUT_OF_RANGE = 4,      /* a size or index beyond what the object holds */
    MOS_IO = 5,                /* a file could not be opened, read or written */
    MOS_FORMAT = 6,            /* a file or JSON text is malformed */
    MOS_VERSION = 7,           /* a file or options struct of an unknown version */
    MOS_ABORTED = 8,           /* a progress callback asked to stop */
    MOS_BACKEND = 9,           /* oneDNN or OpenBLAS reported an error */
    MOS_INTERNAL = 10          /* a bug in libmos; please report it */
} mos_status;

/* The name of a status ("MOS_FORMAT: malformed file"). Never NULL: an unknown
 * value gives "unknown status". The string is static.
 * Thread-safe. @since 0.1 */
MOS_API const char *mos_status_str(mos_status status);

/* The message of the last failed libmos call on this thread, or "" if none.
 * Borrowed: valid until the next libmos call on this thread that sets or
 * clears it (see above). Never NULL. Thread-safe (thread-local). @since 0.1 */
MOS_API const char *mos_last_error(void);

/* Forget this thread's last error message. Thread-safe. @since 0.1 */
MOS_API void mos_clear_error(void);

/* Runtime twins of the macros in mos/version.h, so a program can compare the
 * header it was compiled with against the library it runs with.
 * Thread-safe. @since 0.1 */
MOS_API const char *mos_version_string(void);
/* MAJOR * 10000 + MINOR * 100 + PATCH, as MOS_VERSION_NUMBER. @since 0.1 */
MOS_API uint32_t mos_version_number(void);

/* CPU and build features that can be queried at run time. Append-only. */
typedef enum mos_feature {
    MOS_FEATURE_AVX2 = 1,       /* CPU: AVX2 + FMA */
    MOS_FEATURE_AVX512 = 2,     /* CPU: AVX-512 F/BW/VL/DQ */
    MOS_FEATURE_BF16 = 3,       /* CPU: avx512_bf16, so bf16 GEMM is usable */
    MOS_FEATURE_OPENMP = 4,     /* build: OpenMP thread runtime */
    MOS_FEATURE_ONEDNN = 5,     /* build: oneDNN backend */
    MOS_FEATURE_OPENBLAS = 6    /* build: OpenBLAS backend */
} mos_feature;

/* 1 if the feature is present, 0 if absent or unknown. Thread-safe. @since 0.1 */
MOS_API int mos_has_feature(mos_feature feature);

/* Facts of this build and machine as "key=value" lines (libmos version,
 * oneDNN version, OpenBLAS core and configuration, thread runtime and
 * maximum threads, CPU features). Static string, computed once.
 * Thread-safe. @since 0.1 */
MOS_API const char *mos_build_info(void);

#ifdef __cplusplus
}
#endif

#endif /* MOS_BASE_H */
