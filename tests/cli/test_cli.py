#!/usr/bin/env python3
"""tests/cli/test_cli.py: mos-cli prints its version (from the library), help,
and rejects unknown subcommands and bad flags with a message and exit 2; the
bleu, space and arch commands print what the C API computes and report bad
files as one line with exit 1.

usage: test_cli.py path/to/mos-cli
"""
import json
import os
import re
import subprocess
import sys
import tempfile

cli = sys.argv[1]
failures = 0
passed = 0


def run(*args, stdin=None):
    return subprocess.run([cli, *args], capture_output=True, text=True, timeout=60, input=stdin)


def expect(name, cond, detail=""):
    global failures, passed
    passed += 1 if cond else 0
    print(("ok" if cond else "not ok") + f" - {name}" + (f": {detail}" if not cond and detail else ""))
    if not cond:
        failures += 1


r = run("--version")
expect("--version exits 0", r.returncode == 0, r.stderr)
expect("--version prints library version",
       re.fullmatch(r"mos-cli \d+\.\d+\.\d+ \(libmos \d+\.\d+\.\d+\)\n", r.stdout) is not None, r.stdout)

r = run("--help")
expect("--help exits 0", r.returncode == 0, r.stderr)
for cmd in ["info"]:
    expect(f"--help lists {cmd}", cmd in r.stdout, r.stdout)

r = run("info")
expect("info exits 0", r.returncode == 0, r.stderr)
expect("info shows oneDNN version", "onednn=2." in r.stdout, r.stdout)

r = run("no-such-command")
expect("unknown subcommand exits 2", r.returncode == 2, f"exit {r.returncode}")
expect("unknown subcommand names it", "no-such-command" in r.stderr, r.stderr)

r = run("--no-such-flag")
expect("bad flag exits 2", r.returncode == 2, f"exit {r.returncode}")
expect("bad flag names it", "no-such-flag" in r.stderr, r.stderr)

# bleu: scores hand-derived in tests/capi/test_bleu.c ("a b c d" vs "a b x d":
# precisions 75/33.3/25/25 -> sqrt(1250) = 35.36).
with tempfile.TemporaryDirectory() as tmp:
    ref = os.path.join(tmp, "ref.txt")
    with open(ref, "w") as f:
        f.write("a b x d\nThe cat sat on the mat.\n")
    r = run("bleu", ref, stdin="a b x d\nThe cat sat on the mat.\n")
    expect("bleu exact match exits 0", r.returncode == 0, r.stderr)
    expect("bleu exact match prints 100",
           r.stdout == "BLEU = 100.00 100.0/100.0/100.0/100.0 (BP = 1.000 ratio = 1.000 hyp_len = 11 ref_len = 11)\n",
           r.stdout)
    with open(ref, "w") as f:
        f.write("a b x d\n")
    r = run("bleu", ref, stdin="a b c d\n")
    expect("bleu partial match line",
           r.stdout == "BLEU = 35.36 75.0/33.3/25.0/25.0 (BP = 1.000 ratio = 1.000 hyp_len = 4 ref_len = 4)\n",
           r.stdout)
    r = run("bleu", "--json", ref, stdin="a b c d\n")
    try:
        j = json.loads(r.stdout)
        ok = abs(j["score"] - 1250 ** 0.5) < 1e-9 and j["hyp_len"] == 4 and j["precisions"][2] == 25.0
    except (ValueError, KeyError) as e:
        ok = False
    expect("bleu --json fields", r.returncode == 0 and ok, r.stdout + r.stderr)
    r = run("bleu", ref, stdin="a b c d\nextra line\n")
    expect("bleu mismatched lines exits 1", r.returncode == 1, f"exit {r.returncode}")
    expect("bleu mismatched lines: one-line message with both counts",
           r.stderr.count("\n") == 1 and "2 lines" in r.stderr and "has 1" in r.stderr, r.stderr)
    r = run("bleu", os.path.join(tmp, "missing.txt"), stdin="a\n")
    expect("bleu missing reference exits 1", r.returncode == 1 and "missing.txt" in r.stderr, r.stderr)

r = run("--help")
expect("--help lists bleu", "bleu" in r.stdout, r.stdout)
for cmd in ["space", "arch"]:
    expect(f"--help lists {cmd}", cmd in r.stdout, r.stdout)


def one_line_error(r, *fragments):
    """Exit 1 with exactly one line on stderr containing every fragment."""
    return (r.returncode == 1 and r.stderr.count("\n") == 1 and r.stdout == ""
            and all(f in r.stderr for f in fragments))


