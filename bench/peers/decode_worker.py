"""bench/peers/decode_worker.py: one timed decoding job of a peer (PyTorch or
CTranslate2), run in its own process by bench/decode_vs_peers.py so that each
job gets its thread count from the start and the two peers' OpenMP runtimes
never share a process.

    python bench/peers/decode_worker.py JOB.json     (prints one JSON object)

A job is a JSON object:
  {"peer": "torch" | "ct2", "model": libmos model file (torch) or CTranslate2
   directory (ct2), "tokenizer": libmos model file holding the SentencePiece
   model, "precision": "f32" | "bf16" (torch) or a CTranslate2 compute type,
   "threads": N, "task": "hat" | "translate" | "probe" | "rss", ...}
  CTranslate2 jobs may split the threads: "inter_threads" (translator replicas,
  default 1) x "intra_threads" (threads per replica, default "threads"). With
  more than one replica the translate task submits its batches asynchronously,
  so that the replicas translate different batches at once. The environment
  (OMP_NUM_THREADS, OMP_WAIT_POLICY) is the caller's: it must be set before the
  peer's library loads, so each threading setting is a process of its own.
* task "hat" (HAT's latency protocol, as `mos-cli latency`): "beam", "src_len",
  "steps", "warmup", "runs". A fixed source of src_len tokens (the ids libmos
  uses, lib/search/latency.cpp), `steps` decoder steps forced, batch 1. Returns
  the mean of the runs between the 10th and 90th percentile, and p10/p50/p90.
* task "translate": "beam", "lenpen", "batches" (lists of line indices, in
  order), "warm_batches", "lines" (a file of source sentences), "out" (a file
  for the translations: one line per source line, empty where no batch holds
  it). The warm-up batches are translated
  untimed first; then every batch is timed, tokenization and detokenization
  included (libmos's times include them too). Returns the seconds.
* task "probe" (the harness's choice of threading setting): "hat" (true: the
  "hat" task's measurement, greedy, with the job's "src_len", "steps",
  "warmup" and "runs"), then the "translate" task's measurement on the job's
  "batches" after its "warm_batches". Returns {"latency_ms": ms or null,
  "seconds": s}.
* task "rss": the resident memory the loaded model holds: the peer's module is
  imported and the model loaded and dropped once first, then VmRSS is read
  before and after the model is loaded again (freed heap returned with
  malloc_trim). Returns {"rss_mib": after - before}.
"""
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import mos_model_file  # noqa: E402

EOS_PIECE = "</s>"
LEN_A, LEN_B = 1, 10  # libmos's output limit: a * (source tokens + 1) + b, EOS included


def hat_source(vocab, n):
    """The source ids of lib/search/latency.cpp: n - 1 fixed ids, then EOS."""
    ids = [4 + (i * 7919) % (vocab - 4) for i in range(n)]
    ids[-1] = mos_model_file.EOS
    return ids


def vm_rss_kb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def model_rss_mib(make, job):
    """Resident memory that constructing the peer (loading its model) adds."""
    import ctypes
    import gc
    if job["peer"] == "ct2":
        import ctranslate2  # noqa: F401  (the library itself is not the model)
    else:
        import torch  # noqa: F401
        import torch_model  # noqa: F401
    libc = ctypes.CDLL("libc.so.6")
    first = make(job)  # first use of the library (thread pools, probes) is not the model's
    del first
    gc.collect()
    libc.malloc_trim(0)
    before = vm_rss_kb()
    peer = make(job)
    gc.collect()
    libc.malloc_trim(0)
    after = vm_rss_kb()
    del peer
    return {"rss_mib": (after - before) / 1024.0}


def trimmed_stats(ms):
    ms = sorted(ms)
    pct = lambda p: ms[int(p * (len(ms) - 1) + 0.5)]
    p10, p50, p90 = pct(0.1), pct(0.5), pct(0.9)
    kept = [x for x in ms if p10 <= x <= p90]
    return {"latency_ms": sum(kept) / len(kept), "p10_ms": p10, "p50_ms": p50, "p90_ms": p90, "runs": len(ms)}


def time_runs(run, warmup, runs):
    for _ in range(warmup):
        run()
    ms = []
    for _ in range(runs):
        t0 = time.perf_counter()
        run()
        ms.append((time.perf_counter() - t0) * 1e3)
    return trimmed_stats(ms)


class TorchPeer:
    interop_set = False  # PyTorch takes the interop thread count once per process (the rss task loads twice)

    def __init__(self, job):
        import torch
        torch.set_num_threads(job["threads"])
        if not TorchPeer.interop_set:
            torch.set_num_interop_threads(1)
            TorchPeer.interop_set = True
        import torch_model
        self.torch, self.tm = torch, torch_model
        dtype = {"f32": torch.float32, "bf16": torch.bfloat16}[job["precision"]]
        self.model = torch_model.load(job["model"], dtype)

    def hat(self, job):
        src = self.torch.tensor([hat_source(self.model.V, job["src_len"])])

        def run():
            with self.torch.inference_mode():
                self.model.hat_latency_run(src, job["beam"], job["steps"])
        return time_runs(run, job["warmup"], job["runs"])

    def translate(self, sp, lines, job):
        opt = self.tm.DecodeOptions(beam=job["beam"], length_penalty=job["lenpen"])
        run = lambda batch: [sp.decode(h) for h in self.model.translate([sp.encode(lines[i]) for i in batch], opt)]
        return lambda batches: [run(b) for b in batches]


