#!/usr/bin/env python3
"""tests/bench/test_bench_decode.py: mos-bench-decode's speculative rows
(bench/bench_decode.cpp, --draft-tokens) on the built-in model: one JSON line
per draft size on HAT's protocol and one on test sentences, each with the
expected fields, the same tokens as plain greedy decoding, and a consistent
draft count (kept <= drafted, at least one check); both draft heads
(--draft-head int8,nibble) in turn; bad draft sizes and heads are usage errors
(exit 2). Checks the format and the outputs, never speed.

usage: test_bench_decode.py path/to/mos-bench-decode CORPUS_DIR
(MOS_BUILTIN_DIR names the built-in model's folder)
"""
import json
import subprocess
import sys

bench, corpus = sys.argv[1], sys.argv[2]
failures = 0
count = 0


def expect(name, cond, detail=""):
    global failures, count
    count += 1
    print(f"{'ok' if cond else 'not ok'} {count} - {name}" + (f" # {detail}" if detail and not cond else ""))
    if not cond:
        failures += 1


r = subprocess.run([bench, "--builtin", "--draft-tokens", "2,15", "--runs", "1", "--corpus", corpus,
                    "--sentences", "3"], capture_output=True, text=True, timeout=240)
expect("exit 0", r.returncode == 0, r.stderr[-400:])
lines = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
expect("four lines (2 draft sizes x hat, sentences)", len(lines) == 4, r.stdout[-400:])
fields = {"bench", "on", "draft_head", "sentences", "draft_tokens", "plain_ms", "spec_ms", "speedup", "checks", "drafted",
          "accepted", "draft_ms", "check_ms", "same_tokens"}
for i, j in enumerate(lines):
    expect(f"line {i}: fields", fields <= set(j), sorted(set(j)))
    expect(f"line {i}: spec bench", j.get("bench") == "spec" and j.get("on") in ("hat", "sentences"), j)
    expect(f"line {i}: same tokens as plain greedy", j.get("same_tokens") is True, j)
    expect(f"line {i}: draft counts", 0 <= j.get("accepted", -1) <= j.get("drafted", -1) and j.get("checks", 0) >= 1, j)
    expect(f"line {i}: times", j.get("plain_ms", 0) > 0 and j.get("spec_ms", 0) > 0, j)
expect("draft sizes in order", [j.get("draft_tokens") for j in lines] == [2, 2, 15, 15], lines)
r = subprocess.run([bench, "--builtin", "--draft-tokens", "3", "--draft-head", "int8,nibble", "--runs", "1"],
                   capture_output=True, text=True, timeout=240)
expect("--draft-head int8,nibble: exit 0", r.returncode == 0, r.stderr[-400:])
lines = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
expect("one HAT line per head, in order", [j.get("draft_head") for j in lines] == ["int8", "nibble"], lines)
expect("both heads: same tokens as plain greedy", all(j.get("same_tokens") is True for j in lines), lines)
for flag, bad in (("--draft-tokens", "0"), ("--draft-tokens", "16"), ("--draft-tokens", "3,x"),
                  ("--draft-head", "int4"), ("--draft-head", "int8,")):
    r = subprocess.run([bench, "--builtin", "--draft-tokens", "3", flag, bad], capture_output=True, text=True,
                       timeout=60)
    expect(f"{flag} {bad}: usage error", r.returncode == 2, r.stderr[-200:])
print(f"1..{count}")
sys.exit(1 if failures else 0)
