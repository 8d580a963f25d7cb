"""tests/cli/test_cli_signals.py: `mos-cli train` stopped by a signal, as
Docker, systemd and Kubernetes stop a job (SIGTERM) or a person does
(SIGINT): it writes the checkpoint, prints the resume command and exits 0;
further signals while it stops (a burst of them, sent until it has exited)
neither kill it nor corrupt the checkpoint, and the run resumes from the step
where it stopped. `mos-cli search` stopped by SIGINT writes the best archs
found so far, says so and exits 0. Real training runs on a tiny corpus.

usage: test_cli_signals.py MOS_CLI
"""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cli_common import TINY_TRAIN, Checks, write_corpus  # noqa: E402

t = Checks(sys.argv[1])
run, expect = t.run, t.expect


def train_until_signalled(common, out, first, burst):
    """Starts a long training run, sends `first` after the first logged
    update and, with `burst`, a SIGINT right after it and SIGTERM every
    millisecond from the moment the stop is announced until the process ends.
    Returns (exit status, stderr)."""
    p = subprocess.Popen([t.cli, "train", *common, "--out", out, *TINY_TRAIN, "--max-steps", "1000000",
                          "--valid-every", "1000000", "--progress-every", "0"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = []
    stopping = threading.Event()

    def read():
        for line in p.stderr:
            lines.append(line)
            if re.match(r"^\[train\] 1/1000000 steps", line):
                p.send_signal(first)
                if burst:
                    p.send_signal(signal.SIGINT)  # while it is still training
            if "stopping at step" in line:
                stopping.set()

    reader = threading.Thread(target=read)
    reader.start()
    deadline = time.time() + 120
    if burst:
        stopping.wait(timeout=120)
        while p.poll() is None and time.time() < deadline:
            try:
                p.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                break
            time.sleep(0.001)
    try:
        p.wait(timeout=max(1, deadline - time.time()))
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    reader.join()
    p.stdout.close()
    return p.returncode, "".join(lines)


def search_until_signalled(args):
    """Starts a search that would run for long, sends SIGINT after its first
    progress line; returns (exit status, stderr)."""
    p = subprocess.Popen([t.cli, "search", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = []

    def read():
        for line in p.stderr:
            lines.append(line)
            if re.match(r"^\[search\] 1/10000 iterations", line):
                p.send_signal(signal.SIGINT)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        p.wait(timeout=120)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    reader.join()
    p.stdout.close()
    return p.returncode, "".join(lines)


def stopped_step(stderr):
    m = re.search(r"stopped by SIG(?:TERM|INT) at step (\d+); checkpoint", stderr)
    return int(m.group(1)) if m else None


with tempfile.TemporaryDirectory() as tmp:
    space = write_corpus(tmp)
    common = ["--data", tmp, "--src", "xx", "--tgt", "yy"]

    # SIGTERM: checkpoint, resume command, exit 0 (not 143).
    ckpt = f"{tmp}/term/net.safetensors"
    rc, err = train_until_signalled([*common, "--space", space], ckpt, signal.SIGTERM, burst=False)
    step = stopped_step(err)
    expect("SIGTERM: train exits 0 after writing the checkpoint", rc == 0 and step is not None and os.path.exists(ckpt),
           f"rc={rc}\n{err}")
    expect("SIGTERM: the stop is announced and the resume command printed",
           "SIGTERM: stopping at step" in err and f"resume with: mos-cli train --resume {ckpt} --data {tmp}" in err
           and "--max-steps 1000000" in err and "--threads 1" in err, err)
    if step is not None:
        r = run("train", *common, "--resume", ckpt, "--out", ckpt, "--max-steps", str(step + 2), "--threads", "1")
        expect("SIGTERM: the run resumes at the step where it stopped",
               r.returncode == 0 and f"resuming at step {step}" in r.stderr, r.stderr)

    # SIGINT, then a SIGINT and a burst of SIGTERMs while it stops.
    ckpt = f"{tmp}/int/net.safetensors"
    rc, err = train_until_signalled([*common, "--space", space], ckpt, signal.SIGINT, burst=True)
    step = stopped_step(err)
    expect("SIGINT then more signals: still exits 0 with a checkpoint", rc == 0 and step is not None
           and "stopped by SIGINT" in err, f"rc={rc}\n{err}")
    expect("a second signal is acknowledged, not obeyed", "already stopping" in err, err)
    files = sorted(os.listdir(f"{tmp}/int"))
    expect("the checkpoint and no temporary file is left in its directory", files == ["net.safetensors"], str(files))
    r = run("route", "--supernet", ckpt, "--arch", "smallest", "--out", f"{tmp}/small.model")
    expect("the checkpoint written under the burst loads and routes", r.returncode == 0, r.stderr)
    if step is not None:
        r = run("train", *common, "--resume", ckpt, "--out", ckpt, "--max-steps", str(step + 1), "--threads", "1",
                "--json")
        j = t.json_of(r)
        expect("... and resumes at its step", r.returncode == 0 and f"resuming at step {step}" in r.stderr
               and j is not None and j["step"] == step + 1, r.stdout + r.stderr)

    # search: SIGINT after the first iteration of 10,000 (each evaluating about
    # 200 new random archs) writes the best archs so far and exits 0.
    result = f"{tmp}/search/result.json"
    rc, err = search_until_signalled(["--supernet", ckpt, *common, "--max-sentences", "20", "--population", "200",
                                      "--parents", "2", "--mutations", "3", "--crossovers", "3", "--iterations",
                                      "10000", "--threads", "1", "--progress-every", "0", "--out", result])
    res = None
    if os.path.exists(result):
        with open(result) as f:
            res = json.load(f)
    expect("SIGINT: search exits 0 and says it wrote the best archs so far",
           rc == 0 and "stopped by SIGINT" in err and f"written to {result}" in err, f"rc={rc}\n{err}")
    expect("... and the result holds them, marked as stopped early",
           res is not None and res["stopped"] is True and len(res["results"]) == 1
           and res["results"][0]["complete"] is False and res["results"][0]["fitness"] > 0
           and 0 < res["stats"]["archs_evaluated"] < 1000, str(res))
    if res is not None:
        r = run("route", "--supernet", ckpt, "--arch", result, "--out", f"{tmp}/searched.model")
        expect("... which mos-cli route reads", r.returncode == 0, r.stderr)

sys.exit(t.finish())
