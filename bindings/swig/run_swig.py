#!/usr/bin/env python3
# bindings/swig/run_swig.py: runs SWIG for the build, creating the output folder
# first and removing stale generated sources from it (a class that disappeared
# from mos.i must not stay in the jar).
#   run_swig.py SWIG OUTDIR SUFFIX -- swig arguments...
import os
import subprocess
import sys

swig, outdir, suffix = sys.argv[1:4]
assert sys.argv[4] == "--"
os.makedirs(outdir, exist_ok=True)
for name in os.listdir(outdir):
    if name.endswith(suffix):
        os.remove(os.path.join(outdir, name))
sys.exit(subprocess.call([swig] + sys.argv[5:]))
