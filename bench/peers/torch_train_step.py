"""bench/peers/torch_train_step.py: the PyTorch peer of mos-bench-train.

The same supernet (tests/golden/mos_reference.py: the `small` space, tied
embeddings, post-LN, MoS FFNs), the same random batch shape (tokens / len
sentences of len tokens, no padding), the same update: forward and backward of
the sampled subnets (uniform: one random arch; sandwich: largest, smallest and
one random arch), gradients averaged, one torch.optim.Adam step. Loss:
F.cross_entropy with label smoothing 0.1 in float32. Dropout is off here and in
the libmos run the driver starts. With --archs FILE (written by mos-bench-train
--archs-out) every update trains the very subnets libmos trained; without it the
archs are drawn here. With --autocast bf16 the forward passes run under
torch.autocast("cpu", dtype=torch.bfloat16) (PyTorch's mixed precision on CPU:
matrix products in bf16, the loss and the optimizer in f32). Prints one JSON
object per line.

Runs under PyTorch 2.x (bench/.venv, scripts/install-deps.sh --peers) and
under Debian's PyTorch 1.13 (/usr/bin/python3, install-deps.sh --torch).

    bench/.venv/bin/python bench/peers/torch_train_step.py --threads 1 --steps 3 [--archs FILE] [--autocast bf16]
"""
import argparse
import contextlib
import json
import os
import random
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tests", "golden"))
import mos_reference as ref  # noqa: E402

SMALL = {
    "format": "mos-space", "version": 1, "name": "small", "qkv_dim": 256,
    "encoder": {"embed_dim": [192, 256], "layers": [2, 3, 4], "ffn_dim": [256, 512, 768, 1024], "heads": [2, 4]},
    "decoder": {"embed_dim": [192, 256], "layers": [1, 2, 3], "ffn_dim": [256, 512, 768, 1024],
                "self_heads": [2, 4], "cross_heads": [2, 4], "cross_k": [1, 2]},
}


def make_arch(space, rnd, pick):
    e, d = space["encoder"], space["decoder"]
    ne, nd = pick(e["layers"], rnd), pick(d["layers"], rnd)
    return {
        "format": "mos-arch", "version": 1, "qkv_dim": space["qkv_dim"],
        "encoder": {"embed_dim": pick(e["embed_dim"], rnd),
                    "layers": [{"ffn_dim": pick(e["ffn_dim"], rnd), "heads": pick(e["heads"], rnd)}
                               for _ in range(ne)]},
        "decoder": {"embed_dim": pick(d["embed_dim"], rnd),
                    "layers": [{"ffn_dim": pick(d["ffn_dim"], rnd), "self_heads": pick(d["self_heads"], rnd),
                                "cross_heads": pick(d["cross_heads"], rnd),
                                "cross_k": min(pick(d["cross_k"], rnd), ne)} for _ in range(nd)]},
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--tokens", type=int, default=4096)
    ap.add_argument("--len", type=int, default=32)
    ap.add_argument("--vocab", type=int, default=8000)
    ap.add_argument("--routing", choices=["none", "layer", "neuron"])
    ap.add_argument("--sampling", choices=["uniform", "sandwich"])
    ap.add_argument("--archs", help="JSON lines {routing, sampling, archs} from mos-bench-train --archs-out")
    ap.add_argument("--autocast", choices=["none", "bf16"], default="none",
                    help="run the forward passes under torch.autocast('cpu', dtype=torch.bfloat16)")
    a = ap.parse_args()
    if a.autocast == "bf16" and not hasattr(torch, "autocast"):
        sys.exit(f"torch_train_step: PyTorch {torch.__version__} has no torch.autocast")
    autocast = (lambda: torch.autocast("cpu", dtype=torch.bfloat16)) if a.autocast == "bf16" else contextlib.nullcontext
    given = {}
    if a.archs:
        with open(a.archs) as f:
            for line in f:
                u = json.loads(line)
                given.setdefault((u["routing"], u["sampling"]), []).append(u["archs"])
    torch.set_num_threads(a.threads)
    B, L = a.tokens // a.len, a.len
    g = torch.Generator().manual_seed(1)
    src = torch.randint(4, a.vocab, (B, L), generator=g)
    tgt_out = torch.randint(4, a.vocab, (B, L), generator=g)
    tgt_in = torch.cat([torch.full((B, 1), 3), tgt_out[:, :-1]], dim=1)
    for routing, m in (("none", 1), ("layer", 2), ("neuron", 2)):
        if a.routing and a.routing != routing:
            continue
        shapes = ref.param_shapes(SMALL, a.vocab, routing, m, 128)
        params = ref.random_params(shapes, seed=3)
        opt = torch.optim.Adam(params.values(), lr=1e-4, betas=(0.9, 0.98), eps=1e-8)
        for sampling in ("uniform", "sandwich"):
            if a.sampling and a.sampling != sampling:
                continue
            rnd = random.Random(7)
            queue = list(given.get((routing, sampling), []))
            if a.archs and len(queue) < a.steps + 2:
                sys.exit(f"torch_train_step: {a.archs} has {len(queue)} updates for {routing}/{sampling}, "
                         f"need {a.steps + 2}")

            def update():
                if queue:
                    archs = queue.pop(0)
                else:
                    archs = []
                    if sampling == "sandwich":
                        archs += [make_arch(SMALL, rnd, lambda c, r: c[-1]), make_arch(SMALL, rnd, lambda c, r: c[0])]
                    archs.append(make_arch(SMALL, rnd, lambda c, r: r.choice(c)))
                opt.zero_grad(set_to_none=False)
                for arch in archs:
                    with autocast():
                        logits = ref.forward(params, SMALL, arch, routing, src, tgt_in, 0)
                    loss = F.cross_entropy(logits.float().reshape(-1, a.vocab), tgt_out.reshape(-1),
                                           ignore_index=0, label_smoothing=0.1)
                    (loss / len(archs)).backward()
                opt.step()

            update()
            update()
            t0 = time.perf_counter()
            for _ in range(a.steps):
                update()
            s = time.perf_counter() - t0
            print(json.dumps({"impl": "pytorch", "torch": torch.__version__, "autocast": a.autocast,
                              "routing": routing, "experts": m,
                              "sampling": sampling, "threads": a.threads, "tokens_per_update": B * L,
                              "steps": a.steps, "seconds": round(s, 4),
                              "tokens_per_second": round(B * L * a.steps / s, 1)}), flush=True)


if __name__ == "__main__":
    main()
