"""tests/dist/test_mpi_search.py: `mpirun -np 2 mos-cli search` (suite mpi;
docs/search.md, "Searching on many machines"), TAP:
  * two ranks find the same archs with the same fitness (result and Pareto
    front) as one process for the same seed and GEMM library, and rank 0
    alone writes and prints;
  * each rank evaluates about half of the archs;
  * with racing (screening on 4 of the 10 pairs), two ranks still find what
    one process finds;
  * with two budgets (a latency predictor), the second seeded from the
    first, patience stopping both early and racing's parents' cutoff, two
    ranks still find what one process finds.
Usage: test_mpi_search.py MPIRUN MOS_CLI (environment: the mpi suite's)."""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cli"))
from cli_common import TINY_TRAIN, Checks, write_corpus  # noqa: E402

MPIRUN, CLI = sys.argv[1], sys.argv[2]
# One GEMM library for every process: under `auto` each process calibrates on
# its own (lib/backend/auto.cpp), and on a loaded machine two processes may pick
# different libraries for a shape, whose sums differ in the last bits.
os.environ["MOS_BACKEND"] = "onednn"
MPI = [MPIRUN, "-np", "2", "--oversubscribe", "--bind-to", "none"]


def main():
    c = Checks(CLI)
    with tempfile.TemporaryDirectory(prefix="mos-mpi-search-") as d:
        space = write_corpus(d)
        corpus = ["--data", d, "--src", "xx", "--tgt", "yy"]
        net = f"{d}/net.safetensors"
        r = c.run("train", *corpus, "--space", space, "--out", net, *TINY_TRAIN, "--max-steps", "3",
                  "--valid-every", "3", "--progress-every", "0")
        c.expect("a tiny supernet trains", r.returncode == 0 and os.path.exists(net), r.stderr)
        iterations = 3
        search = ["search", "--supernet", net, *corpus, "--max-sentences", "10", "--population", "8",
                  "--parents", "2", "--mutations", "3", "--crossovers", "3", "--iterations", str(iterations),
                  "--seed", "7", "--threads", "1", "--progress-every", "0"]
        one, two = f"{d}/one.json", f"{d}/two.json"
        r1 = c.run(*search, "--out", one)
        r2 = subprocess.run(MPI + [CLI, *search, "--out", two], capture_output=True, text=True, timeout=240)
        ok = r1.returncode == 0 and r2.returncode == 0 and os.path.exists(one) and os.path.exists(two)
        c.expect("one process and two ranks search", ok, f"{r1.stderr}\n{r2.stderr}")
        if not ok:
            return c.finish()
        a, b = json.load(open(one)), json.load(open(two))
        c.expect("the same archs and fitness as one process",
                 a["results"] == b["results"] and a["pareto"] == b["pareto"]
                 and a["stats"]["archs_evaluated"] == b["stats"]["archs_evaluated"],
                 json.dumps(a["results"]) + "\n" + json.dumps(b["results"]))
        c.expect("rank 0 alone prints", r2.stdout.count("budget ms") == 1, r2.stdout)
        total, mine = b["stats"]["archs_evaluated"], b["stats"]["archs_evaluated_by_this_rank"]
        c.expect("each rank evaluates about half of the archs",
                 b["stats"]["ranks"] == 2 and a["stats"]["ranks"] == 1
                 and a["stats"]["archs_evaluated_by_this_rank"] == total
                 and total / 2 <= mine <= total / 2 + iterations, f"{mine} of {total}")
        race = ["--screen-sentences", "4", "--promote", "0.3"]
        one, two = f"{d}/race-one.json", f"{d}/race-two.json"
        r1 = c.run(*search, *race, "--out", one)
        r2 = subprocess.run(MPI + [CLI, *search, *race, "--out", two], capture_output=True, text=True, timeout=240)
        ok = r1.returncode == 0 and r2.returncode == 0 and os.path.exists(one) and os.path.exists(two)
        c.expect("one process and two ranks search with racing", ok, f"{r1.stderr}\n{r2.stderr}")
        if not ok:
            return c.finish()
        a, b = json.load(open(one)), json.load(open(two))
        c.expect("racing: the same archs, fitness and counts as one process",
                 a["results"] == b["results"] and a["pareto"] == b["pareto"]
                 and a["stats"]["archs_screened"] == b["stats"]["archs_screened"] > 0
                 and a["stats"]["archs_evaluated"] == b["stats"]["archs_evaluated"],
                 json.dumps(a["stats"]) + "\n" + json.dumps(b["stats"]))
        # Two budgets from a predictor: seeding, patience, the parents' cutoff.
        data, pred = f"{d}/lat.jsonl", f"{d}/lat.safetensors"
        r = c.run("latency", "--collect", "8", "--space", space, "--vocab", "40", "--runs", "2", "--warmup", "0",
                  "--steps", "4", "--threads", "1", "--out", data, "--progress-every", "0")
        r = c.run("latency", "--train-predictor", data, "--out", pred) if r.returncode == 0 else r
        c.expect("a latency predictor for the budgets", r.returncode == 0 and os.path.exists(pred), r.stderr)
        conv = ["--predictor", pred, "--budgets", "1000000,2000000", "--patience", "1",
                "--min-delta", "10", "--seed-archs", "2", "--parent-sigmas", "0.5"]
        search_b = list(search)
        search_b[search_b.index("--iterations") + 1] = "6"
        one, two = f"{d}/conv-one.json", f"{d}/conv-two.json"
        r1 = c.run(*search_b, *race, *conv, "--out", one)
        r2 = subprocess.run(MPI + [CLI, *search_b, *race, *conv, "--out", two], capture_output=True, text=True,
                            timeout=240)
        ok = r1.returncode == 0 and r2.returncode == 0 and os.path.exists(one) and os.path.exists(two)
        c.expect("one process and two ranks search two budgets with patience and seeding", ok,
                 f"{r1.stderr}\n{r2.stderr}")
        if not ok:
            return c.finish()
        a, b = json.load(open(one)), json.load(open(two))
        c.expect("patience and seeding: the same archs, fitness and counts as one process",
                 a["results"] == b["results"] and a["pareto"] == b["pareto"]
                 and a["stats"]["archs_screened"] == b["stats"]["archs_screened"]
                 and a["stats"]["archs_evaluated"] == b["stats"]["archs_evaluated"],
                 json.dumps(a["results"]) + "\n" + json.dumps(b["results"]))
        c.expect("both budgets converged after 2 iterations, the second seeded, both complete",
                 [(x["end"], x["iterations"], x["complete"]) for x in a["results"]] == [("converged", 2, True)] * 2
                 and a["results"][0]["seed_archs"] == 0 and a["results"][1]["seed_archs"] == 2,
                 json.dumps(a["results"]))
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
