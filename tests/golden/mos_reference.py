"""tests/golden/mos_reference.py: an independent PyTorch implementation of the
libmos supernet (DESIGN.md sections 1-3), used to produce the golden fixtures
the C++ model is checked against.

It is written for clarity, not speed: every weight is an explicit super-size
tensor named exactly as in libmos checkpoints (docs/supernet.md), a subnet
takes top-left slices, and the MoS FFN linears mix their experts' slices with
the architecture router (Jawahar et al. 2024, eq. for layer-wise and
neuron-wise mixing). Autograd gives the reference gradients.

Needs Debian's torch 1.13 (/usr/bin/python3).
"""
import math

import torch
import torch.nn.functional as F

ROUTER_INPUTS = 10


# ---------------------------------------------------------------------------
# search space and architectures (DESIGN.md section 2)

def arch_encoding(space, arch):
    """The 10 router / predictor features, each divided by the space's max.
    Space and arch use libmos's JSON schema (docs/formats.md)."""
    mean = lambda xs: sum(xs) / len(xs)
    se, sd = space["encoder"], space["decoder"]
    L, D = arch["encoder"], arch["decoder"]
    return torch.tensor([
        L["embed_dim"] / max(se["embed_dim"]),
        len(L["layers"]) / max(se["layers"]),
        mean([l["ffn_dim"] for l in L["layers"]]) / max(se["ffn_dim"]),
        mean([l["heads"] for l in L["layers"]]) / max(se["heads"]),
        D["embed_dim"] / max(sd["embed_dim"]),
        len(D["layers"]) / max(sd["layers"]),
        mean([l["ffn_dim"] for l in D["layers"]]) / max(sd["ffn_dim"]),
        mean([l["self_heads"] for l in D["layers"]]) / max(sd["self_heads"]),
        mean([l["cross_heads"] for l in D["layers"]]) / max(sd["cross_heads"]),
        mean([l["cross_k"] for l in D["layers"]]) / max(sd["cross_k"]),
    ], dtype=torch.float32)


# ---------------------------------------------------------------------------
# parameters

def super_sizes(space):
    se, sd = space["encoder"], space["decoder"]
    return dict(
        De=max(se["embed_dim"]), Dd=max(sd["embed_dim"]), Q=space["qkv_dim"],
        Fe=max(se["ffn_dim"]), Fd=max(sd["ffn_dim"]),
        Le=max(se["layers"]), Ld=max(sd["layers"]))


def param_shapes(space, vocab, routing, experts, router_hidden):
    """Name -> shape of every supernet tensor (docs/supernet.md)."""
    s = super_sizes(space)
    De, Dd, Q = s["De"], s["Dd"], s["Q"]
    m, H = experts, router_hidden
    shapes = {"embed.weight": (vocab, max(De, Dd))}

    def attn(prefix, d_q, d_kv):
        shapes.update({
            f"{prefix}.q.weight": (Q, d_q), f"{prefix}.q.bias": (Q,),
            f"{prefix}.k.weight": (Q, d_kv), f"{prefix}.k.bias": (Q,),
            f"{prefix}.v.weight": (Q, d_kv), f"{prefix}.v.bias": (Q,),
            f"{prefix}.out.weight": (d_q, Q), f"{prefix}.out.bias": (d_q,),
        })

    def ln(prefix, d):
        shapes.update({f"{prefix}.weight": (d,), f"{prefix}.bias": (d,)})

    def ffn(prefix, d, Fm):
        shapes.update({
            f"{prefix}.fc1.weight": (m, Fm, d), f"{prefix}.fc1.bias": (m, Fm),
            f"{prefix}.fc2.weight": (m, d, Fm), f"{prefix}.fc2.bias": (m, d),
        })
        if routing == "layer":
            shapes.update({
                f"{prefix}.router.w1": (H, ROUTER_INPUTS), f"{prefix}.router.b1": (H,),
                f"{prefix}.router.w2": (m, H), f"{prefix}.router.b2": (m,),
            })
        elif routing == "neuron":
            for fc, dout in (("fc1", Fm), ("fc2", d)):
                shapes.update({
                    f"{prefix}.{fc}.router.w1": (H, ROUTER_INPUTS), f"{prefix}.{fc}.router.b1": (H,),
                    f"{prefix}.{fc}.router.w2": (m * dout, H), f"{prefix}.{fc}.router.b2": (m * dout,),
                })

    for l in range(s["Le"]):
        p = f"encoder.layers.{l}"
        attn(f"{p}.self_attn", De, De); ln(f"{p}.self_attn_ln", De)
        ffn(p, De, s["Fe"]); ln(f"{p}.ffn_ln", De)
    for l in range(s["Ld"]):
        p = f"decoder.layers.{l}"
        attn(f"{p}.self_attn", Dd, Dd); ln(f"{p}.self_attn_ln", Dd)
        attn(f"{p}.cross_attn", Dd, De); ln(f"{p}.cross_attn_ln", Dd)
        ffn(p, Dd, s["Fd"]); ln(f"{p}.ffn_ln", Dd)
    return shapes


