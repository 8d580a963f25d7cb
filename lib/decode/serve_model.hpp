// lib/decode/serve_model.hpp: a routed model as the decoding engine serves it
// (docs/serving.md): every matrix packed once, at load or route time, in the
// layout and precision the kernels want (kernels/packed.hpp), q/k/v of each
// self-attention fused into one [3Q, d] product and the cross-attention keys
// and values into one [2Q, d_enc] product, biases and LayerNorms in f32.
//
// Precision: f32, bf16 or int8 weights (int8: per-output-channel scales). The
// model keeps two precisions: the one it was made or stored in (what files get)
// and the one it computes in, which differs only when the CPU lacks the
// instructions and the caller did not insist (resolve_precision: bf16 or int8
// without AVX2, run in f32 with a warning; bf16 without avx512_bf16 computes in
// bf16 with the widen kernel, kernels/packed.hpp). Weights are held
// once: an int8 model's resident weights are about a quarter of f32's.
//
// Immutable after construction: many threads may decode with one model, each
// with its own EngineState (decode/engine.hpp).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "kernels/nibble.hpp"
#include "kernels/packed.hpp"
#include "model/dense.hpp"

namespace mos {

// The precision a model of precision `want` computes in on this CPU: `want`
// itself where it runs natively (precision_native), or where `allow_emulation`
// asks for the emulated kernels; otherwise f32, with *warning set to a
// sentence saying why (else *warning is cleared).
Precision resolve_precision(Precision want, bool allow_emulation, std::string *warning);

// A stored tensor as the model reads it while being built.
struct TensorView {
    Precision type = Precision::F32;  // F32 floats, BF16 bits (uint16) or I8 values
    const void *data = nullptr;       // row-major, exactly the tensor's shape
    const float *scale = nullptr;     // I8 only: one scale per row
};
// Returns tensor `name` of `shape`; `matrix` says whether it may be stored in a
// reduced precision (vectors are always F32). Throws for a missing tensor.
using TensorLookup =
    std::function<TensorView(const std::string &name, const std::vector<int64_t> &shape, bool matrix)>;

class ServeModel {
public:
    struct Linear {
        PackedMatrix W;        // [N, K]
        std::vector<float> b;  // [N]
    };
    struct Norm {
        std::vector<float> w, b;
    };
    struct EncoderLayer {
        Linear qkv, out, fc1, fc2;  // qkv: [3Q, de] = q, k, v rows
        Norm attn_ln, ffn_ln;
    };
    struct DecoderLayer {
        Linear qkv, out;                      // self-attention, qkv [3Q, dd]
        Linear cross_q, cross_kv, cross_out;  // cross_kv: [2Q, de] = k, v rows
        Linear fc1, fc2;
        Norm self_ln, cross_ln, ffn_ln;
    };
    // One tensor of the file format (docs/supernet.md names and shapes).
    struct TensorSpec {
        std::string name;
        std::vector<int64_t> shape;
        bool matrix;  // a weight matrix (stored in the model's precision)
    };
    // Speculative decoding's draft head (decode/speculative.hpp, docs/serving.md
    // "Speculative decoding"): the output projection in 4 bits, whose scores
    // shortlist tokens, and in int8 rows ([V, d_dec], a scale per row), whose
    // logits choose among the shortlist.
    struct DraftHead {
        NibbleMatrix coarse;
        std::vector<int8_t> rows;
        std::vector<float> scale;
    };
    // A tensor in stored form (export_tensors).
    struct Stored {
        const TensorSpec *spec;
        Precision type;             // F32 for vectors
        std::vector<uint8_t> data;  // row-major, f32 / bf16 bits / int8
        std::vector<float> scale;   // I8: per row
    };

    // Reads every tensor through `get` and packs the matrices for computing in
    // `compute` (tensors stored in another precision are converted: bf16 and
    // int8 widen exactly to f32; f32 rounds to bf16 or quantises to int8).
    // `stored` is the model's own precision (what export_tensors writes).
    ServeModel(const ArchDims &arch, int64_t vocab, int64_t qkv, int32_t pad_id, Precision stored, Precision compute,
               const TensorLookup &get);
    // A routed f32 model made into precision p, computing in `compute`.
    static ServeModel from_dense(const DenseModel &m, Precision p, Precision compute);
    static ServeModel from_dense(const DenseModel &m, Precision p = Precision::F32) { return from_dense(m, p, p); }

    const ArchDims &arch() const { return arch_; }
    int64_t vocab() const { return vocab_; }
    int64_t qkv() const { return qkv_; }
    int32_t pad_id() const { return pad_id_; }
    int64_t embed_cols() const { return arch_.enc_embed > arch_.dec_embed ? arch_.enc_embed : arch_.dec_embed; }
    Precision precision() const { return compute_; }        // what the kernels compute in
    Precision stored_precision() const { return stored_; }  // what files of this model hold
    // Why the model computes in f32 though stored otherwise ("" when it does not).
    const std::string &warning() const { return warning_; }
    void set_warning(std::string w) { warning_ = std::move(w); }

    // The embedding [V, embed_cols] (tied output projection over the first
    // d_dec columns); int8: the column sums over those d_dec columns.
    const PackedMatrix &embed() const { return embed_; }
    const int32_t *embed_colsum() const { return embed_colsum_.empty() ? nullptr : embed_colsum_.data(); }
    const EncoderLayer &enc(size_t l) const { return enc_[l]; }
    const DecoderLayer &dec(size_t l) const { return dec_[l]; }

    // out[i, :d] = sqrt(d) * E[tokens[i], :d] + pos[i * pos_ld, :d] (int8:
    // dequantised rows; pos_ld 0: one position for every row); rows of pad
    // tokens are zero (as kernels/embedding.hpp). MOS_OUT_OF_RANGE for a token
    // outside the vocabulary.
    void embed_rows(float *out, const int32_t *tokens, int64_t n, int64_t d, const float *pos, int64_t pos_ld) const;

    // Parameter count (as DenseModel::num_weights) and resident bytes of the
    // packed matrices, biases and norms (and of the draft head, if added).
    size_t num_weights() const;
    size_t weight_bytes() const;

    const std::vector<TensorSpec> &tensor_specs() const { return specs_; }
    // Every tensor in stored form, in tensor_specs() order.
    std::vector<Stored> export_tensors() const;
    // The f32 model (bf16 widened, int8 dequantised).
    DenseModel to_dense() const;

    // Adds the draft head, made from the output projection of `weights` (this
    // model's own weights in f32, or the f32 model this one was made from: the
    // same arch and vocabulary, else MOS_INVALID_ARGUMENT). Called before the
    // model is shared; decoding then reads it (engine_step_draft).
    void add_draft_head(const DenseModel &weights);
    void drop_draft_head() { head_.reset(); }
    const DraftHead *draft_head() const { return head_.get(); }

private:
    ArchDims arch_;
    int64_t vocab_, qkv_;
    int32_t pad_id_;
    Precision stored_, compute_;
    std::string warning_;
    std::vector<TensorSpec> specs_;
    ModelTensors index_;  // offsets are indices into specs_
    PackedMatrix embed_;
    std::vector<int32_t> embed_colsum_;
    std::vector<EncoderLayer> enc_;
    std::vector<DecoderLayer> dec_;
    std::unique_ptr<DraftHead> head_;
};

}  // namespace mos
