#!/usr/bin/env python3
"""tests/fuzz/make_corpus.py: writes the seed corpora of the fuzz targets:
corpus/safetensors/ (valid files and malformed variants of each kind the reader
must reject) and corpus/space_arch/ (spaces, archs, "space NUL arch" pairs and
malformed variants). Deterministic; rerun after changing it and commit the
result.

usage: make_corpus.py [OUT_DIR]   (default: corpus/ next to this script)
"""
import json
import os
import shutil
import struct
import sys

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def safetensors(header, data=b"", pad=True, length=None):
    h = header if isinstance(header, bytes) else json.dumps(header, separators=(",", ":")).encode()
    if pad:
        h += b" " * ((8 - (8 + len(h)) % 8) % 8)
    n = len(h) if length is None else length
    return struct.pack("<Q", n) + h + data


def tensor(dtype, shape, begin, end):
    return {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}


meta = {"format": "mos-supernet", "format_version": "1", "space": "small"}
w = struct.pack("<6f", *[0.5 * i for i in range(6)])  # 24 bytes: F32 [2, 3]
b = struct.pack("<2q", 7, -7)                        # 16 bytes: I64 [2]
u = b"piece model bytes"                             # 17 bytes: U8 [17]
valid = {"__metadata__": meta, "w": tensor("F32", [2, 3], 0, 24), "b": tensor("I64", [2], 24, 40),
         "u": tensor("U8", [17], 40, 57)}
valid_data = w + b + u

st = {
    "valid": safetensors(valid, valid_data),
    "valid_empty": safetensors({}),
    "valid_metadata_only": safetensors({"__metadata__": meta}),
    "valid_scalar_and_empty": safetensors(
        {"s": tensor("F32", [], 0, 4), "z": tensor("BF16", [0, 4], 4, 4), "i": tensor("I32", [1], 4, 8)},
        struct.pack("<fi", 1.5, 3)),
    "valid_bf16": safetensors({"h": tensor("BF16", [2, 2], 0, 8)}, b"\x80\x3f" * 4),
    "bad_version": safetensors({"__metadata__": dict(meta, format_version="9")}),
    "bad_short": b"\x02\x00\x00",
    "bad_length_past_end": safetensors(valid, valid_data, length=1 << 40),
    "bad_length_tiny": safetensors(b"{}", pad=False, length=1),
    "bad_not_json": safetensors(b"{\"w\": [1, 2", b""),
    "bad_not_object": safetensors([1, 2, 3]),
    "bad_truncated_data": safetensors(valid, valid_data[:-5]),
    "bad_trailing_data": safetensors(valid, valid_data + b"extra"),
    "bad_overlap": safetensors({"a": tensor("F32", [2], 0, 8), "b": tensor("F32", [2], 4, 12)}, bytes(12)),
    "bad_gap": safetensors({"a": tensor("F32", [1], 0, 4), "b": tensor("F32", [1], 8, 12)}, bytes(12)),
    "bad_offsets_reversed": safetensors({"a": tensor("F32", [1], 4, 0)}, bytes(4)),
    "bad_offsets_huge": safetensors({"a": tensor("U8", [1], 18446744073709551615, 18446744073709551615)}),
    "bad_shape_mismatch": safetensors({"a": tensor("F32", [3], 0, 8)}, bytes(8)),
    "bad_shape_overflow": safetensors({"a": tensor("F32", [4294967296, 4294967296, 16], 0, 0)}),
    "bad_shape_negative": safetensors({"a": tensor("F32", [-1], 0, 4)}, bytes(4)),
    "bad_shape_float": safetensors({"a": tensor("F32", [1.5], 0, 4)}, bytes(4)),
    "bad_dtype": safetensors({"a": tensor("F64", [1], 0, 8)}, bytes(8)),
    "bad_dtype_type": safetensors({"a": {"dtype": 4, "shape": [1], "data_offsets": [0, 4]}}, bytes(4)),
    "bad_missing_field": safetensors({"a": {"dtype": "F32", "shape": [1]}}, bytes(4)),
    "bad_unknown_field": safetensors({"a": dict(tensor("F32", [1], 0, 4), extra=1)}, bytes(4)),
    "bad_offsets_three": safetensors({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4, 8]}}, bytes(4)),
    "bad_duplicate_tensor": safetensors(
        b'{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}',
        b"x"),
    "bad_duplicate_field": safetensors(b'{"a":{"dtype":"U8","dtype":"F32","shape":[1],"data_offsets":[0,1]}}', b"x"),
    "bad_deep": safetensors(b'{"a":{"shape":[[[[[[1]]]]]]}}'),
    "bad_metadata_value": safetensors({"__metadata__": {"format": 1}}),
    "bad_metadata_type": safetensors({"__metadata__": [1]}),
    "bad_empty_name": safetensors({"": tensor("U8", [1], 0, 1)}, b"x"),
    "bad_tensor_not_object": safetensors({"a": [1, 2]}),
    "bad_utf8": safetensors(b'{"\xff\xfe":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', b"x"),
    "bad_big_number": safetensors(b'{"a":{"dtype":"U8","shape":[1e999],"data_offsets":[0,1]}}', b"x"),
}

