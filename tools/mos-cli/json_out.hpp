// tools/mos-cli/json_out.hpp: the one way mos-cli writes JSON (--json), with
// nlohmann-json: one object per command on one line of stdout, keys in a
// fixed order, null where a value is absent (never a made-up number); plus
// the arch description shared by `arch show` and `model show`.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "mos/mos.h"

namespace mos_cli {

using Json = nlohmann::ordered_json;

// Writes `j` as one line to stdout and flushes.
void print_json(const Json &j);

// `x` when `present` and finite, else null.
Json number_or_null(double x, bool present = true);

// The canonical JSON of an arch (mos_arch_to_json) as a value.
Json arch_value(const mos_arch *arch);

// What `arch show` and `model show` report about an arch: its layers, the
// 10-feature and fine encodings, parameters for `vocab` tokens and FLOPs of
// one forward pass over src_len / tgt_len tokens (docs/model-size.md).
struct ArchFacts {
    uint32_t enc_embed = 0, dec_embed = 0;
    std::vector<uint32_t> enc_ffn, enc_heads;                      // per encoder layer
    std::vector<uint32_t> dec_ffn, dec_self, dec_cross, dec_k;     // per decoder layer
    std::vector<float> encoding, fine_encoding;
    uint64_t vocab = 0, src_len = 0, tgt_len = 0, params = 0, flops = 0;
};
ArchFacts arch_facts(const mos_arch *arch, uint64_t vocab, uint64_t src_len, uint64_t tgt_len);
// The facts as human lines ("encoder: embed_dim 256, 2 layers, ...").
std::string arch_facts_text(const ArchFacts &f);
// The facts as JSON members: arch (the canonical arch JSON), encoding,
// fine_encoding, vocab, params, src_len, tgt_len, flops.
void add_arch_facts(Json &j, const mos_arch *arch, const ArchFacts &f);

}  // namespace mos_cli
