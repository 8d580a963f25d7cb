#!/usr/bin/env python3
"""tests/cli/test_cli.py: mos-cli prints its version (from the library), help,
and exits 2 on every usage error (no command, unknown command or flag, a
missing mode, a bad or out-of-range number, NaN, a seed above 2^64-1, an
empty or malformed budget list) with a message naming the option; the bleu,
space and arch commands print what the C API computes (also as --json) and
report bad files as one line with exit 1. Needs no trained model.

usage: test_cli.py path/to/mos-cli
"""
import json
import os
import re
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cli_common import Checks  # noqa: E402

t = Checks(sys.argv[1])
run, expect, usage_error = t.run, t.expect, t.usage_error


def one_line_error(r, *fragments):
    """Exit 1 with exactly one line on stderr containing every fragment."""
    return (r.returncode == 1 and r.stderr.count("\n") == 1 and r.stdout == ""
            and all(f in r.stderr for f in fragments))



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
expect("info shows where the built-in corpus is", re.search(r"^builtin_corpus=.*bible-en-es$", r.stdout, re.M),
       r.stdout)
j = t.json_of(run("info", "--json"))
expect("info --json", j is not None and j["onednn"].startswith("2.") and j["builtin_corpus"].endswith("bible-en-es"),
       str(j))

# Exit status: 0 success, 1 the job failed, 2 bad usage (docs/cli.md).
r = run()
expect("bare mos-cli is a usage error (exit 2) that shows the commands",
       r.returncode == 2 and r.stdout == "" and "Subcommands:" in r.stderr and "no command given" in r.stderr,
       f"rc={r.returncode} {r.stderr}")
usage_error("unknown subcommand exits 2 and names it", run("no-such-command"), "no-such-command")
usage_error("bad flag exits 2 and names it", run("--no-such-flag"), "no-such-flag")
usage_error("translate with no model is a usage error", run("translate", stdin="a\n"), "--model", "--supernet")
usage_error("translate with --model and --supernet", run("translate", "--model", "m", "--supernet", "s"),
            "--model", "--supernet")
usage_error("translate --model with --arch (a model has its arch)", run("translate", "--model", "m", "--arch", "x"),
            "--arch")
usage_error("latency with no mode is a usage error", run("latency"), "give a mode")
usage_error("latency with two modes", run("latency", "--model", "m", "--collect", "3"), "--model", "--collect")
usage_error("latency --collect without --out", run("latency", "--collect", "3"), "--out")
usage_error("latency --train-predictor without --out", run("latency", "--train-predictor", "d.jsonl"), "--out")
usage_error("latency measuring with --out", run("latency", "--model", "m", "--out", "x"), "--out")
TRAIN = ["train", "--data", "d", "--src", "xx", "--tgt", "yy", "--out", "o"]
usage_error("train --routing foo", run(*TRAIN, "--routing", "foo"), "--routing", "foo")
usage_error("train --precision fp8", run(*TRAIN, "--precision", "fp8"), "--precision", "fp8")
usage_error("train --split rows", run(*TRAIN, "--split", "rows"), "--split", "rows")
usage_error("train --resume with --precision (the checkpoint keeps it)",
            run(*TRAIN, "--resume", "c", "--precision", "bf16"), "--resume", "--precision")
usage_error("train --routing none --experts 2", run(*TRAIN, "--routing", "none", "--experts", "2"), "--experts")
usage_error("train --resume with an option the checkpoint keeps", run(*TRAIN, "--resume", "c", "--lr", "0.1"),
            "--resume", "--lr")
SEARCH = ["search", "--supernet", "s", "--data", "d", "--src", "xx", "--tgt", "yy"]
usage_error("search --budgets malformed", run(*SEARCH, "--budgets", "20,abc", "--measure"), "--budgets", "'abc'")
usage_error("search --budgets ''", run(*SEARCH, "--budgets", "", "--measure"), "--budgets", "empty")
usage_error("search --budgets with an empty item", run(*SEARCH, "--budgets", "20,,40", "--measure"), "empty item")
usage_error("search --budgets with a trailing comma", run(*SEARCH, "--budgets", "20,", "--measure"), "--budgets")
usage_error("search --budgets with a negative item", run(*SEARCH, "--budgets", "20,-5", "--measure"), "'-5'",
            "negative")
usage_error("search --latency-ms -1", run(*SEARCH, "--latency-ms", "-1", "--measure"), "--latency-ms", "'-1'",
            "negative")
usage_error("search --latency-ms 0", run(*SEARCH, "--latency-ms", "0", "--measure"), "--latency-ms", "'0'")
usage_error("search --latency-ms nan: 'not a number'", run(*SEARCH, "--latency-ms", "nan", "--measure"),
            "--latency-ms", "'nan' is not a number")
