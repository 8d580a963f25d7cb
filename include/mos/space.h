/* mos/space.h: search spaces, the set of Transformer shapes a supernet covers.
 *
 * A space lists the allowed values of every elastic dimension: embedding
 * widths, layer counts, per-layer FFN widths and head counts, and how many of
 * the last encoder layers each decoder layer's cross-attention reads. Two
 * presets are built in ("hat-wmt", HAT's WMT space, and "small", a CPU-sized
 * space); any other space is JSON (docs/formats.md).
 *
 *     mos_space *space = NULL;
 *     if (mos_space_create_preset(&space, "small") != MOS_OK) {
 *         fprintf(stderr, "%s\n", mos_last_error());
 *         return 1;
 *     }
 *     size_t n = 0;
 *     mos_space_to_json(NULL, 0, &n, space);   // ask for the size
 *     char *text = malloc(n);
 *     mos_space_to_json(text, n, NULL, space); // canonical JSON, NUL-terminated
 *     ...
 *     free(text);
 *     mos_space_destroy(space);
 *
 * A mos_space never changes after creation, so one may be shared by any number
 * of threads. Pure C (C99 and C++); part of the stable API.
 */
#ifndef MOS_SPACE_H
#define MOS_SPACE_H

#include <stddef.h>
#include <stdint.h>

#include "mos/base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A validated, immutable search space. */
typedef struct mos_space mos_space;

/* Create one of the built-in presets by name ("hat-wmt", "small").
 * Returns MOS_INVALID_ARGUMENT for an unknown name (the message lists the known
 * ones). On failure *out is NULL. Thread-safe. @since 0.1 */
MOS_API mos_status mos_space_create_preset(mos_space **out, const char *name);

/* The name of the i-th built-in preset (0-based), or NULL past the last one:
 *     for (size_t i = 0; mos_space_preset_name(i); i++) ...
 * Static string. Does not change mos_last_error(), so it may be called while
 * reporting another failure. Thread-safe. @since 0.1 */
MOS_API const char *mos_space_preset_name(size_t index);

/* Parse a space from `len` bytes of JSON text (not necessarily NUL-terminated;
 * copied, not retained). Returns MOS_FORMAT for malformed JSON or an invalid
 * space (the message names the field, e.g. "encoder.heads: 3 does not divide
 * qkv_dim 256"), MOS_VERSION for an unknown "version". On failure *out is NULL.
 * Thread-safe. @since 0.1 */
MOS_API mos_status mos_space_create_json(mos_space **out, const char *json, size_t len);

/* Read a space JSON file. Returns MOS_IO (with the path and the system's reason)
 * if the file cannot be read, otherwise as mos_space_create_json.
 * Thread-safe. @since 0.1 */
MOS_API mos_status mos_space_load(mos_space **out, const char *path);

/* The canonical JSON of the space (fixed key order, two-space indentation,
 * trailing newline), NUL-terminated, into buf[0..cap). *needed (if needed is
 * not NULL) receives the size including the NUL. Call with buf = NULL, cap = 0
 * to ask for the size. Returns MOS_OUT_OF_RANGE if buf is not NULL and cap is
 * too small (buf then holds "" when cap > 0).
 * Thread-safe (the space is immutable). @since 0.1 */
MOS_API mos_status mos_space_to_json(char *buf, size_t cap, size_t *needed,
                                     const mos_space *space);

/* The elastic dimensions of a space, for mos_space_choices. Values are
 * explicit and append-only. */
typedef enum mos_space_dim {
    MOS_SPACE_ENCODER_EMBED_DIM = 1,   /* encoder embedding width */
    MOS_SPACE_ENCODER_LAYERS = 2,      /* number of encoder layers */
    MOS_SPACE_ENCODER_FFN_DIM = 3,     /* FFN hidden width, per encoder layer */
    MOS_SPACE_ENCODER_HEADS = 4,       /* self-attention heads, per encoder layer */
    MOS_SPACE_DECODER_EMBED_DIM = 5,   /* decoder embedding width */
    MOS_SPACE_DECODER_LAYERS = 6,      /* number of decoder layers */
    MOS_SPACE_DECODER_FFN_DIM = 7,     /* FFN hidden width, per decoder layer */
    MOS_SPACE_DECODER_SELF_HEADS = 8,  /* self-attention heads, per decoder layer */
    MOS_SPACE_DECODER_CROSS_HEADS = 9, /* cross-attention heads, per decoder layer */
    MOS_SPACE_DECODER_CROSS_K = 10     /* cross-attention reads the last k encoder layers */
} mos_space_dim;

/* The allowed values of one dimension, ascending, into out[0..cap). *needed
 * (if not NULL) receives their number. Call with out = NULL, cap = 0 to ask.
 * Returns MOS_OUT_OF_RANGE if out is not NULL and cap is too small,
 * MOS_INVALID_ARGUMENT for an unknown dim. Thread-safe. @since 0.1 */
MOS_API mos_status mos_space_choices(uint32_t *out, size_t cap, size_t *needed,
                                     const mos_space *space, mos_space_dim dim);

/* The fixed q/k/v projection width of the space (head dim = qkv_dim / heads).
 * Returns 0 and sets mos_last_error() if space is NULL; otherwise clears it.
 * Thread-safe. @since 0.1 */
MOS_API uint32_t mos_space_qkv_dim(const mos_space *space);

/* The space's name (the preset name, or the JSON "name", possibly ""),
 * NUL-terminated, into buf[0..cap). Buffer rules as mos_space_to_json.
 * Thread-safe. @since 0.1 */
MOS_API mos_status mos_space_name(char *buf, size_t cap, size_t *needed, const mos_space *space);

/* Release a space. NULL is harmless. Archs created from the space stay valid
 * (they keep what they need). @since 0.1 */
MOS_API void mos_space_destroy(mos_space *space);

#ifdef __cplusplus
}
#endif

#endif /* MOS_SPACE_H */
