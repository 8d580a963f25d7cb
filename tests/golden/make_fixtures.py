#!/usr/bin/python3
"""tests/golden/make_fixtures.py: regenerate the committed golden fixtures.

    /usr/bin/python3 tests/golden/make_fixtures.py [OUT_DIR]   (default tests/golden/fixtures)

For a tiny search space, three architectures (largest, smallest, mixed) and
each routing mode (none with m = 1, layer-wise and neuron-wise with m = 2) it
writes one safetensors file holding the supernet weights (`param.<name>`),
the inputs (`input.src`, `input.tgt_in`, `input.tgt_out`, I32), the logits
(`out.logits`) and the gradient of the mean label-smoothed loss with respect
to every weight (`grad.<name>`); `__metadata__` holds the space, the arch,
the routing, m, the loss, nll and token count. The C++ model must reproduce
them (tests/golden/test_golden.cpp).
"""
import json
import os
import struct
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mos_reference as ref  # noqa: E402

# A space small enough for committed fixtures but with every elastic
# dimension present (two choices each, qkv divisible by every head count).
SPACE = {
    "format": "mos-space", "version": 1, "name": "golden-tiny", "qkv_dim": 16,
    "encoder": {"embed_dim": [12, 16], "layers": [2, 3], "ffn_dim": [8, 16, 24], "heads": [2, 4]},
    "decoder": {"embed_dim": [12, 16], "layers": [1, 2], "ffn_dim": [8, 16, 24],
                "self_heads": [2, 4], "cross_heads": [2, 4], "cross_k": [1, 2]},
}
VOCAB = 23
PAD = 0
EPS = 0.1
ROUTER_HIDDEN = 8

def arch(de, enc, dd, dec):
    """enc: [(ffn, heads)], dec: [(ffn, self_heads, cross_heads, k)] in libmos's arch schema."""
    return {
        "format": "mos-arch", "version": 1, "qkv_dim": SPACE["qkv_dim"],
        "encoder": {"embed_dim": de, "layers": [{"ffn_dim": f, "heads": h} for f, h in enc]},
        "decoder": {"embed_dim": dd, "layers": [
            {"ffn_dim": f, "self_heads": s, "cross_heads": c, "cross_k": k} for f, s, c, k in dec]},
    }


ARCHS = {
    "largest": arch(16, [(24, 4)] * 3, 16, [(24, 4, 4, 2)] * 2),
    "smallest": arch(12, [(8, 2)] * 2, 12, [(8, 2, 2, 1)]),
    "mixed": arch(16, [(8, 4), (24, 2), (16, 4)], 12, [(16, 2, 4, 2), (24, 4, 2, 1)]),
}
ROUTINGS = {"none": 1, "layer": 2, "neuron": 2}

# Two sentence pairs; the second source and target are padded.
SRC = [[5, 9, 3, 17, 2], [8, 4, 11, 0, 0]]
TGT_IN = [[1, 7, 12, 6], [1, 19, 3, 0]]
TGT_OUT = [[7, 12, 6, 2], [19, 3, 2, 0]]


def write_safetensors(path, tensors, metadata):
    header = {"__metadata__": metadata}
    blobs, offset = [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous()
        dtype = {torch.float32: "F32", torch.int32: "I32"}[t.dtype]
        data = t.numpy().tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":"), sort_keys=True).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "fixtures")
    os.makedirs(out_dir, exist_ok=True)
    torch.manual_seed(0)
    src, tgt_in, tgt_out = (torch.tensor(x, dtype=torch.int64) for x in (SRC, TGT_IN, TGT_OUT))
    for r_i, (routing, m) in enumerate(ROUTINGS.items()):
        shapes = ref.param_shapes(SPACE, VOCAB, routing, m, ROUTER_HIDDEN)
        for a_i, (aname, arch) in enumerate(ARCHS.items()):
            params = ref.random_params(shapes, seed=1000 + 10 * r_i)
            logits = ref.forward(params, SPACE, arch, routing, src, tgt_in, PAD)
            loss, nll, ntok = ref.label_smoothed_loss(logits, tgt_out, PAD, EPS)
            (loss / ntok).backward()
            tensors = {f"param.{k}": v for k, v in params.items()}
            for k, v in params.items():
                tensors[f"grad.{k}"] = v.grad if v.grad is not None else torch.zeros_like(v)
            tensors["out.logits"] = logits.float()
            tensors["input.src"] = src.int()
            tensors["input.tgt_in"] = tgt_in.int()
            tensors["input.tgt_out"] = tgt_out.int()
            meta = {
                "format": "mos-golden", "format_version": "1",
                "space": json.dumps(SPACE), "arch": json.dumps(arch),
                "routing": routing, "experts": str(m), "router_hidden": str(ROUTER_HIDDEN),
                "vocab": str(VOCAB), "pad": str(PAD), "label_smoothing": str(EPS),
                "loss_sum": repr(float(loss)), "nll_sum": repr(float(nll)), "tokens": str(ntok),
            }
            path = os.path.join(out_dir, f"{routing}_{aname}.safetensors")
            write_safetensors(path, tensors, meta)
            print(f"{path}: loss/token {float(loss) / ntok:.6f}, {len(params)} weights")


if __name__ == "__main__":
    main()
