"""bench/scaling_mpi.py: data-parallel training throughput of `mpirun -np N
mos-cli train` for each rank count and thread count per rank
(docs/training.md, "Training on many machines"; results in docs/benchmarks.md
and docs/scaling.md).

    /usr/bin/python3 bench/scaling_mpi.py [--mos-cli build/tools/mos-cli/mos-cli] [--np 1,2] [--threads 1]
        [--space small] [--steps 20] [--max-tokens 4096] [--repeat 2] [--mpirun-args "--bind-to none"]
        [--data data/bible-en-es --src en --tgt es] [--vocab 2000] [--json results.json]

A starting checkpoint is trained first (one update, one process; the tokenizer
is trained once). Every (N, T) run resumes it for --steps updates under
`mpirun -np N ... mos-cli train --threads T`: the global batch is --max-tokens
whatever N is, so every run does the same work. Reported per run: target
tokens/s of the whole job (rank 0's average over the last 20 updates), the
efficiency against one rank with the same threads (tokens/s / (N x tokens/s of
N = 1)), and per update the time rank 0 spent in the gradient all-reduce and,
before it, waiting for the slowest rank to finish its backward pass. When both 1 x N*T and N x T
were run (e.g. --np 1,8 --threads 2,16), the ratio of N ranks x T threads to
one process with N*T threads is printed too (the target: 8 x 2 >= 85% of 1 x 16).
The runs alternate over --repeat rounds and each keeps its best, which damps
interference from other load on a shared machine.

mpirun gets OMP_NUM_THREADS=T, OMP_WAIT_POLICY=passive, and the permission to
run as root when the script runs as root. The default `--bind-to none` suits a
shared or small machine; on a dedicated one, bind each rank to its own cores:
--mpirun-args "--map-by slot:PE={threads} --bind-to core" ({threads} becomes T of
each run). --max-cores C skips the runs with N x T above C.
"""
import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def ints(text):
    return [int(x) for x in text.split(",") if x]


def run_train(args, np_, threads, base, out):
    env = dict(os.environ)
    env.pop("OPENBLAS_CORETYPE", None)
    env["OMP_NUM_THREADS"] = str(threads)
    env.setdefault("OMP_WAIT_POLICY", "passive")
    if os.geteuid() == 0:
        env["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
        env["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
    total = 1 + args.steps
    cmd = ([args.mpirun, "-np", str(np_)] + shlex.split(args.mpirun_args.replace("{threads}", str(threads))) +
           [args.mos_cli, "train", "--resume", base, "--out", out, "--data", args.data, "--src", args.src,
            "--tgt", args.tgt, "--max-steps", str(total), "--valid-every", str(total), "--max-sentences",
            str(args.valid_sentences), "--threads", str(threads), "--progress-every", "0"])
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit("scaling_mpi.py: %s failed (%d):\n%s" % (" ".join(cmd), p.returncode, p.stderr[-3000:]))
    tps = [float(m.group(1)) for m in re.finditer(r"([0-9.]+) tok/s", p.stderr)]
    comm = re.findall(r"all-reduce ([0-9.]+) ms per update", p.stderr)
    wait = re.findall(r"and ([0-9.]+) ms waiting for the slowest rank", p.stderr)
    if not tps:
        sys.exit("scaling_mpi.py: no tokens/s line in the output of %s:\n%s" % (" ".join(cmd), p.stderr[-3000:]))
    return {"tokens_per_second": tps[-1], "allreduce_ms": float(comm[-1]) if comm else 0.0,
            "wait_ms": float(wait[-1]) if wait else 0.0}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mos-cli", default=os.path.join(ROOT, "build", "tools", "mos-cli", "mos-cli"))
    ap.add_argument("--mpirun", default="mpirun")
    ap.add_argument("--mpirun-args", default="--bind-to none")
    ap.add_argument("--np", type=ints, default=[1, 2])
    ap.add_argument("--threads", type=ints, default=[1])
    ap.add_argument("--max-cores", type=int, default=0, help="skip runs with ranks x threads above this (0: none)")
    ap.add_argument("--space", default="small")
    ap.add_argument("--data", default=os.path.join(ROOT, "data", "bible-en-es"))
    ap.add_argument("--src", default="en")
    ap.add_argument("--tgt", default="es")
    ap.add_argument("--vocab", type=int, default=2000)
    ap.add_argument("--max-tokens", type=int, default=4096)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--valid-sentences", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="mos-scaling-") as tmp:
        base = os.path.join(tmp, "base.safetensors")
        env = dict(os.environ)
        env.pop("OPENBLAS_CORETYPE", None)
        subprocess.run([args.mos_cli, "train", "--space", args.space, "--data", args.data, "--src", args.src,
                        "--tgt", args.tgt, "--out", base, "--vocab", str(args.vocab), "--max-tokens",
                        str(args.max_tokens), "--max-steps", "1", "--valid-every", "1", "--max-sentences",
                        str(args.valid_sentences), "--dropout", "0", "--quiet"], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        best = {}
        for _ in range(args.repeat):
            for t in args.threads:
                for n in args.np:
                    if args.max_cores and n * t > args.max_cores:
                        continue
                    r = run_train(args, n, t, base, os.path.join(tmp, "run-%d-%d.safetensors" % (n, t)))
                    key = (n, t)
                    if key not in best or r["tokens_per_second"] > best[key]["tokens_per_second"]:
                        best[key] = r
    rows = []
    print("space %s, global batch %d tokens, %d updates per run, best of %d" %
          (args.space, args.max_tokens, args.steps, args.repeat))
    print("%5s %8s %12s %11s %14s %10s %12s" % ("ranks", "threads", "tokens/s", "efficiency", "all-reduce ms",
                                                 "wait ms", "vs 1 x N*T"))
    for (n, t), r in sorted(best.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        one = best.get((1, t))
        eff = r["tokens_per_second"] / (n * one["tokens_per_second"]) if one else None
        flat = best.get((1, n * t))
        vs = r["tokens_per_second"] / flat["tokens_per_second"] if flat and n > 1 else None
        rows.append({"ranks": n, "threads": t, "tokens_per_second": r["tokens_per_second"], "efficiency": eff,
                     "allreduce_ms_per_update": r["allreduce_ms"], "wait_ms_per_update": r["wait_ms"],
                     "vs_one_process_same_cores": vs})
        print("%5d %8d %12.0f %11s %14.2f %10.2f %12s" % (n, t, r["tokens_per_second"],
                                                       "%.1f%%" % (100 * eff) if eff is not None else "-",
                                                       r["allreduce_ms"], r["wait_ms"],
                                                       "%.1f%%" % (100 * vs) if vs else "-"))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"space": args.space, "max_tokens": args.max_tokens, "steps": args.steps, "runs": rows}, f,
                      indent=1)


if __name__ == "__main__":
    main()