# space show: presets and files, canonical JSON (DESIGN.md section 2 values).
r = run("space", "show", "small")
try:
    small = json.loads(r.stdout)
    ok = (small["name"] == "small" and small["qkv_dim"] == 256
          and small["encoder"]["layers"] == [2, 3, 4] and small["decoder"]["cross_k"] == [1, 2])
except (ValueError, KeyError):
    ok = False
expect("space show small prints its JSON", r.returncode == 0 and ok, r.stdout + r.stderr)
r = run("space", "show", "hat-wmt")
try:
    hat = json.loads(r.stdout)
    ok = hat["decoder"]["layers"] == [1, 2, 3, 4, 5, 6] and hat["encoder"]["ffn_dim"] == [1024, 2048, 3072]
except (ValueError, KeyError):
    ok = False
expect("space show hat-wmt prints its JSON", r.returncode == 0 and ok, r.stdout + r.stderr)
r = run("space")
expect("space without a subcommand exits 2", r.returncode == 2, f"exit {r.returncode}")

# A space small enough to count by hand (tests/capi/test_space_arch.c derives
# 364 parameters and 1632 FLOPs for TINY_ARCH with V = 10, S = 3, T = 2).
TINY_SPACE = {"name": "tiny", "qkv_dim": 4,
              "encoder": {"embed_dim": [4], "layers": [1], "ffn_dim": [8], "heads": [2]},
              "decoder": {"embed_dim": [2, 4], "layers": [1, 2], "ffn_dim": [6],
                          "self_heads": [1], "cross_heads": [2], "cross_k": [1]}}
TINY_ARCH = {"encoder": {"embed_dim": 4, "layers": [{"ffn_dim": 8, "heads": 2}]},
             "decoder": {"embed_dim": 2, "layers": [
                 {"ffn_dim": 6, "self_heads": 1, "cross_heads": 2, "cross_k": 1}]}}

