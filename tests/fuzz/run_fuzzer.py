#!/usr/bin/env python3
"""tests/fuzz/run_fuzzer.py: run one libFuzzer target for a bounded time over
its committed seed corpus (suite 'fuzz', not run by default).

New inputs go to a work corpus in the build tree, never into the committed
seed corpus; a crashing input is written to ARTIFACTS/ and named on failure.

usage: run_fuzzer.py FUZZER SEED_CORPUS WORK_DIR SECONDS
"""
import os
import subprocess
import sys

fuzzer, seeds, work, seconds = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
corpus = os.path.join(work, "corpus")
artifacts = os.path.join(work, "artifacts") + os.sep
os.makedirs(corpus, exist_ok=True)
os.makedirs(artifacts, exist_ok=True)
cmd = [fuzzer, f"-max_total_time={seconds}", "-max_len=8192", "-timeout=10", "-rss_limit_mb=2048",
       f"-artifact_prefix={artifacts}", "-print_final_stats=1", corpus, seeds]
print(" ".join(cmd), flush=True)
env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=1",
           UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")
r = subprocess.run(cmd, env=env)
if r.returncode != 0:
    found = sorted(os.listdir(artifacts))
    print(f"{os.path.basename(fuzzer)} failed (exit {r.returncode}); inputs in {artifacts}: {found}")
sys.exit(r.returncode)
