"""tests/reliability/test_crash.py: a real `mos-cli train` on a tiny corpus,
killed with SIGKILL while it writes a checkpoint (at each phase of the atomic
writer, through MOS_TEST_WRITE_PAUSE) and at random moments, then resumed.
After every kill the checkpoint on disk must load (the library verifies its
checksum), hold a state at most one checkpoint interval behind the killed
run, and `--resume` must continue from it; the final checkpoint of every
interrupted-and-resumed run must equal an uninterrupted run's tensor for
tensor, bit for bit (same thread count), and no temporary file may be left.
Then disk-full: an injected ENOSPC (MOS_TEST_WRITE_FAIL) and, where the test
may mount one, a real tmpfs too small for a second copy; the run must fail
with a one-line error naming the file and the reason, and leave the previous
checkpoint as it was.

usage: test_crash.py MOS_CLI     (TAP on stdout; docs/reliability.md)
"""
import json
import os
import re
import random
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

cli = sys.argv[1]
failures = 0
checks = 0
STEPS, EVERY = 24, 4
PHASES = ["after-temp-open", "after-data", "after-fsync", "before-rename", "after-rename"]

SPACE = {"format": "mos-space", "version": 1, "name": "crash-tiny", "qkv_dim": 16,
         "encoder": {"embed_dim": [12, 16], "layers": [1, 2], "ffn_dim": [8, 16], "heads": [2, 4]},
         "decoder": {"embed_dim": [12, 16], "layers": [1, 2], "ffn_dim": [8, 16], "self_heads": [2, 4],
                     "cross_heads": [2, 4], "cross_k": [1]}}
SRC = ["red", "blue", "green", "cat", "dog", "bird", "runs", "sleeps", "eats", "big", "small"]
TGT = ["rojo", "azul", "verde", "gato", "perro", "pajaro", "corre", "duerme", "come", "grande", "chico"]


def expect(name, cond, detail=""):
    global failures, checks
    checks += 1
    if cond:
        print(f"ok {checks} - {name}", flush=True)
    else:
        failures += 1
        print(f"not ok {checks} - {name}", flush=True)
        for line in str(detail).splitlines()[-20:]:
            print(f"# {line}", flush=True)


def skip(name, why):
    global checks
    checks += 1
    print(f"ok {checks} - {name} # SKIP {why}", flush=True)


def read_safetensors(path):
    """(metadata, {name: (dtype, shape, bytes)}) of a safetensors file."""
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    data = raw[8 + n:]
    return meta, {k: (v["dtype"], v["shape"], data[v["data_offsets"][0]:v["data_offsets"][1]])
                  for k, v in header.items()}


def step_of(path):
    return json.loads(read_safetensors(path)[0]["train_state"])["step"]


def saved_step(line):
    """The step of a mos-cli train event line announcing a checkpoint
    ("[train] step 8: valid loss: ... (best); saved PATH"), or None."""
    m = re.match(r"\[train\] step (\d+): .*saved ", line)
    return int(m.group(1)) if m else None


def temporaries(d):
    return sorted(n for n in os.listdir(d) if ".tmp." in n)