def random_params(shapes, seed):
    """Random weights of moderate scale (biases and LayerNorm non-trivial, so
    that every term of the gradient is exercised)."""
    g = torch.Generator().manual_seed(seed)
    params = {}
    for name, shape in shapes.items():
        if name.endswith("_ln.weight"):
            t = 1.0 + 0.1 * torch.randn(shape, generator=g)
        elif len(shape) >= 2 and name != "embed.weight":
            fan_in = shape[-1]
            t = torch.randn(shape, generator=g) / math.sqrt(fan_in)
        elif name == "embed.weight":
            t = torch.randn(shape, generator=g) * shape[1] ** -0.5
        else:
            t = 0.1 * torch.randn(shape, generator=g)
        params[name] = t.float().requires_grad_(True)
    return params


# ---------------------------------------------------------------------------
# layers

def sinusoidal(length, d):
    """Positions 0..length-1 at the active width d: sin on the first half,
    cos on the second, frequencies exp(-ln(10000) * i / (d/2 - 1))."""
    half = d // 2
    freq = torch.exp(torch.arange(half, dtype=torch.float64) * -(math.log(10000.0) / (half - 1)))
    ang = torch.arange(length, dtype=torch.float64)[:, None] * freq[None, :]
    pe = torch.cat([torch.sin(ang), torch.cos(ang)], dim=1)
    if d % 2:
        pe = torch.cat([pe, torch.zeros(length, 1, dtype=torch.float64)], dim=1)
    return pe.float()


def embed(params, tokens, d, pad):
    """sqrt(d) * E[token, :d] + pos; padding rows are zero (as fairseq, whose pad
    embedding row and pad position are zero)."""
    E = params["embed.weight"][:, :d]
    x = E[tokens] * math.sqrt(d) + sinusoidal(tokens.shape[1], d)[None]
    return x.masked_fill((tokens == pad)[..., None], 0.0)


def linear(x, W, b, d_out, d_in):
    return x @ W[:d_out, :d_in].t() + b[:d_out]


def layer_norm(x, params, prefix, d):
    return F.layer_norm(x, (d,), params[f"{prefix}.weight"][:d], params[f"{prefix}.bias"][:d], eps=1e-5)


def attention(params, prefix, x, mem, heads, d_q, d_kv, key_pad, causal):
    """Multi-head attention with the fixed q/k/v width Q and elastic heads.
    x [B, T, d_q], mem [B, S, d_kv], key_pad [B, S] bool (True = padding)."""
    Q = params[f"{prefix}.q.weight"].shape[0]
    hd = Q // heads
    B, T, _ = x.shape
    S = mem.shape[1]
    q = linear(x, params[f"{prefix}.q.weight"], params[f"{prefix}.q.bias"], Q, d_q)
    k = linear(mem, params[f"{prefix}.k.weight"], params[f"{prefix}.k.bias"], Q, d_kv)
    v = linear(mem, params[f"{prefix}.v.weight"], params[f"{prefix}.v.bias"], Q, d_kv)
    q = q.view(B, T, heads, hd).transpose(1, 2)
    k = k.view(B, S, heads, hd).transpose(1, 2)
    v = v.view(B, S, heads, hd).transpose(1, 2)
    scores = (q @ k.transpose(-1, -2)) / math.sqrt(hd)  # [B, h, T, S]
    mask = key_pad[:, None, None, :].expand(B, heads, T, S)
    if causal:
        mask = mask | torch.ones(T, S, dtype=torch.bool).triu(1)[None, None]
    scores = scores.masked_fill(mask, float("-inf"))
    p = torch.softmax(scores, dim=-1)
    o = (p @ v).transpose(1, 2).reshape(B, T, Q)
    return linear(o, params[f"{prefix}.out.weight"], params[f"{prefix}.out.bias"], d_q, Q)


