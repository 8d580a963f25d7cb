"""bench/decode_vs_peers.py: decoding speed and BLEU of a routed libmos model
against the same model in PyTorch 2.x (eager, bench/peers/torch_model.py) and
in CTranslate2 (bench/peers/to_ctranslate2.py), every row measured in one run.

    bench/.venv/bin/python bench/decode_vs_peers.py --model MODEL [--threads 1,2] [--quick]

libmos runs only through `mos-cli` and the bench programs (--mos-cli,
--bench-dir), so the harness works against an installed or packed build. The
peers run in worker processes (bench/peers/decode_worker.py) under
--peer-python (default: this Python). For each thread count and precision
(libmos: --libmos-dtype, f32 today; PyTorch: f32, and bf16 where the CPU has
avx512_bf16 or amx_bf16; CTranslate2: float32, int8, int8_float32, and bfloat16 where
CTranslate2 offers it on this CPU) it prints:

* hat: HAT's latency protocol (batch 1, a fixed 30-token source, 30 decoder
  steps forced), greedy and beam 5: `mos-cli latency --model M`, the PyTorch
  model's cached decoder step by step, CTranslate2's translate_batch with
  min = max decoding length 30;
* sent: latency on real sentences, batch 1, mean over the first 100 test
  sentences;
* thru: throughput translating the first 1,000 test sentences in batches of at
  most 32 sentences or 1,024 source tokens, formed by length (sentences/s and
  target tokens/s; target tokens are the SentencePiece pieces of the output);
* BLEU of each side on those 1,000 sentences (sacreBLEU, 13a, beam 5), or on
  the first --bleu-sentences N sentences (translated once more, untimed, at the
  first thread count, when N differs from the throughput count);
* rss: the resident memory each side's loaded model holds (MiB), measured in a
  fresh process per model: VmRSS after a second load minus before it, the
  library already loaded and used (libmos: bench/peers/mos_rss.py through the libmos.so that
  mos-cli uses, or --libmos-so; peers: the worker's "rss" task).

libmos's `sent` rows are timed inside one process through the C API
(bench/peers/mos_probe.py: each sentence one mos_model_translate call after
the warm-up sentences), as the peers' workers time theirs. Its throughput
times come from whole `mos-cli translate` commands:
the time of a run over warm-up sentences plus the measured ones, minus the
time of a run over the warm-up sentences only, so that process start, model
loading and first-call costs cancel. Each command hands all its lines to one
translation call, and the library forms the batches as a service's call
would: sorted by length, at most --batch sentences and --max-batch-tokens
padded source tokens each (`--batch-sentences`, `--batch-tokens`), results
in input order.

Each side runs at its best threading setting, found in the run: at every
thread count above 1, before that count's rows, a short probe times each side
(libmos per dtype, each peer per precision) under every candidate setting, a
process per setting since the environment must be set before a library
loads: OMP_WAIT_POLICY passive or active (--probe-policies; "unset" leaves
the runtime's default), and for CTranslate2 every split of the threads into
inter_threads replicas x intra_threads (with more than one replica its
batches are submitted together, as a service's concurrent calls would). The
latency probe is the HAT protocol greedy (--probe-runs runs), the throughput
probe the greedy translation of the first --probe-sentences test sentences in
length-sorted batches of at most --probe-batch, timed inside one process on
every side (libmos: bench/peers/mos_probe.py through its C API). The fastest setting per mode
serves that mode's rows (latency: hat and sent, where replicas cannot help;
throughput: thru); the table names it in every row, the probe's figures follow
the table, and the JSON rows carry both. At 1 thread, and with --no-probe,
every side runs under --omp-wait-policy.

Every row shows both sides, the speed ratio libmos / peer (above 1: libmos is
faster), and for each side the share of the machine's arithmetic floor: the
matrix-product FLOPs of the decode (docs/model-size.md, with the decoder and the
output projection counted once per beam row) over the FMA peak that
mos-bench-gemm measures on its first line for that thread count and dtype. int8
rows have no measured peak and show none.
"""
import argparse
import gzip
import json
import math
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(HERE, "peers"))
import mos_model_file  # noqa: E402

HAT_SRC_LEN, HAT_STEPS = 30, 30


# ---- libmos through mos-cli ------------------------------------------------------

class MosCli:
    def __init__(self, path, env):
        self.path, self.env = path, env
        self._help = {}

    def has_option(self, command, option):
        """Whether `mos-cli COMMAND --help` lists OPTION (for options that newer
        mos-cli releases add, e.g. --json or per-command --threads)."""
        if command not in self._help:
            r = subprocess.run([self.path, command, "--help"], capture_output=True, text=True, env=self.env)
            self._help[command] = r.stdout + r.stderr
        return option in self._help[command]

    def run(self, args, env, stdin=None, timeout=None):
        try:
            r = subprocess.run([self.path, *args], capture_output=True, text=True, env=env, input=stdin,
                               timeout=timeout)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"mos-cli {args[0]}: stopped after {timeout} s") from None
        if r.returncode != 0:
            raise RuntimeError(f"mos-cli {' '.join(args)}: exit {r.returncode}: {r.stderr.strip()}")
        return r.stdout

    def threads_args(self, command, t):
        return ["--threads", str(t)] if self.has_option(command, "--threads") else []


SPEC = "+spec"


def base_dtype(dtype):
    """The model precision of a libmos row: "f32+spec" is the f32 model decoded
    speculatively (greedy rows, --libmos-draft-tokens; docs/serving.md)."""
    return dtype[:-len(SPEC)] if dtype.endswith(SPEC) else dtype


def draft_tokens(a, dtype, beam):
    """Draft tokens of a libmos row: --libmos-draft-tokens for the greedy rows
    of a "+spec" dtype, else 0 (plain decoding)."""
    return a.libmos_draft_tokens if dtype.endswith(SPEC) and beam == 1 else 0


def libmos_route_args(dtype):
    """Extra `mos-cli route` arguments that make a model of this dtype. f32 is
    what every libmos release routes; other dtypes are for the release whose
    route step takes --dtype (extend here, one line)."""
    return [] if dtype == "f32" else ["--dtype", dtype]


