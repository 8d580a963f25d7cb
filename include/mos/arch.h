/* mos/arch.h: architectures ("archs"), one subnetwork of a search space.
 *
 * An arch fixes every dimension of its space: the encoder and decoder
 * embedding widths and layer counts, and for each layer its FFN width and head
 * counts (and in the decoder how many of the last encoder layers its
 * cross-attention reads). Archs come from a space (largest, smallest, a seeded
 * uniform sample, mutation or crossover of others) or from JSON
 * (docs/formats.md), and give the features the router and the latency
 * predictor read, and analytic parameter and FLOP counts (docs/model-size.md).
 *
 *     mos_arch *arch = NULL;
 *     if (mos_arch_sample(&arch, space, 42) == MOS_OK) {
 *         float feat[10];
 *         uint64_t params = 0;
 *         mos_arch_encode(feat, 10, NULL, arch);
 *         mos_arch_params(&params, arch, 8000);
 *     }
 *     mos_arch_destroy(arch);
 *
 * An arch never changes after creation and keeps its own copy of its space, so
 * it may be shared by any number of threads and outlives the mos_space.
 * Pure C (C99 and C++); part of the stable API.
 */
#ifndef MOS_ARCH_H
#define MOS_ARCH_H

#include <stddef.h>
#include <stdint.h>

#include "mos/base.h"
#include "mos/space.h"

