"""bench/precision_quality.py: bf16 mixed precision against f32 on the Multi30k
recipe (docs/results.md), same seed: trains the supernet once with
`mos-cli train --precision f32` and once with `--precision bf16`, each in
chunks of --chunk updates (a resume is exact), evaluates the largest and the
smallest subnet on the validation split after every chunk (`mos-cli eval`, no
dropout, f32), and prints both curves (NLL and label-smoothed loss per target
token) and their differences. The target: after --updates updates (1,000) the
two precisions' validation NLL within 0.02 of each other, for the largest and the
smallest subnet.

    python3 bench/precision_quality.py --data /path/to/multi30k [--updates 1000] [--chunk 100]
        [--threads 0] [--seed 1] [--valid-sentences 0] [--work DIR] [--precisions f32,bf16]
        [--mos-cli build/tools/mos-cli/mos-cli]

--data is a directory with Multi30k's files as distributed (train.L.gz, val.L.gz,
test2016.L.gz; research use only, never copied into this repository); the script
links them under the names libmos reads into --work (a temporary directory by
default; checkpoints go there too). The GEMM backend is pinned to oneDNN
(MOS_BACKEND) so both runs, and every resume, use the same library per product.

A smoke test: --updates 20 --chunk 10 --valid-sentences 50 (the tokenizer
training dominates). The full run takes about two CPU-hours per precision on the
2-core machines of docs/results.md. With --work the run can stop and resume: each
precision's curve is kept beside its checkpoint, and starting the same command again
continues where it stopped; --precisions f32 and --precisions bf16 in two processes
(with --threads 1 each) train the two runs side by side.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# The recipe of docs/results.md (neuron-wise MoS, m = 2, sandwich sampling).
RECIPE = ["--space", "small", "--routing", "neuron", "--experts", "2", "--sampling", "sandwich", "--vocab", "8000",
          "--max-tokens", "4096", "--lr", "7e-4", "--warmup", "500", "--dropout", "0.3"]


def run(cmd, env):
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        sys.exit(f"precision_quality: {' '.join(cmd)}: exit {r.returncode}: {(r.stderr or r.stdout).strip()[-800:]}")
    return r.stdout


def link_corpus(data, work, src, tgt):
    corpus = os.path.join(work, "m30k")
    os.makedirs(corpus, exist_ok=True)
    for split, name in (("train", "train"), ("val", "valid"), ("test2016", "test")):
        for lang in (src, tgt):
            have = os.path.join(os.path.abspath(data), f"{split}.{lang}.gz")
            if not os.path.exists(have):
                sys.exit(f"precision_quality: {have} is missing (--data is Multi30k's directory)")
            link = os.path.join(corpus, f"{name}.{lang}.gz")
            if not os.path.lexists(link):
                os.symlink(have, link)
    return corpus


def evaluate(cli, ckpt, arch, corpus, a, env):
    cmd = [cli, "eval", "--supernet", ckpt, "--arch", arch, "--data", corpus, "--src", a.src, "--tgt", a.tgt,
           "--split", "valid", "--no-bleu", "--json", "--threads", str(a.threads)]
    if a.valid_sentences > 0:
        cmd += ["--max-sentences", str(a.valid_sentences)]
    return json.loads(run(cmd, env).strip().splitlines()[-1])


def train_curve(cli, precision, corpus, work, a, env):
    """Trains one precision to a.updates in chunks, evaluating after each; the curve so far is kept
    in WORK/curve-PRECISION.json beside the checkpoint, so a stopped run, started again with the
    same --work, resumes from its checkpoint (exactly) and keeps the points it has."""
    ckpt = os.path.join(work, f"net-{precision}.safetensors")
    saved = os.path.join(work, f"curve-{precision}.json")
    curve = []
    if os.path.exists(saved):
        with open(saved) as f:
            curve = json.load(f)
    done = curve[-1]["update"] if curve else 0
    if done and not os.path.exists(ckpt):
        sys.exit(f"precision_quality: {saved} records {done} updates but {ckpt} is missing")
    if not done and os.path.exists(ckpt):
        sys.exit(f"precision_quality: {ckpt} exists without {saved}; give an empty --work")
    if done:
        print(f"# {precision}: resuming after update {done}", flush=True)
    t0 = time.time()
    while done < a.updates:
        done = min(done + a.chunk, a.updates)
        common = ["--data", corpus, "--src", a.src, "--tgt", a.tgt, "--out", ckpt, "--max-steps", str(done),
                  "--valid-every", str(a.updates + 1), "--max-sentences", "1", "--threads", str(a.threads),
                  "--quiet", "--json"]
        if os.path.exists(ckpt):
            run([cli, "train", "--resume", ckpt, *common], env)
        else:
            run([cli, "train", *RECIPE, "--seed", str(a.seed), "--precision", precision, *common], env)
        point = {"update": done}
        for arch in ("largest", "smallest"):
            e = evaluate(cli, ckpt, arch, corpus, a, env)
            point[arch] = {"nll": e["nll"], "loss": e["loss"]}
        curve.append(point)
        with open(saved + ".tmp", "w") as f:
            json.dump(curve, f)
        os.replace(saved + ".tmp", saved)
        print(f"# {precision}: update {done}: largest nll {point['largest']['nll']:.4f}, smallest nll "
              f"{point['smallest']['nll']:.4f} ({time.time() - t0:.0f} s)", flush=True)
    return curve


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="Multi30k directory (train/val/test2016 .L.gz files)")
    ap.add_argument("--src", default="en")
    ap.add_argument("--tgt", default="de")
    ap.add_argument("--updates", type=int, default=1000)
    ap.add_argument("--chunk", type=int, default=100, help="updates between two evaluations")
    ap.add_argument("--threads", type=int, default=0, help="0 = all cores")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--valid-sentences", type=int, default=0, help="validation pairs evaluated, 0 = all")
    ap.add_argument("--work", help="directory for the corpus links, checkpoints and curves (default: temporary); "
                    "run again with the same --work to resume")
    ap.add_argument("--precisions", default="f32,bf16",
                    help="which runs to train now (the comparison is printed once both curves are complete)")
    ap.add_argument("--mos-cli", default=os.path.join(ROOT, "build", "tools", "mos-cli", "mos-cli"))
    ap.add_argument("--target", type=float, default=0.02, help="largest allowed |NLL bf16 - NLL f32| at the end")
    a = ap.parse_args()
    if a.updates < 1 or a.chunk < 1:
        ap.error("--updates and --chunk must be >= 1")
    if not os.access(a.mos_cli, os.X_OK):
        ap.error(f"{a.mos_cli} is not an executable (build first, or give --mos-cli)")
    env = dict(os.environ, OMP_WAIT_POLICY="passive", MOS_BACKEND="onednn")
    env.pop("OPENBLAS_CORETYPE", None)
    info = run([a.mos_cli, "info"], env)
    if "cpu_bf16=1" not in info:
        print("# this CPU has no native bf16 products: the bf16 run computes in f32 (expect no difference)")
    todo = [p for p in a.precisions.split(",") if p]
    if not todo or any(p not in ("f32", "bf16") for p in todo):
        ap.error("--precisions takes f32, bf16 or both")
    with tempfile.TemporaryDirectory() as tmp:
        work = a.work or tmp
        os.makedirs(work, exist_ok=True)
        corpus = link_corpus(a.data, work, a.src, a.tgt)
        curves = {p: train_curve(a.mos_cli, p, corpus, work, a, env) for p in todo}
        for p in ("f32", "bf16"):
            saved = os.path.join(work, f"curve-{p}.json")
            if p not in curves and os.path.exists(saved):
                with open(saved) as f:
                    curves[p] = json.load(f)
    if any(p not in curves or curves[p][-1]["update"] < a.updates for p in ("f32", "bf16")):
        print(f"# one precision has not reached {a.updates} updates yet; run the other with the same --work")
        return 0
    print(f"\nvalidation per target token (nats), seed {a.seed}, {a.valid_sentences or 'all'} pairs; "
          "d = bf16 - f32")
    print(f"{'update':>7} | {'largest nll f32':>15} {'bf16':>8} {'d':>8} | {'smallest nll f32':>16} {'bf16':>8} "
          f"{'d':>8} | {'loss d largest':>14} {'smallest':>9}")
    for f, b in zip(curves["f32"], curves["bf16"]):
        dl = b["largest"]["nll"] - f["largest"]["nll"]
        ds = b["smallest"]["nll"] - f["smallest"]["nll"]
        print(f"{f['update']:>7} | {f['largest']['nll']:>15.4f} {b['largest']['nll']:>8.4f} {dl:>+8.4f} | "
              f"{f['smallest']['nll']:>16.4f} {b['smallest']['nll']:>8.4f} {ds:>+8.4f} | "
              f"{b['largest']['loss'] - f['largest']['loss']:>+14.4f} {b['smallest']['loss'] - f['smallest']['loss']:>+9.4f}")
    last_f, last_b = curves["f32"][-1], curves["bf16"][-1]
    worst = max(abs(last_b[s]["nll"] - last_f[s]["nll"]) for s in ("largest", "smallest"))
    verdict = "within" if worst <= a.target else "NOT within"
    print(f"\nafter {a.updates} updates: largest |d nll| {abs(last_b['largest']['nll'] - last_f['largest']['nll']):.4f}, "
          f"smallest {abs(last_b['smallest']['nll'] - last_f['smallest']['nll']):.4f}: {verdict} {a.target}")
    print(json.dumps({"updates": a.updates, "seed": a.seed, "valid_sentences": a.valid_sentences,
                      "curves": curves, "max_abs_nll_difference": round(worst, 5), "target": a.target}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
