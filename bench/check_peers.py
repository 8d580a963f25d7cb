"""bench/check_peers.py: checks that the peers of bench/ compute what libmos
computes, on a trained model and real sentences, before any of them is timed.

    bench/.venv/bin/python bench/check_peers.py --model MODEL [--sentences 50]

1. PyTorch (bench/peers/torch_model.py) greedy translations equal
   `mos-cli translate --beam 1` on the first N test sentences (text).
   The same with beam search (--beam 5), for information: the PyTorch peer
   follows libmos's rules (lib/decode/search.hpp), so the texts should agree
   except where rounding decides a near-tie; each difference is printed with
   the score of both hypotheses.
2. PyTorch teacher-forced logits equal libmos's (`mos-bench-logits`, the
   cached decoder step by step) to --tol (1e-4) on the same sentences, their
   reference translations as decoder inputs. The harness's FLOPs count
   (decode_vs_peers.decode_flops, beam 1) equals `mos-cli arch show`'s.
3. CTranslate2 (bench/peers/to_ctranslate2.py, float32) greedy output tokens
   equal the PyTorch peer's (hence libmos's) on the same sentences, if the arch
   is one CTranslate2 can express; otherwise the refusal is printed. For every
   sentence that differs, the first differing step is shown with the gap
   between the two tokens' logits there (a gap near 0 is a near-tie that
   rounding decides, not a different model).
Exit status 0 when every check that could run passed, 1 otherwise.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(HERE, "peers"))
import mos_model_file  # noqa: E402
from mos_model_file import EOS  # noqa: E402
from decode_vs_peers import decode_flops, read_split  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", default=os.path.join(ROOT, "data", "bible-en-es"))
    ap.add_argument("--src", default="en")
    ap.add_argument("--tgt", default="es")
    ap.add_argument("--split", default="test")
    ap.add_argument("--sentences", type=int, default=50)
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--beam", type=int, default=5, help="beam of the beam-search check")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--mos-cli", default=os.path.join(ROOT, "build", "tools", "mos-cli", "mos-cli"))
    ap.add_argument("--bench-dir", default=os.path.join(ROOT, "build", "bench"))
    a = ap.parse_args()
    import sentencepiece as spm
    import torch
    import torch_model
    torch.set_num_threads(a.threads)
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads))
    env.pop("OPENBLAS_CORETYPE", None)
    m = mos_model_file.load(a.model)
    if m.tokenizer is None:
        sys.exit(f"check_peers: {a.model} carries no tokenizer")
    sp = spm.SentencePieceProcessor(model_proto=m.tokenizer)
    src = read_split(a.data, a.split, a.src, a.sentences)
    ref = read_split(a.data, a.split, a.tgt, a.sentences)
    src_ids = [sp.encode(l) for l in src]
    failed = False

    # 1. Greedy: libmos text against PyTorch text.
    r = subprocess.run([a.mos_cli, "translate", "--model", a.model, "--beam", "1"],
                       input="".join(l + "\n" for l in src), capture_output=True, text=True, env=env)
    if r.returncode != 0:
        sys.exit(f"check_peers: mos-cli translate failed: {r.stderr.strip()}")
    mos_hyp = r.stdout.split("\n")[:len(src)]
    tm = torch_model.TorchDenseModel(m)
    t_ids = tm.translate(src_ids, torch_model.DecodeOptions(beam=1))
    t_hyp = [sp.decode(h) for h in t_ids]
    same = sum(x == y for x, y in zip(mos_hyp, t_hyp))
    lens = [len(h) for h in t_ids]
    print(f"greedy, PyTorch vs mos-cli translate --beam 1: {same}/{len(src)} identical "
          f"(output tokens per sentence: min {min(lens)}, mean {sum(lens) / len(lens):.1f}, max {max(lens)}; "
          f"{sum(1 for h in t_ids if len(set(h)) > 1)} sentences with more than one distinct token)")
    for i, (x, y) in enumerate(zip(mos_hyp, t_hyp)):
        if x != y:
            print(f"  sentence {i}:\n    libmos:  {x}\n    pytorch: {y}")
    failed |= same != len(src)

    # 1b. Beam search (--beam, default 5): the same rules on both sides, so the same text.
    r = subprocess.run([a.mos_cli, "translate", "--model", a.model, "--beam", str(a.beam)],
                       input="".join(l + "\n" for l in src), capture_output=True, text=True, env=env)
    if r.returncode != 0:
        sys.exit(f"check_peers: mos-cli translate --beam {a.beam} failed: {r.stderr.strip()}")
    mos_beam = r.stdout.split("\n")[:len(src)]
    t_beam = [sp.decode(h) for h in tm.translate(src_ids, torch_model.DecodeOptions(beam=a.beam))]
    same = sum(x == y for x, y in zip(mos_beam, t_beam))
    print(f"beam {a.beam}, PyTorch vs mos-cli translate --beam {a.beam}: {same}/{len(src)} identical"
          + ("" if same == len(src) else " (informational: ranking 2k candidates lets rounding-level "
             "differences decide near-ties, and a different choice early changes the rest)"))

    def beam_score(i, ids):
        """logprob / length^lenpen of a finished hypothesis (EOS counted), from PyTorch's logits."""
        tgt = [EOS] + ids
        with torch.inference_mode():
            lp = torch.log_softmax(tm.teacher_forced_logits(torch.tensor([src_ids[i] + [EOS]]),
                                                            torch.tensor([tgt]))[0], dim=-1)
        total = sum(float(lp[j, t]) for j, t in enumerate(ids + [EOS]))
        return total / (len(ids) + 1) ** 0.6

    for i, (x, y) in enumerate(zip(mos_beam, t_beam)):
        if x != y:
            print(f"  sentence {i}:\n    libmos:  {x}\n    pytorch: {y}\n    scores (PyTorch's logits): "
                  f"libmos's {beam_score(i, sp.encode(x)):.6f}, PyTorch's {beam_score(i, sp.encode(y)):.6f}")

    # 2. Teacher-forced logits: mos-bench-logits against PyTorch.
    with tempfile.TemporaryDirectory() as tmp:
        tgt_ids = [sp.encode(l) for l in ref]
        pairs = os.path.join(tmp, "pairs.txt")
        with open(pairs, "w") as f:
            for s, t in zip(src_ids, tgt_ids):
                f.write(" ".join(map(str, s + [EOS])) + "\t" + " ".join(map(str, [EOS] + t)) + "\n")
        out = os.path.join(tmp, "logits.f32")
        exe = os.path.join(a.bench_dir, "mos-bench-logits")
        r = subprocess.run([exe, "--model", a.model, "--pairs", pairs, "--out", out, "--threads", str(a.threads)],
                           capture_output=True, text=True, env=env)
        if r.returncode != 0:
            sys.exit(f"check_peers: {exe} failed: {r.stderr.strip()}")
        shape = json.loads(r.stdout.strip().splitlines()[-1])
        B, S, T, V = shape["B"], shape["S"], shape["T"], shape["V"]
        mos_logits = np.fromfile(out, dtype="<f4").reshape(B, T, V)
    src_t = torch.full((B, S), m.pad_id, dtype=torch.long)
    tgt_t = torch.full((B, T), m.pad_id, dtype=torch.long)
    for b, (s, t) in enumerate(zip(src_ids, tgt_ids)):
        src_t[b, :len(s) + 1] = torch.tensor(s + [EOS])
        tgt_t[b, :len(t) + 1] = torch.tensor([EOS] + t)
    with torch.inference_mode():
        t_logits = tm.teacher_forced_logits(src_t, tgt_t).numpy()
    real = (tgt_t != m.pad_id).numpy()
    diff = np.abs(t_logits - mos_logits)[real]
    scale = np.abs(mos_logits[real]).max()
    ok = diff.max() <= a.tol
    print(f"teacher-forced logits, PyTorch vs mos-bench-logits: {int(real.sum())} positions x {V} tokens, "
          f"max |diff| {diff.max():.2e} (logits up to {scale:.1f}), mean {diff.mean():.2e}: "
          f"{'within' if ok else 'OUTSIDE'} {a.tol:g}")
    failed |= not ok

    # 2b. The FLOPs count behind the harness's arithmetic floor equals mos-cli's (beam 1).
    with tempfile.TemporaryDirectory() as tmp:
        arch_f, space_f = os.path.join(tmp, "arch.json"), os.path.join(tmp, "space.json")
        with open(arch_f, "w") as f:
            json.dump(m.arch, f)
        with open(space_f, "w") as f:
            json.dump(m.space, f)
        r = subprocess.run([a.mos_cli, "arch", "show", arch_f, "--space", space_f, "--vocab", str(m.vocab),
                            "--src-len", "30", "--tgt-len", "30"], capture_output=True, text=True, env=env)
    got = re.search(r'flops"?\s*[:=]?\s*(\d+)', r.stdout)
    mine = decode_flops(m, 30, 30, 1)
    if r.returncode != 0 or not got:
        print(f"flops: mos-cli arch show gave no FLOPs count ({r.stderr.strip() or r.stdout.strip()[:200]})")
        failed = True
    else:
        ok = int(got.group(1)) == mine
        print(f"flops of 30 source and 30 target tokens: harness {mine}, mos-cli arch show {got.group(1)}: "
              f"{'equal' if ok else 'DIFFERENT'}")
        failed |= not ok

    # 3. CTranslate2 greedy tokens against PyTorch's.
    import to_ctranslate2
    with tempfile.TemporaryDirectory() as tmp:
        try:
            d = to_ctranslate2.convert(a.model, os.path.join(tmp, "ct2"))
        except to_ctranslate2.UnsupportedArch as e:
            print(f"ctranslate2: not checked, the arch is refused: {e}")
            return 1 if failed else 0
        import ctranslate2
        tr = ctranslate2.Translator(d, device="cpu", compute_type="float32", intra_threads=a.threads)
        c_ids = []
        for s in src_ids:
            pieces = [sp.id_to_piece(i) for i in s]
            # libmos allows an empty translation (EOS first): min_decoding_length 0, not CTranslate2's 1.
            res = tr.translate_batch([pieces], beam_size=1, max_decoding_length=len(s) + 10, min_decoding_length=0,
                                     max_input_length=256, suppress_sequences=[["<pad>"], ["<s>"]])
            c_ids.append([sp.piece_to_id(p) for p in res[0].hypotheses[0]])
    same = sum(x == y for x, y in zip(c_ids, t_ids))
    print(f"greedy, CTranslate2 float32 vs PyTorch (= libmos): {same}/{len(src)} identical token sequences")
    for i, (c, t) in enumerate(zip(c_ids, t_ids)):
        if c == t:
            continue
        j = next((k for k in range(min(len(c), len(t))) if c[k] != t[k]), min(len(c), len(t)))
        # The gap at step j between the two choices, from PyTorch's logits with the common prefix.
        ct = c[j] if j < len(c) else EOS
        tt = t[j] if j < len(t) else EOS
        with torch.inference_mode():
            lg = tm.teacher_forced_logits(torch.tensor([src_ids[i] + [EOS]]), torch.tensor([[EOS] + t[:j]]))[0, j]
        print(f"  sentence {i}: first difference at step {j}: libmos/PyTorch {sp.id_to_piece(tt)!r}, "
              f"CTranslate2 {sp.id_to_piece(ct)!r}; logit gap {float(lg[tt] - lg[ct]):.2e}")
    failed |= same != len(src)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
