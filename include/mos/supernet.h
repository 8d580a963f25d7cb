/* mos/supernet.h: Mixture-of-Supernets supernets and mos_route.
 *
 * A supernet holds the weights of every subnet of a search space at once: the
 * attention and embedding weights are shared by slicing (HAT), and each FFN
 * linear holds `experts` matrices that an architecture router mixes into one
 * matrix per subnet (Jawahar et al., ACL 2024 Findings). mos_route collapses a
 * subnet into a standalone dense mos_model (mos/model.h) for serving.
 *
 *     mos_space *space = NULL;
 *     mos_space_create_preset(&space, "small");
 *     mos_supernet_options o = MOS_SUPERNET_OPTIONS_INIT;
 *     o.vocab_size = 8000;
 *     mos_supernet *net = NULL;
 *     if (mos_supernet_create(&net, space, &o) != MOS_OK) { ... mos_last_error() ... }
 *     mos_arch *arch = NULL;
 *     mos_arch_create_largest(&arch, space);
 *     mos_model *model = NULL;
 *     mos_route(&model, net, arch, NULL);   // NULL: default options (all cores)
 *     ...
 *     mos_model_destroy(model); mos_arch_destroy(arch);
 *     mos_supernet_destroy(net); mos_space_destroy(space);
 *
 * Threading: a supernet is read-only except under mos_train (mos/train.h) and
 * mos_supernet_set_tokenizer; any number of threads may route, save or query a
 * supernet that is not being modified (docs/threading.md).
 * Pure C (C99 and C++); part of the stable API.
 */
#ifndef MOS_SUPERNET_H
#define MOS_SUPERNET_H

#include <stddef.h>
#include <stdint.h>

#include "mos/arch.h"
#include "mos/base.h"
#include "mos/space.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mos_supernet mos_supernet;
typedef struct mos_model mos_model;

/* How the FFN experts are mixed (docs/supernet.md, "Mixture-of-Supernets FFN"). */
typedef enum mos_routing {
    MOS_ROUTING_NONE = 0,   /* one expert: HAT's weight-sharing supernet */
    MOS_ROUTING_LAYER = 1,  /* one mixing vector per layer, shared by fc1 and fc2 */
    MOS_ROUTING_NEURON = 2  /* one mixing vector per output neuron of each linear */
} mos_routing;

#define MOS_SUPERNET_OPTIONS_VERSION 1u

/* Options of mos_supernet_create. NULL options mean the defaults shown. */
typedef struct mos_supernet_options {
    uint32_t version;          /* MOS_SUPERNET_OPTIONS_VERSION */
    mos_routing routing;       /* MOS_ROUTING_NEURON */
    uint32_t experts;          /* experts per MoS linear, 1..64 (2); must be 1 for NONE */
    uint32_t router_hidden;    /* router hidden width H, 1..4096 (128) */
    uint32_t vocab_size;       /* joint vocabulary; 0 = take it from the tokenizer (0) */
    float dropout;             /* p_max, scaled by d_active / d_max (0.3) */
    float attn_dropout;        /* attention-probability dropout (0.1) */
    float label_smoothing;     /* epsilon of the loss (0.1) */
    uint64_t seed;             /* weight initialisation (1) */
    const char *tokenizer_path; /* SentencePiece model to embed, or NULL (NULL) */
} mos_supernet_options;

#define MOS_SUPERNET_OPTIONS_INIT \
    {MOS_SUPERNET_OPTIONS_VERSION, MOS_ROUTING_NEURON, 2u, 128u, 0u, 0.3f, 0.1f, 0.1f, 1u, NULL}

/* Function twin of MOS_SUPERNET_OPTIONS_INIT: the same bytes, padding zeroed.
 * Thread-safe. @since 0.1 */
MOS_API mos_status mos_supernet_options_init(mos_supernet_options *options);

/* The name of a routing mode ("none", "layer", "neuron"); "unknown" otherwise.
 * Static string; does not change mos_last_error(). Thread-safe. @since 0.1 */
MOS_API const char *mos_routing_name(mos_routing routing);
/* Parses "none" | "layer" | "neuron" into *out. MOS_INVALID_ARGUMENT otherwise
 * (*out unchanged). Thread-safe. @since 0.1 */
MOS_API mos_status mos_routing_parse(mos_routing *out, const char *name);

/* A new supernet for `space` with freshly initialised weights. The vocabulary
 * is options->vocab_size, or the tokenizer's if it is 0 and tokenizer_path is
 * given (a vocab_size that disagrees with the tokenizer is an error).
 * Returns MOS_INVALID_ARGUMENT (bad option, no vocabulary), MOS_IO / MOS_FORMAT
 * (tokenizer file), MOS_VERSION (options->version), MOS_OUT_OF_MEMORY.
 * Thread-safe. @since 0.1 */