tiny_space = {"name": "tiny", "qkv_dim": 4,
              "encoder": {"embed_dim": [4], "layers": [1], "ffn_dim": [8], "heads": [2]},
              "decoder": {"embed_dim": [2, 4], "layers": [1, 2], "ffn_dim": [6],
                          "self_heads": [1], "cross_heads": [2], "cross_k": [1]}}
small_space = {"format": "mos-space", "version": 1, "name": "small", "qkv_dim": 256,
               "encoder": {"embed_dim": [192, 256], "layers": [2, 3, 4], "ffn_dim": [256, 512, 768, 1024],
                           "heads": [2, 4]},
               "decoder": {"embed_dim": [192, 256], "layers": [1, 2, 3], "ffn_dim": [256, 512, 768, 1024],
                           "self_heads": [2, 4], "cross_heads": [2, 4], "cross_k": [1, 2]}}
tiny_arch = {"encoder": {"embed_dim": 4, "layers": [{"ffn_dim": 8, "heads": 2}]},
             "decoder": {"embed_dim": 2, "layers": [{"ffn_dim": 6, "self_heads": 1, "cross_heads": 2,
                                                     "cross_k": 1}]}}
small_arch = {"format": "mos-arch", "version": 1, "qkv_dim": 256,
              "encoder": {"embed_dim": 256, "layers": [{"ffn_dim": 768, "heads": 4}, {"ffn_dim": 256, "heads": 2}]},
              "decoder": {"embed_dim": 192, "layers": [
                  {"ffn_dim": 768, "self_heads": 2, "cross_heads": 2, "cross_k": 2},
                  {"ffn_dim": 256, "self_heads": 4, "cross_heads": 4, "cross_k": 1}]}}


def j(v):
    return json.dumps(v, indent=1).encode()


def pair(space, arch):
    return j(space) + b"\0" + j(arch)


def with_(obj, path, value):
    obj = json.loads(json.dumps(obj))
    o = obj
    for k in path[:-1]:
        o = o[k]
    o[path[-1]] = value
    return obj


sa = {
    "space_small": j(small_space),
    "space_tiny": j(tiny_space),
    "arch_small": j(small_arch),
    "pair_tiny": pair(tiny_space, tiny_arch),
    "pair_small": pair(small_space, small_arch),
    "space_bad_heads": j(with_(tiny_space, ["encoder", "heads"], [3])),
    "space_bad_order": j(with_(small_space, ["decoder", "ffn_dim"], [512, 256])),
    "space_bad_k": j(with_(tiny_space, ["decoder", "cross_k"], [1, 2])),
    "space_bad_odd": j(with_(tiny_space, ["encoder", "embed_dim"], [3])),
    "space_bad_huge": j(with_(tiny_space, ["encoder", "ffn_dim"], [20480000])),
    "space_bad_version": j(with_(small_space, ["version"], 2)),
    "space_bad_type": j(with_(small_space, ["qkv_dim"], "256")),
    "space_bad_field": j(with_(small_space, ["colour"], 1)),
    "space_bad_empty": j(with_(small_space, ["encoder", "layers"], [])),
    "space_not_json": b'{"qkv_dim": 4, "encoder": {',
    "space_big_number": b'{"qkv_dim": 1e999}',
    "arch_bad_value": j(with_(small_arch, ["decoder", "layers", 0, "self_heads"], 5)),
    "arch_bad_k": pair(tiny_space, with_(tiny_arch, ["decoder", "layers", 0, "cross_k"], 2)),
    "arch_bad_layers": j(with_(small_arch, ["encoder", "layers"], [])),
    "arch_bad_layer_type": j(with_(small_arch, ["encoder", "layers"], [1, 2])),
    "arch_bad_negative": j(with_(small_arch, ["encoder", "embed_dim"], -256)),
    "arch_bad_qkv": j(with_(small_arch, ["qkv_dim"], 512)),
    "arch_bad_version": j(with_(small_arch, ["version"], 3)),
    "pair_bad_arch_json": j(tiny_space) + b"\0{\"encoder\": [",
}

for name, files in (("safetensors", st), ("space_arch", sa)):
    d = os.path.join(out, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for k, v in sorted(files.items()):
        with open(os.path.join(d, k), "wb") as f:
            f.write(v)
    print(f"{d}: {len(files)} files")
