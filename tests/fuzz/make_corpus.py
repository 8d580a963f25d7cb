#!/usr/bin/env python3
"""tests/fuzz/make_corpus.py: writes the seed corpora of the fuzz targets:
corpus/safetensors/ (valid files, with and without checksum, and malformed
variants of each kind the reader must reject), corpus/space_arch/ (spaces,
archs, "space NUL arch" pairs and malformed variants), corpus/corpus/ (text
and gzip files, UTF-8 edge cases), corpus/latency_data/ (latency datasets),
corpus/predictor/ (small predictor files) and, given the built
make_capi_seeds, corpus/checkpoint/ (tiny supernets and models, each also
without its checksum so that mutations reach the readers behind it).
Deterministic; rerun after changing it and commit the result. Inputs that a
fuzzer found (committed as found_<what>) are kept.

usage: make_corpus.py [--capi-seeds BUILD/tests/fuzz/make_capi_seeds] [OUT_DIR]
       (OUT_DIR defaults to corpus/ next to this script; without --capi-seeds
       corpus/checkpoint/ is left as it is)
"""
import gzip
import json
import os
import struct
import subprocess
import sys
import tempfile

args = sys.argv[1:]
capi_seeds = None
if args[:1] == ["--capi-seeds"]:
    capi_seeds, args = args[1], args[2:]
out = args[0] if args else os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def crc32c(data, crc=0):
    """CRC32C (Castagnoli), as lib/io/safetensors.cpp computes it."""
    c = crc ^ 0xFFFFFFFF
    for b in data:
        c ^= b
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    return c ^ 0xFFFFFFFF


