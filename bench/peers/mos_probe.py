"""bench/peers/mos_probe.py: libmos timed inside one process, as the peers'
worker (decode_worker.py) times them: the throughput probe of the
thread-setting choice of bench/decode_vs_peers.py, and its `sent` rows
(sentences one at a time).

    python bench/peers/mos_probe.py LIBMOS_SO JOB.json     (prints one JSON object)

The job: {"model": libmos model file, "threads": N, "beam": B, "lines": a file
of source sentences, "batches": lists of line indices, "warm_batches": the
same, translated untimed first; optional "draft_tokens": N, speculative
decoding for greedy batches of one sentence}. Each batch is one mos_model_translate call
with N threads (the batch whole: max_batch_sentences = its size, no token
limit). Returns {"seconds": s, "sentences": n}, the time of the batches after
the warm-up, UTF-8 encoding and decoding included; with "hyps": true in the job
also "hyps", the translations of the timed batches in batch order. The environment (OMP_WAIT_POLICY) is the
caller's: it is read when libmos loads.

The harness's libmos rows time whole mos-cli commands and subtract a warm-up
command; for a probe of a few dozen sentences that difference drowns in
process start and exit (and under an actively waiting OpenMP team came out
negative), hence this in-process timing through the C API (include/mos/model.h).
"""
import ctypes
import json
import sys
import time


class TranslateOptions(ctypes.Structure):
    """mos_translate_options, version 3 (include/mos/model.h); filled by
    mos_translate_options_init, which writes the whole struct of the library's
    version: a library of a later version needs this struct to grow first."""
    _fields_ = [("version", ctypes.c_uint32), ("beam", ctypes.c_uint32), ("length_penalty", ctypes.c_float),
                ("max_len_a", ctypes.c_uint32), ("max_len_b", ctypes.c_uint32), ("max_src_len", ctypes.c_uint32),
                ("threads", ctypes.c_int32), ("max_batch_sentences", ctypes.c_uint32),
                ("max_batch_tokens", ctypes.c_uint32), ("sort_by_length", ctypes.c_int32),
                ("max_len_factor", ctypes.c_float), ("nbest", ctypes.c_uint32), ("draft_tokens", ctypes.c_uint32)]


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: mos_probe.py LIBMOS_SO JOB.json")
    with open(sys.argv[2]) as f:
        job = json.load(f)
    lib = ctypes.CDLL(sys.argv[1])
    vp = ctypes.c_void_p
    lib.mos_last_error.restype = ctypes.c_char_p
    lib.mos_model_load.argtypes = [ctypes.POINTER(vp), ctypes.c_char_p]
    lib.mos_model_destroy.argtypes = [vp]
    lib.mos_translate_options_init.argtypes = [ctypes.POINTER(TranslateOptions)]
    lib.mos_model_translate.argtypes = [ctypes.POINTER(vp), vp, ctypes.POINTER(ctypes.c_char_p), ctypes.c_size_t,
                                        ctypes.POINTER(TranslateOptions)]
    lib.mos_texts_get.argtypes = [vp, ctypes.c_size_t]
    lib.mos_texts_get.restype = ctypes.c_char_p
    lib.mos_texts_destroy.argtypes = [vp]

    def check(st, what):
        if st != 0:
            sys.exit(f"mos_probe: {what}: status {st}: {lib.mos_last_error().decode()}")

    # The library's own version first (the version field is the struct's
    # first), so that its init never writes past a struct this file knows.
    probe = (ctypes.c_uint32 * 64)()
    check(lib.mos_translate_options_init(ctypes.cast(probe, ctypes.POINTER(TranslateOptions))),
          "mos_translate_options_init")
    if probe[0] not in (2, 3):
        sys.exit(f"mos_probe: {sys.argv[1]} has translate options version {probe[0]}; this probe knows 2 and 3")
    opt = TranslateOptions()
    ctypes.memmove(ctypes.byref(opt), probe, ctypes.sizeof(TranslateOptions) if probe[0] == 3 else
                   TranslateOptions.draft_tokens.offset)
    opt.beam, opt.threads, opt.max_batch_tokens = job["beam"], job["threads"], 0
    if job.get("draft_tokens", 0):
        if probe[0] < 3:
            sys.exit(f"mos_probe: {sys.argv[1]} has no speculative decoding (translate options version {probe[0]})")
        opt.draft_tokens = job["draft_tokens"]
    model = vp()
    check(lib.mos_model_load(ctypes.byref(model), job["model"].encode()), f"mos_model_load({job['model']})")
    with open(job["lines"], encoding="utf-8") as f:
        lines = [l.rstrip("\n").encode() for l in f]

    def run(batch):
        src = (ctypes.c_char_p * len(batch))(*(lines[i] for i in batch))
        opt.max_batch_sentences = len(batch)
        out = vp()
        check(lib.mos_model_translate(ctypes.byref(out), model, src, len(batch), ctypes.byref(opt)),
              "mos_model_translate")
        hyps = [lib.mos_texts_get(out, k) for k in range(len(batch))]
        lib.mos_texts_destroy(out)
        if None in hyps:
            sys.exit(f"mos_probe: mos_texts_get: {lib.mos_last_error().decode()}")
        return hyps

    for b in job["warm_batches"]:
        run(b)
    t0 = time.perf_counter()
    hyps = [h for b in job["batches"] for h in run(b)]
    seconds = time.perf_counter() - t0
    lib.mos_model_destroy(model)
    out = {"seconds": seconds, "sentences": len(hyps)}
    if job.get("hyps"):
        out["hyps"] = [h.decode("utf-8", "replace") for h in hyps]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
