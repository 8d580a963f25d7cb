#!/usr/bin/env python3
"""tests/bench/test_bench_gemm.py: mos-bench-gemm (and `mos-cli bench gemm`,
which runs it) print valid JSON lines with the expected fields. Checks the
format and the internal consistency of the numbers, never their speed.

usage: test_bench_gemm.py path/to/mos-bench-gemm path/to/mos-cli
"""
import json
import subprocess
import sys

bench, cli = sys.argv[1], sys.argv[2]
failures = 0
count = 0

GEMM_FIELDS = {"backend": str, "dtype": str, "M": int, "K": int, "N": int, "threads": int,
               "gflops": (int, float), "pct_peak": (int, float), "median_ms": (int, float),
               "reps": int, "model": str, "layer": str, "op": str}


def expect(name, cond, detail=""):
    global failures, count
    count += 1
    print(("ok" if cond else "not ok") + f" {count} - {name}" + (f": {detail}" if not cond and detail else ""))
    if not cond:
        failures += 1


def check_output(label, r, shape, backends):
    expect(f"{label}: exit 0", r.returncode == 0, r.stderr)
    lines = r.stdout.splitlines()
    objs = []
    for ln in lines:
        try:
            objs.append(json.loads(ln))
        except ValueError:
            objs.append(None)
    expect(f"{label}: every line is JSON", lines and all(isinstance(o, dict) for o in objs), r.stdout)
    if not lines or not all(isinstance(o, dict) for o in objs):
        return
    peak = objs[0]
    expect(f"{label}: first line is the peak", peak.get("kind") == "peak", lines[0])
    expect(f"{label}: peak for 1 thread > 0",
           isinstance(peak.get("f32_gflops"), dict) and peak["f32_gflops"].get("1", 0) > 0, lines[0])
    gemms = objs[1:]
    expect(f"{label}: all other lines are gemm lines", all(o.get("kind") == "gemm" for o in gemms), r.stdout)
    # f32 per backend, plus bf16 on onednn where the CPU has it.
    want = {(b, "f32") for b in backends}
    if "onednn" in backends and peak.get("avx512_bf16") and peak.get("bf16_gflops", {}).get("1", 0) > 0:
        want.add(("onednn", "bf16"))
    got = {(o.get("backend"), o.get("dtype")) for o in gemms}
    expect(f"{label}: backends and dtypes", got <= want and ("%s" % backends[0], "f32") in got and
           len(gemms) == len(got), f"got {sorted(got)}, allowed {sorted(want)}")
    for o in gemms:
        bad = [k for k, t in GEMM_FIELDS.items() if not isinstance(o.get(k), t) or isinstance(o.get(k), bool)]
        expect(f"{label}: fields of {o.get('backend')}/{o.get('dtype')}", not bad, f"bad fields {bad} in {o}")
        if bad:
            continue
        expect(f"{label}: shape and threads", (o["M"], o["K"], o["N"], o["threads"]) == (*shape, 1), str(o))
        flops = 2.0 * o["M"] * o["K"] * o["N"]
        implied = flops / (o["median_ms"] * 1e-3) * 1e-9 if o["median_ms"] > 0 else -1
        expect(f"{label}: gflops matches the median time", o["gflops"] > 0 and
               abs(implied - o["gflops"]) <= 0.02 * o["gflops"] + 0.02, f"{implied} vs {o['gflops']}")
        pk = peak["bf16_gflops" if o["dtype"] == "bf16" else "f32_gflops"]["1"]
        expect(f"{label}: pct_peak = gflops / peak", abs(100.0 * o["gflops"] / pk - o["pct_peak"]) <= 0.1 +
               0.01 * o["pct_peak"], f"{o['gflops']} / {pk} vs {o['pct_peak']}")


args = ["--quick", "--shape", "24x40x56", "--threads", "1", "--json-only"]
r = subprocess.run([bench, *args], capture_output=True, text=True, timeout=60)
check_output("mos-bench-gemm", r, (24, 40, 56), ["onednn", "openblas"])
expect("--json-only leaves stderr empty", r.stderr == "", r.stderr)

r = subprocess.run([cli, "bench", "gemm", "--backend", "openblas", *args], capture_output=True, text=True,
                   timeout=60)
check_output("mos-cli bench gemm", r, (24, 40, 56), ["openblas"])

r = subprocess.run([bench, "--shape", "24x0x5"], capture_output=True, text=True, timeout=60)
expect("bad --shape: exit 2 with a message", r.returncode == 2 and "MxKxN" in r.stderr, r.stderr)
r = subprocess.run([bench, "--backend", "bogus"], capture_output=True, text=True, timeout=60)
expect("bad --backend: exit 2", r.returncode == 2 and "bogus" in r.stderr, r.stderr)

print(f"1..{count}")
sys.exit(1 if failures else 0)
