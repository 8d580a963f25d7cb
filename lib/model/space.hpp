// lib/model/space.hpp: a search space, the set of Transformer shapes a supernet covers.
//
// Every elastic dimension lists its allowed values (sorted ascending, positive);
// per-layer dimensions (FFN width, head counts, cross-attention k) are chosen
// independently for every layer from one list. The space holds only facts that
// do not depend on the data: the vocabulary size belongs to the supernet.
// docs/formats.md gives the JSON and names the two built-in presets.
#pragma once

#include <string>
#include <vector>

namespace mos {

struct Space {
    std::string name;  // free text; the preset name for a built-in space

    std::vector<int> enc_embed;        // encoder embedding width d_enc
    std::vector<int> enc_layers;       // number of encoder layers
    std::vector<int> enc_ffn;          // FFN hidden width, per encoder layer
    std::vector<int> enc_heads;        // self-attention heads, per encoder layer

    std::vector<int> dec_embed;        // decoder embedding width d_dec
    std::vector<int> dec_layers;       // number of decoder layers
    std::vector<int> dec_ffn;          // FFN hidden width, per decoder layer
    std::vector<int> dec_self_heads;   // self-attention heads, per decoder layer
    std::vector<int> dec_cross_heads;  // cross-attention heads, per decoder layer
    std::vector<int> dec_cross_k;      // cross-attention reads the last k encoder layers

    int qkv_dim = 0;  // q/k/v projection width, fixed (HAT): head dim = qkv_dim / heads

    // Largest values, used to size the supernet and to normalise encodings.
    int max_enc_embed() const { return enc_embed.back(); }
    int max_enc_layers() const { return enc_layers.back(); }
    int max_enc_ffn() const { return enc_ffn.back(); }
    int max_enc_heads() const { return enc_heads.back(); }
    int max_dec_embed() const { return dec_embed.back(); }
    int max_dec_layers() const { return dec_layers.back(); }
    int max_dec_ffn() const { return dec_ffn.back(); }
    int max_dec_self_heads() const { return dec_self_heads.back(); }
    int max_dec_cross_heads() const { return dec_cross_heads.back(); }
    int max_dec_cross_k() const { return dec_cross_k.back(); }
};

// Names of the built-in presets, in a stable order.
const std::vector<std::string> &space_preset_names();

// A built-in preset ("hat-wmt" or "small"). Throws MOS_INVALID_ARGUMENT naming
// the unknown name and the known ones.
Space space_preset(const std::string &name);

// Throws mos::Error(MOS_FORMAT) naming the first offending field, e.g.
// "encoder.heads: 3 does not divide qkv_dim 256".
void validate(const Space &space);

// Parse and validate the JSON form (docs/formats.md). Malformed text or a field
// of the wrong type or value: MOS_FORMAT; an unknown "version": MOS_VERSION.
Space space_from_json(const std::string &text);

// Canonical JSON: fixed key order, two-space indentation, trailing newline.
// space_from_json(space_to_json(s)) == s.
std::string space_to_json(const Space &space);

// Read and parse a space JSON file (MOS_IO with the path if it cannot be read).
Space space_load(const std::string &path);

bool operator==(const Space &a, const Space &b);
inline bool operator!=(const Space &a, const Space &b) { return !(a == b); }

// "2|4": the allowed values of a dimension as used in error messages.
std::string join_choices(const std::vector<int> &choices);

}  // namespace mos
