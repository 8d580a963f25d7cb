"""tests/reliability/test_hostile.py: hostile input, everywhere (docs/reliability.md).

A table of cases runs every mos-cli command that reads something (and through
them the library's readers of corpora, spaces, archs, search results, latency
datasets, predictors, supernets and models) on missing, empty, directory,
binary, truncated and huge files, invalid UTF-8 and NUL bytes in text, 1 MB
lines, negative, zero, huge and NaN numbers, and JSON with wrong types and
absurd sizes. Each case must end by itself within its time limit, without a
signal, with exit 1 or 2 and a message on stderr (or 0 where the input is
valid, and then with output). A case marked with a finding is reported as a
TAP TODO: it documents a known problem in code this test's folder does not own
(listed in docs/reliability.md) without failing the suite.

Usage: test_hostile.py MOS_CLI. Prints TAP and the number of cases, which it
checks against the table.
"""
import concurrent.futures
import json
import re
import os
import random
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cli"))
from cli_common import SPACE, TINY_TRAIN, write_corpus  # noqa: E402

CLI = os.path.abspath(sys.argv[1])
TIMEOUT = 60  # seconds per case; the slowest valid case takes a few seconds
ENV = dict(os.environ, OMP_NUM_THREADS="1", OMP_WAIT_POLICY="passive")

tmp = tempfile.mkdtemp(prefix="mos-hostile-")
T = lambda *p: os.path.join(tmp, *p)  # noqa: E731


def run(args, stdin=b"", timeout=TIMEOUT):
    return subprocess.run([CLI, *args], input=stdin, capture_output=True, timeout=timeout, env=ENV)


def must(args):
    r = run(args, timeout=600)
    if r.returncode != 0:
        sys.stdout.write(f"Bail out! setup step {' '.join(args)} failed: {r.stderr.decode(errors='replace')}\n")
        sys.exit(1)
    return r


def write(name, data):
    path = T(name)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
    return path


# --- valid inputs: a tiny corpus, supernet, model, dataset, predictor, result ---
os.makedirs(T("data"))
space = write_corpus(T("data"), sizes=(("train", 120), ("valid", 12), ("test", 8)))
common = ["--data", T("data"), "--src", "xx", "--tgt", "yy"]
net = T("net.st")
must(["train", *common, "--space", space, "--out", net, *TINY_TRAIN, "--max-steps", "2", "--valid-every", "2",
      "--max-sentences", "4", "--quiet"])
model = T("model.st")
must(["route", "--supernet", net, "--arch", "smallest", "--out", model])
lat = T("lat.jsonl")
proto = ["--runs", "1", "--warmup", "0", "--src-len", "4", "--steps", "2", "--beam", "1"]
must(["latency", "--collect", "6", "--space", space, "--vocab", "40", "--out", lat, *proto])
pred = T("pred.st")
must(["latency", "--train-predictor", lat, "--out", pred])
result = T("result.json")
tiny_search = ["--max-sentences", "2", "--population", "5", "--parents", "1", "--mutations", "2",
               "--crossovers", "2", "--iterations", "1"]
must(["search", "--supernet", net, *common, *tiny_search, "--out", result])
arch = T("arch.json")
with open(arch, "wb") as f:
    f.write(must(["arch", "sample", "--space", space]).stdout)

# --- hostile files ---
rng = random.Random(19)
os.makedirs(T("adir"))


def sparse(name, size):
    """A file of `size` bytes that takes no disk (all zeros)."""
    path = T(name)
    with open(path, "wb") as f:
        f.truncate(size)
    return path


HUGE = sparse("huge", 3 << 30)  # 3 GB: a reader that reads it whole allocates 3 GB
BINARY = write("binary", bytes(rng.randrange(256) for _ in range(4096)))
EMPTY = write("empty", b"")
MISSING = T("missing")