def libmos_model(a, cli, dtype, tmp):
    """The libmos model file of this dtype: --model as given (f32), or routed
    from --supernet / --arch."""
    dtype = base_dtype(dtype)
    if a.model and dtype == "f32":
        return a.model
    if not a.supernet:
        raise RuntimeError(f"libmos {dtype}: routing a {dtype} model needs --supernet CKPT (and --arch)")
    out = os.path.join(tmp, f"libmos-{dtype}.safetensors")
    if not os.path.exists(out):
        cli.run(["route", "--supernet", a.supernet, "--arch", a.arch, "--out", out, *libmos_route_args(dtype)],
                cli.env)
    return out


def libmos_hat(a, cli, model, t, beam, setting, runs=None, warmup=None, timeout=None, draft=0):
    env = setting_env(cli.env, t, setting)
    args = ["latency", "--model", model, "--runs", str(runs or a.runs),
            "--warmup", str(a.warmup if warmup is None else warmup),
            *(["--greedy"] if beam == 1 else ["--beam", str(beam)]), *cli.threads_args("latency", t)]
    if draft:
        args += ["--draft-tokens", str(draft)]
    if cli.has_option("latency", "--json"):
        args.append("--json")
    out = cli.run(args, env, timeout=timeout)
    r = json.loads(out.strip().splitlines()[-1])
    if r.get("src_len", HAT_SRC_LEN) != HAT_SRC_LEN or r.get("steps", HAT_STEPS) != HAT_STEPS:
        raise RuntimeError(f"mos-cli latency measured {r.get('src_len')} source tokens and {r.get('steps')} steps")
    return r["latency_ms"]


def library_batching(a, batch, n):
    """mos-cli translate flags that hand all n lines to one call and let the
    library cut them into batches of at most `batch` sentences and
    --max-batch-tokens padded source tokens, sorted by length (the public
    batch options of mos_translate_options, docs/serving.md)."""
    return ["--batch", str(max(1, min(n, 65536))), "--batch-sentences", str(batch),
            "--batch-tokens", str(a.max_batch_tokens)]


def libmos_translate(a, cli, model, t, beam, lines, order, batch, warm, setting, repeat=None, timeout=None):
    """Seconds of translating `lines` in the order `order` (lists of indices)
    in batches of at most `batch` sentences, minus the same command on the
    warm-up lines alone (best of `repeat`, default --repeat);
    and the translations in line order."""
    env = setting_env(cli.env, t, setting)
    args = ["translate", "--model", model, "--beam", str(beam), *library_batching(a, batch, len(warm) + len(order)),
            *cli.threads_args("translate", t)]
    warm_text = "".join(lines[i] + "\n" for i in warm)
    text = warm_text + "".join(lines[i] + "\n" for i in order)
    best_full = best_warm = math.inf
    for _ in range(repeat or a.repeat):
        t0 = time.perf_counter()
        out = cli.run(args, env, stdin=text, timeout=timeout)
        best_full = min(best_full, time.perf_counter() - t0)
        t0 = time.perf_counter()
        cli.run(args, env, stdin=warm_text, timeout=timeout)
        best_warm = min(best_warm, time.perf_counter() - t0)
    got = out.split("\n")[len(warm):len(warm) + len(order)]
    if len(got) != len(order):
        raise RuntimeError(f"mos-cli translate returned {len(got)} lines for {len(order)}")
    hyps = [None] * len(lines)
    for i, h in zip(order, got):
        hyps[i] = h
    return max(best_full - best_warm, 1e-9), hyps


def libmos_so(a):
    """The libmos.so that --mos-cli runs with (--libmos-so, else ldd's answer)."""
    if a.libmos_so:
        return a.libmos_so
    r = subprocess.run(["ldd", a.mos_cli], capture_output=True, text=True)
    for line in r.stdout.splitlines():
        parts = line.split()
        if parts and parts[0].startswith("libmos.so") and "=>" in parts and len(parts) >= 3 and parts[2] != "not":
            return parts[2]
    raise RuntimeError(f"no libmos.so found for {a.mos_cli} (ldd); give --libmos-so")