MOS_API mos_status mos_supernet_create(mos_supernet **out, const mos_space *space,
                                       const mos_supernet_options *options);

/* Load a supernet checkpoint (safetensors, format "mos-supernet"). Returns
 * MOS_IO, MOS_FORMAT (the message names the first problem), MOS_VERSION.
 * On failure *out is NULL. Thread-safe. @since 0.1 */
MOS_API mos_status mos_supernet_load(mos_supernet **out, const char *path);

/* Write the checkpoint atomically (temporary file, fsync, rename) to `path`:
 * weights, routers, the tokenizer and any optimiser and training state.
 * Returns MOS_IO. Thread-safe on a supernet that is not being modified.
 * @since 0.1 */
MOS_API mos_status mos_supernet_save(const mos_supernet *net, const char *path);

/* How float weights are kept: in a file (mos_supernet_export: F32, BF16) and
 * in a model, which also computes in that precision (mos_route_options.dtype,
 * mos_model_convert: every value; docs/serving.md). @since 0.1 */
typedef enum mos_dtype {
    MOS_DTYPE_F32 = 0,  /* 32-bit IEEE float, exact */
    MOS_DTYPE_BF16 = 1, /* bfloat16, rounded to nearest even: half the size; a supernet loads it as f32 */
    MOS_DTYPE_INT8 = 2  /* models only: int8 weights with one f32 scale per output channel,
                           about a quarter of f32's size. @since 0.2 */
} mos_dtype;

#define MOS_EXPORT_OPTIONS_VERSION 1u

/* Options of mos_supernet_export. NULL options mean the defaults shown. */
typedef struct mos_export_options {
    uint32_t version;  /* MOS_EXPORT_OPTIONS_VERSION */
    mos_dtype weights; /* MOS_DTYPE_F32 */
} mos_export_options;

#define MOS_EXPORT_OPTIONS_INIT {MOS_EXPORT_OPTIONS_VERSION, MOS_DTYPE_F32}

/* Function twin of MOS_EXPORT_OPTIONS_INIT. Thread-safe. @since 0.1 */
MOS_API mos_status mos_export_options_init(mos_export_options *options);

/* Write the supernet's weights only, atomically: weights, routers, tokenizer
 * and languages, without the optimiser and training state of a checkpoint (a
 * file to ship, load, route and search; training can start from it but not
 * resume it). With options->weights = MOS_DTYPE_BF16 the file is about a third
 * of a checkpoint's size. Returns MOS_INVALID_ARGUMENT (bad dtype), MOS_VERSION,
 * MOS_IO. Thread-safe as mos_supernet_save. @since 0.1 */
MOS_API mos_status mos_supernet_export(const mos_supernet *net, const char *path,
                                       const mos_export_options *options);

/* A new supernet whose weights are the mean of the `n` supernets' weights
 * (checkpoint averaging: the last checkpoints of one run averaged usually
 * translate better than the last alone; docs/builtin.md). They must share the
 * space, the supernet options and the tokenizer; the result has no optimiser or
 * training state. Returns MOS_INVALID_ARGUMENT (n = 0, a NULL entry, supernets
 * that differ: the message names the first), MOS_OUT_OF_MEMORY. Thread-safe on
 * supernets not being trained. @since 0.1 */
MOS_API mos_status mos_supernet_average(mos_supernet **out, const mos_supernet *const *nets, size_t n);

/* Load a built-in supernet that ships with libmos (docs/builtin.md), found
 * without a path: in $MOS_BUILTIN_DIR, beside the installed library, or in the
 * source tree of an uninstalled build. `name` NULL or "" means the default
 * ("bible-en-es"). The file's SHA-256 is checked against its manifest first.
 * Returns MOS_IO (not installed: the message lists every place looked at),
 * MOS_FORMAT (manifest malformed, or checksum mismatch naming both digests),
 * MOS_INVALID_ARGUMENT (a name that is not [a-z0-9_-]). Thread-safe. @since 0.1 */
MOS_API mos_status mos_supernet_load_builtin(mos_supernet **out, const char *name);

/* The manifest (JSON: file, sha256, recipe, commit, measured quality) of a
 * built-in supernet, copied into buf as by every (buf, cap, needed) getter
 * (docs/api-conventions.md); *needed counts the terminating NUL. Errors as
 * mos_supernet_load_builtin, without reading the weights. @since 0.1 */
MOS_API mos_status mos_builtin_manifest(char *buf, size_t cap, size_t *needed, const char *name);

