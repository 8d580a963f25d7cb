"""tests/cli/test_cli_readme.py: the README's step-by-step commands run as
written. They are read from README.md, and run in order by bash in an empty
folder that holds a tiny gzip-compressed English-Spanish corpus at
data/bible-en-es (the built-in supernet is the real one, found in the source
tree); only their sizes are shrunk (a tiny search space, a few
updates, a few timed archs, budgets a tiny model meets), each by an exact
substitution that must apply, so an edit of the README that breaks a command
or changes a size fails here.

usage: test_cli_readme.py MOS_CLI README.md
"""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cli_common import Checks, write_corpus  # noqa: E402

cli, readme = sys.argv[1], sys.argv[2]
t = Checks(cli)
expect = t.expect


def readme_commands(path):
    """The commands of the first sh block after '## The job, step by step',
    continuation lines joined, comments dropped."""
    text = open(path).read()
    section = text[text.index("## The job, step by step"):]
    block = section[section.index("```sh\n") + 6:]
    block = block[:block.index("```")]
    commands, current = [], ""
    for line in block.splitlines():
        if "  # " in line:
            line = line[:line.index("  # ")]
        line = line.rstrip()
        if line.endswith("\\"):
            current += line[:-1].strip() + " "
            continue
        current += line.strip()
        if current:
            commands.append(current)
        current = ""
    return commands


# (start of the command, [(README text, what the test runs instead)]).
SHRINK = [
    ("mos-cli train ", [("--space small", "--space SPACE"),
                        ("--max-steps 3000", "--max-steps 4 --vocab 40 --max-tokens 256 --max-len 32 --warmup 2 "
                                             "--valid-every 2 --threads 1")]),
    # The predictor times the built-in supernet's space and vocabulary.
    ("mos-cli latency --collect", [("--collect 300", "--collect 6 --runs 2 --warmup 0")]),
    ("mos-cli search ", [("--budgets 40,60", "--budgets 1000000,2000000 --max-sentences 10 --population 6 "
                                            "--parents 2 --mutations 2 --crossovers 2 --iterations 1")]),
    ("mos-cli route ", [("--budget 40", "--budget 1000000")]),
]

commands = readme_commands(readme)
expect("the README has the step-by-step block", len(commands) >= 8, "\n".join(commands))
with tempfile.TemporaryDirectory() as tmp:
    data = os.path.join(tmp, "data", "bible-en-es")
    os.makedirs(data)
    space = write_corpus(data, src="en", tgt="es", gz=True)
    bindir = os.path.join(tmp, "bin")
    os.mkdir(bindir)
    os.symlink(os.path.abspath(cli), os.path.join(bindir, "mos-cli"))
    env = dict(os.environ, PATH=bindir + os.pathsep + os.environ.get("PATH", ""))
    for command in commands:
        run_as = command
        for start, subs in SHRINK:
            if command.startswith(start):
                for old, new in subs:
                    expect(f"README: '{start.strip()}' still has '{old}'", run_as.count(old) == 1, command)
                    run_as = run_as.replace(old, new.replace("SPACE", space))
        r = subprocess.run(["bash", "-o", "pipefail", "-c", run_as], cwd=tmp, env=env, capture_output=True,
                           text=True, timeout=300)
        expect(f"README runs: {command}", r.returncode == 0, f"ran: {run_as}\n{r.stdout[-1500:]}{r.stderr[-3000:]}")
    for f in ["run/net.safetensors", "run/lat.safetensors", "run/result.json", "run/front.svg", "run/best.model",
              "run/test.es"]:
        expect(f"README step by step wrote {f}", os.path.exists(os.path.join(tmp, f)), f)

sys.exit(t.finish())