def router(params, prefix, enc):
    h = torch.relu(params[f"{prefix}.w1"] @ enc + params[f"{prefix}.b1"])
    return params[f"{prefix}.w2"] @ h + params[f"{prefix}.b2"]


def mos_weights(params, prefix, fc, routing, enc, d_out, d_in, alpha_layer):
    """The mixed weight [d_out, d_in] and bias [d_out] of one MoS linear."""
    E = params[f"{prefix}.{fc}.weight"][:, :d_out, :d_in]  # [m, d_out, d_in]
    c = params[f"{prefix}.{fc}.bias"][:, :d_out]           # [m, d_out]
    m = E.shape[0]
    if routing == "none":
        assert m == 1
        return E[0], c[0]
    if routing == "layer":
        a = alpha_layer  # [m]
        return torch.einsum("i,ioj->oj", a, E), torch.einsum("i,io->o", a, c)
    logits = router(params, f"{prefix}.{fc}.router", enc)[: m * d_out].view(d_out, m)
    A = torch.softmax(logits, dim=-1)  # [d_out, m]
    return torch.einsum("oi,ioj->oj", A, E), torch.einsum("oi,io->o", A, c)


def ffn(params, prefix, x, d, f, routing, enc):
    alpha = torch.softmax(router(params, f"{prefix}.router", enc), dim=0) if routing == "layer" else None
    W1, b1 = mos_weights(params, prefix, "fc1", routing, enc, f, d, alpha)
    W2, b2 = mos_weights(params, prefix, "fc2", routing, enc, d, f, alpha)
    return torch.relu(x @ W1.t() + b1) @ W2.t() + b2


def forward(params, space, arch, routing, src, tgt_in, pad):
    """Logits [B, T, V] of the subnet `arch` (post-LN, dropout off)."""
    enc_code = arch_encoding(space, arch)
    A, Dc = arch["encoder"], arch["decoder"]
    de, dd = A["embed_dim"], Dc["embed_dim"]
    src_pad = src == pad
    x = embed(params, src, de, pad)
    outs = []
    for l, lay in enumerate(A["layers"]):
        p = f"encoder.layers.{l}"
        h = attention(params, f"{p}.self_attn", x, x, lay["heads"], de, de, src_pad, False)
        x = layer_norm(x + h, params, f"{p}.self_attn_ln", de)
        h = ffn(params, p, x, de, lay["ffn_dim"], routing, enc_code)
        x = layer_norm(x + h, params, f"{p}.ffn_ln", de)
        outs.append(x)
    y = embed(params, tgt_in, dd, pad)
    T = tgt_in.shape[1]
    no_pad = torch.zeros(tgt_in.shape, dtype=torch.bool)
    for l, lay in enumerate(Dc["layers"]):
        p = f"decoder.layers.{l}"
        h = attention(params, f"{p}.self_attn", y, y, lay["self_heads"], dd, dd, no_pad, True)
        y = layer_norm(y + h, params, f"{p}.self_attn_ln", dd)
        k = lay["cross_k"]
        mem = torch.cat(outs[-k:], dim=1)
        mem_pad = src_pad.repeat(1, k)
        h = attention(params, f"{p}.cross_attn", y, mem, lay["cross_heads"], dd, de, mem_pad, False)
        y = layer_norm(y + h, params, f"{p}.cross_attn_ln", dd)
        h = ffn(params, p, y, dd, lay["ffn_dim"], routing, enc_code)
        y = layer_norm(y + h, params, f"{p}.ffn_ln", dd)
    return y @ params["embed.weight"][:, :dd].t()


def label_smoothed_loss(logits, target, pad, eps):
    """Sum over non-pad tokens of (1 - eps) * nll + eps * mean_v(-log p_v),
    the sum of the nll alone, and the token count (docs/model.md)."""
    lp = torch.log_softmax(logits.double(), dim=-1)
    keep = target != pad
    nll = -lp.gather(-1, target.unsqueeze(-1)).squeeze(-1)
    smooth = -lp.mean(dim=-1)
    loss = ((1.0 - eps) * nll + eps * smooth)[keep].sum()
    return loss, nll[keep].sum(), int(keep.sum())
