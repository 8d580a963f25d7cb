"""bench/peers/to_ctranslate2.py: converts a libmos routed model file into a
CTranslate2 model directory, with the Transformer spec API of the ctranslate2
Python package (bench/.venv; scripts/install-deps.sh --peers).

    python bench/peers/to_ctranslate2.py --model M --out DIR [--quantization int8]

How the libmos model (docs/supernet.md) maps onto the spec:
* post-norm (pre_norm=False: a LayerNorm after each residual, no final norm),
  ReLU, LayerNorm epsilon 1e-5;
* embeddings scaled by sqrt(d) (the encoder's E[:, :d_enc], the decoder's
  E[:, :d_dec]); the output projection is the decoder's embedding (tied, no
  bias); when both widths are equal the three share one array;
* positions: libmos's sinusoids stored as an explicit table (0-based, sines
  then cosines, the frequencies of lib/kernels/embedding.cpp), so no offset
  and no formula of CTranslate2's own is involved;
* attention: q, k, v fused as CTranslate2 expects ([3Q, d] for self-attention,
  [2Q, d_enc] for the keys and values of cross-attention), head_dim = Q / heads
  (the q/k/v width Q need not equal the embedding width);
* tokens: the vocabulary is the SentencePiece model's pieces in id order
  (<pad> 0, <unk> 1, <s> 2, </s> 3); the source gets </s> appended
  (add_source_eos) and the decoder starts from </s> (decoder_start_token), as
  libmos does (lib/decode/search.hpp).

CTranslate2 has one head count per stack (the decoder's self- and
cross-attention share it) and its cross-attention reads the last encoder layer
only. An arch outside that (cross_k > 1 in any decoder layer, head counts that
differ between layers or between a decoder layer's self- and cross-attention)
is refused with a message naming the layer. FFN widths may differ per layer:
each layer's weights carry their own shape.
"""
import argparse
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mos_model_file  # noqa: E402

MAX_POSITIONS = 1024  # rows of the position table (CTranslate2's default max input length is 1024)
LN_EPS = 1e-5


class UnsupportedArch(ValueError):
    pass


def sinusoids(n, d):
    """[n, d] positions exactly as lib/kernels/embedding.cpp (double, then f32)."""
    h = d // 2
    step = math.log(10000.0) / (h - 1 if h > 1 else 1)
    p = np.arange(n, dtype=np.float64)[:, None]
    f = np.exp(-np.arange(h, dtype=np.float64) * step)[None, :]
    pos = np.zeros((n, d), dtype=np.float64)
    pos[:, :h] = np.sin(p * f)
    pos[:, h:2 * h] = np.cos(p * f)
    return pos.astype(np.float32)


def check_expressible(m):
    """Raises UnsupportedArch unless CTranslate2's Transformer spec can hold the arch."""
    enc_heads = {L["heads"] for L in m.enc_layers}
    if len(enc_heads) != 1:
        raise UnsupportedArch("CTranslate2 needs one head count in the encoder; this arch has "
                              + ", ".join(f"layer {l}: {L['heads']}" for l, L in enumerate(m.enc_layers)))
    dec_heads = set()
    for l, L in enumerate(m.dec_layers):
        if L["cross_k"] != 1:
            raise UnsupportedArch(f"decoder layer {l} attends to the last {L['cross_k']} encoder layers "
                                  "(cross_k); CTranslate2's cross-attention reads the last encoder layer only")
        dec_heads |= {L["self_heads"], L["cross_heads"]}
    if len(dec_heads) != 1:
        raise UnsupportedArch("CTranslate2 needs one head count for every attention of the decoder; this arch has "
                              + ", ".join(f"layer {l}: self {L['self_heads']}, cross {L['cross_heads']}"
                                          for l, L in enumerate(m.dec_layers)))
    return enc_heads.pop(), dec_heads.pop()


def vocabulary(m):
    if m.tokenizer is None:
        raise UnsupportedArch(f"{m.path} carries no tokenizer: the vocabulary comes from its SentencePiece model")
    import sentencepiece as spm
    sp = spm.SentencePieceProcessor(model_proto=m.tokenizer)
    if sp.get_piece_size() != m.vocab:
        raise UnsupportedArch(f"the tokenizer has {sp.get_piece_size()} pieces, the model {m.vocab}")
    pieces = [sp.id_to_piece(i) for i in range(m.vocab)]
    expect = {0: "<pad>", 1: "<unk>", 2: "<s>", 3: "</s>"}
    for i, p in expect.items():
        if pieces[i] != p:
            raise UnsupportedArch(f"token {i} is '{pieces[i]}', expected '{p}' (docs/data.md)")
    return pieces