usage_error("search --latency-ms inf", run(*SEARCH, "--latency-ms", "inf", "--measure"), "'inf' is not finite")
usage_error("search with a budget but no latency source", run(*SEARCH, "--budgets", "20"), "--predictor",
            "--measure")
usage_error("search --latency-ms with --budgets", run(*SEARCH, "--latency-ms", "5", "--budgets", "20", "--measure"),
            "--latency-ms", "--budgets")
usage_error("search --predictor with --measure", run(*SEARCH, "--predictor", "p", "--measure"), "--predictor",
            "--measure")
usage_error("search --mutation-prob nan", run(*SEARCH, "--mutation-prob", "nan"), "--mutation-prob",
            "not a number")
usage_error("search --mutation-prob 1.5", run(*SEARCH, "--mutation-prob", "1.5"), "--mutation-prob", "'1.5'")
usage_error("search --population 1", run(*SEARCH, "--population", "1"), "--population", "below the minimum 2")
# Seeds are full 64-bit values: 2^64 - 1 is accepted, 2^64 is rejected, never clamped.
r = run("arch", "sample", "--space", "small", "--seed", "18446744073709551615")
expect("--seed 2^64-1 is accepted", r.returncode == 0 and r.stdout.startswith("{"), r.stderr)
usage_error("--seed 2^64 is rejected, not clamped", run("arch", "sample", "--space", "small", "--seed",
                                                        "18446744073709551616"), "--seed", "above the maximum")
usage_error("train --seed 2^64 is rejected", run(*TRAIN, "--seed", "99999999999999999999"), "--seed")
usage_error("--seed -1", run("arch", "sample", "--space", "small", "--seed", "-1"), "--seed", "negative")
usage_error("--seed 0x10 (decimal only)", run("arch", "sample", "--space", "small", "--seed", "0x10"), "--seed",
            "not a whole number")
usage_error("train --lr nan says 'not a number'", run(*TRAIN, "--lr", "nan"), "--lr", "'nan' is not a number")
usage_error("train --lr 0", run(*TRAIN, "--lr", "0"), "--lr")
usage_error("train --dropout 1", run(*TRAIN, "--dropout", "1"), "--dropout")
usage_error("train --max-seconds -5", run(*TRAIN, "--max-seconds", "-5"), "--max-seconds", "negative")
usage_error("train --max-seconds nan", run(*TRAIN, "--max-seconds", "nan"), "--max-seconds", "not a number")
usage_error("train --max-steps -1", run(*TRAIN, "--max-steps", "-1"), "--max-steps")
usage_error("train --vocab 8", run(*TRAIN, "--vocab", "8"), "--vocab", "below the minimum 16")
usage_error("train --threads 5000", run(*TRAIN, "--threads", "5000"), "--threads", "above the maximum")
usage_error("train --progress-every nan", run(*TRAIN, "--progress-every", "nan"), "--progress-every")
usage_error("latency --holdout 0 (no held-out samples)", run("latency", "--train-predictor", "d", "--out", "p",
                                                             "--holdout", "0"), "--holdout", "'0'")
usage_error("latency --holdout nan", run("latency", "--train-predictor", "d", "--out", "p", "--holdout", "nan"),
            "--holdout", "not a number")
usage_error("latency --runs 0", run("latency", "--model", "m", "--runs", "0"), "--runs")
usage_error("translate --beam 65", run("translate", "--model", "m", "--beam", "65"), "--beam", "65")
usage_error("translate --lenpen nan", run("translate", "--model", "m", "--lenpen", "nan"), "--lenpen",
            "not a number")
usage_error("translate --max-len 0,0", run("translate", "--model", "m", "--max-len", "0,0"), "--max-len")
usage_error("translate --n-best 5 with beam 4", run("translate", "--model", "m", "--n-best", "5"), "--n-best",
            "--beam")
usage_error("translate --batch-sentences 0", run("translate", "--model", "m", "--batch-sentences", "0"),
            "--batch-sentences")
usage_error("translate --batch-tokens -1", run("translate", "--model", "m", "--batch-tokens", "-1"),
            "--batch-tokens")
usage_error("translate --max-len-a nan", run("translate", "--model", "m", "--max-len-a", "nan"), "--max-len-a")
usage_error("translate --max-len-a 17", run("translate", "--model", "m", "--max-len-a", "17"), "--max-len-a")
usage_error("translate --max-len 17,0 (A is at most 16)", run("translate", "--model", "m", "--max-len", "17,0"),
            "--max-len")
usage_error("eval --no-bleu with --beam", run("eval", "--supernet", "s", "--data", "d", "--src", "xx", "--tgt", "yy",
                                              "--no-bleu", "--beam", "3"), "--no-bleu")
usage_error("eval --supernet with --model", run("eval", "--supernet", "s", "--model", "m", "--data", "d", "--src",
                                                "xx", "--tgt", "yy"), "--model")
usage_error("eval --model with --arch", run("eval", "--model", "m", "--arch", "largest", "--data", "d", "--src", "xx",
                                            "--tgt", "yy"), "--arch")
