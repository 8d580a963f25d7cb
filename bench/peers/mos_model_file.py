"""bench/peers/mos_model_file.py: reads a libmos routed model file (safetensors,
format "mos-model"; docs/formats.md and docs/supernet.md) into NumPy arrays,
for the peers of bench/ (the PyTorch model, the CTranslate2 converter).

The reader parses the safetensors container by hand (8-byte header length,
JSON header, data section), so it needs only NumPy. It checks what the peers
rely on: the format name, every tensor's dtype, shape and byte range, and the
tensors an arch needs, and raises ModelFileError naming the problem.

    m = load("model.safetensors")
    m.arch["encoder"]["embed_dim"], m.tensors["embed.weight"].shape, m.tokenizer
"""
import json
import struct

import numpy as np

# Token ids fixed by the tokenizer (docs/data.md).
PAD, UNK, BOS, EOS = 0, 1, 2, 3

_DTYPES = {"F32": np.float32, "BF16": np.uint16, "U8": np.uint8, "I32": np.int32, "I64": np.int64}
TOKENIZER_TENSOR = "tokenizer.model"


class ModelFileError(ValueError):
    pass


class MosModel:
    """A routed dense model: `tensors` (name -> float32 array), `arch` and
    `space` (parsed JSON), `vocab`, `pad_id`, `qkv`, `tokenizer` (the
    SentencePiece model bytes, or None)."""

    def __init__(self, path, tensors, meta, tokenizer):
        self.path = path
        self.tensors = tensors
        self.space = json.loads(meta["space"])
        self.arch = json.loads(meta["arch"])
        cfg = json.loads(meta["config"])
        self.vocab = int(cfg["vocab"])
        self.pad_id = int(cfg["pad_id"])
        self.qkv = int(self.arch.get("qkv_dim", self.space["qkv_dim"]))
        self.tokenizer = tokenizer
        self.enc_embed = int(self.arch["encoder"]["embed_dim"])
        self.dec_embed = int(self.arch["decoder"]["embed_dim"])
        self.enc_layers = self.arch["encoder"]["layers"]
        self.dec_layers = self.arch["decoder"]["layers"]
        self._check()

    def _need(self, name, shape):
        t = self.tensors.get(name)
        if t is None:
            raise ModelFileError(f"{self.path}: tensor '{name}' is missing")
        if tuple(t.shape) != tuple(shape):
            raise ModelFileError(f"{self.path}: tensor '{name}' has shape {list(t.shape)}; "
                                 f"the arch needs {list(shape)}")

    def _check(self):
        Q, de, dd, V = self.qkv, self.enc_embed, self.dec_embed, self.vocab
        self._need("embed.weight", (V, max(de, dd)))

        def attn(p, dq, dkv):
            for w in "qkv":
                self._need(f"{p}.{w}.weight", (Q, dkv if w != "q" else dq))
                self._need(f"{p}.{w}.bias", (Q,))
            self._need(f"{p}.out.weight", (dq, Q))
            self._need(f"{p}.out.bias", (dq,))

        def ln(p, d):
            self._need(f"{p}.weight", (d,))
            self._need(f"{p}.bias", (d,))

        def ffn(p, d, f):
            self._need(f"{p}.fc1.weight", (f, d))
            self._need(f"{p}.fc1.bias", (f,))
            self._need(f"{p}.fc2.weight", (d, f))
            self._need(f"{p}.fc2.bias", (d,))

        for l, L in enumerate(self.enc_layers):
            p = f"encoder.layers.{l}"
            attn(p + ".self_attn", de, de)
            ln(p + ".self_attn_ln", de)
            ffn(p, de, L["ffn_dim"])
            ln(p + ".ffn_ln", de)
        for l, L in enumerate(self.dec_layers):
            p = f"decoder.layers.{l}"
            attn(p + ".self_attn", dd, dd)
            ln(p + ".self_attn_ln", dd)
            attn(p + ".cross_attn", dd, de)
            ln(p + ".cross_attn_ln", dd)
            ffn(p, dd, L["ffn_dim"])
            ln(p + ".ffn_ln", dd)
            if not 1 <= L["cross_k"] <= len(self.enc_layers):
                raise ModelFileError(f"{self.path}: decoder layer {l} has cross_k {L['cross_k']} "
                                     f"with {len(self.enc_layers)} encoder layers")
            for h in (L["self_heads"], L["cross_heads"]):
                if Q % h:
                    raise ModelFileError(f"{self.path}: decoder layer {l}: {h} heads do not divide qkv {Q}")
        for l, L in enumerate(self.enc_layers):
            if Q % L["heads"]:
                raise ModelFileError(f"{self.path}: encoder layer {l}: {L['heads']} heads do not divide qkv {Q}")


def read_safetensors(path):
    """Returns (tensors: name -> ndarray as stored, metadata: dict)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ModelFileError(f"{path}: {len(data)} bytes, not a safetensors file")
    (n,) = struct.unpack("<Q", data[:8])
    if n < 2 or 8 + n > len(data):
        raise ModelFileError(f"{path}: header length {n} does not fit a file of {len(data)} bytes")
    try:
        header = json.loads(data[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ModelFileError(f"{path}: header is not JSON ({e})") from None
    if not isinstance(header, dict):
        raise ModelFileError(f"{path}: header is not a JSON object")
    meta = header.pop("__metadata__", {}) or {}
    body = memoryview(data)[8 + n:]
    tensors = {}
    for name, info in header.items():
        try:
            dt = _DTYPES[info["dtype"]]
            shape = [int(s) for s in info["shape"]]
            b, e = (int(x) for x in info["data_offsets"])
        except (KeyError, TypeError, ValueError):
            raise ModelFileError(f"{path}: tensor '{name}': bad entry {info!r}") from None
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        if not 0 <= b <= e <= len(body) or e - b != count * np.dtype(dt).itemsize:
            raise ModelFileError(f"{path}: tensor '{name}': offsets [{b}, {e}] do not hold {info['dtype']} {shape}")
        a = np.frombuffer(body[b:e], dtype=dt).reshape(shape)
        if info["dtype"] == "BF16":  # widen to float32: bf16 is the top half of an f32
            a = (a.astype(np.uint32) << 16).view(np.float32)
        tensors[name] = a
    return tensors, meta


def load(path):
    tensors, meta = read_safetensors(path)
    if meta.get("format") != "mos-model":
        raise ModelFileError(f"{path}: format '{meta.get('format')}' is not 'mos-model' (a routed model; "
                             "make one with `mos-cli route --supernet CKPT --arch A --out MODEL`)")
    for key in ("space", "arch", "config"):
        if key not in meta:
            raise ModelFileError(f"{path}: metadata '{key}' is missing")
    tok = tensors.pop(TOKENIZER_TENSOR, None)
    tokenizer = tok.tobytes() if tok is not None else None
    floats = {k: np.array(v, dtype=np.float32) for k, v in tensors.items()}  # writable copies
    return MosModel(path, floats, meta, tokenizer)
