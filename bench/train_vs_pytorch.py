"""bench/train_vs_pytorch.py: training throughput of libmos against the PyTorch
peer, both measured in this run on the same model, batch and thread count.

    bench/.venv/bin/python bench/train_vs_pytorch.py [--bench-dir build/bench] [--threads 1,2] [--steps 3]
        [--repeat 2] [--routing none|layer|neuron] [--sampling uniform|sandwich] [--len 32]
        [--mos-bf16 auto|on|off] [--mos-shards on|off] [--peer-python PY] [--extra-peer-python /usr/bin/python3]

For every routing mode (none; layer and neuron with m = 2), sampling (uniform,
sandwich) and thread count it prints, for each libmos configuration (f32, and
bf16 mixed precision `mos-bench-train --precision bf16` where the CPU has bf16
instructions) and each PyTorch configuration, both sides' tokens/s and the
ratio libmos / PyTorch (target >= 1.5), then libmos bf16 against libmos f32
(target >= 1.6), each libmos configuration's rate against its one-thread rate
(target >= 10 at 16 threads) and the cost of neuron-wise MoS relative to the weight-sharing
step (target <= 1.2). With --mos-shards on (the default) every libmos
configuration also runs, above one thread, with each thread training its own
shard of the batch (`mos-bench-train --shards`, MOS_TRAIN_SPLIT=shards in
training; docs/training.md), as "... shards" rows. Dropout is off on both sides, and both train the same subnets in
every update (mos-bench-train --archs-out feeds the peer's --archs). The sides
run alternately --repeat times and each keeps its best run, which damps
interference from other load on a shared machine.

The PyTorch configurations: the peer (bench/peers/torch_train_step.py) under
--peer-python, by default the PyTorch 2.x of bench/.venv (scripts/install-deps.sh
--peers), in f32 and, where the CPU has bf16 instructions (avx512_bf16 or
amx_bf16), with bf16 autocast (torch.autocast("cpu", dtype=torch.bfloat16),
PyTorch's mixed precision on CPU); and, with --extra-peer-python (e.g.
/usr/bin/python3 with Debian's PyTorch 1.13), the same peer in f32 under that
Python as extra rows.

Both sides do the same matrix products (the model FLOPs of an update, counted by
mos-bench-train), so every row also shows the rate each side reached as a share
of the machine's FMA peak for the dtype of its products (f32; bf16 for the libmos
bf16 and the autocast rows), measured in the same run by mos-bench-gemm, and the share of the
f32 peak that 1.5x PyTorch's rate would take.

--bench-dir and --mos-cli point at the programs of a packed build elsewhere
(mos-bench-train and mos-bench-gemm in --bench-dir; mos-cli only prints the
build facts of the libmos measured).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
VENV = os.environ.get("MOS_PEERS_VENV", os.path.join(HERE, ".venv"))


def run(cmd, env):
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        sys.exit(f"train_vs_pytorch: {' '.join(cmd)}: exit {r.returncode}: {r.stderr.strip()[-800:]}")
    return [json.loads(l) for l in r.stdout.splitlines() if l.startswith("{")]


def cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def torch_version(python, env):
    r = subprocess.run([python, "-c", "import torch; print(torch.__version__)"], capture_output=True, text=True,
                       env=env)
    if r.returncode != 0:
        sys.exit(f"train_vs_pytorch: {python} cannot import torch ({r.stderr.strip().splitlines()[-1:]}); "
                 "scripts/install-deps.sh --peers makes bench/.venv, --torch installs Debian's PyTorch")
    return r.stdout.strip()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"), help="build folder (its bench/ and tools/)")
    ap.add_argument("--bench-dir", help="folder of mos-bench-train and mos-bench-gemm (default: BUILD/bench)")
    ap.add_argument("--mos-cli", help="mos-cli of the libmos measured (default: BUILD/tools/mos-cli/mos-cli)")
    ap.add_argument("--peer-python", default=os.path.join(VENV, "bin", "python"),
                    help="Python whose PyTorch runs the peer (default: bench/.venv, PyTorch 2.x)")
    ap.add_argument("--extra-peer-python", action="append", default=[],
                    help="another Python for extra f32 peer rows, e.g. /usr/bin/python3 (Debian's PyTorch 1.13)")
    ap.add_argument("--autocast", choices=["auto", "on", "off"], default="auto",
                    help="bf16 autocast rows of the peer: where the CPU has bf16 instructions (auto), always, never")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=2, help="alternate runs per side; the best counts")
    ap.add_argument("--routing", choices=["none", "layer", "neuron"], help="only this routing mode")
    ap.add_argument("--sampling", choices=["uniform", "sandwich"], help="only this sampling")
    ap.add_argument("--len", type=int, default=32, help="sentence length of the synthetic batches (both sides)")
    ap.add_argument("--mos-bf16", choices=["auto", "on", "off"], default="auto",
                    help="libmos bf16 rows: where the CPU has bf16 instructions (auto), always, never")
    ap.add_argument("--mos-shards", choices=["on", "off"], default="on",
                    help="also run libmos with every thread training its own shard (above one thread)")
    a = ap.parse_args()
    only = (["--routing", a.routing] if a.routing else []) + (["--sampling", a.sampling] if a.sampling else []) + [
        "--len", str(a.len)]
    bench_dir = a.bench_dir or os.path.join(a.build, "bench")
    mos_cli = a.mos_cli or os.path.join(a.build, "tools", "mos-cli", "mos-cli")
    exe = os.path.join(bench_dir, "mos-bench-train")
    gemm_exe = os.path.join(bench_dir, "mos-bench-gemm")
    for p in (exe, gemm_exe):
        if not os.access(p, os.X_OK):
            ap.error(f"{p} is not an executable (build with -Dbenchmarks=enabled, or give --bench-dir)")
    env = dict(os.environ, OMP_WAIT_POLICY="passive")
    env.pop("OPENBLAS_CORETYPE", None)
    flags = cpu_flags()
    bf16_cpu = bool({"avx512_bf16", "amx_bf16"} & flags)
    step_py = os.path.join(HERE, "peers", "torch_train_step.py")

    # The PyTorch configurations: (label, python, extra args, peak dtype).
    peers = []
    v = torch_version(a.peer_python, env)
    peers.append((f"pytorch {v} f32", a.peer_python, [], "f32"))
    if a.autocast == "on" or (a.autocast == "auto" and bf16_cpu):
        peers.append((f"pytorch {v} bf16 autocast", a.peer_python, ["--autocast", "bf16"], "bf16"))
    for py in a.extra_peer_python:
        peers.append((f"pytorch {torch_version(py, env)} f32", py, [], "f32"))
    # The libmos configurations: (label, extra args, peak dtype); shard rows only above one thread.
    mine = [("libmos f32", [], "f32")]
    if a.mos_bf16 == "on" or (a.mos_bf16 == "auto" and bf16_cpu):
        mine.append(("libmos bf16", ["--precision", "bf16"], "bf16"))
    if a.mos_shards == "on":
        mine += [(label + " shards", extra + ["--shards"], dt) for label, extra, dt in list(mine)]
    sharded = lambda label: label.endswith(" shards")

    if os.access(mos_cli, os.X_OK):
        info = subprocess.run([mos_cli, "info"], capture_output=True, text=True, env=env).stdout.strip()
        print("libmos: " + ", ".join(info.splitlines()))
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
            here = [m for m in mine if t > 1 or not sharded(m[0])]
            mos_runs = {m[0]: [] for m in here}
            peer_runs = {p[0]: [] for p in peers}
            for _ in range(a.repeat):
                # Alternating: each libmos configuration, then each peer; the f32 run
                # writes the subnets every side trains.
                for label, extra, _ in here:
                    out = archs if label == mine[0][0] else os.path.join(tmp, "archs-other.jsonl")
                    mos_runs[label].append(run([exe, "--threads", str(t), "--steps", str(a.steps), "--dropout", "0",
                                                "--archs-out", out, *extra, *only], env_t))
                for label, py, extra, _ in peers:
                    peer_runs[label].append(run([py, step_py, "--threads", str(t), "--steps", str(a.steps),
                                                 "--archs", archs, *extra, *only], env_t))
            mos = {label: best(rs) for label, rs in mos_runs.items()}
            maps = {label: best(rs) for label, rs in peer_runs.items()}
            for r in run([gemm_exe, "--quick", "--threads", str(t), "--shape", "64x64x64", "--backend", "onednn",
                          "--dtype", "f32", "--json-only"], env_t):
                if r.get("kind") == "peak":
                    peak[t] = {"f32": r["f32_gflops"][str(t)],
                               "bf16": (r.get("bf16_gflops") or {}).get(str(t))}
            for mlabel, _, mdt in here:
                for k, r in mos[mlabel].items():
                    if mdt == "bf16" and r.get("precision") != "bf16":
                        continue  # products ran in f32 (no native bf16): not a bf16 row
                    for label, _, _, dt in peers:
                        rows.append((t, mlabel, mdt, r, label, dt, maps[label][k]))
    print("FMA peak (GFLOP/s): " + ", ".join(
        f"{t} thread{'s' if t > 1 else ''} f32 {peak[t]['f32']:.1f}"
        + (f" bf16 {peak[t]['bf16']:.1f}" if peak[t]["bf16"] else "") for t in sorted(peak)))
    width = max(len(p[0]) for p in peers)
    mwidth = max(len(m[0]) for m in mine)
    print(f"{'threads':>7} {'routing':>7} {'sampling':>9} {'libmos':>{mwidth}} {'tok/s':>7} {'peer':>{width}}"
          f" {'tok/s':>7} {'ratio':>6} {'GFLOP/upd':>10} {'libmos %pk':>10} {'peer %pk':>9} {'1.5x %pk':>9}")

    def pct(r, tokens_per_second, t, dt):
        # rate of model FLOPs at this token rate, in % of the peak of t threads and dtype dt
        pk = peak[t][dt]
        if not pk:
            return None
        return 100.0 * r["model_gflop_per_update"] * tokens_per_second / r["tokens_per_update"] / pk

    fmt = lambda x: "-" if x is None else f"{x:.1f}"
    rnd = lambda x: None if x is None else round(x, 1)
    for t, mlabel, mdt, r, label, dt, p in rows:
        print(f"{t:>7} {r['routing']:>7} {r['sampling']:>9} {mlabel:>{mwidth}} {r['tokens_per_second']:>7.0f}"
              f" {label:>{width}} {p['tokens_per_second']:>7.0f} {r['tokens_per_second'] / p['tokens_per_second']:>6.2f}"
              f" {r['model_gflop_per_update']:>10.1f} {fmt(pct(r, r['tokens_per_second'], t, mdt)):>10}"
              f" {fmt(pct(r, p['tokens_per_second'], t, dt)):>9}"
              f" {fmt(pct(r, 1.5 * p['tokens_per_second'], t, mdt)):>9}")
    if len(mine) > 1:
        print("\nlibmos bf16 / libmos f32 (target >= 1.6):")
        for t, mlabel, mdt, r, label, _, _ in rows:
            if mdt != "bf16" or label != peers[0][0]:
                continue
            f32_label = mine[0][0] + (" shards" if sharded(mlabel) else "")
            f = [rr for tt, ml, _, rr, lb, _, _ in rows
                 if tt == t and ml == f32_label and lb == label and key(rr) == key(r)]
            if f:
                print(f"  threads {t} {r['routing']:>7} {r['sampling']:>9}{' (shards)' if sharded(mlabel) else ''}: "
                      f"{r['tokens_per_second'] / f[0]['tokens_per_second']:.2f}x")
    print("\nlibmos against its own one-thread rate (same precision; target >= 10 at 16 threads):")
    for t, mlabel, mdt, r, label, _, _ in rows:
        if t == 1 or label != peers[0][0]:
            continue
        base = mlabel[:-len(" shards")] if sharded(mlabel) else mlabel
        one = [rr for tt, ml, _, rr, lb, _, _ in rows if tt == 1 and ml == base and lb == label and key(rr) == key(r)]
        if one:
            print(f"  threads {t} {r['routing']:>7} {r['sampling']:>9} {mlabel:>{mwidth}}: "
                  f"{r['tokens_per_second'] / one[0]['tokens_per_second']:.2f}x")
    print("\nneuron-wise MoS (m = 2) step cost relative to weight sharing (libmos f32):")
    rows_f32 = [(t, r, label, dt, p) for t, ml, _, r, label, dt, p in rows if ml == mine[0][0]]
    seen = set()
    for t, r, _, _, _ in rows_f32:
        if t in seen:
            continue
        seen.add(t)
        for s in ("uniform", "sandwich"):
            by = {rr["routing"]: rr for tt, rr, _, _, _ in rows_f32 if tt == t and rr["sampling"] == s}
            if "none" in by and "neuron" in by:
                print(f"  threads {t} {s:>9}: {by['none']['tokens_per_second'] / by['neuron']['tokens_per_second']:.3f}x")
    for t, mlabel, mdt, r, label, dt, p in rows:
        print(json.dumps({"threads": t, "routing": r["routing"], "sampling": r["sampling"], "libmos_config": mlabel,
                          "peer": label, "libmos": r["tokens_per_second"], "pytorch": p["tokens_per_second"],
                          "ratio": round(r["tokens_per_second"] / p["tokens_per_second"], 3),
                          "model_gflop_per_update": r["model_gflop_per_update"],
                          "libmos_peak_gflops": peak[t][mdt], "peer_peak_gflops": peak[t][dt],
                          "libmos_pct_peak": rnd(pct(r, r["tokens_per_second"], t, mdt)),
                          "pytorch_pct_peak": rnd(pct(r, p["tokens_per_second"], t, dt))}))


if __name__ == "__main__":
    sys.exit(main())