def truncated(path):
    with open(path, "rb") as f:
        data = f.read()
    return write(os.path.basename(path) + ".cut", data[: len(data) // 2])


def bad_files(valid):
    """The hostile versions of a file-valued argument."""
    return {"missing": MISSING, "directory": T("adir"), "empty": EMPTY, "binary": BINARY,
            "truncated": truncated(valid), "huge sparse": HUGE}


def json_variant(name, obj):
    return write(name + ".json", json.dumps(obj) if not isinstance(obj, str) else obj)


def space_with(**edits):
    s = json.loads(json.dumps(SPACE))
    for path, v in edits.items():
        o = s
        keys = path.split("__")
        for k in keys[:-1]:
            o = o[k]
        o[keys[-1]] = v
    return s


bad_spaces = {
    "embed dim 10^9": space_with(encoder__embed_dim=[12, 10**9]),
    "embed dim a string": space_with(encoder__embed_dim="16"),
    "embed dim negative": space_with(decoder__embed_dim=[-16]),
    "embed dim zero": space_with(decoder__embed_dim=[0]),
    "embed dim 1e400": '{"format": "mos-space", "version": 1, "name": "x", "qkv_dim": 16, "encoder": {"embed_dim": [1e400]}}',
    "embed dim NaN": '{"format": "mos-space", "version": 1, "name": "x", "qkv_dim": NaN}',
    "a million layers": space_with(encoder__layers=[1000000]),
    "qkv_dim 2^63": space_with(qkv_dim=2**63),
    "qkv_dim a float": space_with(qkv_dim=16.5),
    "encoder an array": space_with(encoder=[1, 2]),
    "a list of a million options": space_with(encoder__ffn_dim=list(range(1, 1000001))),
    "nested 100000 deep": "[" * 100000 + "]" * 100000,
    "duplicate key": json.dumps(SPACE)[:-1] + ', "qkv_dim": 16}',
    "trailing data": json.dumps(SPACE) + '{"x": 1}',
    "invalid UTF-8 in a string": json.dumps(space_with(name="A")).replace('"A"', '"\xff\xfe"').encode("latin-1"),
    "a NUL byte": json.dumps(SPACE).encode()[:20] + b"\0" + json.dumps(SPACE).encode()[20:],
}
space_files = {k: (write("space-" + str(i), v) if isinstance(v, bytes) else json_variant("space-" + str(i), v))
               for i, (k, v) in enumerate(bad_spaces.items())}
space_files.update(bad_files(space))

arch_obj = json.load(open(arch))
bad_archs = {
    "ffn dim 10^9": json.dumps(arch_obj).replace('"ffn_dim": 16', '"ffn_dim": 1000000000').replace(
        '"ffn_dim": 8', '"ffn_dim": 1000000000'),
    "layers a string": dict(arch_obj, encoder=dict(arch_obj["encoder"], layers="many")),
    "100000 layers": dict(arch_obj, encoder=dict(arch_obj["encoder"], layers=[arch_obj["encoder"]["layers"][0]] * 100000)),
    "embed dim NaN": json.dumps(arch_obj).replace('"embed_dim": 16', '"embed_dim": NaN').replace(
        '"embed_dim": 12', '"embed_dim": NaN'),
    "an array": [1, 2, 3],
}
arch_files = {k: json_variant("arch-" + str(i), v) for i, (k, v) in enumerate(bad_archs.items())}
arch_files.update(bad_files(arch))

res_obj = json.load(open(result))
bad_results = {
    "results not an array": dict(res_obj, results={"a": 1}),
    "no results": dict(res_obj, results=[]),
    "budget NaN": json.dumps(res_obj).replace('"budget_ms": 0', '"budget_ms": NaN'),
    "arch of another space": dict(res_obj, results=[dict(res_obj["results"][0], arch={"format": "mos-arch"})]),
    "version 1e300": json.dumps(res_obj).replace('"version": 1', '"version": 1e300', 1),
}
result_files = {k: json_variant("result-" + str(i), v) for i, (k, v) in enumerate(bad_results.items())}
result_files.update(bad_files(result))

with open(lat) as f:
    lat_lines = f.read().splitlines()
lat_head = json.loads(lat_lines[0])
bad_lat = {
    # The header's thread count is the collecting machine's: replace whatever it is.
    "threads 1e300": "\n".join([re.sub(r'"threads": \d+', '"threads": 1e300', json.dumps(lat_head))] + lat_lines[1:]),
    "threads -1": "\n".join([json.dumps(dict(lat_head, threads=-1))] + lat_lines[1:]),
    "feature 1e300": "\n".join(lat_lines + ['{"features": [1e300, 0, 0, 0, 0, 0, 0, 0, 0, 0], "latency_ms": 1}']),
    "latency NaN": "\n".join(lat_lines + ['{"features": [0, 0, 0, 0, 0, 0, 0, 0, 0, 0], "latency_ms": NaN}']),
    "latency -5": "\n".join(lat_lines + ['{"features": [0, 0, 0, 0, 0, 0, 0, 0, 0, 0], "latency_ms": -5}']),
    "features a string": "\n".join(lat_lines + ['{"features": "many", "latency_ms": 1}']),
    "space embed dim 10^9": "\n".join([json.dumps(dict(lat_head, space=space_with(encoder__embed_dim=[10**9])))]
                                      + lat_lines[1:]),
    "a 1 MB line": "\n".join(lat_lines + ["[" + "0," * (1 << 19) + "0]"]),
    "a NUL byte": "\n".join(lat_lines) + "\n\0\n",
}
lat_files = {k: write(f"lat-{i}.jsonl", v) for i, (k, v) in enumerate(bad_lat.items())}
lat_files.update(bad_files(lat))

pred_files = bad_files(pred)
net_files = bad_files(net)
model_files = bad_files(model)


def corpus_with(name, src_lines):
    """A corpus folder whose test and valid source splits are replaced."""
    d = T("corpus-" + name)
    shutil.copytree(T("data"), d)
    for split in ("test", "valid"):
        with open(f"{d}/{split}.yy", "rb") as f:
            n = len(f.read().splitlines())
        with open(f"{d}/{split}.xx", "wb") as f:
            f.write(b"\n".join(src_lines(n)) + b"\n")
    return d


# U+0000 is valid UTF-8 and a 1 MB pair is skipped or cut: valid corpora.
valid_corpora = {
    "NUL bytes": corpus_with("nul", lambda n: [b"red\0dog"] * n),
    "1 MB lines": corpus_with("long", lambda n: [b"red " * (1 << 18)] + [b"cat"] * (n - 1)),
}
corpora = {
    "invalid UTF-8": corpus_with("utf8", lambda n: [b"red \xff\xfe dog"] * n),
    "fewer lines than the target side": corpus_with("short", lambda n: [b"red"] * (n - 1)),
    "binary": corpus_with("binary", lambda n: [bytes(rng.randrange(1, 256) for _ in range(300))] * n),
}
os.makedirs(T("corpus-missing"))
corpora["no files"] = T("corpus-missing")
corpora["missing folder"] = T("nope")

# --- the table: (name, args, stdin, expected, finding) ---
# expected: "err" (exit 1 or 2, stderr says why) or "ok" (exit 0 with output).
cases = []


def case(name, args, expect="err", stdin=b"", finding=None):
    cases.append((name, args, stdin, expect, finding))


case("--version", ["--version"], "ok")
case("info", ["info"], "ok")
case("no command", [])
case("unknown command", ["frobnicate"])
case("a 100 kB argument", ["space", "show", "x" * 100000])
case("an argument with invalid UTF-8", ["space", "show", "\udcff\udcfe"])

for k, f in space_files.items():
    case(f"space show: {k}", ["space", "show", f])
    case(f"arch sample --space: {k}", ["arch", "sample", "--space", f])
case("space show: valid", ["space", "show", space], "ok")
case("space show: a 1 MB name (valid)", ["space", "show", json_variant("space-long-name", space_with(name="n" * (1 << 20)))],
     "ok")
for k, f in arch_files.items():
    case(f"arch show: {k}", ["arch", "show", f, "--space", space])
case("arch show: valid", ["arch", "show", arch, "--space", space], "ok")
for k, f in result_files.items():
    case(f"route --arch RESULT: {k}", ["route", "--supernet", net, "--arch", f, "--out", T("r.st")])

for k, f in net_files.items():
    case(f"route --supernet: {k}", ["route", "--supernet", f, "--arch", "smallest", "--out", T("r.st")])
    case(f"eval --supernet: {k}", ["eval", "--supernet", f, *common, "--no-bleu"])
    case(f"train --resume: {k}", ["train", *common, "--resume", f, "--out", T("resumed.st"), "--max-steps", "3"])
for k, f in model_files.items():
    case(f"model show: {k}", ["model", "show", f])
    case(f"translate --model: {k}", ["translate", "--model", f], stdin=b"red dog\n")
    case(f"latency --model: {k}", ["latency", "--model", f, *proto])
for k, f in lat_files.items():
    case(f"latency --train-predictor: {k}", ["latency", "--train-predictor", f, "--out", T("p.st")])
for k, f in pred_files.items():
    case(f"search --predictor: {k}", ["search", "--supernet", net, *common, "--predictor", f, "--latency-ms", "5",
                                      *tiny_search])
for k, d in list(corpora.items()) + list(valid_corpora.items()):
    exp = "ok" if k in valid_corpora else "err"
    case(f"eval --data: {k}", ["eval", "--supernet", net, "--data", d, "--src", "xx", "--tgt", "yy", "--no-bleu"],
         exp)
    case(f"train --data: {k}", ["train", "--data", d, "--src", "xx", "--tgt", "yy", "--space", space,
                                "--out", T("t.st"), *TINY_TRAIN, "--max-steps", "1", "--max-sentences", "2"], exp)
case("quickstart --data: missing folder", ["quickstart", "--data", T("nope"), "--work", T("qs")])

# Text on stdin.
stdin_cases = {
    "invalid UTF-8": (b"red \xff\xfe dog\n", "err"),
    "a lone surrogate (CESU)": (b"red \xed\xa0\x80 dog\n", "err"),
    "an overlong encoding": (b"red \xc0\xaf dog\n", "err"),
    "a NUL byte": (b"red\0dog\n", "err"),
    "a 1 MB line": (b"red " * (1 << 18) + b"\n", "ok"),
    "1 MB of CJK": (("\u4e2d\u6587" * (1 << 17) + "\n").encode(), "ok"),
    "binary": (bytes(rng.randrange(256) for _ in range(4096)), "err"),
    "empty": (b"", "ok"),
    "only newlines": (b"\n" * 1000, "ok"),
    "no final newline": (b"red dog", "ok"),
}
for k, (data, exp) in stdin_cases.items():
    case(f"translate stdin: {k}", ["translate", "--model", model, "--beam", "1", "--max-len", "4"], exp, stdin=data)
ref = write("ref.txt", "red dog\n")
case("bleu: valid", ["bleu", ref], "ok", stdin=b"red dog\n")
case("bleu stdin: invalid UTF-8", ["bleu", ref], "err", stdin=b"red \xff dog\n")
case("bleu stdin: a NUL byte", ["bleu", ref], "err", stdin=b"red\0dog\n")
case("bleu stdin: a 1 MB line", ["bleu", ref], "ok", stdin=b"red " * (1 << 18) + b"\n")
for k, f in {"invalid UTF-8": write("ref-utf8.txt", b"red \xff dog\n"), **bad_files(ref)}.items():
    if k in ("empty", "truncated"):
        continue  # an empty reference against one hypothesis is a line-count error, covered below
    case(f"bleu REF: {k}", ["bleu", f], stdin=b"red dog\n")
case("bleu REF: fewer lines", ["bleu", ref], stdin=b"a\nb\n")

# Numbers on the command line.
numbers = {"negative": "-1", "zero": "0", "huge": "99999999999999999999999", "NaN": "nan", "inf": "inf",
           "empty": "", "hex": "0x10", "a word": "ten", "trailing junk": "4x"}
for k, v in numbers.items():
    case(f"translate --beam {k}", ["translate", "--model", model, "--beam", v])
    case(f"translate --batch {k}", ["translate", "--model", model, "--batch", v])
    case(f"latency --runs {k}", ["latency", "--model", model, "--runs", v])
    # 1e23 ms is a finite budget > 0, so valid.
    case(f"search --latency-ms {k}", ["search", "--supernet", net, *common, "--predictor", pred,
                                      "--latency-ms", v, *tiny_search], "ok" if k == "huge" else "err")
    if k != "zero":
        case(f"train --lr {k}", ["train", *common, "--space", space, "--out", T("n.st"), "--lr", v])
        case(f"arch sample --seed {k}", ["arch", "sample", "--space", space, "--seed", v])
        case(f"bench gemm --threads {k}", ["bench", "gemm", "--threads", v])
case("train --lr zero", ["train", *common, "--space", space, "--out", T("n.st"), "--lr", "0"])
case("translate --max-len 0,0", ["translate", "--model", model, "--max-len", "0,0"])
case("latency --collect 10^12", ["latency", "--collect", "1000000000000", "--space", space, "--out", T("l.jsonl")])
case("search --population 10^9", ["search", "--supernet", net, *common, "--population", "1000000000"])

# Findings in code this folder does not own (tools/mos-cli, lib/capi,
# bench): reported as TODO until fixed, and then reported by Meson as an
# unexpected pass so that the entry goes (docs/reliability.md lists each).
# They run with a short time limit: two of them read a 3 GB file whole.
FINDINGS = {}  # every case passes; a known finding goes here (name: what is wrong) until it is fixed
FINDING_TIMEOUT = 10


def check(c):
    name, args, stdin, expect, finding = c
    limit = FINDING_TIMEOUT if FINDINGS.get(name) else TIMEOUT
    t0 = time.monotonic()
    try:
        r = run(args, stdin=stdin, timeout=limit)
    except subprocess.TimeoutExpired:
        return name, False, f"no answer within {limit} s", time.monotonic() - t0, finding
    took = time.monotonic() - t0
    err = r.stderr.decode(errors="replace").strip()
    if r.returncode < 0:
        return name, False, f"killed by signal {signal.Signals(-r.returncode).name}: {err[-2000:]}", took, finding
    if expect == "ok":
        good = r.returncode == 0 and (r.stdout or not stdin.strip())
        why = f"rc={r.returncode}, expected 0 with output; stderr: {err[-2000:]}"
    else:
        good = r.returncode in (1, 2) and err != "" and "terminate called" not in err
        why = f"rc={r.returncode}, expected 1 or 2 with a message; stderr: {err[-2000:]!r}"
    return name, good, why if not good else err.splitlines()[0][:200] if err else "", took, finding


started = time.monotonic()
with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
    results = list(pool.map(check, cases))
failures = 0
for i, (name, good, why, took, finding) in enumerate(results, 1):
    finding = finding or FINDINGS.get(name)
    if good:
        print(f"ok {i} - {name} ({took:.1f} s)" + (f" # TODO {finding}" if finding else ""))
        if why:
            print(f"# {why}")
    elif finding:
        print(f"not ok {i} - {name} # TODO {finding}")
        print(f"# {why}")
    else:
        failures += 1
        print(f"not ok {i} - {name}")
        print(f"# {why}")
print(f"# {len(results)} cases (table: {len(cases)}) in {time.monotonic() - started:.1f} s, "
      f"{failures} failed, {sum(1 for r in results if not r[1] and (r[4] or FINDINGS.get(r[0])))} known findings")
# The count guards the table itself: a case lost (or added) by an edit fails
# here until this number is updated with it.
EXPECTED_CASES = 231
if len(results) != EXPECTED_CASES or len(results) != len(cases):
    print(f"not ok {len(results) + 1} - case count {len(results)} (expected {EXPECTED_CASES})")
    failures += 1
    print(f"1..{len(results) + 1}")
else:
    print(f"1..{len(results)}")
shutil.rmtree(tmp, ignore_errors=True)
sys.exit(1 if failures else 0)