#ifdef __cplusplus
extern "C" {
#endif

/* An immutable arch together with the space it belongs to. */
typedef struct mos_arch mos_arch;

/* Number of features of mos_arch_encode. */
#define MOS_ARCH_FEATURES 10

/* MOS_ARCH_FEATURES as a function, for bindings. A constant: does not change
 * mos_last_error(). Thread-safe. @since 0.1 */
MOS_API size_t mos_arch_features(void);

/* The largest arch of the space: every dimension at its largest value.
 * On failure *out is NULL. Thread-safe. @since 0.1 */
MOS_API mos_status mos_arch_create_largest(mos_arch **out, const mos_space *space);

/* The smallest arch of the space: every dimension at its smallest value.
 * On failure *out is NULL. Thread-safe. @since 0.1 */
MOS_API mos_status mos_arch_create_smallest(mos_arch **out, const mos_space *space);

/* Every dimension drawn uniformly from its choices. The same seed gives the
 * same arch on every platform (the draw order is in docs/formats.md).
 * On failure *out is NULL. Thread-safe. @since 0.1 */
MOS_API mos_status mos_arch_sample(mos_arch **out, const mos_space *space, uint64_t seed);

/* Parse an arch from `len` bytes of JSON text (copied, not retained) and check
 * it against `space`. Returns MOS_FORMAT for malformed JSON or a field of the
 * wrong type, MOS_OUT_OF_RANGE for a value the space does not allow (the
 * message names the field and the allowed values, e.g.
 * "decoder.layers[2].self_heads = 5; allowed 2|4"), MOS_VERSION for an unknown
 * "version". On failure *out is NULL. Thread-safe. @since 0.1 */
MOS_API mos_status mos_arch_create_json(mos_arch **out, const mos_space *space, const char *json,
                                        size_t len);

/* Read an arch JSON file and check it against `space`. Returns MOS_IO (with the
 * path and the system's reason) if the file cannot be read, otherwise as
 * mos_arch_create_json. Thread-safe. @since 0.1 */
MOS_API mos_status mos_arch_load(mos_arch **out, const mos_space *space, const char *path);

/* A child of `parent`: every gene (each global dimension and each per-layer
 * dimension) resampled from the parent's space with probability p in [0, 1];
 * deterministic for a seed. Thread-safe. @since 0.1 */
MOS_API mos_status mos_arch_mutate(mos_arch **out, const mos_arch *parent, double p,
                                   uint64_t seed);

/* A child taking every gene from parent a or b with probability 0.5;
 * deterministic for a seed. Returns MOS_INVALID_ARGUMENT if a and b belong to
 * different spaces. Thread-safe. @since 0.1 */
MOS_API mos_status mos_arch_crossover(mos_arch **out, const mos_arch *a, const mos_arch *b,
                                      uint64_t seed);

/* The canonical JSON of the arch (fixed key order, one layer per line,
 * trailing newline), NUL-terminated, into buf[0..cap). *needed (if needed is
 * not NULL) receives the size including the NUL. Call with buf = NULL, cap = 0
 * to ask. Returns MOS_OUT_OF_RANGE if buf is not NULL and cap is too small
 * (buf then holds "" when cap > 0). Thread-safe. @since 0.1 */
MOS_API mos_status mos_arch_to_json(char *buf, size_t cap, size_t *needed, const mos_arch *arch);

/* Check that `arch` is a point of `space` (which may differ from the space it
 * was made from). Returns MOS_OUT_OF_RANGE naming the first field the space
 * does not allow. Thread-safe. @since 0.1 */
MOS_API mos_status mos_arch_validate(const mos_arch *arch, const mos_space *space);

/* The 10 features (MOS_ARCH_FEATURES) of docs/formats.md, each divided by
 * its dimension's maximum in the arch's space, so all lie in (0, 1]: encoder
 * embed, encoder layers, mean encoder FFN, mean encoder heads, decoder embed,
 * decoder layers, mean decoder FFN, mean decoder self heads, mean decoder cross
 * heads, mean cross-attention k. *needed (if not NULL) receives 10. Call with
 * out = NULL, cap = 0 to ask. Returns MOS_OUT_OF_RANGE if out is not NULL and
 * cap < 10 (out is then unchanged).
 * Thread-safe. @since 0.1 */
MOS_API mos_status mos_arch_encode(float *out, size_t cap, size_t *needed, const mos_arch *arch);

/* The fine per-layer encoding: the 10 features, then (ffn, heads) for each of
 * the space's maximum number of encoder layers, then (ffn, self heads, cross
 * heads, k) for each maximum decoder layer, each divided by its maximum and
 * zero for absent layers (docs/formats.md). Buffer rules as mos_arch_encode.
 * Thread-safe. @since 0.1 */
MOS_API mos_status mos_arch_encode_fine(float *out, size_t cap, size_t *needed,
                                        const mos_arch *arch);

/* Parameters of the arch's routed dense model for a vocabulary of `vocab`
 * tokens (> 0), with the conventions of docs/model-size.md (one tied embedding
 * table of vocab x max(encoder, decoder embed)). Returns MOS_OUT_OF_RANGE for
 * a vocabulary above 2^32. Thread-safe. @since 0.1 */
MOS_API mos_status mos_arch_params(uint64_t *out, const mos_arch *arch, uint64_t vocab);

/* FLOPs (a multiply-add counts 2) of one forward pass of the routed model over
 * src_len source and tgt_len target tokens (all > 0), including
 * cross-attention over k * src_len keys and the output projection
 * (docs/model-size.md). Returns MOS_OUT_OF_RANGE if the count overflows 64
 * bits. Thread-safe. @since 0.1 */
MOS_API mos_status mos_arch_flops(uint64_t *out, const mos_arch *arch, uint64_t vocab,
                                  uint64_t src_len, uint64_t tgt_len);

/* Getters: the number of encoder / decoder layers and the encoder / decoder
 * embedding widths. Return 0 and set mos_last_error() if arch is NULL;
 * otherwise clear it. Thread-safe. @since 0.1 */
MOS_API uint32_t mos_arch_encoder_layers(const mos_arch *arch);
MOS_API uint32_t mos_arch_decoder_layers(const mos_arch *arch);
MOS_API uint32_t mos_arch_encoder_embed_dim(const mos_arch *arch);
MOS_API uint32_t mos_arch_decoder_embed_dim(const mos_arch *arch);

/* The dimensions of encoder layer `index` (0-based). Any output pointer may be
 * NULL. Returns MOS_OUT_OF_RANGE if index >= mos_arch_encoder_layers(arch).
 * Thread-safe. @since 0.1 */
MOS_API mos_status mos_arch_encoder_layer(uint32_t *ffn_dim, uint32_t *heads, const mos_arch *arch,
                                          uint32_t index);

/* The dimensions of decoder layer `index` (0-based). Any output pointer may be
 * NULL. Returns MOS_OUT_OF_RANGE if index >= mos_arch_decoder_layers(arch).
 * Thread-safe. @since 0.1 */
MOS_API mos_status mos_arch_decoder_layer(uint32_t *ffn_dim, uint32_t *self_heads,
                                          uint32_t *cross_heads, uint32_t *cross_k,
                                          const mos_arch *arch, uint32_t index);

/* A new handle to the space the arch was made from (the caller destroys it
 * with mos_space_destroy). On failure *out is NULL. Thread-safe. @since 0.1 */
MOS_API mos_status mos_arch_space(mos_space **out, const mos_arch *arch);

/* Release an arch. NULL is harmless. @since 0.1 */
MOS_API void mos_arch_destroy(mos_arch *arch);

#ifdef __cplusplus
}
#endif

#endif /* MOS_ARCH_H */
