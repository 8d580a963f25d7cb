#!/usr/bin/env python3
"""tests/cli/test_cli.py: mos-cli prints its version (from the library), help,
and rejects unknown subcommands and bad flags with a message and exit 2.

usage: test_cli.py path/to/mos-cli
"""
import re
import subprocess
import sys

cli = sys.argv[1]
failures = 0


def run(*args):
    return subprocess.run([cli, *args], capture_output=True, text=True, timeout=60)


def expect(name, cond, detail=""):
    global failures
    print(("ok" if cond else "not ok") + f" - {name}" + (f": {detail}" if not cond and detail else ""))
    if not cond:
        failures += 1


r = run("--version")
expect("--version exits 0", r.returncode == 0, r.stderr)
expect("--version prints library version",
       re.fullmatch(r"mos-cli \d+\.\d+\.\d+ \(libmos \d+\.\d+\.\d+\)\n", r.stdout) is not None, r.stdout)

r = run("--help")
expect("--help exits 0", r.returncode == 0, r.stderr)
for cmd in ["info"]:
    expect(f"--help lists {cmd}", cmd in r.stdout, r.stdout)

r = run("info")
expect("info exits 0", r.returncode == 0, r.stderr)
expect("info shows oneDNN version", "onednn=2." in r.stdout, r.stdout)

r = run("no-such-command")
expect("unknown subcommand exits 2", r.returncode == 2, f"exit {r.returncode}")
expect("unknown subcommand names it", "no-such-command" in r.stderr, r.stderr)

r = run("--no-such-flag")
expect("bad flag exits 2", r.returncode == 2, f"exit {r.returncode}")
expect("bad flag names it", "no-such-flag" in r.stderr, r.stderr)

print(f"{3 + 2 + 4 + 2 - failures} passed, {failures} failed")
sys.exit(1 if failures else 0)