/* Destroying NULL does nothing. @since 0.1 */
MOS_API void mos_supernet_destroy(mos_supernet *net);

/* The supernet's options as created or loaded (tokenizer_path is NULL).
 * out->version must be set by the caller (MOS_SUPERNET_OPTIONS_INIT);
 * MOS_VERSION otherwise. Thread-safe. @since 0.1 */
MOS_API mos_status mos_supernet_get_options(mos_supernet_options *out, const mos_supernet *net);

/* A new handle to the supernet's search space (destroy it with
 * mos_space_destroy). On failure *out is NULL. Thread-safe. @since 0.1 */
MOS_API mos_status mos_supernet_space(mos_space **out, const mos_supernet *net);

/* String metadata the supernet carries, NUL-terminated, into buf[0..cap)
 * (buffer rules as mos_space_to_json). Keys: "format" ("mos-supernet") and
 * "format_version" ("1"), the file format it is saved in; "src_lang" and
 * "tgt_lang", the corpus languages mos_train recorded; any other string field
 * of its checkpoint ("train_state"). A key the supernet does not carry gives
 * "" (an empty string, MOS_OK): an absent key is not an error. Returns
 * MOS_INVALID_ARGUMENT for a NULL net or key. Thread-safe. @since 0.1 */
MOS_API mos_status mos_supernet_get_meta(char *buf, size_t cap, size_t *needed, const mos_supernet *net,
                                         const char *key);

/* Number of trainable floats (experts and routers included). Returns 0 and
 * sets mos_last_error() if net is NULL; otherwise clears it. Thread-safe.
 * @since 0.1 */
MOS_API uint64_t mos_supernet_num_params(const mos_supernet *net);

/* Whether the supernet carries a tokenizer (so its routed models translate
 * text). Returns false and sets mos_last_error() if net is NULL; otherwise
 * clears it. Thread-safe. @since 0.1 */
MOS_API bool mos_supernet_has_tokenizer(const mos_supernet *net);

/* Embed the SentencePiece model file at `path`; its vocabulary must equal the
 * supernet's. Not thread-safe with other calls on `net`. Returns MOS_IO,
 * MOS_FORMAT, MOS_INVALID_ARGUMENT (vocabulary mismatch). @since 0.1 */
MOS_API mos_status mos_supernet_set_tokenizer(mos_supernet *net, const char *path);

#define MOS_ROUTE_OPTIONS_VERSION 2u

/* Options of mos_route. NULL options mean the defaults shown. Version 1 (the
 * first two fields) is still accepted. */
typedef struct mos_route_options {
    uint32_t version;  /* MOS_ROUTE_OPTIONS_VERSION */
    int32_t threads;   /* threads of this call, 0..1024; 0 = all cores (0) */
    /* Version 2, @since 0.2: */
    mos_dtype dtype;   /* the model's precision: F32, BF16 or INT8 (MOS_DTYPE_F32) */
    int32_t emulate;   /* 0: where the CPU lacks the instructions of dtype (bf16 and
                          int8: AVX2) the model computes in f32 and
                          says why (mos_model_get_meta "warning"); 1: compute in
                          dtype with slower emulated kernels (0) */
} mos_route_options;

#define MOS_ROUTE_OPTIONS_INIT {MOS_ROUTE_OPTIONS_VERSION, 0, MOS_DTYPE_F32, 0}

/* Function twin of MOS_ROUTE_OPTIONS_INIT. Thread-safe. @since 0.1 */
MOS_API mos_status mos_route_options_init(mos_route_options *options);

/* Specialise subnet `arch` of `net` into a standalone dense model *out: every
 * expert mix is computed for the arch and every weight is sliced to the arch's
 * sizes. Its outputs equal the supernet's for that arch (to float tolerance)
 * at MOS_DTYPE_F32; options->dtype BF16 rounds every weight matrix to bf16,
 * INT8 quantises it per output channel (docs/serving.md gives the tolerances).
 * The arch must belong to the supernet's space (MOS_OUT_OF_RANGE naming the
 * field otherwise). Runs with options->threads threads and restores the
 * caller's thread counts (docs/threading.md). Returns MOS_VERSION
 * (options->version), MOS_INVALID_ARGUMENT (threads outside 0..1024, a dtype
 * or emulate value outside the enum or 0|1). On
 * failure *out is NULL. Thread-safe on a supernet that is not being trained.
 * @since 0.1 */
MOS_API mos_status mos_route(mos_model **out, const mos_supernet *net, const mos_arch *arch,
                             const mos_route_options *options);

#ifdef __cplusplus
}
#endif

#endif /* MOS_SUPERNET_H */