usage_error("eval without --supernet or --model", run("eval", "--data", "d", "--src", "xx", "--tgt", "yy"),
            "--supernet", "--model")
for cmd in (["eval", "--supernet", "s", "--data", "d", "--src", "xx", "--tgt", "yy"], ["translate", "--model", "m"],
            ["route", "--supernet", "s", "--arch", "largest", "--out", "m"], ["latency", "--model", "m"],
            ["search", "--supernet", "s", "--data", "d", "--src", "xx", "--tgt", "yy"]):
    usage_error(f"{cmd[0]} --threads -1", run(*cmd, "--threads", "-1"), "--threads")
    usage_error(f"{cmd[0]} --threads 1025", run(*cmd, "--threads", "1025"), "--threads", "above the maximum")
usage_error("latency --train-predictor with --threads", run("latency", "--train-predictor", "d", "--out", "p",
                                                            "--threads", "1"), "--threads")
usage_error("route without --arch", run("route", "--supernet", "s", "--out", "m"), "--arch")
usage_error("route --arch largest --budget 40", run("route", "--supernet", "s", "--arch", "largest", "--budget", "40",
                                                    "--out", "m"), "--budget")
usage_error("model without a subcommand", run("model"), "model")
usage_error("quickstart --population 3", run("quickstart", "--population", "3"), "--population")
usage_error("quickstart --latency-archs 4 (the predictor needs 5)", run("quickstart", "--latency-archs", "4"),
            "--latency-archs", "below the minimum 5")

# --help shows the library's defaults (MOS_*_OPTIONS_INIT).
r = run("train", "--help")
expect("train --help shows the library defaults",
       all(s in r.stdout for s in ["=8000", "=4096", "=0.0005", "=500", "=neuron", "=sandwich"]), r.stdout)
r = run("search", "--help")
expect("search --help shows the library defaults and --max-params/--max-flops",
       all(s in r.stdout for s in ["=125", "=25", "=50", "=30", "=0.3", "--max-params", "--max-flops",
                                   "--max-sentences"]) and "--valid-sentences" not in r.stdout, r.stdout)
r = run("translate", "--help")
expect("translate --help shows beam 4, lenpen 0.6, --max-len 1,10",
       all(s in r.stdout for s in ["=4", "=0.6", "=1,10", "=256"]), r.stdout)

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
    r = run("bleu", tmp, stdin="a\n")
    expect("bleu DIR reports the read error, not '0 lines'", one_line_error(r, tmp, "is a directory")
           and "0 lines" not in r.stderr, r.stderr)

r = run("--help")
expect("--help lists bleu", "bleu" in r.stdout, r.stdout)
for cmd in ["space", "arch"]:
    expect(f"--help lists {cmd}", cmd in r.stdout, r.stdout)


# space show: presets and files, canonical JSON (the preset values of docs/formats.md).
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
    expect("arch sample defaults to the library's seed 1",
           r.stdout == run("arch", "sample", "--space", "small", "--seed", "1").stdout, r.stdout)
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
    expect("arch sample --seed with --largest (older spelling) exits 2", r.returncode == 2, f"exit {r.returncode}")
    r = run("arch", "sample", "--help")
    expect("arch sample --help shows one spelling (arch show largest), not --largest",
           "--largest" not in r.stdout and "--seed" in r.stdout, r.stdout)
    # One spelling of largest / smallest everywhere: `arch show largest`.
    r = run("arch", "show", "largest", "--space", "hat-wmt", "--json")
    j = t.json_of(r)
    expect("arch show largest --json: the largest arch and its size",
           j is not None and j["arch"] == big and j["vocab"] == 8000 and j["src_len"] == 30 and j["params"] > 0
           and len(j["encoding"]) == 10 and j["space"] == "hat-wmt", r.stdout + r.stderr)
    r = run("arch", "show", "smallest", "--space", "small")
    expect("arch show smallest prints its layers", r.returncode == 0 and "valid: smallest is an arch of space small"
           in r.stdout and "decoder: embed_dim 192, 1 layers" in r.stdout, r.stdout + r.stderr)
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
    j = t.json_of(run("arch", "show", tiny_arch, "--space", tiny, "--vocab", "10", "--src-len", "3", "--tgt-len", "2",
                      "--json"))
    expect("arch show --json: the same numbers",
           j is not None and j["params"] == 364 and j["flops"] == 1632 and j["vocab"] == 10 and j["tgt_len"] == 2
           and j["encoding"] == [1, 1, 1, 1, 0.5, 0.5, 1, 1, 1, 1] and j["arch"]["decoder"]["embed_dim"] == 2
           and j["space"] == "tiny", str(j))
    usage_error("arch show --budget with an arch file",
                run("arch", "show", tiny_arch, "--space", tiny, "--budget", "4"), "--budget")
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

sys.exit(t.finish())
