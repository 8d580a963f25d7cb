"""bench/search_speed.py: wall time and quality of a default `mos-cli search`
of the built-in `small` supernet (data/bible-en-es) with a latency predictor,
for one and for three latency budgets, against the target of 10 minutes on 2
cores (docs/search.md, "Speed").

    /usr/bin/python3 bench/search_speed.py [--build build] [--supernet builtin]
        [--data data/bible-en-es --src en --tgt es] [--predictor FILE | --collect 100]
        [--threads 2] [--budgets-count 1,3] [--protocol default|full]
        [--reference RESULT.json [RESULT.json ...]] [--out RESULT.json] [--mpirun "mpirun -np 16 ..."]
        [--work DIR] [-- EXTRA SEARCH FLAGS]

--protocol default runs the search with mos-cli's defaults (racing, fitness
precision auto); --protocol full runs the full protocol the fast one is
compared with: no racing, f32 fitness, population 125, 30 iterations, 500
validation sentences. --out writes the result of the three-budget search (the
reference for a later --reference run) and copies the predictor beside it
(RESULT.json.predictor.safetensors, which --reference then uses); --mpirun puts that command in front of
mos-cli (the full protocol on many cores).

Without --predictor it times --collect sampled archs here and fits one (that
time is reported apart: it is not part of the search). The budgets are the
25th, 50th and 75th percentiles of the collected latencies (one budget: the
median), or, with --reference, the reference's budgets (give the predictor the
reference used).

--reference takes one result or several (e.g. one per budget, each searched on
its own); their budgets are merged, in ascending order.

With --reference, the arch the search picked for each budget is compared with
the reference's pick on the full-subset validation loss in f32 (the search
re-scores each budget's winner in f32 on the whole subset, so both results
carry that figure), against the target of 0.01 nats.

Prints the machine's load average before and after, and per search: wall
time, distinct archs screened and fully scored, time per screening and per
full evaluation, the precision, and per budget the iterations run and why the
evolution ended (completed, or converged under --patience); then the quality
comparison. One JSON object at the end.
"""
import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TARGET_S = 600.0
TARGET_NATS = 0.01
# The protocol of the comparison (mos-cli's defaults before racing).
FULL = ["--screen-sentences", "0", "--fitness-precision", "f32", "--population", "125", "--parents", "25",
        "--mutations", "50", "--crossovers", "50", "--iterations", "30", "--max-sentences", "500"]


def run(cmd, env, **kw):
    t0 = time.monotonic()
    p = subprocess.run(cmd, env=env, text=True, **kw)
    if p.returncode != 0:
        sys.exit(f"search_speed: {' '.join(cmd[:3])} failed with exit {p.returncode}")
    return p, time.monotonic() - t0


