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

libmos's translation times come from whole `mos-cli translate` commands:
the time of a run over warm-up sentences plus the measured ones, minus the
time of a run over the warm-up sentences only, so that process start, model
loading and first-call costs cancel. Each command hands all its lines to one
translation call, and the library forms the batches as a service's call
would: sorted by length, at most --batch sentences and --max-batch-tokens
padded source tokens each (`--batch-sentences`, `--batch-tokens`), results
in input order.

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

    def run(self, args, env, stdin=None):
        r = subprocess.run([self.path, *args], capture_output=True, text=True, env=env, input=stdin)
        if r.returncode != 0:
            raise RuntimeError(f"mos-cli {' '.join(args)}: exit {r.returncode}: {r.stderr.strip()}")
        return r.stdout

    def threads_args(self, command, t):
        return ["--threads", str(t)] if self.has_option(command, "--threads") else []


def libmos_route_args(dtype):
    """Extra `mos-cli route` arguments that make a model of this dtype. f32 is
    what every libmos release routes; other dtypes are for the release whose
    route step takes --dtype (extend here, one line)."""
    return [] if dtype == "f32" else ["--dtype", dtype]


def libmos_model(a, cli, dtype, tmp):
    """The libmos model file of this dtype: --model as given (f32), or routed
    from --supernet / --arch."""
    if a.model and dtype == "f32":
        return a.model
    if not a.supernet:
        raise RuntimeError(f"libmos {dtype}: routing a {dtype} model needs --supernet CKPT (and --arch)")
    out = os.path.join(tmp, f"libmos-{dtype}.safetensors")
    if not os.path.exists(out):
        cli.run(["route", "--supernet", a.supernet, "--arch", a.arch, "--out", out, *libmos_route_args(dtype)],
                cli.env)
    return out


def libmos_hat(a, cli, model, t, beam):
    env = dict(cli.env, OMP_NUM_THREADS=str(t))
    args = ["latency", "--model", model, "--runs", str(a.runs), "--warmup", str(a.warmup),
            *(["--greedy"] if beam == 1 else ["--beam", str(beam)]), *cli.threads_args("latency", t)]
    if cli.has_option("latency", "--json"):
        args.append("--json")
    out = cli.run(args, env)
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


def libmos_translate(a, cli, model, t, beam, lines, order, batch, warm):
    """Seconds of translating `lines` in the order `order` (lists of indices)
    in batches of at most `batch` sentences, minus the same command on the
    warm-up lines alone;
    and the translations in line order."""
    env = dict(cli.env, OMP_NUM_THREADS=str(t))
    args = ["translate", "--model", model, "--beam", str(beam), *library_batching(a, batch, len(warm) + len(order)),
            *cli.threads_args("translate", t)]
    warm_text = "".join(lines[i] + "\n" for i in warm)
    text = warm_text + "".join(lines[i] + "\n" for i in order)
    best_full = best_warm = math.inf
    for _ in range(a.repeat):
        t0 = time.perf_counter()
        out = cli.run(args, env, stdin=text)
        best_full = min(best_full, time.perf_counter() - t0)
        t0 = time.perf_counter()
        cli.run(args, env, stdin=warm_text)
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


def libmos_translate_once(a, cli, model, t, beam, lines, order, batch):
    """The translations of `lines` (in line order) from one untimed mos-cli
    translate run over the lines in `order`."""
    env = dict(cli.env, OMP_NUM_THREADS=str(t))
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