def loads(ckpt):
    """The library itself loads the file (checksum verified) and routes a subnet."""
    r = subprocess.run([cli, "translate", "--supernet", ckpt], input="", capture_output=True, text=True,
                       timeout=120)
    return r.returncode == 0, r.stderr


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
    data = ["--data", tmp, "--src", "xx", "--tgt", "yy", "--threads", "1"]
    fresh = ["--space", space, "--vocab", "40", "--max-tokens", "256", "--max-len", "32", "--warmup", "2"]

    def train_cmd(out, resume):
        return [cli, "train", *data, "--out", out, "--max-steps", str(STEPS), "--valid-every", str(EVERY)] + \
            (["--resume", out] if resume else fresh)

    def finish(out, what):
        """Resumes (or starts) `out` to the end; checks it equals the reference."""
        r = subprocess.run(train_cmd(out, os.path.exists(out)), capture_output=True, text=True, timeout=300)
        expect(f"{what}: the run completes", r.returncode == 0, r.stderr)
        if r.returncode != 0:
            return
        meta, tensors = read_safetensors(out)
        same = tensors.keys() == ref_tensors.keys() and all(tensors[k] == ref_tensors[k] for k in ref_tensors)
        diff = [k for k in ref_tensors if tensors.get(k) != ref_tensors[k]][:5]
        expect(f"{what}: final checkpoint equals the uninterrupted run bit for bit "
               f"({len(ref_tensors)} tensors)", same and step_of(out) == STEPS, f"differ: {diff}")
        expect(f"{what}: no temporary file left", not temporaries(os.path.dirname(out)),
               temporaries(os.path.dirname(out)))

    # The uninterrupted reference, and the order of its checkpoint writes
    # (the checkpoint, then its .best copy when validation improved).
    work = f"{tmp}/ref"
    os.mkdir(work)
    ref = f"{work}/net.safetensors"
    t0 = time.time()
    r = subprocess.run(train_cmd(ref, False), capture_output=True, text=True, timeout=300)
    ref_seconds = time.time() - t0
    expect("uninterrupted run", r.returncode == 0 and step_of(ref) == STEPS, r.stderr)
    ref_tensors = read_safetensors(ref)[1]
    writes = []  # step of each atomic write, in order
    for line in r.stderr.splitlines():
        step = saved_step(line)
        if step is not None:
            writes += [step, step] if "(best)" in line else [step]
    expect("reference wrote a checkpoint every interval", sorted(set(writes)) == list(range(EVERY, STEPS + 1, EVERY)),
           writes)

    # SIGKILL at each phase of the writer, at different writes of the run.
    for i, phase in enumerate(PHASES):
        k = 3 + i  # the k-th write of the run (1-based)
        work = f"{tmp}/{phase}"
        os.mkdir(work)
        out = f"{work}/net.safetensors"
        env = dict(os.environ, MOS_TEST_WRITE_PAUSE=f"{phase}:{k}")
        with open(f"{tmp}/{phase}.log", "w") as log:
            p = subprocess.Popen(train_cmd(out, False), env=env, stdout=subprocess.DEVNULL, stderr=log)
            _, status = os.waitpid(p.pid, os.WUNTRACED)
            stopped = os.WIFSTOPPED(status)
            tmps = temporaries(work)
            os.kill(p.pid, signal.SIGKILL)
            p.wait()
        expect(f"{phase}: writer stopped at write {k} (step {writes[k - 1]})", stopped)
        expect(f"{phase}: a temporary exists at the kill" if phase != "after-rename" else
               f"{phase}: no temporary at the kill", bool(tmps) == (phase != "after-rename"), tmps)
        ok, err = loads(out)
        expect(f"{phase}: the checkpoint on disk loads", ok, err)
        on_disk = step_of(out) if ok else -1
        expect(f"{phase}: at most one interval lost (on disk step {on_disk}, killed at step {writes[k - 1]})",
               writes[k - 1] - EVERY <= on_disk <= writes[k - 1])
        best = out + ".best"
        if os.path.exists(best):
            ok, err = loads(best)
            expect(f"{phase}: the .best checkpoint loads", ok, err)
        finish(out, phase)

    # SIGKILL at random moments, three times in a row, then resume to the end.
    rng = random.Random(20261)
    work = f"{tmp}/random"
    os.mkdir(work)
    out = f"{work}/net.safetensors"
    for kill_no in range(3):
        delay = rng.uniform(0.1, 0.7) * ref_seconds
        resume = os.path.exists(out)
        with open(f"{tmp}/random.log", "w") as log:
            p = subprocess.Popen(train_cmd(out, resume), stdout=subprocess.DEVNULL, stderr=log)
            time.sleep(delay)
            p.send_signal(signal.SIGKILL)
            p.wait()
        with open(f"{tmp}/random.log") as log:
            err = log.read()
        saved = [saved_step(line) for line in err.splitlines() if saved_step(line) is not None]
        if not os.path.exists(out):
            expect(f"random kill {kill_no + 1} after {delay:.2f} s: before the first checkpoint, nothing on disk",
                   not saved, err)
            continue
        ok, lerr = loads(out)
        on_disk = step_of(out) if ok else -1
        expect(f"random kill {kill_no + 1} after {delay:.2f} s: checkpoint loads at step {on_disk}, "
               f"not behind the last announced save {saved[-1] if saved else None}",
               ok and on_disk >= (saved[-1] if saved else 0), lerr)
    finish(out, "random kills")

    # Disk full, injected: the first write of a resumed run fails.
    work = f"{tmp}/enospc"
    os.mkdir(work)
    out = f"{work}/net.safetensors"
    r = subprocess.run([cli, "train", *data, "--out", out, "--max-steps", "8", "--valid-every", str(EVERY)] + fresh,
                       capture_output=True, text=True, timeout=300)
    expect("a run to step 8", r.returncode == 0 and step_of(out) == 8, r.stderr)
    before = open(out, "rb").read()
    env = dict(os.environ, MOS_TEST_WRITE_FAIL="ENOSPC:1")
    r = subprocess.run(train_cmd(out, True), env=env, capture_output=True, text=True, timeout=300)
    err = r.stderr.strip().splitlines()
    expect("injected ENOSPC: the run fails with one line naming the file and the reason",
           r.returncode == 1 and err and out in err[-1] and "No space left on device" in err[-1], r.stderr)
    expect("injected ENOSPC: the previous checkpoint is unchanged and no temporary is left",
           open(out, "rb").read() == before and not temporaries(work), temporaries(work))
    finish(out, "after injected ENOSPC")

    # Disk full for real: a tmpfs with room for one checkpoint, not two.
    size_kb = (len(before) * 3 // 2) // 1024 + 4
    mnt = f"{tmp}/tmpfs"
    os.mkdir(mnt)
    script = (f"mount -t tmpfs -o size={size_kb}k tmpfs {mnt} || exit 77; "
              f"cp {tmp}/enospc-start.safetensors {mnt}/net.safetensors; "
              f"\"$@\"; rc=$?; cmp -s {tmp}/enospc-start.safetensors {mnt}/net.safetensors || rc=90; "
              f"ls {mnt} | grep -q '[.]tmp[.]' && rc=91; exit $rc")
    with open(f"{tmp}/enospc-start.safetensors", "wb") as f:
        f.write(before)
    unshare = shutil.which("unshare")
    if os.geteuid() != 0 or not unshare:
        skip("real tmpfs full", "needs root and unshare(1)")
    else:
        cmd = [unshare, "--mount", "--propagation", "private", "sh", "-c", script, "sh",
               *train_cmd(f"{mnt}/net.safetensors", True)]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        if r.returncode == 77 or "unshare:" in r.stderr:
            skip("real tmpfs full", f"cannot mount here: {r.stderr.strip()[:200]}")
        else:
            err = r.stderr.strip().splitlines()
            expect(f"real {size_kb} kB tmpfs: the run fails with one line naming the file and ENOSPC",
                   r.returncode == 1 and err and f"{mnt}/net.safetensors" in err[-1] and
                   "No space left on device" in err[-1], f"rc={r.returncode} {r.stderr}")
            expect(f"real {size_kb} kB tmpfs: previous checkpoint unchanged, no temporary left",
                   r.returncode not in (90, 91), f"rc={r.returncode}")

print(f"1..{checks}")
sys.exit(1 if failures else 0)
