"""tests/dist/test_mpi_cli.py: `mpirun -np 2 mos-cli train` (suite mpi;
docs/training.md, "Training on many machines"), TAP:
  * two ranks train, rank 0 alone prints (one JSON summary, one line per
    report) and the checkpoint is written;
  * the run resumes on one process (no mpirun), and a one-process checkpoint
    resumes on two ranks;
  * a rank without the corpus makes the job fail, rank 0's message naming
    rank 1 and the file it could not read;
  * a rank killed mid-run stops the whole job (mpirun names it) and the last
    checkpoint on disk is intact: it resumes;
  * SIGTERM to rank 0 stops every rank after the same update with a checkpoint.
Usage: test_mpi_cli.py MPIRUN MOS_CLI (environment: the mpi suite's)."""
import os
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cli"))
from cli_common import TINY_TRAIN, Checks, write_corpus  # noqa: E402

MPIRUN, CLI = sys.argv[1], sys.argv[2]
MPI = [MPIRUN, "-np", "2", "--oversubscribe", "--bind-to", "none"]


def main():
    c = Checks(CLI)
    with tempfile.TemporaryDirectory(prefix="mos-mpi-cli-") as d:
        space = write_corpus(d)
        corpus = ["--data", d, "--src", "xx", "--tgt", "yy", "--progress-every", "0"]
        base = corpus + TINY_TRAIN
        # A resumed run keeps the checkpoint's options; only the threads are its own.
        again = corpus + ["--threads", "1"]
        out = f"{d}/run/a.safetensors"

        def mpi(*args, wrapper=None, timeout=120):
            pre = [wrapper] if wrapper else []
            return subprocess.run(MPI + pre + [CLI, *args], capture_output=True, text=True, timeout=timeout)

        r = mpi("train", "--space", space, "--out", out, "--max-steps", "12", "--valid-every", "6", "--json", *base)
        summary = c.json_of(r)
        c.expect("two ranks train; one JSON summary", r.returncode == 0 and summary is not None
                 and summary["step"] == 12, f"rc={r.returncode}\n{r.stdout}\n{r.stderr}")
        c.expect("rank 0 alone reports", r.stderr.count("steps  loss") == 12 and
                 r.stderr.count("valid loss") == 2 and "2 ranks" in r.stderr, r.stderr)
        c.expect("the communication time is reported", "all-reduce" in r.stderr, r.stderr)

        r = c.run("train", "--resume", out, "--out", out, "--max-steps", "14", *again)
        c.expect("a two-rank checkpoint resumes on one process", r.returncode == 0 and "done: step 14" in r.stderr,
                 r.stderr)
        one = f"{d}/run/one.safetensors"
        r = c.run("train", "--space", space, "--out", one, "--max-steps", "3", *base)
        r2 = mpi("train", "--resume", one, "--out", one, "--max-steps", "6", *again)
        c.expect("a one-process checkpoint resumes on two ranks", r.returncode == 0 and r2.returncode == 0
                 and "done: step 6" in r2.stderr, r.stderr + r2.stderr)

        # Rank 1 sees another (missing) corpus folder.
        nodata = f"{d}/rank1-nodata.sh"
        with open(nodata, "w") as f:
            f.write('#!/bin/sh\nif [ "$OMPI_COMM_WORLD_RANK" = 1 ]; then\n'
                    '  for a; do shift; [ "$a" = "%s" ] && a="%s/not-mounted"; set -- "$@" "$a"; done\nfi\n'
                    'exec "$@"\n' % (d, d))
        os.chmod(nodata, 0o755)
        r = mpi("train", "--space", space, "--out", f"{d}/run/b.safetensors", "--max-steps", "4", *base,
                wrapper=nodata)
        c.expect("a rank without the corpus fails the job, naming the rank and the file",
                 r.returncode != 0 and "rank 1 of 2 failed while reading the corpus" in r.stderr
                 and "not-mounted/train." in r.stderr, f"rc={r.returncode}\n{r.stderr}")

        # Rank 1 is killed once the first checkpoint exists.
        killed = f"{d}/run/k.safetensors"
        die = f"{d}/rank1-dies.sh"
        with open(die, "w") as f:
            f.write('#!/bin/sh\nif [ "$OMPI_COMM_WORLD_RANK" = 1 ]; then\n'
                    '  (while [ ! -e "%s" ]; do sleep 0.1; done; sleep 0.5; kill -9 $$) &\nfi\nexec "$@"\n'
                    % killed)
        os.chmod(die, 0o755)
        r = mpi("train", "--space", space, "--out", killed, "--max-steps", "1000000", "--valid-every", "5", *base,
                wrapper=die)
        c.expect("a killed rank stops the job; mpirun names it", r.returncode != 0 and "rank 1" in r.stderr
                 and "signal 9" in r.stderr, f"rc={r.returncode}\n{r.stderr}")
        r = c.run("train", "--resume", killed, "--out", killed, "--max-steps", "0", "--max-seconds", "0.01",
                  *again)
        c.expect("the last checkpoint is intact and resumes", r.returncode == 0 and "resuming at step" in r.stderr,
                 f"rc={r.returncode}\n{r.stderr}")

        # SIGTERM to rank 0 (its wrapper leaves its pid, then becomes mos-cli).
        pidfile, stopped = f"{d}/rank0.pid", f"{d}/run/s.safetensors"
        rank0 = f"{d}/rank0-pid.sh"
        with open(rank0, "w") as f:
            f.write('#!/bin/sh\nif [ "$OMPI_COMM_WORLD_RANK" = 0 ]; then echo $$ > "%s.tmp"; mv "%s.tmp" "%s"; fi\n'
                    'exec "$@"\n' % (pidfile, pidfile, pidfile))
        os.chmod(rank0, 0o755)
        p = subprocess.Popen(MPI + [rank0, CLI, "train", "--space", space, "--out", stopped, "--max-steps", "1000000",
                                    "--valid-every", "2", *base], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        err = ""
        try:
            # Once the first checkpoint exists, rank 0 is training (its handler is set).
            waited = 0.0
            while not (os.path.exists(pidfile) and os.path.exists(stopped)) and waited < 120 and p.poll() is None:
                subprocess.run(["sleep", "0.1"])
                waited += 0.1
            os.kill(int(open(pidfile).read()), signal.SIGTERM)
            _, err = p.communicate(timeout=120)
        finally:
            if p.poll() is None:
                p.kill()
                p.communicate()
        c.expect("SIGTERM to rank 0 stops every rank with a checkpoint", p.returncode == 0
                 and "stopped by SIGTERM" in err and os.path.exists(stopped), f"rc={p.returncode}\n{err}")
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
