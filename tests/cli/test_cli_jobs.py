"""tests/cli/test_cli_jobs.py: the mos-cli jobs end to end on a tiny corpus the
test writes, as the README's step by step runs them: train into a directory
that does not exist yet (progress log lines, JSON summary), resume, eval,
latency (measure, collect, predictor), search with budgets, route and
translate from the search result (--budget), model show, and quickstart with
tiny budgets. Every output location is checked before the work starts; bad
files and bad archs give a one-line error and exit 1, usage mistakes exit 2.

usage: test_cli_jobs.py MOS_CLI
"""
import json
import os
import pty
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cli_common import TINY_TRAIN, Checks, write_corpus  # noqa: E402

t = Checks(sys.argv[1])
run, expect = t.run, t.expect

# A progress line: stage, done/total, what, elapsed and ETA (docs/cli.md).
PROGRESS = r"^\[{stage}\] {done}/{total} {what}.*  elapsed \d+:\d\d:\d\d  eta \d+:\d\d:\d\d$"


def progress_lines(stderr, stage):
    return [l for l in stderr.splitlines() if l.startswith(f"[{stage}] ") and "  elapsed " in l]


with tempfile.TemporaryDirectory() as tmp:
    space = write_corpus(tmp)
    common = ["--data", tmp, "--src", "xx", "--tgt", "yy"]
    with open(f"{tmp}/afile", "w") as f:
        f.write("not a directory\n")

    # --- train: --out in a directory that does not exist yet (the README's run/) ---
    ckpt = f"{tmp}/run/net.safetensors"
    r = run("train", *common, "--space", space, "--out", ckpt, *TINY_TRAIN, "--max-steps", "6", "--valid-every", "3",
            "--json")
    expect("train creates the missing output directory and writes the checkpoints",
           r.returncode == 0 and os.path.exists(ckpt) and os.path.exists(ckpt + ".best"), r.stderr)
    lines = progress_lines(r.stderr, "train")
    # Not a terminal: a log line at the first report and at the last (the
    # default interval of 10 s is longer than this run).
    expect("train logs the first and the last step as progress lines with elapsed and ETA",
           len(lines) >= 2 and re.match(PROGRESS.format(stage="train", done=1, total=6, what="steps"), lines[0])
           and re.match(PROGRESS.format(stage="train", done=6, total=6, what="steps"), lines[-1]), r.stderr)
    expect("train logs validation and setup", "[train] step 3: valid loss: largest" in r.stderr
           and "training pairs" in r.stderr, r.stderr)
    j = t.json_of(r)
    expect("train --json: the final summary",
           j is not None and j["checkpoint"] == ckpt and j["best_checkpoint"] == ckpt + ".best" and j["step"] == 6
           and j["max_steps"] == 6 and j["stopped_by"] is None and j["resume_command"] is None
           and j["valid_loss_largest"] > 0 and j["valid_loss_smallest"] > 0, r.stdout)
    r = run("train", *common, "--resume", ckpt, "--out", ckpt, "--max-steps", "8", "--threads", "1",
            "--progress-every", "0")
    expect("train resumes", r.returncode == 0 and "resuming at step 6" in r.stderr, r.stderr)
    expect("--progress-every 0 logs every step",
           [l.split()[1] for l in progress_lines(r.stderr, "train")] == ["7/8", "8/8"], r.stderr)
    rs = run("train", *common, "--resume", ckpt, "--out", ckpt, "--max-steps", "9", "--threads", "2",
             "--split", "shards")
    expect("train --split shards: each thread trains its own shard (the setup line says so)",
           rs.returncode == 0 and "each of 2 threads trains its own shard" in rs.stderr, rs.stderr)
    # On a terminal the progress line is rewritten in place.
    master, slave = pty.openpty()
    p = subprocess.Popen([t.cli, "train", *common, "--space", space, "--out", f"{tmp}/tty/net.safetensors",
                          *TINY_TRAIN, "--max-steps", "3"], stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    tty = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO once the child has closed the terminal
            break
        if not chunk:
            break
        tty += chunk
    os.close(master)
    p.wait(timeout=120)
    expect("on a terminal, train rewrites one progress line",
           p.returncode == 0 and b"\r\x1b[K[train] 1/3 steps" in tty and b"\r\x1b[K[train] 3/3 steps" in tty
           and b"[train] 1/3 steps" not in tty.replace(b"\r\x1b[K[train] 1/3", b""), tty.decode(errors="replace"))
    t.usage_error("train --resume with --space", run("train", *common, "--resume", ckpt, "--out", ckpt, "--space",
                                                    space), "--resume", "--space")
    t.one_line_error("train with a missing corpus", run("train", "--data", f"{tmp}/nope", "--src", "xx", "--tgt", "yy",
                                                        "--space", space, "--out", f"{tmp}/x.safetensors"), "nope")
    t.one_line_error("train with an unknown space", run("train", *common, "--space", "medium", "--out", ckpt), "medium")
    # Output locations are checked before the corpus is read.
    r = run("train", *common, "--space", space, "--out", f"{tmp}/afile/net.safetensors", *TINY_TRAIN)
    t.one_line_error("train --out under a file fails before any work, naming the path and the reason", r,
                     f"{tmp}/afile/net.safetensors", "not a directory")
    expect("... before the tokenizer is trained", "tokenizer" not in r.stderr, r.stderr)
    t.one_line_error("train --out naming a directory", run("train", *common, "--space", space, "--out", tmp,
                                                           *TINY_TRAIN), tmp, "is a directory")

    # --- eval ---
    r = run("eval", "--supernet", ckpt, *common, "--split", "test", "--json", "--beam", "2")
    j = t.json_of(r)
    expect("eval --json: loss and BLEU",
           j is not None and j["sentences"] == 20 and j["loss"] > 0 and 0 <= j["bleu"] <= 100 and j["beam"] == 2
           and j["arch"] == "largest" and j["split"] == "test", r.stdout + r.stderr)
    r = run("eval", "--supernet", ckpt, *common, "--split", "valid", "--max-sentences", "5", "--no-bleu", "--json")
    j = t.json_of(r)
    expect("eval --no-bleu --json: bleu and beam are null", j is not None and j["bleu"] is None and j["beam"] is None
           and j["sentences"] == 5, r.stdout + r.stderr)
    r = run("eval", "--supernet", ckpt, *common, "--split", "valid", "--max-sentences", "5", "--no-bleu")
    expect("eval prints one line", r.returncode == 0 and r.stdout.startswith("valid: 5 sentences,")
           and "BLEU" not in r.stdout, r.stdout + r.stderr)

    # --- latency: measure, collect (progress lines), predictor ---
    model = f"{tmp}/small.model"
    r = run("route", "--supernet", ckpt, "--arch", "smallest", "--out", model, "--json")
    jr = t.json_of(r)
    expect("route --json", r.returncode == 0 and os.path.exists(model) and jr is not None and jr["params"] > 0
           and jr["arch"] == "smallest" and jr["out"] == model, r.stdout + r.stderr)
    r = run("latency", "--model", model, "--runs", "3", "--warmup", "1", "--json")
    lat = t.json_of(r)
    expect("latency --json measures a model", lat is not None and lat["latency_ms"] > 0 and lat["beam"] == 5
           and lat["steps"] == 30 and lat["params"] == jr["params"], r.stdout + r.stderr)
    r = run("latency", "--model", model, "--runs", "3", "--warmup", "0", "--greedy", "--steps", "5")
    expect("latency prints one human line", r.returncode == 0 and r.stdout.startswith("latency ")
           and "beam 1, 30 source tokens, 5 steps" in r.stdout, r.stdout + r.stderr)
    data = f"{tmp}/lat/lat.jsonl"
    r = run("latency", "--collect", "8", "--space", space, "--vocab", "40", "--runs", "2", "--warmup", "0",
            "--passes", "2", "--out", data)
    expect("latency --collect writes a dataset in a new directory",
           r.returncode == 0 and os.path.exists(data) and len(open(data).readlines()) == 9, r.stderr)
    lines = progress_lines(r.stderr, "latency collect")
    expect("latency --collect logs progress lines", len(lines) >= 2 and re.match(
        PROGRESS.format(stage="latency collect", done=16, total=16, what="archs timed"), lines[-1]), r.stderr)
    head = json.loads(open(data).readline())
    expect("latency --collect --passes 2: two passes at most", head["collection"]["passes"] == 2
           and 1 <= head["collection"]["passes_run"] <= 2, str(head.get("collection")))
    r = run("latency", "--collect", "8", "--space", space, "--out", f"{tmp}/afile/lat.jsonl")
    t.one_line_error("latency --collect --out under a file fails first", r, "afile/lat.jsonl", "not a directory")
    pred = f"{tmp}/lat.safetensors"
    r = run("latency", "--train-predictor", data, "--out", pred, "--json")
    rep = t.json_of(r)
    expect("latency --train-predictor --json reports its held-out error",
           rep is not None and rep["train_samples"] + rep["heldout_samples"] == 8 and rep["heldout_samples"] > 0
           and rep["mape"] >= 0, r.stdout + r.stderr)
    # A dataset too small to hold anything out (6 samples, 10%): the error is
    # unknown, not 0.
    small_data = f"{tmp}/lat-small.jsonl"
    with open(data) as f, open(small_data, "w") as g:
        g.writelines(f.readlines()[:7])
    r = run("latency", "--train-predictor", small_data, "--out", f"{tmp}/lat-small.safetensors", "--holdout", "0.1",
            "--json")
    rep = t.json_of(r)
    expect("a predictor without held-out samples reports null errors",
           rep is not None and rep["heldout_samples"] == 0 and rep["mape"] is None and rep["kendall_tau"] is None,
           r.stdout + r.stderr)
    r = run("latency", "--train-predictor", small_data, "--out", f"{tmp}/lat-small.safetensors", "--holdout", "0.1")
    expect("... and says so in words", r.returncode == 0 and "no held-out samples" in r.stdout
           and "MAPE" not in r.stdout, r.stdout + r.stderr)

    # --- search: outputs in new directories, progress lines, --json ---
    result, plot = f"{tmp}/res/result.json", f"{tmp}/plots/front.svg"
    tiny_search = ["--max-sentences", "20", "--population", "8", "--parents", "2", "--mutations", "3",
                   "--crossovers", "3", "--iterations", "2"]
    r = run("search", "--supernet", ckpt, *common, "--predictor", pred, "--budgets", "1000000,2000000", *tiny_search,
            "--out", result, "--plot", plot)
    ok = r.returncode == 0 and os.path.exists(result) and os.path.exists(plot)
    if ok:
        res = json.load(open(result))
        st = res["stats"]
        ok = (res["format"] == "mos-search-result" and len(res["results"]) == 2 and st["archs_evaluated"] >= 8
              and len(res["pareto"]) >= 1 and open(plot).read().startswith("<svg") and st["valid_pairs"] == 20
              and st["valid_src_tokens"] >= 40 and st["fitness_gflop"] > 0 and st["fitness_seconds"] <= st["seconds"])
    expect("search with two budgets writes the result and the plot into new directories", ok, r.stderr)
    expect("search prints a table of the budgets", r.stdout.startswith("budget ms") and "1000000" in r.stdout
           and "2000000" in r.stdout, r.stdout)
    lines = progress_lines(r.stderr, "search")
    expect("search logs progress lines", lines and re.match(
        PROGRESS.format(stage="search", done=4, total=4, what="iterations"), lines[-1]), r.stderr)
    r = run("search", "--supernet", ckpt, *common, "--predictor", pred, "--latency-ms", "1000000", *tiny_search,
            "--json")
    j = t.json_of(r)
    expect("search --json prints the mos-search-result", j is not None and j["format"] == "mos-search-result"
           and j["results"][0]["budget_ms"] == 1000000, r.stdout[:500] + r.stderr)
    r = run("search", "--supernet", ckpt, *common, "--predictor", pred, "--latency-ms", "1000000", *tiny_search,
            "--plot", f"{tmp}/afile/front.svg")
    t.one_line_error("search --plot under a file fails before searching", r, "afile/front.svg", "not a directory")
    expect("... without running the search", "[search]" not in r.stderr, r.stderr)
    r = run("search", "--supernet", ckpt, *common, "--predictor", pred, "--latency-ms", "1000000", *tiny_search,
            "--valid-sentences", "20", "--params", "100000000", "--out", f"{tmp}/res/old-spellings.json")
    expect("the older spellings --valid-sentences and --params still work", r.returncode == 0, r.stderr)
    r = run("search", "--supernet", ckpt, *common, "--measure", "--latency-ms", "0.000001", "--population", "4",
            "--parents", "1", "--mutations", "1", "--crossovers", "1", "--iterations", "1", "--max-sentences", "5")
    t.one_line_error("search with an impossible (measured) budget", r, "smallest arch has latency")

    # --- route / translate from the search result (the README's next step) ---
    r = run("route", "--supernet", ckpt, "--arch", result, "--out", f"{tmp}/best.model")
    t.usage_error("route --arch RESULT with several budgets and no --budget lists them", r, "--budget", "1000000 ms",
                  "2000000 ms")
    r = run("route", "--supernet", ckpt, "--arch", result, "--budget", "2000000", "--out", f"{tmp}/models/best.model",
            "--json")
    jb = t.json_of(r)
    expect("route --arch RESULT --budget MS writes that budget's arch",
           jb is not None and os.path.exists(f"{tmp}/models/best.model") and jb["arch"] == result + "@2000000ms",
           r.stdout + r.stderr)
    t.usage_error("route --budget that the result does not hold", run("route", "--supernet", ckpt, "--arch", result,
                                                                      "--budget", "5", "--out", f"{tmp}/x.model"),
                  "--budget 5 ms", "1000000 ms")
    single = f"{tmp}/res/single.json"
    with open(single, "w") as f:
        json.dump(dict(res, results=res["results"][1:]), f)
    r = run("route", "--supernet", ckpt, "--arch", single, "--out", f"{tmp}/single.model")
    expect("route --arch RESULT with one result needs no --budget", r.returncode == 0, r.stderr)
    r = run("model", "show", f"{tmp}/models/best.model", "--json")
    ms = t.json_of(r)
    expect("model show --json: space, vocabulary, arch, parameters, FLOPs",
           ms is not None and ms["space"] == "cli-tiny" and ms["vocab"] == 40 and ms["tokenizer"] is True
           and ms["params"] == jb["params"] and ms["flops"] > 0
           and ms["arch"] == res["results"][1]["arch"], r.stdout + r.stderr)
    r = run("model", "show", f"{tmp}/models/best.model")
    expect("model show prints its facts", r.returncode == 0 and "space: cli-tiny" in r.stdout
           and "vocabulary: 40 (tokenizer: yes)" in r.stdout and f"params: {jb['params']} " in r.stdout
           and "languages: xx -> yy" in r.stdout, r.stdout + r.stderr)
    expect("model show --json: the corpus languages", ms is not None and ms["src_lang"] == "xx"
           and ms["tgt_lang"] == "yy", r.stdout + r.stderr)
    # eval --model: the routed model's loss is the supernet's for its arch.
    r = run("eval", "--model", f"{tmp}/models/best.model", *common, "--split", "valid", "--max-sentences", "5",
            "--no-bleu", "--threads", "1", "--json")
    em = t.json_of(r)
    r = run("eval", "--supernet", ckpt, "--arch", result, "--budget", "2000000", *common, "--split", "valid",
            "--max-sentences", "5", "--no-bleu", "--json")
    es = t.json_of(r)
    expect("eval --model equals eval --supernet at the model's arch",
           em is not None and es is not None and em["model"] == f"{tmp}/models/best.model" and em["supernet"] is None
           and em["arch"] is None and em["sentences"] == 5 and abs(em["loss"] - es["loss"]) <= 1e-4 * es["loss"],
           str(em) + " " + str(es))
    t.one_line_error("model show of a supernet checkpoint", run("model", "show", ckpt), "mos-model")
    r1 = run("translate", "--model", f"{tmp}/models/best.model", "--beam", "2", stdin="red cat runs\nbig dog\n")
    r2 = run("translate", "--supernet", ckpt, "--arch", result, "--budget", "2000000", "--beam", "2",
             stdin="red cat runs\nbig dog\n")
    expect("translate with the routed result equals translate through the supernet",
           r1.returncode == 0 and r2.returncode == 0 and r1.stdout == r2.stdout and r1.stdout.count("\n") == 2,
           repr(r1.stdout) + repr(r2.stdout) + r1.stderr + r2.stderr)

    # --- precisions: route --dtype, model convert, model show ---
    r = run("route", "--supernet", ckpt, "--arch", result, "--budget", "2000000", "--dtype", "int8",
            "--out", f"{tmp}/models/best-int8.model", "--json")
    j8 = t.json_of(r)
    expect("route --dtype int8 --json", j8 is not None and j8["dtype"] == "int8" and j8["params"] == jb["params"],
           r.stdout + r.stderr)
    r = run("model", "show", f"{tmp}/models/best-int8.model", "--json")
    m8 = t.json_of(r)
    expect("model show --json: the dtype", m8 is not None and m8["dtype"] == "int8", r.stdout + r.stderr)
    r = run("model", "convert", f"{tmp}/models/best.model", "--dtype", "int8", "--out", f"{tmp}/models/conv.model",
            "--json")
    jc = t.json_of(r)
    expect("model convert --json", jc is not None and jc["from"] == "f32" and jc["dtype"] == "int8",
           r.stdout + r.stderr)
    with open(f"{tmp}/models/best-int8.model", "rb") as a, open(f"{tmp}/models/conv.model", "rb") as b:
        expect("converting the f32 model gives the model routed at int8", a.read() == b.read(), "files differ")
    r = run("model", "show", f"{tmp}/models/conv.model")
    expect("model show prints the precision", r.returncode == 0 and "precision: int8" in r.stdout,
           r.stdout + r.stderr)
    r3 = run("translate", "--model", f"{tmp}/models/conv.model", "--beam", "2", stdin="red cat runs\nbig dog\n")
    expect("an int8 model translates every line", r3.returncode == 0 and r3.stdout.count("\n") == 2,
           repr(r3.stdout) + r3.stderr)
    t.usage_error("model convert --dtype outside f32|bf16|int8",
                  run("model", "convert", f"{tmp}/models/best.model", "--dtype", "int4", "--out", f"{tmp}/x.model"),
                  "int4")

    # --- route / translate with the other arch forms ---
    arch = f"{tmp}/arch.json"
    with open(arch, "w") as f:
        f.write(run("arch", "sample", "--space", space, "--seed", "3").stdout)
    r = run("route", "--supernet", ckpt, "--arch", arch, "--out", f"{tmp}/sampled.model")
    expect("route a sampled arch", r.returncode == 0 and "routed" in r.stderr, r.stderr)
    t.usage_error("route --budget with a plain arch file", run("route", "--supernet", ckpt, "--arch", arch, "--budget",
                                                               "5", "--out", f"{tmp}/x.model"), "--budget")
    t.one_line_error("route --out under a file", run("route", "--supernet", ckpt, "--arch", arch, "--out",
                                                     f"{tmp}/afile/x.model"), "afile/x.model", "not a directory")
    foreign = f"{tmp}/foreign.json"
    with open(foreign, "w") as f:
        json.dump(json.loads(run("arch", "show", "largest", "--space", "small", "--json").stdout)["arch"], f)
    t.one_line_error("route an arch of another space", run("route", "--supernet", ckpt, "--arch", foreign,
                                                           "--out", f"{tmp}/f.model"), "mos_arch_load")
    t.one_line_error("route a missing checkpoint", run("route", "--supernet", f"{tmp}/missing", "--arch", "largest",
                                                       "--out", f"{tmp}/f.model"), "missing")
    with open(f"{tmp}/garbage", "wb") as f:
        f.write(b"\x08\x00\x00\x00\x00\x00\x00\x00{}garbage")
    t.one_line_error("route a corrupt checkpoint", run("route", "--supernet", f"{tmp}/garbage", "--arch", "largest",
                                                       "--out", f"{tmp}/f.model"), "MOS_FORMAT")
    r = run("translate", "--model", model, "--beam", "3", stdin="red cat runs\nbig dog\n\n")
    expect("translate keeps one line per input", r.returncode == 0 and r.stdout.count("\n") == 3,
           repr(r.stdout) + r.stderr)
    r2 = run("translate", "--supernet", ckpt, "--arch", "smallest", "--beam", "3", stdin="red cat runs\nbig dog\n\n")
    expect("translate via the supernet equals the routed model", r2.returncode == 0 and r2.stdout == r.stdout,
           repr(r2.stdout))
    r = run("translate", "--model", model, "--max-len", "2", stdin="red cat runs big dog sleeps\nbig dog eats\n")
    expect("translate --max-len N limits the output to N tokens",
           r.returncode == 0 and r.stdout.count("\n") == 2 and all(len(l.split()) <= 2 for l in r.stdout.splitlines()),
           repr(r.stdout) + r.stderr)
    r = run("translate", "--model", model, "--beam", "3", "--batch-sentences", "1", "--batch-tokens", "4",
            stdin="red cat runs\nbig dog\n\n")
    expect("translate in batches of one sentence prints what one batch prints", r.returncode == 0 and
           r.stdout == r2.stdout, repr(r.stdout) + r.stderr)
    r = run("translate", "--model", model, "--beam", "3", "--n-best", "3", "--scores",
            stdin="red cat runs\nbig dog\n")
    rows = [l.split("\t") for l in r.stdout.splitlines()]
    expect("translate --n-best 3 --scores prints INDEX, SCORE, LOGPROB, TEXT, best first, lines in order",
           r.returncode == 0 and 2 <= len(rows) <= 6 and all(len(x) == 4 for x in rows) and
           [x[0] for x in rows] == sorted(x[0] for x in rows) and {x[0] for x in rows} == {"0", "1"} and
           all(float(a[1]) >= float(b[1]) for a, b in zip(rows, rows[1:]) if a[0] == b[0]) and
           [x[3] for x in rows if x[0] == "0"][0] == r2.stdout.splitlines()[0], repr(r.stdout) + r.stderr)
    r = run("translate", "--model", model, "--max-len", "16,1", "--max-len-a", "0", "--scores",
            stdin="red cat runs big dog sleeps\n")
    expect("translate --max-len-a 0 replaces A = 16: a limit of 1 token (EOS) leaves an empty text, with scores",
           r.returncode == 0 and r.stdout.endswith("\t\n") and len(r.stdout.split("\t")) == 3,
           repr(r.stdout) + r.stderr)
    t.one_line_error("translate with a supernet file as model", run("translate", "--model", ckpt, stdin="a\n"),
                     "mos-model")

    # --- quickstart ---
    r = run("quickstart", *common, "--work", f"{tmp}/afile", "--train-seconds", "3")
    t.one_line_error("quickstart --work FILE fails before training", r, "afile", "not a directory")
    expect("... without training", "tokenizer" not in r.stderr, r.stderr)
    r = run("quickstart", "--data", f"{tmp}/nope", "--work", f"{tmp}/qs-nope", "--train-seconds", "3")
    t.one_line_error("quickstart with a missing corpus", r, "nope")
    env = dict(os.environ, MOS_CORPUS_DIR=f"{tmp}/no-corpus")
    r = run("quickstart", "--work", f"{tmp}/qs-nope", "--train-seconds", "3", env=env)
    t.one_line_error("quickstart with MOS_CORPUS_DIR naming no directory", r, "MOS_CORPUS_DIR", "no-corpus")
    # On the built-in supernet (found in the source tree), with the tiny corpus
    # for the training demonstration and the scores.
    r = run("quickstart", *common, "--work", f"{tmp}/qs/work", "--train-seconds", "3",
            "--vocab", "40", "--latency-archs", "6", "--population", "5", "--iterations", "1",
            "--max-sentences", "5", "--beam", "1", "--json", timeout=600)
    j = t.json_of(r)
    names = [s["name"] for s in j["subnets"]] if j else []
    expect("quickstart runs every stage and reports each subnet",
           j is not None and len(names) == 5 and names[0] == "smallest" and names[-1] == "largest"
           and all(n.startswith("searched@") for n in names[1:4])
           and all(s["budget_ms"] > 0 and isinstance(s["within_budget"], bool) for s in j["subnets"][1:4])
           and j["subnets"][0]["budget_ms"] is None and all(os.path.exists(s["model"]) for s in j["subnets"])
           and all(len(s["translations"]) == 3 for s in j["subnets"])
           and j["supernet"] == "builtin" and j["builtin"]["format"] == "mos-builtin-manifest"
           and j["demo_training"]["updates"] >= 1 and os.path.exists(f"{tmp}/qs/work/search.json"),
           r.stdout[-2000:] + r.stderr[-2000:])
    expect("quickstart names its four stages in its progress lines",
           all(f"[{s}] " in r.stderr for s in ["1/4 train", "2/4 latency", "3/4 search", "4/4 test"]),
           r.stderr)
    r = run("quickstart", *common, "--work", f"{tmp}/qs/table", "--train-seconds", "0",
            "--latency-archs", "6", "--population", "5", "--iterations", "1", "--budgets", "1000,2000",
            "--beam", "1", "--test-sentences", "3", timeout=600)
    expect("quickstart prints the table (skipping the demonstration, given budgets, older --test-sentences)",
           r.returncode == 0 and "searched@1000.0ms" in r.stdout and "searched@2000.0ms" in r.stdout
           and "largest" in r.stdout and "BLEU" in r.stdout and "1/4 train" not in r.stderr,
           r.stdout[-2000:] + r.stderr[-2000:])
    r = run("quickstart", *common, "--work", f"{tmp}/qs/bad", "--budgets", "10,-1")
    t.usage_error("quickstart --budgets with a negative budget", r, "--budgets")

sys.exit(t.finish())
