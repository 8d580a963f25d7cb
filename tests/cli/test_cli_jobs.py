"""tests/cli/test_cli_jobs.py: the mos-cli jobs end to end on a tiny corpus the
test writes: train (with resume), eval, route, translate, latency (measure,
collect, predictor), search with budgets and a plot, and quickstart with tiny
budgets; bad files and bad archs give a one-line error and exit 1.

usage: test_cli_jobs.py MOS_CLI
"""
import json
import os
import subprocess
import sys
import tempfile

cli = sys.argv[1]
failures = 0
checks = 0

SPACE = {"format": "mos-space", "version": 1, "name": "cli-tiny", "qkv_dim": 16,
         "encoder": {"embed_dim": [12, 16], "layers": [1, 2], "ffn_dim": [8, 16], "heads": [2, 4]},
         "decoder": {"embed_dim": [12, 16], "layers": [1, 2], "ffn_dim": [8, 16], "self_heads": [2, 4],
                     "cross_heads": [2, 4], "cross_k": [1]}}
SRC = ["red", "blue", "green", "cat", "dog", "bird", "runs", "sleeps", "eats", "big", "small"]
TGT = ["rojo", "azul", "verde", "gato", "perro", "pajaro", "corre", "duerme", "come", "grande", "chico"]


def run(*args, stdin=None, timeout=300):
    return subprocess.run([cli, *args], capture_output=True, text=True, timeout=timeout, input=stdin)


def expect(name, cond, detail=""):
    global failures, checks
    checks += 1
    if cond:
        print(f"ok {checks} - {name}")
    else:
        failures += 1
        print(f"not ok {checks} - {name}\n# {detail}")


def one_line_error(name, r, *fragments):
    err = r.stderr.strip()
    expect(name, r.returncode == 1 and "\n" not in err and all(f in err for f in fragments),
           f"rc={r.returncode} stderr={r.stderr!r}")


