// lib/model/bundle.hpp: bundles, a supernet or a routed model with everything
// that travels with it (space, arch, tokenizer, optimiser state, metadata):
// making them (make_supernet, route_bundle) and their safetensors files
// (docs/formats.md, "Supernet checkpoints and models").
//
// Supernet checkpoint ("mos-supernet", version 1): every parameter tensor under
// its docs/supernet.md name, optional Adam moments as "adam.m.<name>" and
// "adam.v.<name>", the SentencePiece model as the U8 tensor "tokenizer.model";
// metadata "space" (space JSON), "config" (routing, experts, router hidden size,
// vocabulary, dropouts, label smoothing, pad id, seed) and any string fields
// the trainer adds ("train_state", and the corpus languages "src_lang" and
// "tgt_lang").
//
// Model ("mos-model"): the dense tensors of one arch, the tokenizer, metadata
// "space", "arch" (arch JSON), "config" (vocab, pad id and the label smoothing
// of the supernet it was routed from, which its evaluation loss uses; files
// without it load with the supernet default 0.1) and, when known, "src_lang"
// and "tgt_lang" (files without them load with empty languages).
// An f32 model is version 1, as it always was. A bf16 or int8 model is
// version 2 with metadata "dtype" ("bf16" or "int8"): its weight matrices
// (the embedding, q/k/v/out and fc1/fc2 weights) are BF16 tensors, or I8
// tensors each with an F32 tensor "<name>.scale" of one scale per row;
// biases and LayerNorms stay F32 (docs/formats.md).
//
// Readers check every tensor's presence, dtype and shape and reject unknown
// tensors, so a file either loads completely or fails with MOS_FORMAT naming
// the first problem.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "decode/serve_model.hpp"
#include "io/safetensors.hpp"
#include "model/arch.hpp"
#include "model/dense.hpp"
#include "model/space.hpp"
#include "model/supernet.hpp"

namespace mos {

constexpr const char *kSupernetFormat = "mos-supernet";
constexpr const char *kModelFormat = "mos-model";
constexpr int kSupernetFormatVersion = 1;
constexpr int kModelFormatVersion = 2;  // the newest the reader knows; f32 files are still written as 1
// Metadata keys of the corpus languages (supernet bundle meta, model files).
constexpr const char *kSrcLangKey = "src_lang";
constexpr const char *kTgtLangKey = "tgt_lang";

// A supernet with everything that travels with it.
struct SupernetBundle {
    Space space;
    std::unique_ptr<Supernet> net;
    std::string tokenizer;             // serialized SentencePiece model; may be empty
    std::vector<float> adam_m, adam_v; // empty, or param_floats() each
    // Data-parallel updates' prepared weights, one per subnet of an update
    // (train_step_teams), made on first use.
    std::vector<std::unique_ptr<SharedWeights>> shared;
    std::map<std::string, std::string> meta;  // extra string fields (e.g. "train_state")
};

// Creates a supernet for `space` (weights initialised from cfg.seed; cfg.dims is
// overwritten from the space).
SupernetBundle make_supernet(const Space &space, SupernetConfig cfg);
// The same with the SentencePiece model at `tokenizer_path` embedded (empty:
// none). cfg.vocab 0 takes the tokenizer's size; any other must equal it
// (MOS_INVALID_ARGUMENT). Without a tokenizer cfg.vocab must be given.
SupernetBundle make_supernet(const Space &space, SupernetConfig cfg, const std::string &tokenizer_path);
// Replaces b's tokenizer by the SentencePiece model at `path`, whose size must
// be the supernet's vocabulary (MOS_INVALID_ARGUMENT otherwise).
void set_tokenizer(SupernetBundle &b, const std::string &path);

std::string supernet_config_json(const SupernetConfig &cfg);
// Parses the "config" metadata; cfg.dims is left for the caller. MOS_FORMAT on error.
SupernetConfig supernet_config_from_json(const std::string &text);

// How a supernet is written. The default is a checkpoint that resumes training
// exactly (weights, routers, tokenizer, Adam moments, training state).
// weights_only drops the optimiser and training state (a file to ship or to
// route from); `weights` may be DType::BF16 to store the float tensors at half
// size (rounded to nearest even; they load as f32). docs/formats.md.
struct SupernetSaveOptions {
    bool weights_only = false;
    DType weights = DType::F32;
};

void save_supernet(const std::string &path, const SupernetBundle &b, const SupernetSaveOptions &how = {});
std::vector<uint8_t> supernet_to_bytes(const SupernetBundle &b, const SupernetSaveOptions &how = {});
SupernetBundle load_supernet(const std::string &path);
SupernetBundle supernet_from_bytes(const void *data, size_t size, const std::string &source);

// A routed model with what it needs to translate text on its own. The model
// is held once, packed for the decoding engine in its precision
// (decode/serve_model.hpp).
struct ModelBundle {
    Space space;
    Arch arch;
    std::unique_ptr<ServeModel> model;
    std::string tokenizer;
    std::string src_lang, tgt_lang;  // the corpus languages, "" if unknown
    float label_smoothing = SupernetConfig{}.label_smoothing;  // of its supernet: the eps of its loss
};

// How a model's precision is set when it is routed, converted or loaded:
// `precision` (route, convert; a file keeps its own), computed natively or,
// on a CPU without the instructions, in f32 with the model's warning() saying
// so, unless `allow_emulation` asks for the (slower) emulated kernels.
struct PrecisionOptions {
    Precision precision = Precision::F32;
    bool allow_emulation = false;
};

// route() plus the space, arch, tokenizer, corpus languages and label
// smoothing of the supernet, packed at the requested precision.
ModelBundle route_bundle(const SupernetBundle &sb, const Arch &arch, const PrecisionOptions &p = PrecisionOptions());
// The same model at another precision (f32 -> bf16 rounds, -> int8 quantises
// per output channel; bf16 and int8 widen exactly to f32).
ModelBundle convert_model(const ModelBundle &m, const PrecisionOptions &p);

void save_model(const std::string &path, const ModelBundle &m);
std::vector<uint8_t> model_to_bytes(const ModelBundle &m);
// A file keeps its stored precision; only p.allow_emulation is read.
ModelBundle load_model(const std::string &path, const PrecisionOptions &p = PrecisionOptions());
ModelBundle model_from_bytes(const void *data, size_t size, const std::string &source,
                             const PrecisionOptions &p = PrecisionOptions());

// String metadata of a bundle by key (mos_supernet_get_meta,
// mos_model_get_meta), "" when the bundle has none under that key: "format"
// and "format_version" (the file format the bundle is saved as, e.g.
// "mos-model" and "1"), the corpus languages "src_lang" and "tgt_lang" (""
// when unknown), for a model "dtype", "compute_dtype" and "warning" (its
// precision, what it computes in, why they differ), and for a supernet every
// other string field it carries (the trainer's "train_state").
std::string supernet_meta(const SupernetBundle &b, const std::string &key);
std::string model_meta(const ModelBundle &m, const std::string &key);

}  // namespace mos
