"""bench/peers/torch_model.py: the PyTorch 2.x peer of libmos at inference: a
routed libmos model file, computed as libmos computes it, in eager PyTorch.

The model (docs/supernet.md; lib/model/dense.cpp is the reference): post-LN
encoder-decoder; token embeddings E[id, :d] * sqrt(d) plus sinusoidal positions
(0-based, all sines then all cosines, w_i = exp(-ln(10000) i / (d/2 - 1)),
computed at the active width d); padding tokens embed to zero rows; attention
heads split the fixed q/k/v width Q, scores scaled by 1/sqrt(Q/heads); each
decoder layer's cross-attention reads the concatenation along time of the last
k encoder layers' outputs (its own k), with the source padding mask repeated k
times; ReLU FFNs; LayerNorm eps 1e-5; logits = y E[:, :d_dec]^T (tied).

Decoding (lib/decode/search.hpp): a source is its ids followed by EOS = 3; the
decoder starts from EOS; pad (0) and BOS (2) are never generated; output limit
a * (source tokens + 1) + b (1, 10), source cut to 256 tokens. Beam search as
fairseq: the 2k best extensions of a sentence's k live hypotheses are ranked;
an EOS among the first k finishes a hypothesis with score logprob /
length^lenpen (the EOS counted), the best k others stay live; a sentence is
done when k hypotheses are finished, none is live, or the length limit forces
EOS. Greedy is beam 1. A key/value cache holds the decoder's self-attention
keys and values; cross-attention keys and values are computed once per source.
Everything runs under torch.inference_mode().

    python bench/peers/torch_model.py --model M [--beam 5] [--threads 1] < src.txt > hyp.txt
"""
import argparse
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mos_model_file  # noqa: E402
from mos_model_file import BOS, EOS  # noqa: E402

LN_EPS = 1e-5


def sinusoid_positions(n, d):
    """[n, d] positions as lib/kernels/embedding.cpp computes them (in double)."""
    h = d // 2
    step = math.log(10000.0) / (h - 1 if h > 1 else 1)
    p = torch.arange(n, dtype=torch.float64)[:, None]
    f = torch.exp(-torch.arange(h, dtype=torch.float64) * step)[None, :]
    pos = torch.zeros(n, d, dtype=torch.float64)
    pos[:, :h] = torch.sin(p * f)
    pos[:, h:2 * h] = torch.cos(p * f)
    return pos.float()


class DecodeOptions:
    def __init__(self, beam=4, length_penalty=0.6, max_len_a=1, max_len_b=10, max_src_len=256):
        self.beam, self.length_penalty = beam, length_penalty
        self.max_len_a, self.max_len_b, self.max_src_len = max_len_a, max_len_b, max_src_len