with tempfile.TemporaryDirectory() as tmp:
    h = 11
    for split, n in (("train", 300), ("valid", 40), ("test", 20)):
        with open(f"{tmp}/{split}.xx", "w") as fs, open(f"{tmp}/{split}.yy", "w") as ft:
            for _ in range(n):
                h = (h * 6364136223846793005 + 1442695040888963407) % 2**64
                words = [(h >> (8 * j)) % 11 for j in range(2 + h % 5)]
                fs.write(" ".join(SRC[w] for w in words) + "\n")
                ft.write(" ".join(TGT[w] for w in words) + "\n")
    space = f"{tmp}/space.json"
    with open(space, "w") as f:
        json.dump(SPACE, f)
    ckpt = f"{tmp}/net.safetensors"
    common = ["--data", tmp, "--src", "xx", "--tgt", "yy"]

    r = run("train", *common, "--space", space, "--out", ckpt, "--vocab", "40", "--max-tokens", "256",
            "--max-len", "32", "--max-steps", "6", "--warmup", "2", "--valid-every", "3", "--threads", "1")
    expect("train runs", r.returncode == 0 and os.path.exists(ckpt) and os.path.exists(ckpt + ".best"),
           r.stderr[-2000:])
    expect("train logs steps and validation", "step 6/6" in r.stderr and "valid loss: largest" in r.stderr,
           r.stderr[-2000:])
    r = run("train", *common, "--resume", ckpt, "--out", ckpt, "--max-steps", "8", "--threads", "1")
    expect("train resumes", r.returncode == 0 and "resuming at step 6" in r.stderr and "step 8/8" in r.stderr,
           r.stderr[-2000:])
    one_line_error("train with a missing corpus", run("train", "--data", f"{tmp}/nope", "--src", "xx", "--tgt", "yy",
                                                      "--space", space, "--out", f"{tmp}/x.safetensors"), "nope")
    one_line_error("train with an unknown space", run("train", *common, "--space", "medium", "--out", ckpt), "medium")

    r = run("eval", "--supernet", ckpt, *common, "--split", "test", "--json", "--beam", "2")
    ok = r.returncode == 0
    if ok:
        e = json.loads(r.stdout)
        ok = e["sentences"] == 20 and e["loss"] > 0 and 0 <= e["bleu"] <= 100
    expect("eval prints loss and BLEU as JSON", ok, r.stdout + r.stderr)

    model = f"{tmp}/small.model"
    r = run("route", "--supernet", ckpt, "--arch", "smallest", "--out", model)
    expect("route writes a model", r.returncode == 0 and os.path.exists(model) and "routed" in r.stderr, r.stderr)
    arch = f"{tmp}/arch.json"
    with open(arch, "w") as f:
        f.write(run("arch", "sample", "--space", space, "--seed", "3").stdout)
    r = run("route", "--supernet", ckpt, "--arch", arch, "--out", f"{tmp}/sampled.model")
    expect("route a sampled arch", r.returncode == 0, r.stderr)
    foreign = f"{tmp}/foreign.json"
    with open(foreign, "w") as f:
        f.write(run("arch", "sample", "--space", "small", "--largest").stdout)
    one_line_error("route an arch of another space", run("route", "--supernet", ckpt, "--arch", foreign,
                                                         "--out", f"{tmp}/f.model"), "mos_arch_load")
    one_line_error("route a missing checkpoint", run("route", "--supernet", f"{tmp}/missing", "--arch", "largest",
                                                     "--out", f"{tmp}/f.model"), "missing")
    with open(f"{tmp}/garbage", "wb") as f:
        f.write(b"\x08\x00\x00\x00\x00\x00\x00\x00{}garbage")
    one_line_error("route a corrupt checkpoint", run("route", "--supernet", f"{tmp}/garbage", "--arch", "largest",
                                                     "--out", f"{tmp}/f.model"), "MOS_FORMAT")

    r = run("translate", "--model", model, "--beam", "3", stdin="red cat runs\nbig dog\n\n")
    expect("translate keeps one line per input", r.returncode == 0 and r.stdout.count("\n") == 3,
           repr(r.stdout) + r.stderr)
    r2 = run("translate", "--supernet", ckpt, "--arch", "smallest", "--beam", "3", stdin="red cat runs\nbig dog\n\n")
    expect("translate via the supernet equals the routed model", r2.returncode == 0 and r2.stdout == r.stdout,
           repr(r2.stdout))
    one_line_error("translate with a supernet file as model", run("translate", "--model", ckpt, stdin="a\n"),
                   "mos-model")

    r = run("latency", "--model", model, "--runs", "3", "--warmup", "1")
    ok = r.returncode == 0
    if ok:
        lat = json.loads(r.stdout)
        ok = lat["latency_ms"] > 0 and lat["beam"] == 5 and lat["steps"] == 30
    expect("latency measures a model", ok, r.stdout + r.stderr)
    data = f"{tmp}/lat.jsonl"
    r = run("latency", "--collect", "8", "--space", space, "--vocab", "40", "--runs", "2", "--warmup", "0",
            "--out", data)
    expect("latency --collect writes a dataset", r.returncode == 0 and len(open(data).readlines()) == 9, r.stderr)
    pred = f"{tmp}/lat.safetensors"
    r = run("latency", "--train-predictor", data, "--out", pred)
    ok = r.returncode == 0
    if ok:
        rep = json.loads(r.stdout)
        ok = rep["train_samples"] + rep["heldout_samples"] == 8 and rep["mape"] >= 0
    expect("latency --train-predictor reports its error", ok, r.stdout + r.stderr)

    result, plot = f"{tmp}/result.json", f"{tmp}/front.svg"
    r = run("search", "--supernet", ckpt, *common, "--predictor", pred, "--budgets", "1000000,2000000",
            "--valid-sentences", "20", "--population", "8", "--parents", "2", "--mutations", "3",
            "--crossovers", "3", "--iterations", "2", "--out", result, "--plot", plot)
    ok = r.returncode == 0
    if ok:
        res = json.load(open(result))
        ok = len(res["results"]) == 2 and res["stats"]["archs_evaluated"] >= 8 and len(res["pareto"]) >= 1
        ok = ok and open(plot).read().startswith("<svg")
        st = res["stats"]
        # The subset is the first 20 validation pairs; every evaluation costs FLOPs.
        ok = ok and st["valid_pairs"] == 20 and st["valid_src_tokens"] >= 40 and st["valid_tgt_tokens"] >= 40
        ok = ok and st["fitness_gflop"] > 0 and st["fitness_seconds"] <= st["seconds"]
    expect("search with two budgets, JSON result, stats and SVG plot", ok, r.stderr[-1500:])
    one_line_error("search with an impossible budget", run("search", "--supernet", ckpt, *common, "--predictor", pred,
                                                           "--latency-ms", "0.000001", "--population", "4",
                                                           "--parents", "1", "--mutations", "1", "--crossovers", "1",
                                                           "--iterations", "1"), "smallest arch has latency")

    r = run("quickstart", "--data", tmp, "--src", "xx", "--tgt", "yy", "--space", space, "--work", f"{tmp}/qs",
            "--train-seconds", "3",
            "--vocab", "40", "--latency-archs", "6", "--population", "5", "--iterations", "1",
            "--test-sentences", "5", timeout=600)
    expect("quickstart runs every stage and prints the table",
           r.returncode == 0 and "searched@" in r.stdout and "largest" in r.stdout and "BLEU" in r.stdout,
           r.stdout[-2000:] + r.stderr[-2000:])

print(f"1..{checks}")
sys.exit(1 if failures else 0)
