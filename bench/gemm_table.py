#!/usr/bin/env python3
"""bench/gemm_table.py: turns the JSON lines of mos-bench-gemm into the
Markdown table of docs/benchmarks.md: one row per GEMM, one column per
backend/dtype/threads with GFLOP/s and (in brackets) % of the FMA peak of the
same dtype and thread count measured in the run.

usage: mos-bench-gemm --json-only | bench/gemm_table.py
"""
import json
import sys

peak = None
rows = {}
cols = []
for line in sys.stdin:
    o = json.loads(line)
    if o.get("kind") == "peak":
        peak = o
        continue
    key = (o["model"], o["layer"], o["op"], o["M"], o["K"], o["N"])
    col = f'{o["backend"]} {o["dtype"]} {o["threads"]}t'
    if col not in cols:
        cols.append(col)
    rows.setdefault(key, {})[col] = f'{o["gflops"]:.0f} ({o["pct_peak"]:.0f}%)'

if peak:
    f32 = ", ".join(f"{t} thr {v:.0f}" for t, v in peak["f32_gflops"].items())
    bf16 = ", ".join(f"{t} thr {v:.0f}" for t, v in peak["bf16_gflops"].items())
    print(f"Measured peak GFLOP/s ({peak['isa']}): f32 FMA {f32}; bf16 dot-product {bf16}.\n")
print("| model | layer | op | M | K | N | " + " | ".join(cols) + " |")
print("|---|---|---|---:|---:|---:|" + "---:|" * len(cols))
for key, r in rows.items():
    print("| " + " | ".join(str(k) for k in key) + " | " + " | ".join(r.get(c, "") for c in cols) + " |")