with tempfile.TemporaryDirectory() as tmp:
    def write(name, text):
        path = os.path.join(tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    tiny = write("tiny.json", json.dumps(TINY_SPACE))
    r = run("space", "show", tiny)
    expect("space show FILE exits 0", r.returncode == 0, r.stderr)
    canonical = write("tiny-canonical.json", r.stdout)
    r2 = run("space", "show", canonical)
    expect("space show is canonical (a fixed point)", r2.returncode == 0 and r2.stdout == r.stdout,
           r2.stdout + r2.stderr)
    r = run("space", "show", os.path.join(tmp, "missing.json"))
    expect("space show missing file: one-line MOS_IO error", one_line_error(r, "MOS_IO", "missing.json"),
           r.stderr)
    r = run("space", "show", write("bad.json", "{\"qkv_dim\": 4,"))
    expect("space show malformed file: one-line MOS_FORMAT error", one_line_error(r, "MOS_FORMAT", "bad.json"),
           r.stderr)
    bad_heads = dict(TINY_SPACE, encoder=dict(TINY_SPACE["encoder"], heads=[3]))
    r = run("space", "show", write("heads3.json", json.dumps(bad_heads)))
    expect("space show invalid space names the field",
           one_line_error(r, "MOS_FORMAT", "encoder.heads: 3 does not divide qkv_dim 4"), r.stderr)

    # arch sample: deterministic per seed, valid, largest/smallest.
    a = run("arch", "sample", "--space", "small", "--seed", "5")
    b = run("arch", "sample", "--space", "small", "--seed", "5")
    expect("arch sample exits 0", a.returncode == 0, a.stderr)
    expect("arch sample is deterministic", a.stdout == b.stdout and a.stdout.startswith("{"), a.stdout)
    seeds = {run("arch", "sample", "--space", "small", "--seed", str(s)).stdout for s in range(6)}
    expect("arch sample: different seeds give different archs", len(seeds) >= 4, f"{len(seeds)} distinct")
    r = run("arch", "sample", "--space", "small")
    expect("arch sample defaults to seed 0",
           r.stdout == run("arch", "sample", "--space", "small", "--seed", "0").stdout, r.stdout)
    r = run("arch", "sample", "--space", "hat-wmt", "--largest")
    try:
        big = json.loads(r.stdout)
        ok = (big["encoder"]["embed_dim"] == 640 and len(big["encoder"]["layers"]) == 6
              and len(big["decoder"]["layers"]) == 6
              and all(l == {"ffn_dim": 3072, "self_heads": 8, "cross_heads": 8, "cross_k": 3}
                      for l in big["decoder"]["layers"]))
    except (ValueError, KeyError):
        ok = False
    expect("arch sample --largest", r.returncode == 0 and ok, r.stdout + r.stderr)
    r = run("arch", "sample", "--space", "small", "--smallest")
    try:
        little = json.loads(r.stdout)
        ok = (little["decoder"]["embed_dim"] == 192 and len(little["encoder"]["layers"]) == 2
              and len(little["decoder"]["layers"]) == 1)
    except (ValueError, KeyError):
        ok = False
    expect("arch sample --smallest", r.returncode == 0 and ok, r.stdout + r.stderr)
    r = run("arch", "sample", "--space", tiny, "--largest")
    expect("arch sample from a space file", r.returncode == 0 and '"embed_dim": 4' in r.stdout, r.stderr)
    r = run("arch", "sample", "--space", "small", "--seed", "1", "--largest")
    expect("arch sample --seed with --largest exits 2", r.returncode == 2, f"exit {r.returncode}")
    r = run("arch", "sample")
    expect("arch sample without --space exits 2", r.returncode == 2 and "--space" in r.stderr, r.stderr)
    r = run("arch", "sample", "--space", "medium")
    expect("arch sample with an unknown space: one-line error",
           one_line_error(r, "MOS_IO", "medium", "hat-wmt|small"), r.stderr)

    # arch show: validates, prints layers, encodings, params, FLOPs.
    sampled = write("sampled.json", a.stdout)
    r = run("arch", "show", sampled, "--space", "small")
    expect("arch show exits 0", r.returncode == 0, r.stderr)
    lines = dict(l.split(":", 1) for l in r.stdout.splitlines() if ":" in l)
    try:
        enc = [float(x) for x in lines["encoding"].split()]
        ok = len(enc) == 10 and all(0 < x <= 1 for x in enc)
        fine = [float(x) for x in lines["fine encoding"].split()]
        ok = ok and len(fine) == 10 + 2 * 4 + 4 * 3 and fine[:10] == enc
        ok = ok and int(lines["params"].split()[0]) > 0 and int(lines["flops"].split()[0]) > 0
    except (KeyError, ValueError):
        ok = False
    expect("arch show prints encoding, fine encoding, params, flops", ok, r.stdout)
    tiny_arch = write("tiny-arch.json", json.dumps(TINY_ARCH))
    r = run("arch", "show", tiny_arch, "--space", tiny, "--vocab", "10", "--src-len", "3", "--tgt-len", "2")
    expect("arch show: hand-computed params of the tiny arch",
           "params: 364 (vocabulary 10)\n" in r.stdout, r.stdout + r.stderr)
    expect("arch show: hand-computed FLOPs of the tiny arch",
           "flops: 1632 (vocabulary 10, 3 source and 2 target tokens)\n" in r.stdout, r.stdout)
    expect("arch show: tiny encoding",
           "encoding: 1.0000 1.0000 1.0000 1.0000 0.5000 0.5000 1.0000 1.0000 1.0000 1.0000\n" in r.stdout,
           r.stdout)
    r = run("arch", "show", sampled, "--space", "hat-wmt")
    expect("arch show against another space names the field",
           one_line_error(r, "MOS_OUT_OF_RANGE", "qkv_dim = 256", "allowed 512"), r.stderr)
    wrong = json.loads(a.stdout)
    wrong["decoder"]["layers"][0]["self_heads"] = 5
    r = run("arch", "show", write("heads5.json", json.dumps(wrong)), "--space", "small")
    expect("arch show: a value outside the space names the field and choices",
           one_line_error(r, "decoder.layers[0].self_heads = 5", "allowed 2|4"), r.stderr)
    r = run("arch", "show", write("broken.json", a.stdout[:40]), "--space", "small")
    expect("arch show malformed file: one-line MOS_FORMAT error", one_line_error(r, "MOS_FORMAT", "broken.json"),
           r.stderr)
    r = run("arch", "show", os.path.join(tmp, "nope.json"), "--space", "small")
    expect("arch show missing file: one-line MOS_IO error", one_line_error(r, "MOS_IO", "nope.json"), r.stderr)
    r = run("arch", "show", sampled)
    expect("arch show without --space exits 2", r.returncode == 2, f"exit {r.returncode}")
    r = run("arch", "show", sampled, "--space", "small", "--vocab", "0")
    expect("arch show --vocab 0 exits 2", r.returncode == 2, f"exit {r.returncode}")

# Counted, not written by hand, so the summary stays right as cases are added.
print(f"{passed} passed, {failures} failed")
sys.exit(1 if failures else 0)