def percentile(xs, q):
    xs = sorted(xs)
    k = (len(xs) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    ap.add_argument("--supernet", default="builtin")
    ap.add_argument("--data", default=os.path.join(HERE, "..", "data", "bible-en-es"))
    ap.add_argument("--src", default="en")
    ap.add_argument("--tgt", default="es")
    ap.add_argument("--predictor")
    ap.add_argument("--collect", type=int, default=100)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--budgets-count", default="1,3", help="searches to run: with 1 and/or 3 budgets")
    ap.add_argument("--protocol", choices=["default", "full"], default="default")
    ap.add_argument("--reference", nargs="+",
                    help="result(s) of the full protocol to compare the picks with (budgets merged)")
    ap.add_argument("--out", help="write the three-budget search's result here")
    ap.add_argument("--mpirun", default="", help="command put in front of mos-cli, e.g. 'mpirun -np 16'")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--work")
    ap.add_argument("extra", nargs="*", help="more mos-cli search flags (after --)")
    a = ap.parse_args()

    cli = os.path.join(a.build, "tools", "mos-cli", "mos-cli")
    env = dict(os.environ, OMP_WAIT_POLICY="passive")
    if not a.mpirun:
        env["OMP_NUM_THREADS"] = str(a.threads)
    env.pop("OPENBLAS_CORETYPE", None)
    env["LD_LIBRARY_PATH"] = os.path.join(a.build, "lib") + ":" + env.get("LD_LIBRARY_PATH", "")
    work = a.work or tempfile.mkdtemp(prefix="mos-search-speed-")
    os.makedirs(work, exist_ok=True)

    ref = None
    if a.reference:
        refs = []
        for path in a.reference:
            with open(path) as f:
                refs.append(json.load(f))
        ref = dict(refs[0])
        ref["results"] = sorted((r for x in refs for r in x["results"]), key=lambda r: r["budget_ms"])
        if not a.predictor:
            # The predictor the reference was searched with: saved beside it
            # by --out, or the one its result names.
            beside = a.reference[0] + ".predictor.safetensors"
            named = ref.get("latency_source", "").split(" ", 1)[-1]
            a.predictor = beside if os.path.exists(beside) else named
            if not os.path.exists(a.predictor):
                sys.exit("search_speed: --reference needs --predictor (the predictor the reference used)")

    predictor = a.predictor
    collect_s = 0.0
    lat = []
    if not predictor:
        dataset = os.path.join(work, "latency.jsonl")
        predictor = os.path.join(work, "latency.safetensors")
        print(f"# timing {a.collect} sampled archs for the latency predictor", flush=True)
        _, collect_s = run([cli, "latency", "--collect", str(a.collect), "--space", "small", "--threads",
                            str(a.threads), "--out", dataset], env)
        run([cli, "latency", "--train-predictor", dataset, "--out", predictor], env)
        with open(dataset) as f:
            lat = [json.loads(l)["latency_ms"] for l in f.readlines()[1:]]

    def budgets_for(n):
        if ref is not None:
            bs = [r["budget_ms"] for r in ref["results"]]
            return bs if n >= len(bs) else [bs[len(bs) // 2]]
        if not lat:
            # A given predictor: budgets from its predictions would need the
            # space; ask for them instead.
            sys.exit("search_speed: with --predictor give --reference (its budgets) or use --collect")
        return [percentile(lat, 0.5)] if n == 1 else [percentile(lat, q) for q in (0.25, 0.5, 0.75)]

    load_before = os.getloadavg()
    print(f"# load average before: {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f} "
          f"on {os.cpu_count()} cores", flush=True)
    counts = [int(x) for x in a.budgets_count.split(",") if x]
    mpirun = shlex.split(a.mpirun)
    searches = []
    for n in counts:
        budgets = budgets_for(n)
        out = a.out if (a.out and n == max(counts)) else os.path.join(work, f"search-{n}.json")
        cmd = mpirun + [cli, "search", "--supernet", a.supernet, "--data", a.data, "--src", a.src, "--tgt", a.tgt,
                        "--predictor", predictor, "--budgets", ",".join(f"{b:.3f}" for b in budgets),
                        "--seed", str(a.seed), "--out", out, "--progress-every", "60"]
        if not a.mpirun:
            cmd += ["--threads", str(a.threads)]
        if a.protocol == "full":
            cmd += FULL
        cmd += a.extra
        print(f"# {a.protocol} protocol, {n} budget(s) {', '.join(f'{b:.2f}' for b in budgets)} ms: "
              f"{' '.join(cmd[len(mpirun):])}", flush=True)
        _, wall = run(cmd, env)
        with open(out) as f:
            res = json.load(f)
        st = res["stats"]
        searches.append({"budgets": n, "wall_s": round(wall, 1), "archs_screened": st.get("archs_screened", 0),
                         "archs_fully_scored": st["archs_evaluated"], "screen_pairs": st.get("screen_pairs", 0),
                         "seconds_per_screen": round(st.get("seconds_per_screen", 0.0), 4),
                         "seconds_per_evaluation": round(st["seconds_per_evaluation"], 4),
                         "precision": st.get("fitness_precision", "f32"), "ranks": st.get("ranks", 1),
                         "stopped": res.get("stopped", False),
                         "results": [{"budget_ms": r["budget_ms"], "fitness": r["fitness"],
                                      "latency_ms": r["latency_ms"], "iterations": r.get("iterations"),
                                      "best_iteration": r.get("best_iteration"), "end": r.get("end"),
                                      "seed_archs": r.get("seed_archs", 0), "arch": r["arch"]}
                                     for r in res["results"]]})

    if a.out:
        shutil.copyfile(predictor, a.out + ".predictor.safetensors")
    for s in searches:
        print(f"{s['budgets']} budget(s): wall {s['wall_s']:.1f} s (target {TARGET_S:.0f} s, ratio "
              f"{s['wall_s'] / TARGET_S:.2f}); archs screened {s['archs_screened']} on {s['screen_pairs']} pairs "
              f"({s['seconds_per_screen']:.3f} s each), fully scored {s['archs_fully_scored']} "
              f"({s['seconds_per_evaluation']:.3f} s each); fitness in {s['precision']}; {s['ranks']} rank(s)"
              f"{'; STOPPED EARLY (Ctrl-C): not a whole search' if s['stopped'] else ''}")
        for r in s["results"]:
            ends = (f"; {r['iterations']} iterations ({r['end']}), best from iteration {r['best_iteration']}, "
                    f"{r['seed_archs']} seed archs" if r.get("end") else "")
            print(f"    budget {r['budget_ms']:.2f} ms: loss {r['fitness']:.4f} at {r['latency_ms']:.2f} ms{ends}")

    quality = []
    if ref is not None:
        mine = max(searches, key=lambda s: s["budgets"])["results"]
        print(f"quality against {', '.join(a.reference)} (full-subset f32 loss; target: within {TARGET_NATS} nats or better)")
        for r in ref["results"]:
            m = next((x for x in mine if abs(x["budget_ms"] - r["budget_ms"]) < 1e-3), None)
            if m is None:
                continue
            d = m["fitness"] - r["fitness"]
            ok = d <= TARGET_NATS
            same = m["arch"] == r["arch"]
            quality.append({"budget_ms": r["budget_ms"], "fast": m["fitness"], "reference": r["fitness"],
                            "difference": d, "within_target": ok, "same_arch": same})
            print(f"    budget {r['budget_ms']:.2f} ms: fast {m['fitness']:.4f}, reference {r['fitness']:.4f}, "
                  f"difference {d:+.4f} nats ({'ok' if ok else 'OVER TARGET'}{', same arch' if same else ''})")
    load_after = os.getloadavg()
    print(f"# load average after: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}")
    if collect_s:
        print(f"(predictor: {a.collect} archs timed in {collect_s:.0f} s, not part of the search)")
    print(json.dumps({"protocol": a.protocol, "threads": a.threads, "target_s": TARGET_S, "searches": searches,
                      "quality": quality, "predictor": predictor, "load_before": load_before,
                      "load_after": load_after}))


if __name__ == "__main__":
    main()