def run_worker(a, job, tmp):
    path = os.path.join(tmp, "job.json")
    with open(path, "w") as f:
        json.dump(job, f)
    env = dict(os.environ, OMP_NUM_THREADS=str(job["threads"]), OMP_WAIT_POLICY=a.omp_wait_policy)
    env.pop("OPENBLAS_CORETYPE", None)
    r = subprocess.run([a.peer_python, os.path.join(HERE, "peers", "decode_worker.py"), path],
                       capture_output=True, text=True, env=env)
    if r.returncode != 0:
        raise RuntimeError(f"{job['peer']} {job['precision']}: worker failed: {r.stderr.strip()[-800:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def peer_hat(a, peer, t, beam, tmp):
    best = math.inf
    for _ in range(a.repeat):
        job = dict(peer["job"], threads=t, task="hat", beam=beam, src_len=HAT_SRC_LEN, steps=HAT_STEPS,
                   warmup=a.warmup, runs=a.runs)
        best = min(best, run_worker(a, job, tmp)["latency_ms"])
    return best


def peer_rss(a, peer, tmp):
    return run_worker(a, dict(peer["job"], threads=1, task="rss"), tmp)["rss_mib"]


def peer_translate(a, peer, t, beam, lines_file, batches, warm_batches, n, tmp):
    out = os.path.join(tmp, "peer.hyp")
    best = math.inf
    for _ in range(a.repeat):
        job = dict(peer["job"], threads=t, task="translate", beam=beam, lenpen=a.lenpen, lines=lines_file,
                   batches=batches, warm_batches=warm_batches, out=out)
        best = min(best, run_worker(a, job, tmp)["seconds"])
    with open(out, encoding="utf-8") as f:
        hyps = [l.rstrip("\n") for l in f]
    if len(hyps) != n:
        raise RuntimeError(f"{peer['name']}: {len(hyps)} translations for {n} sentences")
    return best, hyps


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
    ap.add_argument("--libmos-dtype", default="f32", help="comma list; f32 today")
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
    ap.add_argument("--omp-wait-policy", default=os.environ.get("OMP_WAIT_POLICY", "passive"))
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
    env = dict(os.environ, OMP_WAIT_POLICY=a.omp_wait_policy)
    env.pop("OPENBLAS_CORETYPE", None)  # OpenBLAS picks its kernels for this CPU
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
        src = read_split(a.data, a.split, a.src, max(n_lat, n_thr, n_bleu))
        ref = read_split(a.data, a.split, a.tgt, n_bleu)[:n_bleu]
        lines_file = os.path.join(tmp, "src.txt")
        with open(lines_file, "w", encoding="utf-8") as f:
            f.writelines(l + "\n" for l in src)
        src_len = [len(sp.encode(l)) for l in src]
        lat_batches = [[i] for i in range(n_lat)]
        thr_batches = length_batches(src_len[:n_thr], a.max_batch_sentences, a.max_batch_tokens)
        warm_lat = [[i] for i in range(min(a.warm_sentences, n_lat))]
        warm_thr = thr_batches[:1]

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
        rows, bleu = [], {}

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
                    for r in rows:
                        f.write(json.dumps(r) + "\n")
            print(f"decode_vs_peers: {what} done ({len(rows)} rows)", file=sys.stderr, flush=True)

        for t in threads:
            for dtype, model in libmos_models.items():
                if rows:
                    partial(f"threads {t}, before libmos {dtype}")
                for beam in beams:
                    # HAT protocol.
                    hat_flops = decode_flops(m, HAT_SRC_LEN, HAT_STEPS, beam)
                    mos_ms = safe(f"libmos {dtype} hat", lambda: min(libmos_hat(a, cli, model, t, beam)
                                                                      for _ in range(a.repeat)))
                    for peer in peers:
                        ms = safe(f"{peer['name']} {peer['precision']} hat", lambda: peer_hat(a, peer, t, beam, tmp))
                        rows.append(dict(metric="hat", unit="ms", threads=t, beam=beam, libmos_dtype=dtype,
                                         peer=peer["name"], precision=peer["precision"], libmos=mos_ms, value=ms,
                                         ratio=ms / mos_ms if ms and mos_ms else None,
                                         libmos_pct=share(hat_flops, mos_ms / 1e3, t, dtype) if mos_ms else None,
                                         peer_pct=share(hat_flops, ms / 1e3, t, peer["precision"]) if ms else None))
                    # Real sentences, batch 1.
                    idx = list(range(n_lat))
                    r = safe(f"libmos {dtype} sent", lambda: libmos_translate(
                        a, cli, model, t, beam, src, idx, 1, [b[0] for b in warm_lat]))
                    for peer in peers:
                        p = safe(f"{peer['name']} {peer['precision']} sent", lambda: peer_translate(
                            a, peer, t, beam, lines_file, lat_batches, warm_lat, len(src), tmp))
                        mos_ms = r[0] / n_lat * 1e3 if r else None
                        ms = p[0] / n_lat * 1e3 if p else None
                        rows.append(dict(metric="sent", unit="ms", threads=t, beam=beam, libmos_dtype=dtype,
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
                        a, cli, model, t, beam, thr_src, order, a.max_batch_sentences, warm_thr[0]))
                    if r and beam == a.bleu_beam and n_bleu == n_thr and ("libmos", dtype) not in bleu:
                        bleu[("libmos", dtype)] = r[1]
                    for peer in peers:
                        p = safe(f"{peer['name']} {peer['precision']} thru", lambda: peer_translate(
                            a, peer, t, beam, lines_file, thr_batches, warm_thr, len(src), tmp))
                        if (p and beam == a.bleu_beam and n_bleu == n_thr
                                and (peer["name"], peer["precision"]) not in bleu):
                            bleu[(peer["name"], peer["precision"])] = p[1][:n_thr]
                        toks = lambda h: sum(len(sp.encode(h[i])) for i in idx)
                        rows.append(dict(metric="thru", unit="sent/s", threads=t, beam=beam, libmos_dtype=dtype,
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
                    a, cli, model, t0, a.bleu_beam, src, b_order, a.max_batch_sentences))
                if h:
                    bleu[("libmos", dtype)] = [h[i] for i in bidx]
            for peer in peers:
                p = safe(f"{peer['name']} {peer['precision']} bleu", lambda: peer_translate(
                    a, peer, t0, a.bleu_beam, lines_file, b_batches, [], len(src), tmp))
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
          "brackets). ratio = libmos speed / peer speed. %fl = share of the arithmetic floor.")
    print(f"{'metric':>6} {'thr':>3} {'beam':>4} {'libmos':>7} {'libmos value':>16} {'peer':>11} {'precision':>12}"
          f" {'peer value':>16} {'ratio':>6} {'libmos %fl':>10} {'peer %fl':>8}")
    for r in rows:
        if r["metric"] == "thru":
            lv = f"{fmt(r['libmos'], '.1f')} ({fmt(r['libmos_tok_s'], '.0f')})"
            pv = f"{fmt(r['value'], '.1f')} ({fmt(r['peer_tok_s'], '.0f')})"
        else:
            lv, pv = fmt(r["libmos"], ".2f"), fmt(r["value"], ".2f")
        print(f"{r['metric']:>6} {r['threads']:>3} {r['beam']:>4} {r['libmos_dtype']:>7} {lv:>16} {r['peer']:>11}"
              f" {r['precision']:>12} {pv:>16} {fmt(r['ratio'], '.2f'):>6} {fmt(r['libmos_pct'], '.1f'):>10}"
              f" {fmt(r['peer_pct'], '.1f'):>8}")
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
    print("\nlibmos translation times: whole mos-cli translate commands over warm-up + measured sentences minus "
          "the same command over the warm-up sentences; the library forms the batches (sorted by length, at "
          f"most {a.max_batch_sentences} sentences and {a.max_batch_tokens} padded source tokens).")
    for n in notes:
        print("note: " + n)
    if a.json_out:
        with open(a.json_out, "w") as f:
            for r in rows:
                f.write(json.dumps(r) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
