#!/usr/bin/env python3
"""tests/fuzz/run_fuzzer.py: run one libFuzzer target for a bounded time over
its committed seed corpus (suite 'fuzz', not run by default).

New inputs go to a work corpus in the build tree, never into the committed
seed corpus; a crashing input is written to ARTIFACTS/ and named on failure.
The last line says how many inputs ran (docs/reliability.md quotes it).

usage: run_fuzzer.py FUZZER SEED_CORPUS WORK_DIR SECONDS
"""
import os
import re
import subprocess
import sys

fuzzer, seeds, work, seconds = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
corpus = os.path.join(work, "corpus")
artifacts = os.path.join(work, "artifacts") + os.sep
os.makedirs(corpus, exist_ok=True)
os.makedirs(artifacts, exist_ok=True)
# No -max_len: libFuzzer then allows inputs as long as the largest seed (at
# least 4096 bytes), and the checkpoint seeds are whole files.
cmd = [fuzzer, f"-max_total_time={seconds}", "-timeout=10", "-rss_limit_mb=2048",
       f"-artifact_prefix={artifacts}", "-print_final_stats=1", corpus, seeds]
print(" ".join(cmd), flush=True)
# One OpenMP thread: the readers are serial, and a thread pool per process
# only slows every execution down.
env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=1",
           UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1", OMP_NUM_THREADS="1")
p = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True, errors="replace")
runs = None
for line in p.stderr:
    sys.stderr.write(line)
    m = re.match(r"stat::number_of_executed_units:\s*(\d+)", line)
    if m:
        runs = int(m.group(1))
rc = p.wait()
name = os.path.basename(fuzzer)
if runs is not None:
    print(f"{name}: {runs} executions in {seconds} s ({runs / float(seconds):.0f}/s), "
          f"{len(os.listdir(corpus))} inputs in the work corpus", flush=True)
if rc != 0:
    found = sorted(os.listdir(artifacts))
    print(f"{name} failed (exit {rc}); inputs in {artifacts}: {found}")
sys.exit(rc)
