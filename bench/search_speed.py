"""bench/search_speed.py: wall time of a full default evolutionary search
(population 125 = 25 parents + 50 mutations + 50 crossovers, 30 iterations) of
a `small` supernet with a latency predictor and a 500-sentence validation
subset, against the target of 10 minutes on 2 cores.

    /usr/bin/python3 bench/search_speed.py [--build build] [--supernet CKPT]
        [--data data/bible-en-es --src en --tgt es] [--predictor FILE | --collect 100]
        [--threads 2] [--iterations 30] [--work DIR]

Without --supernet it trains one for two updates on --data (the search's cost
depends on the subnet shapes it evaluates, not on the weights' values). Without
--predictor it times --collect sampled archs on this machine and fits one; that
time is reported apart, it is not part of the search. The latency budget is
the median collected latency, so about half the space is feasible.

With --iterations below 30 (a full search takes an hour or more here) it
projects the full search from the measured number of new archs per iteration
after the first and the measured time per evaluation.

Prints the search's wall time, the target and their ratio, the number of
distinct archs evaluated, the time per evaluation, the forward FLOPs those
evaluations needed, and the time the same FLOPs would take at this machine's
measured f32 GEMM throughput (mos-bench-gemm), i.e. the floor of any
implementation of the same fitness. One JSON object at the end.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TARGET_S = 600.0


def run(cmd, env, **kw):
    t0 = time.monotonic()
    p = subprocess.run(cmd, env=env, text=True, **kw)
    if p.returncode != 0:
        sys.exit(f"search_speed: {' '.join(cmd[:2])} failed with exit {p.returncode}")
    return p, time.monotonic() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    ap.add_argument("--supernet")
    ap.add_argument("--data", default=os.path.join(HERE, "..", "data", "bible-en-es"))
    ap.add_argument("--src", default="en")
    ap.add_argument("--tgt", default="es")
    ap.add_argument("--predictor")
    ap.add_argument("--collect", type=int, default=100)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--iterations", type=int, default=30)
    ap.add_argument("--valid-sentences", type=int, default=500)
    ap.add_argument("--work")
    a = ap.parse_args()

    cli = os.path.join(a.build, "tools", "mos-cli", "mos-cli")
    gemm = os.path.join(a.build, "bench", "mos-bench-gemm")
    env = dict(os.environ, OMP_WAIT_POLICY="passive", OMP_NUM_THREADS=str(a.threads))
    env.pop("OPENBLAS_CORETYPE", None)
    env["LD_LIBRARY_PATH"] = os.path.join(a.build, "lib") + ":" + env.get("LD_LIBRARY_PATH", "")
    work = a.work or tempfile.mkdtemp(prefix="mos-search-speed-")
    os.makedirs(work, exist_ok=True)

    supernet = a.supernet
    if not supernet:
        supernet = os.path.join(work, "net.safetensors")
        print(f"# training a small neuron-wise supernet (m = 2) for 2 updates on {a.data}", flush=True)
        run([cli, "train", "--data", a.data, "--src", a.src, "--tgt", a.tgt, "--space", "small", "--routing",
             "neuron", "--experts", "2", "--out", supernet, "--max-steps", "2", "--valid-sentences", "20",
             "--threads", str(a.threads), "--quiet"], env)

    predictor = a.predictor
    collect_s = 0.0
    budget = None
    if not predictor:
        dataset = os.path.join(work, "latency.jsonl")
        predictor = os.path.join(work, "latency.safetensors")
        print(f"# timing {a.collect} sampled archs for the latency predictor", flush=True)
        _, collect_s = run([cli, "latency", "--collect", str(a.collect), "--space", "small", "--out", dataset], env)
        run([cli, "latency", "--train-predictor", dataset, "--out", predictor], env)
        with open(dataset) as f:
            lat = [json.loads(l)["latency_ms"] for l in f.readlines()[1:]]
        budget = statistics.median(lat)
    else:
        p, _ = run([cli, "latency", "--supernet", supernet, "--arch", "largest", "--runs", "5", "--json"], env,
                   capture_output=True)
        budget = 0.6 * json.loads(p.stdout)["latency_ms"]

    out = os.path.join(work, "search.json")
    print(f"# searching: population 125, {a.iterations} iterations, {a.valid_sentences} validation sentences, "
          f"budget {budget:.2f} ms, {a.threads} threads", flush=True)
    _, wall = run([cli, "search", "--supernet", supernet, "--data", a.data, "--src", a.src, "--tgt", a.tgt,
                   "--predictor", predictor, "--latency-ms", f"{budget:.3f}", "--valid-sentences",
                   str(a.valid_sentences), "--iterations", str(a.iterations), "--out", out], env)
    with open(out) as f:
        res = json.load(f)
    st = res["stats"]
    evals = st["archs_evaluated"]
    per_eval = st["seconds_per_evaluation"]

    # The floor: the fitness evaluations' forward FLOPs (counted by the search
    # on the unpadded subset) at this machine's best f32 GEMM throughput on
    # the model's own shapes with M >= 256, measured now.
    flops = st["fitness_gflop"] * 1e9
    src_tok, tgt_tok, pairs = st["valid_src_tokens"], st["valid_tgt_tokens"], st["valid_pairs"]
    p, _ = run([gemm, "--threads", str(a.threads), "--dtype", "f32", "--backend", "onednn", "--quick", "--json-only"],
               env, capture_output=True)
    rows = [json.loads(l) for l in p.stdout.splitlines() if l.startswith("{")]
    gflops = max(r["gflops"] for r in rows if r.get("M", 0) >= 256 and "gflops" in r)
    floor_s = flops / (gflops * 1e9)

    # With fewer than 30 iterations, project the full search from the measured
    # rate of new archs per iteration after the first (at most 100 children).
    full = 30
    if a.iterations > 1:
        per_iter = (evals - 125) / (a.iterations - 1)
    else:
        per_iter = 100.0
    proj_evals = evals if a.iterations >= full else 125 + per_iter * (full - 1)
    proj_wall = wall * proj_evals / evals
    print(f"search wall time            {wall:9.1f} s   ({a.iterations} of {full} iterations)")
    if a.iterations < full:
        print(f"projected for {full} iterations {proj_wall:9.1f} s   ({proj_evals:.0f} archs at {per_iter:.0f} new per "
              f"iteration; target {TARGET_S:.0f} s, ratio {proj_wall / TARGET_S:.2f})")
    else:
        print(f"target                      {TARGET_S:9.0f} s   (ratio {wall / TARGET_S:.2f})")
    print(f"  in fitness evaluations    {st['fitness_seconds']:9.1f} s")
    print(f"distinct archs evaluated    {evals:9d}")
    print(f"time per evaluation         {per_eval:9.3f} s   ({pairs} pairs, {src_tok}+{tgt_tok} tokens)")
    print(f"forward FLOPs of fitness    {flops / 1e12:9.2f} TFLOP")
    print(f"f32 GEMM best here          {gflops:9.1f} GFLOP/s ({a.threads} threads)")
    print(f"floor at that throughput    {floor_s:9.1f} s   (wall / floor {wall / floor_s:.2f}); for {full} "
          f"iterations {floor_s * proj_evals / evals:.0f} s")
    if collect_s:
        print(f"(predictor: {a.collect} archs timed in {collect_s:.0f} s, not part of the search)")
    print(json.dumps({"wall_s": round(wall, 1), "iterations": a.iterations, "projected_wall_s": round(proj_wall, 1),
                      "target_s": TARGET_S, "ratio": round(proj_wall / TARGET_S, 3),
                      "archs_evaluated": evals, "seconds_per_evaluation": round(per_eval, 4),
                      "fitness_tflop": round(flops / 1e12, 3), "gemm_gflops": round(gflops, 1),
                      "floor_s": round(floor_s, 1), "threads": a.threads, "budget_ms": round(budget, 3),
                      "valid_pairs": pairs}))


if __name__ == "__main__":
    main()
