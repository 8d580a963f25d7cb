#!/usr/bin/env python3
"""tests/cli/test_cli.py: mos-cli prints its version (from the library), help,
and rejects unknown subcommands and bad flags with a message and exit 2.

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

# Counted, not written by hand, so the summary stays right as cases are added.
print(f"{passed} passed, {failures} failed")
sys.exit(1 if failures else 0)
