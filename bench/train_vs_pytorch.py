"""bench/train_vs_pytorch.py: training throughput of libmos against the PyTorch
peer, both measured in this run on the same model, batch and thread count.

    /usr/bin/python3 bench/train_vs_pytorch.py [--build build] [--threads 1,2] [--steps 3] [--repeat 2] [--routing none|layer|neuron]

For every routing mode (none; layer and neuron with m = 2), sampling (uniform,
sandwich) and thread count it prints both tokens/s and the ratio
libmos / PyTorch (target >= 1.5), then the cost of neuron-wise MoS relative to
the weight-sharing step (target <= 1.2). Dropout is off on both sides, and both
train the same subnets in every update (mos-bench-train --archs-out feeds the
peer's --archs). The two sides run alternately --repeat times and each keeps its
best run, which damps interference from other load on a shared machine.

Both sides do the same matrix products (the model FLOPs of an update, counted by
mos-bench-train), so every row also shows the rate each side reached as a share
of the machine's f32 FMA peak, measured in the same run by mos-bench-gemm, and
the share of peak that 1.5x PyTorch's rate would take.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def run(cmd, env):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    return [json.loads(l) for l in out.splitlines() if l.startswith("{")]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=2, help="alternate runs per side; the best counts")
    ap.add_argument("--routing", choices=["none", "layer", "neuron"], help="only this routing mode")
    a = ap.parse_args()
    only = ["--routing", a.routing] if a.routing else []
    exe = os.path.join(a.build, "bench", "mos-bench-train")
    gemm_exe = os.path.join(a.build, "bench", "mos-bench-gemm")
    env = dict(os.environ, OMP_WAIT_POLICY="passive")
    env.pop("OPENBLAS_CORETYPE", None)
    rows = []
    peak = {}
    key = lambda r: (r["routing"], r["sampling"])

    def best(runs):
        out = {}
        for rs in runs:
            for r in rs:
                if key(r) not in out or r["tokens_per_second"] > out[key(r)]["tokens_per_second"]:
                    out[key(r)] = r
        return out

    with tempfile.TemporaryDirectory() as tmp:
        archs = os.path.join(tmp, "archs.jsonl")
        for t in [int(x) for x in a.threads.split(",")]:
            env_t = dict(env, OMP_NUM_THREADS=str(t))
            mos_runs, torch_runs = [], []
            for _ in range(a.repeat):
                mos_runs.append(run([exe, "--threads", str(t), "--steps", str(a.steps), "--dropout", "0",
                                     "--archs-out", archs, *only], env_t))
                torch_runs.append(run(["/usr/bin/python3", os.path.join(HERE, "peers", "torch_train_step.py"),
                                       "--threads", str(t), "--steps", str(a.steps), "--archs", archs, *only], env_t))
            mos, tmap = best(mos_runs), best(torch_runs)
            for r in run([gemm_exe, "--quick", "--threads", str(t), "--shape", "64x64x64", "--backend", "onednn",
                          "--dtype", "f32", "--json-only"], env_t):
                if r.get("kind") == "peak":
                    peak[t] = r["f32_gflops"][str(t)]
            for k, r in mos.items():
                rows.append((t, r, tmap[k]))
    print("f32 FMA peak (GFLOP/s): " + ", ".join(f"{t} thread{'s' if t > 1 else ''} {peak[t]:.1f}"
                                                   for t in sorted(peak)))
    print(f"{'threads':>7} {'routing':>7} {'sampling':>9} {'libmos tok/s':>13} {'pytorch tok/s':>14} {'ratio':>6}"
          f" {'GFLOP/upd':>10} {'libmos %pk':>10} {'pytorch %pk':>11} {'1.5x %pk':>9}")

    def pct(r, tokens_per_second, t):
        # rate of model FLOPs at this token rate, in % of the peak of t threads
        gflops = r["model_gflop_per_update"] * tokens_per_second / r["tokens_per_update"]
        return 100.0 * gflops / peak[t]

    for t, r, p in rows:
        print(f"{t:>7} {r['routing']:>7} {r['sampling']:>9} {r['tokens_per_second']:>13.0f} "
              f"{p['tokens_per_second']:>14.0f} {r['tokens_per_second'] / p['tokens_per_second']:>6.2f}"
              f" {r['model_gflop_per_update']:>10.1f} {pct(r, r['tokens_per_second'], t):>10.1f}"
              f" {pct(r, p['tokens_per_second'], t):>11.1f} {pct(r, 1.5 * p['tokens_per_second'], t):>9.1f}")
    print("\nneuron-wise MoS (m = 2) step cost relative to weight sharing (libmos):")
    for t in sorted({t for t, _, _ in rows}):
        for s in ("uniform", "sandwich"):
            by = {r["routing"]: r for tt, r, _ in rows if tt == t and r["sampling"] == s}
            if "none" in by and "neuron" in by:
                print(f"  threads {t} {s:>9}: {by['none']['tokens_per_second'] / by['neuron']['tokens_per_second']:.3f}x")
    for t, r, p in rows:
        print(json.dumps({"threads": t, "routing": r["routing"], "sampling": r["sampling"],
                          "libmos": r["tokens_per_second"], "pytorch": p["tokens_per_second"],
                          "ratio": round(r["tokens_per_second"] / p["tokens_per_second"], 3),
                          "model_gflop_per_update": r["model_gflop_per_update"], "peak_gflops": peak[t],
                          "libmos_pct_peak": round(pct(r, r["tokens_per_second"], t), 1),
                          "pytorch_pct_peak": round(pct(r, p["tokens_per_second"], t), 1)}))


if __name__ == "__main__":
    sys.exit(main())