class CT2Peer:
    def __init__(self, job):
        import ctranslate2
        self.inter = int(job.get("inter_threads", 1))
        intra = int(job.get("intra_threads", job["threads"]))
        if self.inter < 1 or intra < 1:
            raise ValueError(f"decode_worker: inter_threads {self.inter} x intra_threads {intra}: both must be >= 1")
        self.translator = ctranslate2.Translator(job["model"], device="cpu", compute_type=job["precision"],
                                                 inter_threads=self.inter, intra_threads=intra)
        self.vocab = job["vocab"]
        self.pieces = job["pieces"]

    def hat(self, job):
        # CTranslate2 appends </s> to the source itself (add_source_eos).
        src = [[self.pieces[i] for i in hat_source(self.vocab, job["src_len"])[:-1]]]
        n, beam = job["steps"], job["beam"]

        def run():
            self.translator.translate_batch(src, beam_size=beam, min_decoding_length=n, max_decoding_length=n,
                                            return_scores=False)
        return time_runs(run, job["warmup"], job["runs"])

    def translate(self, sp, lines, job):
        beam, lenpen = job["beam"], job["lenpen"]
        asynchronous = self.inter > 1  # one batch per free replica, as a service's concurrent calls would

        def submit(batch):
            toks = [sp.encode(lines[i], out_type=str) for i in batch]
            # libmos's limit counts the EOS; CTranslate2's does not.
            limit = max(LEN_A * (len(t) + 1) + LEN_B for t in toks) - 1
            return self.translator.translate_batch(toks, beam_size=beam, length_penalty=lenpen,
                                                   max_decoding_length=limit, return_scores=False,
                                                   min_decoding_length=0, max_input_length=256,
                                                   suppress_sequences=[["<pad>"], ["<s>"]],
                                                   asynchronous=asynchronous)

        def run(batches):
            pending = [submit(b) for b in batches]
            return [[sp.decode_pieces((r.result() if asynchronous else r).hypotheses[0]) for r in res]
                    for res in pending]
        return run

    def warm_batches(self, batches):
        # Every replica translates the warm-up batches once (submitted together,
        # each lands on a free replica).
        return [b for b in batches for _ in range(self.inter)]


def main():
    with open(sys.argv[1]) as f:
        job = json.load(f)
    import sentencepiece as spm
    tok = mos_model_file.read_safetensors(job["tokenizer"])[0].get(mos_model_file.TOKENIZER_TENSOR)
    if tok is None:
        sys.exit(f"decode_worker: {job['tokenizer']} carries no tokenizer")
    sp = spm.SentencePieceProcessor(model_proto=tok.tobytes())
    if job["peer"] == "ct2":
        job["vocab"] = sp.get_piece_size()
        job["pieces"] = [sp.id_to_piece(i) for i in range(job["vocab"])]
    make = {"torch": TorchPeer, "ct2": CT2Peer}[job["peer"]]
    if job["task"] == "rss":
        print(json.dumps(model_rss_mib(make, job)))
        return
    if job["task"] not in ("hat", "translate", "probe"):
        sys.exit(f"decode_worker: unknown task {job['task']!r}")
    peer = make(job)
    if job["task"] == "hat":
        out = peer.hat(job)
    elif job["task"] == "translate":
        out = {"seconds": timed_translate(peer, sp, job)}
    else:
        lat = peer.hat(dict(job, beam=1))["latency_ms"] if job.get("hat") else None
        out = {"latency_ms": lat, "seconds": timed_translate(peer, sp, dict(job, beam=1))}
    print(json.dumps(out))


def timed_translate(peer, sp, job):
    """Seconds of translating the job's batches after its warm-up batches; the
    translations go to job["out"], one line per source line ("" where no batch
    holds it)."""
    with open(job["lines"], encoding="utf-8") as f:
        lines = [l.rstrip("\n") for l in f]
    run = peer.translate(sp, lines, job)
    warm = job["warm_batches"]
    if warm:
        run(peer.warm_batches(warm) if hasattr(peer, "warm_batches") else warm)
    hyps = [None] * len(lines)
    t0 = time.perf_counter()
    got = run(job["batches"])
    seconds = time.perf_counter() - t0
    for b, hs in zip(job["batches"], got):
        for i, h in zip(b, hs):
            hyps[i] = h
    with open(job["out"], "w", encoding="utf-8") as f:
        f.writelines((h or "") + "\n" for h in hyps)
    return seconds


if __name__ == "__main__":
    main()