class TorchDenseModel:
    """A routed libmos model in PyTorch. `dtype` float32 (libmos's numbers) or
    bfloat16 (weights and activations in bf16, log-softmax in f32)."""

    def __init__(self, m, dtype=torch.float32):
        self.m, self.dtype = m, dtype
        self.V, self.Q, self.pad = m.vocab, m.qkv, m.pad_id
        self.de, self.dd = m.enc_embed, m.dec_embed
        w = {k: torch.from_numpy(v.copy()) for k, v in m.tensors.items()}
        cast = lambda t: t.to(dtype).contiguous()
        E = w["embed.weight"]
        self.emb_enc = cast(E[:, :self.de])
        self.emb_dec = cast(E[:, :self.dd])
        self.enc, self.dec = [], []
        for l, L in enumerate(m.enc_layers):
            p = f"encoder.layers.{l}"
            self.enc.append(dict(
                heads=L["heads"],
                qkv_w=cast(torch.cat([w[f"{p}.self_attn.{x}.weight"] for x in "qkv"])),
                qkv_b=cast(torch.cat([w[f"{p}.self_attn.{x}.bias"] for x in "qkv"])),
                out_w=cast(w[f"{p}.self_attn.out.weight"]), out_b=cast(w[f"{p}.self_attn.out.bias"]),
                ln1=(cast(w[f"{p}.self_attn_ln.weight"]), cast(w[f"{p}.self_attn_ln.bias"])),
                fc1=(cast(w[f"{p}.fc1.weight"]), cast(w[f"{p}.fc1.bias"])),
                fc2=(cast(w[f"{p}.fc2.weight"]), cast(w[f"{p}.fc2.bias"])),
                ln2=(cast(w[f"{p}.ffn_ln.weight"]), cast(w[f"{p}.ffn_ln.bias"]))))
        for l, L in enumerate(m.dec_layers):
            p = f"decoder.layers.{l}"
            self.dec.append(dict(
                self_heads=L["self_heads"], cross_heads=L["cross_heads"], k=L["cross_k"],
                qkv_w=cast(torch.cat([w[f"{p}.self_attn.{x}.weight"] for x in "qkv"])),
                qkv_b=cast(torch.cat([w[f"{p}.self_attn.{x}.bias"] for x in "qkv"])),
                out_w=cast(w[f"{p}.self_attn.out.weight"]), out_b=cast(w[f"{p}.self_attn.out.bias"]),
                ln1=(cast(w[f"{p}.self_attn_ln.weight"]), cast(w[f"{p}.self_attn_ln.bias"])),
                cq=(cast(w[f"{p}.cross_attn.q.weight"]), cast(w[f"{p}.cross_attn.q.bias"])),
                ckv_w=cast(torch.cat([w[f"{p}.cross_attn.{x}.weight"] for x in "kv"])),
                ckv_b=cast(torch.cat([w[f"{p}.cross_attn.{x}.bias"] for x in "kv"])),
                cout=(cast(w[f"{p}.cross_attn.out.weight"]), cast(w[f"{p}.cross_attn.out.bias"])),
                ln2=(cast(w[f"{p}.cross_attn_ln.weight"]), cast(w[f"{p}.cross_attn_ln.bias"])),
                fc1=(cast(w[f"{p}.fc1.weight"]), cast(w[f"{p}.fc1.bias"])),
                fc2=(cast(w[f"{p}.fc2.weight"]), cast(w[f"{p}.fc2.bias"])),
                ln3=(cast(w[f"{p}.ffn_ln.weight"]), cast(w[f"{p}.ffn_ln.bias"]))))
        self._pos = {}

    # ---- building blocks -------------------------------------------------

    def positions(self, n, d):
        key = (n, d)
        if key not in self._pos or self._pos[key].shape[0] < n:
            self._pos[key] = sinusoid_positions(n, d).to(self.dtype)
        return self._pos[key][:n]

    def embed(self, table, tokens, d, pos):
        """tokens [..., T] -> table[tokens] * sqrt(d) + pos, pad rows zero."""
        x = F.embedding(tokens, table) * math.sqrt(d) + pos
        return x.masked_fill((tokens == self.pad).unsqueeze(-1), 0.0)

    @staticmethod
    def heads(x, h):
        """[B, T, Q] -> [B, h, T, Q/h]"""
        B, T, Q = x.shape
        return x.view(B, T, h, Q // h).transpose(1, 2)

    @staticmethod
    def merge(x):
        B, h, T, hd = x.shape
        return x.transpose(1, 2).reshape(B, T, h * hd)

    @staticmethod
    def add_norm(x, a, ln):
        return F.layer_norm(x + a, (x.shape[-1],), ln[0], ln[1], LN_EPS)

    @staticmethod
    def ffn(x, L):
        return F.linear(F.relu(F.linear(x, *L["fc1"])), *L["fc2"])

    # ---- encoder ---------------------------------------------------------

    def encode(self, src):
        """src [B, S] (ids with EOS, padded) -> per encoder layer outputs [B, S, de]."""
        B, S = src.shape
        keep = (src != self.pad)[:, None, None, :]  # [B, 1, 1, S]: key allowed
        x = self.embed(self.emb_enc, src, self.de, self.positions(S, self.de))
        outs = []
        for L in self.enc:
            q, k, v = F.linear(x, L["qkv_w"], L["qkv_b"]).split(self.Q, dim=-1)
            h = L["heads"]
            o = F.scaled_dot_product_attention(self.heads(q, h), self.heads(k, h), self.heads(v, h), attn_mask=keep)
            x = self.add_norm(x, F.linear(self.merge(o), L["out_w"], L["out_b"]), L["ln1"])
            x = self.add_norm(x, self.ffn(x, L), L["ln2"])
            outs.append(x)
        return outs

    def start(self, src, rows_per_sentence, max_steps):
        """Encodes src [B, S] and returns a decoding state of B * rows_per_sentence
        rows (row r continues sentence r // rows_per_sentence)."""
        B, S = src.shape
        outs = self.encode(src)
        keep = (src != self.pad)
        st = {"t": 0, "rows": B * rows_per_sentence, "cross": [], "self_k": [], "self_v": [],
              "pos": self.positions(max_steps, self.dd), "max_steps": max_steps}
        R = st["rows"]
        for L in self.dec:
            k = L["k"]
            mem = torch.cat(outs[len(outs) - k:], dim=1)  # [B, k*S, de]
            ck, cv = F.linear(mem, L["ckv_w"], L["ckv_b"]).split(self.Q, dim=-1)
            h = L["cross_heads"]
            ck, cv = self.heads(ck, h), self.heads(cv, h)  # [B, h, kS, hd]
            mask = keep.repeat(1, k)[:, None, None, :]       # [B, 1, 1, kS]
            if rows_per_sentence > 1:
                ck = ck.repeat_interleave(rows_per_sentence, dim=0)
                cv = cv.repeat_interleave(rows_per_sentence, dim=0)
                mask = mask.repeat_interleave(rows_per_sentence, dim=0)
            st["cross"].append((ck.contiguous(), cv.contiguous(), mask))
            hs = L["self_heads"]
            st["self_k"].append(torch.zeros(R, hs, max_steps, self.Q // hs, dtype=self.dtype))
            st["self_v"].append(torch.zeros(R, hs, max_steps, self.Q // hs, dtype=self.dtype))
        return st

    def step(self, st, tokens):
        """Feeds tokens [R] at the next position of every row; returns logits [R, V]."""
        t, R = st["t"], tokens.shape[0]
        if t >= st["max_steps"]:
            raise ValueError(f"decoder step {t + 1} exceeds the state's {st['max_steps']} steps")
        x = self.embed(self.emb_dec, tokens[:, None], self.dd, st["pos"][t:t + 1])  # [R, 1, dd]
        for l, L in enumerate(self.dec):
            q, k, v = F.linear(x, L["qkv_w"], L["qkv_b"]).split(self.Q, dim=-1)
            h = L["self_heads"]
            K, Vc = st["self_k"][l], st["self_v"][l]
            K[:, :, t] = k.view(R, h, -1)
            Vc[:, :, t] = v.view(R, h, -1)
            o = F.scaled_dot_product_attention(self.heads(q, h), K[:, :, :t + 1], Vc[:, :, :t + 1])
            x = self.add_norm(x, F.linear(self.merge(o), L["out_w"], L["out_b"]), L["ln1"])
            ck, cv, mask = st["cross"][l]
            q = F.linear(x, *L["cq"])
            o = F.scaled_dot_product_attention(self.heads(q, L["cross_heads"]), ck, cv, attn_mask=mask)
            x = self.add_norm(x, F.linear(self.merge(o), *L["cout"]), L["ln2"])
            x = self.add_norm(x, self.ffn(x, L), L["ln3"])
        st["t"] = t + 1
        return F.linear(x[:, 0], self.emb_dec)

    def reorder(self, st, src_rows):
        """Row r continues the history of row src_rows[r] (beam reorder)."""
        n = st["t"]
        for cache in st["self_k"] + st["self_v"]:
            cache[:, :, :n] = cache[src_rows, :, :n]

    # ---- checks and decoding -----------------------------------------------

    def teacher_forced_logits(self, src, tgt_in):
        """Logits [B, T, V] of tgt_in [B, T] given src [B, S], step by step
        through the cache as lib/model/dense.cpp's dense_teacher_forced_logits."""
        B, T = tgt_in.shape
        st = self.start(src, 1, T)
        return torch.stack([self.step(st, tgt_in[:, t]) for t in range(T)], dim=1)

    def batch_sources(self, srcs, opt):
        n = [min(len(s), opt.max_src_len - 1) for s in srcs]
        S = max(1, max(n) + 1)
        src = torch.full((len(srcs), S), self.pad, dtype=torch.long)
        for b, s in enumerate(srcs):
            if n[b]:
                src[b, :n[b]] = torch.tensor(s[:n[b]], dtype=torch.long)
            src[b, n[b]] = EOS
        limit = [max(1, opt.max_len_a * (x + 1) + opt.max_len_b) for x in n]
        return src, limit

    def translate(self, srcs, opt):
        """Token-id sources (without EOS) -> one id list per source (without EOS)."""
        if not srcs:
            return []
        with torch.inference_mode():
            if opt.beam == 1:
                return self._greedy(srcs, opt)
            return self._beam(srcs, opt)

    def _greedy(self, srcs, opt):
        src, limit = self.batch_sources(srcs, opt)
        B = len(srcs)
        steps = max(limit)
        st = self.start(src, 1, steps)
        tok = torch.full((B,), EOS, dtype=torch.long)
        out = [[] for _ in range(B)]
        done = [False] * B
        for t in range(steps):
            lg = self.step(st, tok).float()
            lg[:, self.pad] = -math.inf
            lg[:, BOS] = -math.inf
            best = lg.argmax(dim=-1).tolist()
            for b in range(B):
                if done[b]:
                    continue
                if best[b] == EOS or t + 1 >= limit[b]:
                    done[b] = True
                else:
                    out[b].append(best[b])
            if all(done):
                break
            tok = torch.tensor([o[-1] if o and not d else EOS for o, d in zip(out, done)], dtype=torch.long)
        return out

    def _beam(self, srcs, opt):
        src, limit = self.batch_sources(srcs, opt)
        B, k, V = len(srcs), opt.beam, self.V
        R = B * k
        steps = max(limit)
        st = self.start(src, k, steps)
        score = torch.full((B, k), -math.inf)
        score[:, 0] = 0.0
        hist = [[] for _ in range(R)]
        tok = torch.full((R,), EOS, dtype=torch.long)
        fin = [[] for _ in range(B)]
        done = [False] * B
        for t in range(steps):
            lp = torch.log_softmax(self.step(st, tok).float(), dim=-1)
            lp[:, self.pad] = -math.inf
            lp[:, BOS] = -math.inf
            cand = (score.view(R, 1) + lp).view(B, k * V)
            force = [t + 1 >= limit[b] for b in range(B)]
            if any(force):  # only EOS may extend a sentence at its limit
                eos_only = torch.full((k * V,), -math.inf)
                eos_only[EOS::V] = 0.0
                fb = torch.tensor(force)
                cand[fb] = cand[fb] + eos_only
            # The 2k best; equal scores in libmos's order (row, then token id ascending):
            # a few more than 2k from topk, then a stable sort of those.
            top_s, top_i = torch.topk(cand, min(4 * k, k * V), dim=1)
            top_s, top_i = top_s.tolist(), top_i.tolist()
            for b in range(B):
                pairs = sorted(zip(top_s[b], top_i[b]), key=lambda p: (-p[0], p[1]))[:2 * k]
                top_s[b], top_i[b] = [p[0] for p in pairs], [p[1] for p in pairs]
            new_from = list(range(R))
            new_score = torch.full((B, k), -math.inf)
            new_hist = [[] for _ in range(R)]
            for b in range(B):
                if done[b]:
                    continue
                live = 0
                for ci, (s, idx) in enumerate(zip(top_s[b], top_i[b])):
                    if s == -math.inf:
                        break
                    row, v = b * k + idx // V, idx % V
                    if v == EOS:
                        if ci < k and len(fin[b]) < k:
                            fin[b].append((s / (len(hist[row]) + 1) ** opt.length_penalty, hist[row]))
                        continue
                    if live == k:
                        continue
                    r = b * k + live
                    live += 1
                    new_from[r] = row
                    new_score[b, r - b * k] = s
                    new_hist[r] = hist[row] + [v]
                if len(fin[b]) >= k or live == 0 or force[b]:
                    done[b] = True
            if all(done):
                break
            self.reorder(st, torch.tensor(new_from))
            score, hist = new_score, new_hist
            tok = torch.tensor([h[-1] if h else EOS for h in hist], dtype=torch.long)
        out = []
        for b in range(B):
            best = max(fin[b], key=lambda f: f[0]) if fin[b] else None
            out.append(best[1] if best else [])
        return out

    def hat_latency_run(self, src, beam, steps):
        """One run of HAT's latency protocol (lib/search/latency.cpp): encode one
        source, `steps` decoder steps over `beam` rows, each with the
        log-softmax and best token of every row (EOS replaced so decoding goes
        on) and, for beam > 1, a cache reorder."""
        st = self.start(src, beam, steps)
        tok = torch.full((beam,), EOS, dtype=torch.long)
        rot = torch.tensor([(r + 1) % beam for r in range(beam)])
        for t in range(steps):
            lp = torch.log_softmax(self.step(st, tok).float(), dim=-1)
            tok = lp.argmax(dim=-1)
            tok[tok == EOS] = 4
            if beam > 1 and t + 1 < steps:
                self.reorder(st, rot)


def load(path, dtype=torch.float32):
    return TorchDenseModel(mos_model_file.load(path), dtype)


def main():
    ap = argparse.ArgumentParser(description="translate stdin with a libmos model file in PyTorch")
    ap.add_argument("--model", required=True)
    ap.add_argument("--beam", type=int, default=4)
    ap.add_argument("--lenpen", type=float, default=0.6)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--dtype", choices=["f32", "bf16"], default="f32")
    a = ap.parse_args()
    import sentencepiece as spm
    torch.set_num_threads(a.threads)
    model = load(a.model, torch.bfloat16 if a.dtype == "bf16" else torch.float32)
    if model.m.tokenizer is None:
        sys.exit(f"torch_model.py: {a.model} carries no tokenizer")
    sp = spm.SentencePieceProcessor(model_proto=model.m.tokenizer)
    opt = DecodeOptions(beam=a.beam, length_penalty=a.lenpen)
    lines = [l.rstrip("\r\n") for l in sys.stdin]
    for i in range(0, len(lines), a.batch):
        ids = [sp.encode(l) for l in lines[i:i + a.batch]]
        for h in model.translate(ids, opt):
            print(sp.decode(h))


if __name__ == "__main__":
    main()