def libmos_rss(a, model):
    r = subprocess.run([sys.executable, os.path.join(HERE, "peers", "mos_rss.py"), libmos_so(a), model],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"mos_rss: {r.stderr.strip()[-400:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])["rss_mib"]


def libmos_translate_once(a, cli, model, t, beam, lines, order, batch, setting):
    """The translations of `lines` (in line order) from one untimed mos-cli
    translate run over the lines in `order`."""
    env = setting_env(cli.env, t, setting)
    args = ["translate", "--model", model, "--beam", str(beam), *library_batching(a, batch, len(order)),
            *cli.threads_args("translate", t)]
    out = cli.run(args, env, stdin="".join(lines[i] + "\n" for i in order))
    got = out.split("\n")[:len(order)]
    if len(got) != len(order):
        raise RuntimeError(f"mos-cli translate returned {len(got)} lines for {len(order)}")
    hyps = [None] * len(lines)
    for i, h in zip(order, got):
        hyps[i] = h
    return hyps


# ---- peers in worker processes --------------------------------------------------

def run_worker(a, job, tmp, setting, timeout=None):
    """One worker process for `job` under the threading `setting`: its
    environment, and for CTranslate2 its inter_threads x intra_threads;
    stopped after `timeout` seconds when given."""
    path = os.path.join(tmp, "job.json")
    if "inter_threads" in setting:
        job = dict(job, inter_threads=setting["inter_threads"], intra_threads=setting["intra_threads"])
    with open(path, "w") as f:
        json.dump(job, f)
    env = setting_env(os.environ, job["threads"], setting)
    env.pop("OPENBLAS_CORETYPE", None)
    try:
        r = subprocess.run([a.peer_python, os.path.join(HERE, "peers", "decode_worker.py"), path],
                           capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"{job['peer']} {job['precision']}: worker stopped after {timeout} s") from None
    if r.returncode != 0:
        raise RuntimeError(f"{job['peer']} {job['precision']}: worker failed: {r.stderr.strip()[-800:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def run_mos_probe(a, job, tmp, setting, timeout=None, full=False):
    """Seconds of libmos's in-process run (bench/peers/mos_probe.py) under
    `setting`, through the libmos.so that mos-cli runs with (with full=True its
    whole answer, translations included); stopped after `timeout` seconds
    (default --probe-timeout)."""
    timeout = a.probe_timeout if timeout is None else timeout
    path = os.path.join(tmp, "mos_probe.json")
    with open(path, "w") as f:
        json.dump(job, f)
    env = setting_env(os.environ, job["threads"], setting)
    env.pop("OPENBLAS_CORETYPE", None)
    try:
        r = subprocess.run([sys.executable, os.path.join(HERE, "peers", "mos_probe.py"), libmos_so(a), path],
                           capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"mos_probe: stopped after {timeout} s") from None
    if r.returncode != 0:
        raise RuntimeError(f"mos_probe: {r.stderr.strip()[-400:]}")
    got = json.loads(r.stdout.strip().splitlines()[-1])
    return got if full else got["seconds"]


def libmos_sentences(a, model, t, beam, lines_file, idx, warm, n_lines, tmp, setting, draft=0):
    """Seconds of translating the lines `idx` one at a time (one
    mos_model_translate call each) after the `warm` lines, timed inside one
    process through the C API as the peers' workers time theirs (best of
    --repeat); and the translations, indexed by line."""
    job = dict(model=model, threads=t, beam=beam, lines=lines_file, batches=[[i] for i in idx],
               warm_batches=[[i] for i in warm], hyps=True, draft_tokens=draft)
    best, hyps = math.inf, None
    for _ in range(a.repeat):
        got = run_mos_probe(a, job, tmp, setting, timeout=600, full=True)
        if got["seconds"] < best:
            best, hyps = got["seconds"], got["hyps"]
    by_line = [None] * n_lines
    for i, h in zip(idx, hyps):
        by_line[i] = h
    return max(best, 1e-9), by_line


def peer_hat(a, peer, t, beam, tmp, setting):
    best = math.inf
    for _ in range(a.repeat):
        job = dict(peer["job"], threads=t, task="hat", beam=beam, src_len=HAT_SRC_LEN, steps=HAT_STEPS,
                   warmup=a.warmup, runs=a.runs)
        best = min(best, run_worker(a, job, tmp, setting)["latency_ms"])
    return best


def peer_rss(a, peer, tmp):
    return run_worker(a, dict(peer["job"], threads=1, task="rss"), tmp,
                      default_setting(a, peer["name"], 1))["rss_mib"]


def peer_translate(a, peer, t, beam, lines_file, batches, warm_batches, n, tmp, setting):
    out = os.path.join(tmp, "peer.hyp")
    best = math.inf
    for _ in range(a.repeat):
        job = dict(peer["job"], threads=t, task="translate", beam=beam, lenpen=a.lenpen, lines=lines_file,
                   batches=batches, warm_batches=warm_batches, out=out)
        best = min(best, run_worker(a, job, tmp, setting)["seconds"])
    with open(out, encoding="utf-8") as f:
        hyps = [l.rstrip("\n") for l in f]
    if len(hyps) != n:
        raise RuntimeError(f"{peer['name']}: {len(hyps)} translations for {n} sentences")
    return best, hyps


# ---- threading settings, chosen per side by a probe -----------------------------------
#
# A setting is what a side's threads run under at a thread count T: the OpenMP
# wait policy (OMP_WAIT_POLICY=passive or active, or "unset": the runtime's own
# default), and for CTranslate2 how T splits into translator replicas x threads
# per replica (inter_threads x intra_threads). The environment must be set
# before a library loads, so every setting is a process of its own: a mos-cli
# command or a worker. At T > 1 each side (libmos per dtype, each peer per
# precision) is probed under every candidate setting and keeps the fastest per
# mode: "latency" (the hat and sent rows, batch 1: replicas cannot help, so
# only 1 x T) and "throughput" (the thru rows). At T = 1, or with --no-probe,
# every side runs under --omp-wait-policy (CTranslate2 as 1 x T).

MODES = ("latency", "throughput")


def setting_env(base, t, setting):
    env = dict(base, OMP_NUM_THREADS=str(t))
    if setting["omp_wait_policy"] == "unset":
        env.pop("OMP_WAIT_POLICY", None)
    else:
        env["OMP_WAIT_POLICY"] = setting["omp_wait_policy"]
    return env


def default_setting(a, side, t):
    s = {"omp_wait_policy": a.omp_wait_policy}
    if side == "ctranslate2":
        s.update(inter_threads=1, intra_threads=t)
    return s


def setting_label(setting):
    """passive, active or unset; CTranslate2 adds inter_threads x intra_threads."""
    lab = setting["omp_wait_policy"]
    if "inter_threads" in setting:
        lab += f" {setting['inter_threads']}x{setting['intra_threads']}"
    return lab


def candidate_settings(a, side, t):
    if a.no_probe or t == 1:
        return [default_setting(a, side, t)]
    out = []
    for pol in a.probe_policies:
        if side == "ctranslate2":
            for inter in (d for d in range(1, t + 1) if t % d == 0):
                out.append({"omp_wait_policy": pol, "inter_threads": inter, "intra_threads": t // inter})
        else:
            out.append({"omp_wait_policy": pol})
    return out


def serves_latency(setting):
    return setting.get("inter_threads", 1) == 1


def choose_settings(a, t, sides, measure, notes):
    """The fastest candidate setting of every side per mode, and the probe rows.

    sides: (side, precision) keys. measure(key, setting) -> (greedy HAT ms or
    None when the setting serves no latency row, greedy seconds of the probe
    sentences). --probe-rounds rounds, every candidate of every side once per
    round (alternating, so that a change in the machine's load hits them all);
    the minimum of each counts. A side whose candidates all fail keeps its
    default setting."""
    cands = {k: candidate_settings(a, k[0], t) for k in sides}
    if all(len(c) == 1 for c in cands.values()):
        return {k: {m: c[0] for m in MODES} for k, c in cands.items()}, []
    best, failed, wall = {}, {}, {}
    t0 = time.perf_counter()
    for _ in range(a.probe_rounds):
        for k in sides:
            for i, st in enumerate(cands[k]):
                w0 = time.perf_counter()
                try:
                    ms, sec = measure(k, st)
                except RuntimeError as e:
                    failed[(k, i)] = str(e)
                    continue
                finally:
                    wall[(k, i)] = wall.get((k, i), 0.0) + time.perf_counter() - w0
                old = best.get((k, i), (None, None))
                best[(k, i)] = (ms if old[0] is None else (old[0] if ms is None else min(ms, old[0])),
                                sec if old[1] is None else min(sec, old[1]))
    print(f"decode_vs_peers: thread settings at {t} threads probed in {time.perf_counter() - t0:.1f} s",
          file=sys.stderr, flush=True)
    chosen, rows = {}, []
    for k in sides:
        got = [(i, best[(k, i)]) for i in range(len(cands[k])) if (k, i) in best]
        lat = [(v[0], i) for i, v in got if v[0] is not None and serves_latency(cands[k][i])]
        thr = [(v[1], i) for i, v in got]
        pick = {"latency": min(lat)[1] if lat else None, "throughput": min(thr)[1] if thr else None}
        chosen[k] = {m: cands[k][i] if i is not None else default_setting(a, k[0], t) for m, i in pick.items()}
        for i, st in enumerate(cands[k]):
            ms, sec = best.get((k, i), (None, None))
            rows.append(dict(metric="probe", threads=t, side=k[0], precision=k[1], setting=st,
                             setting_label=setting_label(st), hat_greedy_ms=ms,
                             probe_sent_s=a.probe_sentences / sec if sec else None,
                             chosen_for=[m for m in MODES if pick[m] == i], probe_wall_s=wall.get((k, i)),
                             error=None if (k, i) in best else failed.get((k, i))))
        if None in pick.values():
            notes.append(f"probe {k[0]} {k[1]} at {t} threads: no candidate measured for "
                         f"{', '.join(m for m in MODES if pick[m] is None)}; the default setting serves it")
    return chosen, rows


# ---- FLOPs of a decode (docs/model-size.md) ------------------------------------------

def decode_flops(m, S, T, beam):
    """Matrix-product FLOPs of encoding S source tokens (EOS included) and
    decoding T steps on `beam` rows: docs/model-size.md's forward count, with
    the decoder and the output projection once per row and the cross-attention
    keys and values once per source. beam 1 is exactly that forward count."""
    q, de, dd, V = m.qkv, m.enc_embed, m.dec_embed, m.vocab
    enc = sum(2 * S * 4 * de * q + 4 * S * S * q + 2 * S * 2 * de * L["ffn_dim"] for L in m.enc_layers)
    rows, mem = 0, 0
    for L in m.dec_layers:
        K = L["cross_k"] * S
        rows += (2 * T * 4 * dd * q + 4 * T * T * q + 2 * T * 2 * dd * q + 4 * T * K * q
                 + 2 * T * 2 * dd * L["ffn_dim"])
        mem += 2 * K * 2 * de * q
    rows += 2 * T * dd * V
    return enc + mem + beam * rows


def measure_peaks(a, threads, env):
    exe = os.path.join(a.bench_dir, "mos-bench-gemm")
    peaks = {}
    for t in threads:
        r = subprocess.run([exe, "--quick", "--threads", str(t), "--shape", "64x64x64", "--backend", "onednn",
                            "--dtype", "f32", "--json-only"], capture_output=True, text=True,
                           env=dict(env, OMP_NUM_THREADS=str(t)))
        if r.returncode != 0:
            raise RuntimeError(f"{exe}: exit {r.returncode}: {r.stderr.strip()}")
        first = json.loads(r.stdout.splitlines()[0])
        if first.get("kind") != "peak":
            raise RuntimeError(f"{exe}: first line is not the peak: {r.stdout.splitlines()[0]}")
        peaks[t] = {"f32": first["f32_gflops"][str(t)], "bf16": (first.get("bf16_gflops") or {}).get(str(t))}
    return peaks


def peak_for(peaks, t, precision):
    precision = base_dtype(precision)
    if precision in ("f32", "float32"):
        return peaks[t]["f32"]
    if precision in ("bf16", "bfloat16"):
        return peaks[t]["bf16"]
    return None  # int8: no measured peak


# ---- data ------------------------------------------------------------------------

def read_split(data, split, lang, n):
    for name in (f"{split}.{lang}", f"{split}.{lang}.gz"):
        p = os.path.join(data, name)
        if os.path.exists(p):
            with open(p, "rb") as f:
                raw = f.read()
            if raw[:2] == b"\x1f\x8b":
                raw = gzip.decompress(raw)
            lines = raw.decode("utf-8").splitlines()
            if len(lines) < n:
                raise RuntimeError(f"{p} has {len(lines)} sentences; {n} asked for")
            return lines[:n]
    raise RuntimeError(f"no {split}.{lang}[.gz] in {data}")


def length_batches(lengths, max_sentences, max_tokens):
    """Indices sorted by length, cut into batches of at most max_sentences
    sentences and max_tokens source tokens (a longer sentence alone)."""
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], i))
    batches, cur, tok = [], [], 0
    for i in order:
        if cur and (len(cur) == max_sentences or tok + lengths[i] > max_tokens):
            batches.append(cur)
            cur, tok = [], 0
        cur.append(i)
        tok += lengths[i]
    if cur:
        batches.append(cur)
    return batches


def cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


# ---- main ------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", help="routed libmos model file with its tokenizer (mos-cli route)")
    ap.add_argument("--supernet", help="or: a supernet checkpoint, routed to --arch here")
    ap.add_argument("--arch", default="largest", help="arch for --supernet (JSON file, largest, smallest)")
    ap.add_argument("--data", default=os.path.join(ROOT, "data", "bible-en-es"))
    ap.add_argument("--src", default="en")
    ap.add_argument("--tgt", default="es")
    ap.add_argument("--split", default="test")
    ap.add_argument("--mos-cli", default=os.path.join(ROOT, "build", "tools", "mos-cli", "mos-cli"))
    ap.add_argument("--bench-dir", default=os.path.join(ROOT, "build", "bench"),
                    help="folder of mos-bench-gemm (a build's bench/, or a packed build's bin/)")
    ap.add_argument("--peer-python", default=sys.executable, help="Python with torch and ctranslate2")
    ap.add_argument("--peers", default="torch,ct2", help="comma list of torch, ct2")
    ap.add_argument("--threads", help="comma list of thread counts (default 1,2; 1 with --quick)")
    ap.add_argument("--libmos-dtype", default="f32",
                    help="comma list of f32, bf16, int8 and f32+spec (the f32 model, its greedy rows decoded "
                         "speculatively with --libmos-draft-tokens; beam rows as f32)")
    ap.add_argument("--libmos-draft-tokens", type=int, default=15,
                    help="draft tokens per check of the f32+spec rows (mos-cli --draft-tokens)")
    ap.add_argument("--torch-precisions",
                    help="comma list of f32, bf16 (default: f32, and bf16 with avx512_bf16 or amx_bf16)")
    ap.add_argument("--ct2-precisions", help="comma list of CTranslate2 compute types "
                    "(default: float32, int8, int8_float32, and bfloat16 where offered)")
    ap.add_argument("--beams", default="1,5", help="beams of the latency and throughput rows")
    ap.add_argument("--bleu-beam", type=int, default=5)
    ap.add_argument("--lenpen", type=float, default=0.6)
    ap.add_argument("--latency-sentences", type=int, default=100)
    ap.add_argument("--throughput-sentences", type=int, default=1000)
    ap.add_argument("--bleu-sentences", type=int,
                    help="BLEU on the first N test sentences (default: the throughput sentences); when N differs, "
                         "each side translates them once more, untimed, at the first thread count")
    ap.add_argument("--libmos-so", help="libmos.so for the resident-memory rows (default: the one mos-cli uses)")
    ap.add_argument("--no-rss", action="store_true", help="skip the resident-memory rows")
    ap.add_argument("--max-batch-sentences", type=int, default=32)
    ap.add_argument("--max-batch-tokens", type=int, default=1024)
    ap.add_argument("--warm-sentences", type=int, default=8, help="untimed sentences before the timed ones")
    ap.add_argument("--runs", type=int, default=20, help="timed runs of the HAT protocol")
    ap.add_argument("--warmup", type=int, default=3, help="untimed runs of the HAT protocol")
    ap.add_argument("--repeat", type=int, default=1, help="measurements per cell; the best counts")
    ap.add_argument("--omp-wait-policy", default=os.environ.get("OMP_WAIT_POLICY", "passive"),
                    help="OMP_WAIT_POLICY of every side at 1 thread, of mos-bench-gemm's peak, of the "
                         "resident-memory rows, and at every thread count with --no-probe (passive, active, or "
                         "unset: the runtime's default)")
    ap.add_argument("--no-probe", action="store_true",
                    help="no thread-setting probe: every side under --omp-wait-policy at every thread count "
                         "(CTranslate2 as 1 replica x T threads)")
    ap.add_argument("--probe-policies", default="passive,active",
                    help="OMP_WAIT_POLICY candidates of the probe at more than 1 thread (comma list of passive, "
                         "active, unset)")
    ap.add_argument("--probe-sentences", type=int, default=64,
                    help="the throughput probe: greedy translation of the first N test sentences")
    ap.add_argument("--probe-batch", type=int, default=16,
                    help="at most N sentences per batch in the throughput probe (several batches, so that "
                         "CTranslate2's replicas have work side by side)")
    ap.add_argument("--probe-runs", type=int, default=5, help="timed runs of the latency probe (HAT, greedy)")
    ap.add_argument("--probe-timeout", type=float, default=10.0,
                    help="seconds after which a probe process is stopped and its setting left out (a setting "
                         "that makes a side crawl would otherwise hold the run up)")
    ap.add_argument("--probe-rounds", type=int, default=1,
                    help="rounds over all candidates, alternating; the best of each candidate counts")
    ap.add_argument("--quick", action="store_true",
                    help="small settings that only prove the harness works: 1 thread, 5 latency and 40 "
                         "throughput sentences, 3 HAT runs")
    ap.add_argument("--json-out", help="also write every row as a JSON line to this file (rewritten after each "
                    "precision, so that a run cut short keeps what it measured)")
    a = ap.parse_args()
    if a.quick:
        a.latency_sentences, a.throughput_sentences = 5, 40
        a.runs, a.warmup, a.warm_sentences = 3, 1, 2
    if a.threads is None:
        a.threads = "1" if a.quick else "1,2"
    if a.bleu_sentences is not None and a.bleu_sentences < 1:
        ap.error("--bleu-sentences must be positive")
    a.probe_policies = [p for p in a.probe_policies.split(",") if p]
    for pol in a.probe_policies + [a.omp_wait_policy]:
        if pol not in ("passive", "active", "unset"):
            ap.error(f"OMP_WAIT_POLICY {pol!r}: passive, active or unset")
    if not a.probe_policies:
        ap.error("--probe-policies: at least one policy")
    for name in ("probe_sentences", "probe_batch", "probe_runs", "probe_rounds", "probe_timeout"):
        if getattr(a, name) < 1:
            ap.error(f"--{name.replace('_', '-')} must be positive")
    if bool(a.model) == bool(a.supernet):
        ap.error("give --model MODEL or --supernet CKPT [--arch A]")
    for p, what in ((a.mos_cli, "--mos-cli"), (os.path.join(a.bench_dir, "mos-bench-gemm"), "--bench-dir")):
        if not os.access(p, os.X_OK):
            ap.error(f"{what}: {p} is not an executable (build with -Dbenchmarks=enabled, or point at a packed build)")
    threads = [int(x) for x in a.threads.split(",")]
    beams = [int(x) for x in a.beams.split(",")]
    if a.bleu_beam not in beams:
        ap.error(f"--bleu-beam {a.bleu_beam} must be one of --beams {a.beams} (BLEU is scored on the throughput "
                 "run's translations)")
    peers_wanted = [p for p in a.peers.split(",") if p]
    env = dict(os.environ)
    env.pop("OPENBLAS_CORETYPE", None)  # OpenBLAS picks its kernels for this CPU
    env = setting_env(env, 1, {"omp_wait_policy": a.omp_wait_policy})
    env.pop("OMP_NUM_THREADS")  # each command sets its own
    cli = MosCli(a.mos_cli, env)
    flags = cpu_flags()
    has_bf16 = bool({"avx512_bf16", "amx_bf16"} & flags)
    notes = []

    with tempfile.TemporaryDirectory() as tmp:
        libmos_models = {}
        for d in a.libmos_dtype.split(","):
            try:
                libmos_models[d] = libmos_model(a, cli, d, tmp)
            except RuntimeError as e:
                notes.append(f"libmos {d} skipped: {e}")
        if not libmos_models:
            sys.exit("decode_vs_peers: no libmos model: " + "; ".join(notes))
        ref_model = next(iter(libmos_models.values()))
        m = mos_model_file.load(ref_model)
        if m.tokenizer is None:
            sys.exit(f"decode_vs_peers: {ref_model} carries no tokenizer")
        import sentencepiece as spm
        sp = spm.SentencePieceProcessor(model_proto=m.tokenizer)
        n_lat, n_thr = a.latency_sentences, a.throughput_sentences
        n_bleu = a.bleu_sentences or n_thr
        n_probe = a.probe_sentences
        src = read_split(a.data, a.split, a.src, max(n_lat, n_thr, n_bleu, n_probe))
        ref = read_split(a.data, a.split, a.tgt, n_bleu)[:n_bleu]
        lines_file = os.path.join(tmp, "src.txt")
        with open(lines_file, "w", encoding="utf-8") as f:
            f.writelines(l + "\n" for l in src)
        src_len = [len(sp.encode(l)) for l in src]
        lat_batches = [[i] for i in range(n_lat)]
        thr_batches = length_batches(src_len[:n_thr], a.max_batch_sentences, a.max_batch_tokens)
        warm_lat = [[i] for i in range(min(a.warm_sentences, n_lat))]
        warm_thr = thr_batches[:1]
        probe_batches = length_batches(src_len[:n_probe], a.probe_batch, a.max_batch_tokens)
        probe_order = [i for b in probe_batches for i in b]

        # The peers and their precisions.
        peers = []
        if "torch" in peers_wanted:
            precs = a.torch_precisions.split(",") if a.torch_precisions else ["f32"] + (["bf16"] if has_bf16 else [])
            for p in precs:
                peers.append({"name": "pytorch", "precision": p,
                              "job": {"peer": "torch", "model": ref_model, "tokenizer": ref_model, "precision": p}})
        if "ct2" in peers_wanted:
            try:
                sys.path.insert(0, os.path.join(HERE, "peers"))
                import to_ctranslate2
                ct2_dir = to_ctranslate2.convert(ref_model, os.path.join(tmp, "ct2"))
                r = subprocess.run([a.peer_python, "-c", "import ctranslate2, json; "
                                    "print(json.dumps(sorted(ctranslate2.get_supported_compute_types('cpu'))))"],
                                   capture_output=True, text=True, env=env, check=True)
                offered = set(json.loads(r.stdout))
                precs = (a.ct2_precisions.split(",") if a.ct2_precisions else
                         [p for p in ("float32", "int8", "int8_float32", "bfloat16") if p in offered])
                for p in precs:
                    peers.append({"name": "ctranslate2", "precision": p,
                                  "job": {"peer": "ct2", "model": ct2_dir, "tokenizer": ref_model, "precision": p}})
            except (ImportError, subprocess.CalledProcessError) as e:
                notes.append(f"ctranslate2 skipped: not importable ({e})")
            except to_ctranslate2.UnsupportedArch as e:
                notes.append(f"ctranslate2 skipped: {e}")

        peaks = measure_peaks(a, threads, env)
        rows, probe_rows, bleu = [], [], {}
        sides = [("libmos", d) for d in libmos_models] + [(p["name"], p["precision"]) for p in peers]
        peer_of = {(p["name"], p["precision"]): p for p in peers}

        def probe(t, key, setting):
            """(greedy HAT ms, greedy seconds of the probe sentences) of one side
            under one setting: its latency and throughput probes."""
            lat = serves_latency(setting)
            if key[0] == "libmos":
                model = libmos_models[key[1]]
                ms = (libmos_hat(a, cli, model, t, 1, setting, runs=a.probe_runs, warmup=1,
                                 timeout=a.probe_timeout, draft=draft_tokens(a, key[1], 1)) if lat else None)
                # Timed in one process through the C API (bench/peers/mos_probe.py): the
                # difference of two whole mos-cli commands drowns in process start and exit
                # for 64 sentences.
                job = dict(model=model, threads=t, beam=1, lines=lines_file, batches=probe_batches,
                           warm_batches=probe_batches[:1])
                return ms, run_mos_probe(a, job, tmp, setting)
            job = dict(peer_of[key]["job"], threads=t, task="probe", hat=lat, beam=1, src_len=HAT_SRC_LEN,
                       steps=HAT_STEPS, warmup=1, runs=a.probe_runs, lenpen=a.lenpen, lines=lines_file,
                       batches=probe_batches, warm_batches=probe_batches[:1], out=os.path.join(tmp, "probe.hyp"))
            r = run_worker(a, job, tmp, setting, timeout=a.probe_timeout)
            return r["latency_ms"], r["seconds"]

        def flops_of(hyps, idx, beam):
            return sum(decode_flops(m, src_len[i] + 1, len(sp.encode(hyps[i])) + 1, beam) for i in idx)

        def share(flops, seconds, t, precision):
            pk = peak_for(peaks, t, precision)
            return None if pk is None else 100.0 * flops / (pk * 1e9) / seconds

        def safe(what, fn):
            try:
                return fn()
            except RuntimeError as e:
                notes.append(f"{what}: {e}")
                return None

        def partial(what):
            # Rows so far to --json-out, and a line to stderr: a run cut short
            # (a time limit) still leaves what it measured.
            if a.json_out:
                with open(a.json_out, "w") as f:
                    for r in probe_rows + rows:
                        f.write(json.dumps(r) + "\n")
            print(f"decode_vs_peers: {what} done ({len(rows)} rows)", file=sys.stderr, flush=True)

        chosen_at = {}
        for t in threads:
            chosen, prows = choose_settings(a, t, sides, lambda k, st: probe(t, k, st), notes)
            chosen_at[t] = chosen
            probe_rows.extend(prows)

            def mine(key, mode):
                return chosen[key][mode]

            def labels(key_mos, key_peer, mode):
                return dict(libmos_setting=mine(key_mos, mode), peer_setting=mine(key_peer, mode))

            for dtype, model in libmos_models.items():
                mk = ("libmos", dtype)
                if rows:
                    partial(f"threads {t}, before libmos {dtype}")
                for beam in beams:
                    # HAT protocol.
                    hat_flops = decode_flops(m, HAT_SRC_LEN, HAT_STEPS, beam)
                    mos_ms = safe(f"libmos {dtype} hat", lambda: min(
                        libmos_hat(a, cli, model, t, beam, mine(mk, "latency"), draft=draft_tokens(a, dtype, beam))
                        for _ in range(a.repeat)))
                    for peer in peers:
                        pk = (peer["name"], peer["precision"])
                        ms = safe(f"{peer['name']} {peer['precision']} hat",
                                  lambda: peer_hat(a, peer, t, beam, tmp, mine(pk, "latency")))
                        rows.append(dict(metric="hat", unit="ms", threads=t, beam=beam, libmos_dtype=dtype,
                                         **labels(mk, pk, "latency"),
                                         peer=peer["name"], precision=peer["precision"], libmos=mos_ms, value=ms,
                                         ratio=ms / mos_ms if ms and mos_ms else None,
                                         libmos_pct=share(hat_flops, mos_ms / 1e3, t, dtype) if mos_ms else None,
                                         peer_pct=share(hat_flops, ms / 1e3, t, peer["precision"]) if ms else None))
                    # Real sentences, batch 1.
                    idx = list(range(n_lat))
                    r = safe(f"libmos {dtype} sent", lambda: libmos_sentences(
                        a, model, t, beam, lines_file, idx, [b[0] for b in warm_lat], len(src), tmp,
                        mine(mk, "latency"), draft=draft_tokens(a, dtype, beam)))
                    for peer in peers:
                        pk = (peer["name"], peer["precision"])
                        p = safe(f"{peer['name']} {peer['precision']} sent", lambda: peer_translate(
                            a, peer, t, beam, lines_file, lat_batches, warm_lat, len(src), tmp,
                            mine(pk, "latency")))
                        mos_ms = r[0] / n_lat * 1e3 if r else None
                        ms = p[0] / n_lat * 1e3 if p else None
                        rows.append(dict(metric="sent", unit="ms", threads=t, beam=beam, libmos_dtype=dtype,
                                         **labels(mk, pk, "latency"),
                                         peer=peer["name"], precision=peer["precision"], libmos=mos_ms, value=ms,
                                         ratio=ms / mos_ms if ms and mos_ms else None,
                                         libmos_pct=share(flops_of(r[1], idx, beam), r[0], t, dtype) if r else None,
                                         peer_pct=share(flops_of(p[1], idx, beam), p[0], t, peer["precision"])
                                         if p else None))
                    # Throughput and BLEU.
                    idx = list(range(n_thr))
                    order = [i for b in thr_batches for i in b]
                    thr_src = src[:n_thr]
                    r = safe(f"libmos {dtype} thru", lambda: libmos_translate(
                        a, cli, model, t, beam, thr_src, order, a.max_batch_sentences, warm_thr[0],
                        mine(mk, "throughput")))
                    if r and beam == a.bleu_beam and n_bleu == n_thr and ("libmos", dtype) not in bleu:
                        bleu[("libmos", dtype)] = r[1]
                    for peer in peers:
                        pk = (peer["name"], peer["precision"])
                        p = safe(f"{peer['name']} {peer['precision']} thru", lambda: peer_translate(
                            a, peer, t, beam, lines_file, thr_batches, warm_thr, len(src), tmp,
                            mine(pk, "throughput")))
                        if (p and beam == a.bleu_beam and n_bleu == n_thr
                                and (peer["name"], peer["precision"]) not in bleu):
                            bleu[(peer["name"], peer["precision"])] = p[1][:n_thr]
                        toks = lambda h: sum(len(sp.encode(h[i])) for i in idx)
                        rows.append(dict(metric="thru", unit="sent/s", threads=t, beam=beam, libmos_dtype=dtype,
                                         **labels(mk, pk, "throughput"),
                                         peer=peer["name"], precision=peer["precision"],
                                         libmos=n_thr / r[0] if r else None, value=n_thr / p[0] if p else None,
                                         libmos_tok_s=toks(r[1]) / r[0] if r else None,
                                         peer_tok_s=toks(p[1]) / p[0] if p else None,
                                         ratio=(n_thr / r[0]) / (n_thr / p[0]) if r and p else None,
                                         libmos_pct=share(flops_of(r[1], idx, beam), r[0], t, dtype) if r else None,
                                         peer_pct=share(flops_of(p[1], idx, beam), p[0], t, peer["precision"])
                                         if p else None))

        # BLEU on a sentence count of its own: one untimed translation per side.
        if n_bleu != n_thr:
            t0, bidx = threads[0], list(range(n_bleu))
            b_batches = length_batches(src_len[:n_bleu], a.max_batch_sentences, a.max_batch_tokens)
            b_order = [i for b in b_batches for i in b]
            for dtype, model in libmos_models.items():
                h = safe(f"libmos {dtype} bleu", lambda: libmos_translate_once(
                    a, cli, model, t0, a.bleu_beam, src, b_order, a.max_batch_sentences,
                    chosen_at[t0][("libmos", dtype)]["throughput"]))
                if h:
                    bleu[("libmos", dtype)] = [h[i] for i in bidx]
            for peer in peers:
                p = safe(f"{peer['name']} {peer['precision']} bleu", lambda: peer_translate(
                    a, peer, t0, a.bleu_beam, lines_file, b_batches, [], len(src), tmp,
                    chosen_at[t0][(peer["name"], peer["precision"])]["throughput"]))
                if p:
                    bleu[(peer["name"], peer["precision"])] = p[1][:n_bleu]

        # Resident memory of each loaded model, each in a fresh process.
        rss = {}
        if not a.no_rss:
            for dtype, model in libmos_models.items():
                v = safe(f"libmos {dtype} rss", lambda: libmos_rss(a, model))
                if v is not None:
                    rss[("libmos", dtype)] = v
            for peer in peers:
                v = safe(f"{peer['name']} {peer['precision']} rss", lambda: peer_rss(a, peer, tmp))
                if v is not None:
                    rss[(peer["name"], peer["precision"])] = v

    import sacrebleu
    fmt = lambda x, f: "-" if x is None else format(x, f)
    info = subprocess.run([a.mos_cli, "info"], capture_output=True, text=True, env=env).stdout.strip()
    print("libmos: " + ", ".join(info.splitlines()))
    print(f"model: {a.model or a.supernet + ' / ' + a.arch}  ({m.vocab} tokens; arch: "
          f"enc {m.enc_embed}x{len(m.enc_layers)}, dec {m.dec_embed}x{len(m.dec_layers)}, qkv {m.qkv})")
    print("FMA peak GFLOP/s (mos-bench-gemm): " + ", ".join(
        f"{t} thr f32 {peaks[t]['f32']:.0f}" + (f" bf16 {peaks[t]['bf16']:.0f}" if peaks[t]["bf16"] else "")
        for t in threads))
    print(f"hat: ms per decode (batch 1, {HAT_SRC_LEN} source tokens, {HAT_STEPS} steps); sent: ms per sentence "
          f"(batch 1, first {n_lat} sentences); thru: sentences/s over {n_thr} sentences (target tokens/s in "
          "brackets). ratio = libmos speed / peer speed. %fl = share of the arithmetic floor. libmos set / peer "
          "set: each side's threading setting in that row (OMP_WAIT_POLICY; CTranslate2: and inter_threads x "
          "intra_threads), the probe's choice per mode (below).")
    print(f"{'metric':>6} {'thr':>3} {'beam':>4} {'libmos':>7} {'libmos value':>16} {'peer':>11} {'precision':>12}"
          f" {'peer value':>16} {'ratio':>6} {'libmos %fl':>10} {'peer %fl':>8} {'libmos set':>10} {'peer set':>12}")
    for r in rows:
        if r["metric"] == "thru":
            lv = f"{fmt(r['libmos'], '.1f')} ({fmt(r['libmos_tok_s'], '.0f')})"
            pv = f"{fmt(r['value'], '.1f')} ({fmt(r['peer_tok_s'], '.0f')})"
        else:
            lv, pv = fmt(r["libmos"], ".2f"), fmt(r["value"], ".2f")
        print(f"{r['metric']:>6} {r['threads']:>3} {r['beam']:>4} {r['libmos_dtype']:>7} {lv:>16} {r['peer']:>11}"
              f" {r['precision']:>12} {pv:>16} {fmt(r['ratio'], '.2f'):>6} {fmt(r['libmos_pct'], '.1f'):>10}"
              f" {fmt(r['peer_pct'], '.1f'):>8} {setting_label(r['libmos_setting']):>10}"
              f" {setting_label(r['peer_setting']):>12}")
    if probe_rows:
        print(f"\nthread-setting probe (greedy; latency: HAT protocol, {a.probe_runs} runs; throughput: the first "
              f"{a.probe_sentences} test sentences in length-sorted batches of at most {a.probe_batch}; best of "
              f"{a.probe_rounds} round(s); in brackets the wall time of the candidate's probe processes); chosen: the "
              "setting each mode's rows use:")
        for r in probe_rows:
            print(f"  {r['threads']:>2} thr {r['side']:>11} {r['precision']:>12} {r['setting_label']:>12}: "
                  f"latency {fmt(r['hat_greedy_ms'], '.2f'):>8} ms  throughput {fmt(r['probe_sent_s'], '.1f'):>8} "
                  f"sent/s  ({fmt(r['probe_wall_s'], '.1f')} s)  "
                  f"{'chosen: ' + ', '.join(r['chosen_for']) if r['chosen_for'] else ''}"
                  f"{'left out: ' + r['error'] if r['error'] else ''}")
    if rss:
        print("\nrss: resident memory of the loaded model, MiB (VmRSS after a second load minus before, fresh process; "
              "share of the same side's f32 / float32 model in brackets):")
        for (side, prec), mb in rss.items():
            base = rss.get((side, "f32" if side != "ctranslate2" else "float32"))
            pct = f" ({100.0 * mb / base:.1f}% of f32)" if base and base > 0 and prec not in ("f32", "float32") else ""
            print(f"  {side:>11} {prec:>12}: {mb:8.1f}{pct}")
            rows.append(dict(metric="rss", unit="MiB", side=side, precision=prec, rss_mib=round(mb, 2),
                             pct_of_f32=round(100.0 * mb / base, 1) if base and base > 0 else None))
    print(f"\nBLEU (sacreBLEU 13a, beam {a.bleu_beam}, first {n_bleu} {a.split} sentences):")
    for (side, prec), hyps in bleu.items():
        score = sacrebleu.corpus_bleu(hyps, [ref])
        print(f"  {side:>11} {prec:>12}: {score.score:.2f}")
        rows.append(dict(metric="bleu", side=side, precision=prec, beam=a.bleu_beam, bleu=round(score.score, 2)))
    print("\nlibmos translation times: sent rows one mos_model_translate call per sentence in one process (C API, "
          "after the warm-up sentences); thru rows whole mos-cli translate commands over warm-up + measured "
          "sentences minus the same command over the warm-up sentences; the library forms the batches (sorted by "
          "length, at "
          f"most {a.max_batch_sentences} sentences and {a.max_batch_tokens} padded source tokens).")
    for n in notes:
        print("note: " + n)
    if a.json_out:
        with open(a.json_out, "w") as f:
            for r in probe_rows + rows:
                f.write(json.dumps(r) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