def canonical(header):
    """The header text the checksum covers (docs/formats.md)."""
    h = json.loads(json.dumps(header))
    m = h.get("__metadata__")
    if isinstance(m, dict):
        m.pop("checksum", None)
        if not m:
            del h["__metadata__"]
    return json.dumps(h, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def with_checksum(header, data):
    h = json.loads(json.dumps(header))
    h.setdefault("__metadata__", {})["checksum"] = f"crc32c:{crc32c(canonical(header)):08x}:{crc32c(data):08x}"
    return h


def poison_weights(image):
    """The same file with every F32 value replaced by NaN, +inf or -inf in turn."""
    n = struct.unpack("<Q", image[:8])[0]
    header = json.loads(image[8:8 + n])
    data = bytearray(image[8 + n:])
    specials = [b"\x00\x00\xc0\x7f", b"\x00\x00\x80\x7f", b"\x00\x00\x80\xff"]
    k = 0
    for name, t in sorted(header.items()):
        if name != "__metadata__" and t["dtype"] == "F32":
            for at in range(t["data_offsets"][0], t["data_offsets"][1], 4):
                data[at:at + 4] = specials[k % 3]
                k += 1
    return image[:8 + n] + bytes(data)


def strip_checksum(image):
    """The same safetensors file without its checksum field (as older writers made it)."""
    n = struct.unpack("<Q", image[:8])[0]
    header = json.loads(image[8:8 + n])
    header.get("__metadata__", {}).pop("checksum", None)
    return safetensors(header, image[8 + n:])


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
    "valid_bf16_specials": safetensors({"h": tensor("BF16", [6], 0, 12), "f": tensor("F32", [1], 12, 16)},
                                       struct.pack("<6H", 0x7F80, 0xFF80, 0x7FC1, 0x7F81, 0x8000, 0x0001) +
                                       struct.pack("<f", 2.5)),
    "valid_checksum": safetensors(with_checksum(valid, valid_data), valid_data),
    "valid_checksum_bf16": safetensors(with_checksum({"__metadata__": meta, "h": tensor("BF16", [3], 0, 6)},
                                                     b"\x80\x3f\x00\x40\x40\x40"), b"\x80\x3f\x00\x40\x40\x40"),
    "bad_checksum_data": safetensors(with_checksum(valid, valid_data), valid_data[:-1] + b"\x00"),
    "bad_checksum_form": safetensors(dict(valid, __metadata__=dict(meta, checksum="crc32c:12")), valid_data),
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

# corpus/corpus: an option byte (max_line_bytes), the source file, NUL, the target file.
def cp(opt, src, tgt):
    return bytes([opt]) + src + b"\0" + tgt


text_en = b"In the beginning\nGod created\nthe heaven and the earth.\n"
text_es = b"En el principio\ncre\xc3\xb3 Dios\nlos cielos y la tierra.\n"
co = {
    "plain": cp(8, text_en, text_es),
    "crlf_bom": cp(8, b"\xef\xbb\xbfone\r\ntwo\r\n", b"uno\r\ndos"),
    "blank_and_long": cp(0, b"a\n \t\nccccccccccccccccccccc\nd\n", b"x\ny\nz\n\n"),
    "counts_differ": cp(8, b"a\nb\n", b"a\n"),
    "empty": cp(8, b"", b"x\n"),
    "utf8_edges": cp(63, "\u00e9 \u4e2d \U0001F600 \uFFFD \U0010FFFF\n".encode(), "\u0800\n".encode()),
    "utf8_overlong": cp(8, b"\xc0\xaf\n", b"x\n"),
    "utf8_surrogate": cp(8, b"\xed\xa0\x80\n", b"x\n"),
    "utf8_too_big": cp(8, b"\xf4\x90\x80\x80\n", b"x\n"),
    "utf8_truncated": cp(8, b"ok\n\xe4\xb8", b"x\ny\n"),
    "gzip": cp(8, gzip.compress(text_en, mtime=0), gzip.compress(text_es, mtime=0)),
    "gzip_truncated": cp(8, gzip.compress(text_en * 4, mtime=0)[:-9], text_es),
    "gzip_two_members": cp(8, gzip.compress(b"a\n", mtime=0) + gzip.compress(b"b\n", mtime=0), b"x\ny\n"),
}

# corpus/latency_data: JSON lines as mos_latency_collect writes them.
lat_head = {"format": "mos-latency-data", "version": 2, "machine": "seed", "threads": 1, "precision": "f32",
            "vocab": 40, "protocol": {"src_len": 30, "steps": 30, "beam": 4, "warmup": 1, "runs": 3},
            "space": dict(tiny_space, format="mos-space", version=1)}


def lat(head, samples):
    return b"".join(json.dumps(x, separators=(",", ":")).encode() + b"\n" for x in [head] + samples)


def lat_arch(dec_embed, dec_layers, enc_ffn=8):
    return {"format": "mos-arch", "version": 1, "qkv_dim": 4,
            "encoder": {"embed_dim": 4, "layers": [{"ffn_dim": enc_ffn, "heads": 2}]},
            "decoder": {"embed_dim": dec_embed,
                        "layers": [{"ffn_dim": 6, "self_heads": 1, "cross_heads": 2, "cross_k": 1}] * dec_layers}}


samples = [{"latency_ms": 1.0 + i, "p10_ms": 0.9 + i, "p90_ms": 1.1 + i, "arch": lat_arch(2 + 2 * (i % 2), 1 + i // 2)}
           for i in range(4)]
ld = {
    "valid": lat(lat_head, samples),
    "valid_blank_lines": lat(lat_head, samples[:2]).replace(b"\n", b"\n\n"),
    "bad_version": lat(dict(lat_head, version=3), samples),
    "bad_format": lat(dict(lat_head, format="mos-space"), samples),
    "bad_arch": lat(lat_head, [dict(samples[0], arch=lat_arch(2, 1, enc_ffn=16))]),
    "bad_latency_type": lat(lat_head, [dict(samples[0], latency_ms="fast")]),
    "bad_threads_type": lat(dict(lat_head, threads="two"), samples),
    "bad_space": lat(dict(lat_head, space=with_(tiny_space, ["qkv_dim"], 3)), samples),
    "bad_protocol": lat(dict(lat_head, protocol={"src_len": 30}), samples),
    "bad_not_json": lat(lat_head, []) + b"{\"latency_ms\": [\n",
    # A float where an int is read: undefined behaviour before the fix (docs/reliability.md).
    "bad_threads_float": lat(dict(lat_head, threads=1e300), samples),
    "empty": b"",
}

# corpus/predictor: small predictor files (hidden 2, one hidden layer), the
# layout lib/search/latency.cpp reads.
def predictor(hidden=2, layers=1, meta_edit=None, drop=None, checksum=True):
    info = {"machine": "seed", "threads": 1, "y_scale_ms": 10.0, "hidden": hidden, "layers": layers,
            "protocol": {"src_len": 30, "steps": 30, "beam": 4, "warmup": 1, "runs": 3},
            "report": {"mape": 5.0, "rmse_ms": 0.5, "kendall_tau": 0.9, "train_samples": 8, "heldout_samples": 2}}
    if meta_edit:
        meta_edit(info)
    header = {"__metadata__": {"format": "mos-latency-predictor", "format_version": "1",
                               "predictor": json.dumps(info), "space": json.dumps(dict(tiny_space, format="mos-space",
                                                                                       version=1))}}
    data = b""
    fan_in = 10
    for l in range(layers + 1):
        fan_out = hidden if l < layers else 1
        for name, shape in ((f"layers.{l}.weight", [fan_out, fan_in]), (f"layers.{l}.bias", [fan_out])):
            n = shape[0] * (shape[1] if len(shape) > 1 else 1)
            if name != drop:
                header[name] = tensor("F32", shape, len(data), len(data) + 4 * n)
                data += struct.pack(f"<{n}f", *[0.1 * ((i % 5) - 2) for i in range(n)])
        fan_in = fan_out
    return safetensors(with_checksum(header, data) if checksum else header, data)


pr = {
    "valid": predictor(),
    "valid_no_checksum": predictor(checksum=False),
    "valid_two_layers": predictor(hidden=3, layers=2, checksum=False),
    "bad_layers": predictor(layers=9, checksum=False),
    "bad_hidden_zero": predictor(hidden=0, checksum=False),
    "bad_missing_tensor": predictor(drop="layers.1.bias", checksum=False),
    "bad_report_missing": predictor(meta_edit=lambda i: i.pop("report"), checksum=False),
    "bad_threads_float": predictor(meta_edit=lambda i: i.update(threads=1e300), checksum=False),
}

ck = None
if capi_seeds:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([capi_seeds, tmp], check=True)
        ck = {}
        for name in sorted(os.listdir(tmp)):
            with open(os.path.join(tmp, name), "rb") as f:
                image = f.read()
            ck[name] = image
            ck[name + "_no_checksum"] = strip_checksum(image)
        # Models whose weights hold NaN and infinities (as a hostile or broken
        # file may): translating must not hit undefined behaviour.
        ck["nan_weights_model"] = poison_weights(ck["neuron_model_largest_no_checksum"])

sets = [("safetensors", st), ("space_arch", sa), ("corpus", co), ("latency_data", ld), ("predictor", pr)]
if ck is not None:
    sets.append(("checkpoint", ck))
# Inputs a fuzzer once found are committed as found_<what> and kept here.
for name, files in sets:
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    kept = 0
    for old in os.listdir(d):
        if old.startswith("found_"):
            kept += 1
        else:
            os.remove(os.path.join(d, old))
    for k, v in sorted(files.items()):
        with open(os.path.join(d, k), "wb") as f:
            f.write(v)
    print(f"{d}: {len(files)} files written, {kept} found_* kept")