def build_spec(m):
    from ctranslate2.specs import common_spec, transformer_spec as ts

    enc_heads, dec_heads = check_expressible(m)
    Q, de, dd = m.qkv, m.enc_embed, m.dec_embed
    w = m.tensors
    enc = ts.TransformerEncoderSpec(len(m.enc_layers), enc_heads, pre_norm=False,
                                    activation=common_spec.Activation.RELU, head_dim=Q // enc_heads)
    dec = ts.TransformerDecoderSpec(len(m.dec_layers), dec_heads, pre_norm=False,
                                    activation=common_spec.Activation.RELU, head_dim=Q // dec_heads)

    def linear(spec, p, bias=True):
        spec.weight = w[p + ".weight"]
        if bias:
            spec.bias = w[p + ".bias"]

    def fused(spec, ps):
        spec.weight = np.concatenate([w[p + ".weight"] for p in ps])
        spec.bias = np.concatenate([w[p + ".bias"] for p in ps])

    def norm(spec, p):
        spec.gamma = w[p + ".weight"]
        spec.beta = w[p + ".bias"]

    E = w["embed.weight"]
    e_enc = np.ascontiguousarray(E[:, :de])
    e_dec = e_enc if dd == de else np.ascontiguousarray(E[:, :dd])
    enc.embeddings[0].weight = e_enc
    enc.scale_embeddings = True  # x sqrt(d)
    enc.position_encodings.encodings = sinusoids(MAX_POSITIONS, de)
    for l, (spec, _) in enumerate(zip(enc.layer, m.enc_layers)):
        p = f"encoder.layers.{l}"
        fused(spec.self_attention.linear[0], [f"{p}.self_attn.{x}" for x in "qkv"])
        linear(spec.self_attention.linear[1], f"{p}.self_attn.out")
        norm(spec.self_attention.layer_norm, f"{p}.self_attn_ln")
        linear(spec.ffn.linear_0, f"{p}.fc1")
        linear(spec.ffn.linear_1, f"{p}.fc2")
        norm(spec.ffn.layer_norm, f"{p}.ffn_ln")
    dec.embeddings.weight = e_dec
    dec.scale_embeddings = True
    dec.position_encodings.encodings = sinusoids(MAX_POSITIONS, dd)
    dec.projection.weight = e_dec  # tied; CTranslate2 stores a shared array once
    for l, (spec, _) in enumerate(zip(dec.layer, m.dec_layers)):
        p = f"decoder.layers.{l}"
        fused(spec.self_attention.linear[0], [f"{p}.self_attn.{x}" for x in "qkv"])
        linear(spec.self_attention.linear[1], f"{p}.self_attn.out")
        norm(spec.self_attention.layer_norm, f"{p}.self_attn_ln")
        linear(spec.attention.linear[0], f"{p}.cross_attn.q")
        fused(spec.attention.linear[1], [f"{p}.cross_attn.{x}" for x in "kv"])
        linear(spec.attention.linear[2], f"{p}.cross_attn.out")
        norm(spec.attention.layer_norm, f"{p}.cross_attn_ln")
        linear(spec.ffn.linear_0, f"{p}.fc1")
        linear(spec.ffn.linear_1, f"{p}.fc2")
        norm(spec.ffn.layer_norm, f"{p}.ffn_ln")

    spec = ts.TransformerSpec(enc, dec)
    pieces = vocabulary(m)
    spec.register_source_vocabulary(pieces)
    spec.register_target_vocabulary(pieces)
    spec.config.unk_token, spec.config.bos_token, spec.config.eos_token = "<unk>", "<s>", "</s>"
    spec.config.decoder_start_token = "</s>"  # libmos's decoder starts from EOS (fairseq)
    spec.config.add_source_eos = True        # a source is its ids followed by EOS
    spec.config.add_source_bos = False
    spec.config.layer_norm_epsilon = LN_EPS
    return spec


def convert(model_path, out_dir, quantization=None):
    """Writes the CTranslate2 model of `model_path` into `out_dir`; returns out_dir.
    Raises UnsupportedArch for an arch CTranslate2 cannot express."""
    m = mos_model_file.load(model_path)
    spec = build_spec(m)
    spec.validate()
    spec.optimize(quantization=quantization)  # aliases the shared embedding, then quantizes if asked
    os.makedirs(out_dir, exist_ok=True)
    spec.save(out_dir)
    return out_dir


def main():
    ap = argparse.ArgumentParser(description="convert a libmos model file into a CTranslate2 model directory")
    ap.add_argument("--model", required=True, help="routed libmos model (mos-cli route)")
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--quantization", help="store weights as int8, int16, float16, ... (default: float32; "
                    "the compute type can also be chosen when loading)")
    a = ap.parse_args()
    try:
        convert(a.model, a.out, a.quantization)
    except (UnsupportedArch, mos_model_file.ModelFileError) as e:
        print(f"to_ctranslate2.py: {e}", file=sys.stderr)
        return 1
    print(f"to_ctranslate2.py: wrote {a.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
