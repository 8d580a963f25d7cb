#!/usr/bin/env python3
"""tests/bench/test_bench_logits.py: mos-bench-logits (bench/bench_logits.cpp),
which bench/check_peers.py compares the peers against, on a model it routes
from a supernet trained for two updates on a tiny corpus the test writes:
the JSON line, the size of the logits file, finite values, a pair's logits
independent of the batch it is in, and its error paths (usage: exit 2; a bad
pairs file or model: one-line error, exit 1). Checks the format, never speed.

usage: test_bench_logits.py path/to/mos-bench-logits path/to/mos-cli
"""
import array
import json
import math
import os
import subprocess
import sys
import tempfile

bench, cli = sys.argv[1], sys.argv[2]
failures = 0
count = 0

SPACE = {"format": "mos-space", "version": 1, "name": "logits-tiny", "qkv_dim": 16,
         "encoder": {"embed_dim": [16], "layers": [1], "ffn_dim": [16], "heads": [2]},
         "decoder": {"embed_dim": [16], "layers": [1], "ffn_dim": [16], "self_heads": [2],
                     "cross_heads": [2], "cross_k": [1]}}
WORDS = ["red", "blue", "green", "cat", "dog", "bird", "runs", "sleeps"]


def expect(name, cond, detail=""):
    global failures, count
    count += 1
    print(("ok" if cond else "not ok") + f" {count} - {name}" + (f"\n# {detail}" if not cond and detail else ""))
    if not cond:
        failures += 1


def run(*args):
    return subprocess.run([bench, *args], capture_output=True, text=True, timeout=120)


def read_logits(path):
    a = array.array("f")
    with open(path, "rb") as f:
        a.frombytes(f.read())
    if sys.byteorder != "little":
        a.byteswap()
    return a


with tempfile.TemporaryDirectory() as tmp:
    h = 7
    for split, n in (("train", 120), ("valid", 10)):
        with open(f"{tmp}/{split}.xx", "w") as fs, open(f"{tmp}/{split}.yy", "w") as ft:
            for _ in range(n):
                h = (h * 6364136223846793005 + 1442695040888963407) % 2**64
                words = [WORDS[(h >> (8 * j)) % len(WORDS)] for j in range(2 + h % 4)]
                fs.write(" ".join(words) + "\n")
                ft.write(" ".join(reversed(words)) + "\n")
    with open(f"{tmp}/space.json", "w") as f:
        json.dump(SPACE, f)
    ckpt, model = f"{tmp}/net.safetensors", f"{tmp}/m.safetensors"
    r = subprocess.run([cli, "train", "--data", tmp, "--src", "xx", "--tgt", "yy", "--space", f"{tmp}/space.json",
                        "--out", ckpt, "--routing", "none", "--experts", "1", "--vocab", "24", "--max-tokens", "128",
                        "--max-steps", "2", "--warmup", "1", "--valid-every", "2", "--threads", "1", "--quiet"],
                       capture_output=True, text=True, timeout=300)
    expect("a tiny supernet trains", r.returncode == 0, r.stderr[-1500:])
    r = subprocess.run([cli, "route", "--supernet", ckpt, "--arch", "largest", "--out", model],
                       capture_output=True, text=True, timeout=120)
    expect("it routes into a model file", r.returncode == 0 and os.path.exists(model), r.stderr)

    # Three pairs of different lengths; the first twice, so its logits must not depend on its row.
    pairs = [("5 6 7 3", "3 8 9"), ("4 3", "3 10 11 12 13"), ("9 9 9 9 9 9 3", "3 4")]
    with open(f"{tmp}/pairs.txt", "w") as f:
        for s, t in pairs + pairs[:1]:
            f.write(f"{s}\t{t}\n")
    out = f"{tmp}/logits.f32"
    r = run("--model", model, "--pairs", f"{tmp}/pairs.txt", "--out", out, "--threads", "1")
    expect("exit 0", r.returncode == 0, r.stderr)
    try:
        shape = json.loads(r.stdout.strip())
    except ValueError:
        shape = {}
    expect("one JSON line with B, S, T, V", set(shape) == {"B", "S", "T", "V"}, r.stdout)
    if set(shape) == {"B", "S", "T", "V"}:
        B, S, T, V = shape["B"], shape["S"], shape["T"], shape["V"]
        expect("B, S, T are the pairs' count and longest sides", (B, S, T) == (4, 7, 5), r.stdout)
        lg = read_logits(out) if os.path.exists(out) else array.array("f")
        expect("the file holds B * T * V float32", len(lg) == B * T * V, f"{len(lg)} floats for {shape}")
        if len(lg) == B * T * V:
            expect("every logit is finite", all(math.isfinite(x) for x in lg))
            n = len(pairs[0][1].split())  # real positions of the first pair
            first = lg[0:n * V]
            again = lg[3 * T * V:3 * T * V + n * V]
            gap = max(abs(x - y) for x, y in zip(first, again))
            expect("the same pair in another row gets the same logits", gap <= 1e-5, f"max diff {gap}")
            alone = f"{tmp}/alone.f32"
            with open(f"{tmp}/one.txt", "w") as f:
                f.write(f"{pairs[0][0]}\t{pairs[0][1]}\n")
            r1 = run("--model", model, "--pairs", f"{tmp}/one.txt", "--out", alone)
            one = read_logits(alone) if r1.returncode == 0 else array.array("f")
            gap = max((abs(x - y) for x, y in zip(first, one[:n * V])), default=math.inf)
            expect("a pair alone gets the logits it gets in a padded batch", len(one) == n * V and gap <= 1e-4,
                   f"rc={r1.returncode} {r1.stderr} max diff {gap}")

    def one_line_error(name, r, fragment):
        err = r.stderr.strip()
        expect(name, r.returncode == 1 and "\n" not in err and fragment in err, f"rc={r.returncode} {r.stderr!r}")

    with open(f"{tmp}/notab.txt", "w") as f:
        f.write("5 6 3 3 8\n")
    one_line_error("a line without a tab", run("--model", model, "--pairs", f"{tmp}/notab.txt", "--out", out),
                   "notab.txt:1: no tab")
    with open(f"{tmp}/badid.txt", "w") as f:
        f.write("5 x 3\t3 8\n")
    one_line_error("a token that is not an id", run("--model", model, "--pairs", f"{tmp}/badid.txt", "--out", out),
                   "'x' is not a token id")
    with open(f"{tmp}/big.txt", "w") as f:
        f.write("5 999999 3\t3 8\n")
    one_line_error("an id outside the vocabulary", run("--model", model, "--pairs", f"{tmp}/big.txt", "--out", out),
                   "999999")
    one_line_error("a missing pairs file", run("--model", model, "--pairs", f"{tmp}/nope.txt", "--out", out),
                   "nope.txt")
    one_line_error("a missing model", run("--model", f"{tmp}/nope.model", "--pairs", f"{tmp}/pairs.txt", "--out", out),
                   "nope.model")
    r = run("--model", model)
    expect("missing options: usage, exit 2", r.returncode == 2 and "usage:" in r.stderr, r.stderr)

print(f"1..{count}")
sys.exit(1 if failures else 0)
